"""The installable package: a wheel with the engine, the CLI (``mpq``) and the bundled samples
that works outside the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from support import REPO


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_repository(tmp_path):
    # built from a copy of the sources: an in-tree build/ could carry files of removed modules
    source = tmp_path / "source"
    junk = ("build", "dist", "artifacts", "results", ".git", "*.egg-info", "__pycache__", ".*cache")
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*junk, ".hypothesis"))
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
         "-w", str(dist), "-q"],
        check=True, capture_output=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("mpq-*.whl")
    env_dir = tmp_path / "env"
    python = _venv_seeing_these_packages(env_dir)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    work = tmp_path / "elsewhere"
    work.mkdir()
    version = subprocess.run(
        [str(env_dir / "bin" / "mpq"), "--version"], capture_output=True, text=True, cwd=work
    )
    assert version.returncode == 0 and version.stdout.startswith("mpq ")
    run = subprocess.run(
        [str(env_dir / "bin" / "mpq"), "--optimize_mixed_precision", "--budget_multiplier", "0.3",
         "--quiet"],
        capture_output=True, text=True, cwd=work, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (work / "results/mixed_precision/quantization_config_0.30.json").is_file()
    located = subprocess.run(
        [str(python), "-c", "import mpq_core.io.samples as s; print(s.sample_paths()[0])"],
        capture_output=True, text=True, cwd=work,
    )  # fmt: skip
    assert "site-packages/mpq_core/sample_data/sd14_unet/" in located.stdout
    for folder in ("sd14_unet", "minilm_l6", "hawq_v3_resnet18", "hawq_v3_resnet50",
                   "mixdq_sdxl_turbo"):  # fmt: skip
        assert (Path(located.stdout.strip()).parents[1] / folder / "README.md").is_file(), folder
    # outside a clone, a missing torch is answered with the package's extra
    hint = subprocess.run(
        [str(python), "-c", "from mpq_torch.cli import install_hint; print(install_hint())"],
        capture_output=True, text=True, cwd=work,
    )  # fmt: skip
    assert hint.stdout.strip() == 'pip install "mpq[torch]"', hint.stderr


def _venv_seeing_these_packages(env_dir: Path) -> Path:
    """A fresh venv whose interpreter also sees the packages of the one running the tests
    (numpy, pandas, ...: no download), through a ``.pth`` file naming its site-packages.

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
