"""``mpq app`` (and ``python -m mpq app``): its arguments, the files checked before any server
starts (one line naming the file, exit 2), and the Streamlit command line it runs in-process;
anything but ``app`` is the engine's command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support import REPO

import mpq_app
from mpq import __main__ as mpq_main
from mpq_app import launch

MINILM = REPO / "sample_data" / "minilm_l6"
MIXDQ = REPO / "sample_data" / "mixdq_sdxl_turbo"


@pytest.fixture
def served(monkeypatch):
    """Streamlit's command line replaced by one that records its argv and the files' env."""
    calls = []

    def fake_main():
        calls.append((list(sys.argv), os.environ.get(mpq_app.FILES_ENV)))
        raise SystemExit(0)

    import streamlit.web.cli

    monkeypatch.setattr(streamlit.web.cli, "main", fake_main)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.delenv(mpq_app.FILES_ENV, raising=False)
    yield calls
    os.environ.pop(mpq_app.FILES_ENV, None)  # launch sets it for the server it starts


def test_the_bundled_sample_on_the_default_port(served):
    assert mpq_main.main(["app"]) == 0
    ((argv, files),) = served
    assert argv == ["streamlit", "run", str(mpq_app.DASHBOARD), "--server.port", "8501"]
    assert files is None  # the app opens on the bundled sample


def test_given_files_reach_the_app_as_absolute_paths(served, workdir):
    (workdir / "in").mkdir()
    for name in ("flops_analysis.json", "sensitivity_mse.json"):
        (workdir / "in" / name).write_bytes((MINILM / name).read_bytes())
    code = mpq_main.main(
        ["app", "--port", "9000", "--address", "0.0.0.0", "in/flops_analysis.json",
         "in/sensitivity_mse.json"]
    )  # fmt: skip
    assert code == 0
    ((argv, files),) = served
    assert argv[-4:] == ["--server.port", "9000", "--server.address", "0.0.0.0"]
    assert json.loads(files) == [
        str(workdir / "in" / "flops_analysis.json"),
        str(workdir / "in" / "sensitivity_mse.json"),
    ]


def test_a_file_of_one_list_per_layer_is_left_to_the_app_s_ladder(served):
    """MixDQ's layout names no widths: the app reads it with its ladder, as an upload."""
    assert mpq_main.main(["app", str(MIXDQ / "flops.json"), str(MIXDQ / "sensitivity.yaml")]) == 0
    assert len(served) == 1


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["missing.json", "missing.json"], "missing.json: file not found"),
        (["broken.json", "broken.json"], "broken.json: not JSON: Expecting"),
        (
            [str(MINILM / "flops_analysis.json"), "layers.json"],
            "layers.json: field 'sensitivity', layer 'encoder.layer.0.attention.self.query': "
            "42 of 42 layers of",
        ),
    ],
)
def test_a_bad_file_is_one_line_and_no_server(served, workdir, capsys, files, message):
    (workdir / "broken.json").write_text("{")
    (workdir / "layers.json").write_text(json.dumps({"sensitivity": {"nothing": 1.0}}))
    assert mpq_main.main(["app", *files]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mpq app: error: {workdir}/") and message in err, err
    assert err.count("\n") == 1
    assert served == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["app", "one.json"], "give two files (FLOPS SENSITIVITY) or none, not 1"),
        (["app", "--port", "http"], "argument --port: 'http' is not a port number (1 to 65535)"),
        (["app", "--port", "70000"], "'70000' is not a port number (1 to 65535)"),
    ],
)
def test_usage_errors_exit_2(served, capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        mpq_main.main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert served == []


def test_python_m_mpq_is_the_engine_s_command_line_too():
    done = subprocess.run(
        [sys.executable, "-m", "mpq", "--version"], capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == 0 and done.stdout.startswith("mpq ")
    shown = subprocess.run(
        [sys.executable, "-m", "mpq", "--help"], capture_output=True, text=True, cwd=REPO
    )
    assert shown.stdout.startswith("usage: mpq ") and "mpq app" in shown.stdout
    assert launch.build_parser().format_usage().startswith("usage: mpq app")
