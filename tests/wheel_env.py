"""The package as a user installs it: a wheel built from a copy of the sources and installed in
a fresh venv outside the repository (shared by test_package.py and the browser test of
``mpq app``; built once per session by the ``installed_wheel`` fixture)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from dataclasses import dataclass
from pathlib import Path

from support import REPO

# not copied into the wheel's sources: an in-tree build/ could carry files of removed modules
_JUNK = ("build", "dist", "artifacts", "results", ".git", "*.egg-info", "__pycache__", ".*cache")


@dataclass(frozen=True)
class InstalledWheel:
    """A venv with the wheel installed (and the test interpreter's packages visible)."""

    env: Path
    elsewhere: Path  # an empty directory outside the repository to run it from

    @property
    def python(self) -> Path:
        return self.env / "bin" / "python"

    @property
    def mpq(self) -> Path:
        return self.env / "bin" / "mpq"


def install_wheel(tmp: Path) -> InstalledWheel:
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*_JUNK, ".hypothesis"))
    # node_modules (the JS linter) is no part of the package and slows the copy
    shutil.rmtree(source / "node_modules", ignore_errors=True)
    dist = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
         "-w", str(dist), "-q"],
        check=True, capture_output=True, cwd=tmp, timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("mpq-*.whl")
    env = tmp / "env"
    python = _venv_seeing_these_packages(env)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return InstalledWheel(env, elsewhere)


def _venv_seeing_these_packages(env_dir: Path) -> Path:
    """A fresh venv whose interpreter also sees the packages of the one running the tests
    (numpy, pandas, streamlit...: no download), through a ``.pth`` file naming its
    site-packages.

    Not ``system_site_packages=True``: run from inside a venv, that exposes the base
    interpreter's packages, not the venv's (where pandas is)."""
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (Path(target) / "_tests_parent.pth").write_text("\n".join(ours) + "\n")
    return python
