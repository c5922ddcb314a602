"""The installable package: a wheel with the engine, the CLI (``mpq``) and the bundled samples
that works outside the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_repository(installed_wheel):
    env_dir, work = installed_wheel.env, installed_wheel.elsewhere
    python = installed_wheel.python
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


@pytest.mark.slow
def test_the_wheel_holds_the_dashboard(installed_wheel):
    """``mpq app`` and ``python -m mpq app`` from the wheel, with the app's own files (the
    Streamlit settings, the page files, the live view's scripts) installed beside it."""
    work, python = installed_wheel.elsewhere, installed_wheel.python
    where = subprocess.run(
        [str(python), "-c", "import mpq_app; print(mpq_app.DASHBOARD)"],
        capture_output=True, text=True, cwd=work,
    )  # fmt: skip
    dashboard = Path(where.stdout.strip())
    assert "site-packages/mpq_app/dashboard.py" in str(dashboard), where.stderr
    app = dashboard.parent
    assert 'address = "localhost"' in (app / ".streamlit" / "config.toml").read_text()
    assert len(list((app / "app_pages").glob("[0-9]_*.py"))) == 6
    assert (app / "ui" / "live_js" / "view.js").is_file()
    assert (app / "ui" / "live_js" / "view.css").is_file()
    assert not (app / "pages").exists()
    for command in ([str(installed_wheel.mpq)], [str(python), "-m", "mpq"]):
        shown = subprocess.run(
            [*command, "app", "--help"], capture_output=True, text=True, cwd=work, timeout=60
        )
        assert shown.returncode == 0 and shown.stdout.startswith("usage: mpq app"), shown.stderr
    # a broken file is one line naming it, before any server starts
    (work / "broken.json").write_text("{")
    broken = subprocess.run(
        [str(installed_wheel.mpq), "app", "broken.json", "broken.json"],
        capture_output=True, text=True, cwd=work, timeout=60,
    )  # fmt: skip
    assert broken.returncode == 2
    assert broken.stderr.startswith("mpq app: error: ") and "broken.json" in broken.stderr
    assert broken.stderr.count("\n") == 1, broken.stderr
