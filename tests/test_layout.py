"""The package layout: subpackages, and the public names of ``mpq_core`` beside them."""

from __future__ import annotations

import importlib
import pkgutil

import mpq_core

SUBPACKAGES = ("charts", "io", "model", "report", "solving")


def test_every_public_name_resolves_to_what_it_names():
    for name in mpq_core.__all__:
        assert getattr(mpq_core, name) is not None, name


def test_no_public_name_is_shadowed_by_a_subpackage():
    """Regression: a subpackage named ``solve`` replaced the function ``mpq_core.solve`` as
    soon as anything imported from it."""
    for sub in SUBPACKAGES:
        importlib.import_module(f"mpq_core.{sub}")
    assert not set(SUBPACKAGES) & set(mpq_core.__all__)
    assert callable(mpq_core.solve)


def test_the_subpackages_are_the_ones_the_readme_shows():
    found = {m.name for m in pkgutil.iter_modules(mpq_core.__path__) if m.ispkg}
    assert found - {"sample_data"} == set(SUBPACKAGES)  # sample_data: only when installed


def test_the_engine_and_the_command_import_no_streamlit():
    """mpq_core is Streamlit-free, and ``mpq`` imports the app only for ``mpq app`` (each
    checked in a fresh interpreter: this one has imported Streamlit for other tests)."""
    import subprocess
    import sys

    code = (
        "import sys, mpq_core, mpq_core.cli, mpq_core.io.phase4, mpq.__main__; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'mpq_app')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
