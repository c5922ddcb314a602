"""Shared fixtures: the bundled sample problems (built once per test session).

``python -m pytest`` and plain ``pytest`` both work: pyproject.toml puts the repository and
``tests/`` on the import path. Helpers shared by several modules live in ``support.py``.
"""

from __future__ import annotations

import pytest

import mpq_core as mc


@pytest.fixture(scope="session")
def sample_problem() -> mc.Problem:
    """The bundled SD 1.4 sample (scalar sensitivity) with the default settings."""
    return mc.load_problem(*mc.sample_inputs())


@pytest.fixture(scope="session")
def per_bit_problem() -> mc.Problem:
    """The bundled SD 1.4 sample with the per-bit loss table."""
    return mc.load_problem(*mc.sample_inputs("sd14_per_bit"))


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory):
    """The package built as a wheel and installed in a fresh venv outside the repository."""
    from wheel_env import install_wheel

    return install_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory: the default results/ inputs do not exist there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def run(workdir, capsys):
    """Call the command line in-process; return (exit code, stdout, stderr)."""
    from mpq_core import cli

    def _run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture
def stored_files(monkeypatch):
    """Every file handed to the media storage (download data), by file name."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    stored: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        data = path_or_data.encode() if isinstance(path_or_data, str) else path_or_data
        if filename:
            stored[filename] = bytes(data)
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return stored
