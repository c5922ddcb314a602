"""python -m mpq_torch: exit codes, exact one-line errors, --help, progress lines, no torch
outside mpq_torch."""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys

import pytest
from support import REPO

from mpq_torch.cli import build_parser, main
from mpq_torch.progress import Progress

SAMPLE = REPO / "sample_data" / "minilm_l6"
MSE = str(SAMPLE / "sensitivity_mse.json")
SQNR = str(SAMPLE / "sensitivity_sqnr.json")


def _error(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # one line
    return code, err[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "the following arguments are required: COMMAND (see mpq_torch --help)"),
        (("profile",), "the following arguments are required: MODEL (see mpq_torch --help)"),
        (
            ("profile", "nosuch"),
            "nosuch: field 'model': expected module:function or a built-in name (minilm, sd14)",
        ),
        (
            ("profile", "no_such_module:build"),
            "no_such_module:build: field 'model': cannot import no_such_module (No module named 'no_such_module')",
        ),
        (
            ("profile", "tiny_models:nothing"),
            "tiny_models:nothing: field 'model': tiny_models has no function 'nothing'",
        ),
        (
            ("sensitivity", "tiny_models:build", "--count", "3"),
            "tiny_models:build: field 'model': --count is given but the function takes no 'count'",
        ),
        (
            ("profile", "tiny_models:build_broken"),
            "tiny_models:build_broken: field 'model': the forward pass failed: RuntimeError: mat1 and mat2 shapes cannot be multiplied (3x5 and 4x2)",
        ),
        (
            ("profile", "tiny_models:build_no_layers"),
            "tiny_models:build_no_layers: field 'model': no Conv/Linear layer or attention matmul ran in the forward pass",
        ),
        (
            ("profile", "tiny_models:build_not_a_model"),
            "tiny_models:build_not_a_model: field 'model': the model is a str, not a torch.nn.Module",
        ),
        (
            ("sensitivity", "tiny_models:build", "--shard", "3/2"),
            "--shard: expected K/N with 1 <= K <= N, got '3/2'",
        ),
        (
            ("sensitivity", "tiny_models:build", "--shard", "a/b"),
            "--shard: expected K/N (like 2/8), got 'a/b'",
        ),
        (
            ("sensitivity", "tiny_models:build", "--bits", "4,4"),
            "argument --bits: expected distinct widths from 2 to 32, got '4,4' (see mpq_torch --help)",
        ),
        (
            ("validate", "tiny_models:build", "--flops_file", "x.json", "--sensitivity_file", SQNR),
            f"{SQNR}: field 'metadata.higher_is_better': is a score file (higher is better); validate needs the loss form (sensitivity_mse.json)",
        ),
        (
            (
                "validate",
                "tiny_models:build",
                "--flops_file",
                "x.json",
                "--sensitivity_file",
                MSE,
                "--budgets",
                "0.5,2",
            ),
            "argument --budgets: must be between 0.0 and 1.0, got '2' in '0.5,2' (see mpq_torch --help)",
        ),
        (
            (
                "validate",
                "tiny_models:build",
                "--flops_file",
                "x.json",
                "--sensitivity_file",
                MSE,
                "--solvers",
                "fast",
            ),
            "argument --solvers: expected solvers from greedy,exact separated by commas, got 'fast' (see mpq_torch --help)",
        ),
        (("merge", MSE), f"{MSE}: field 'mpq_torch_shard': not an mpq_torch shard file"),
        (
            ("evaluate", "tiny_models:build", "--config", "nothere.json"),
            "nothere.json: file not found",
        ),
        (
            ("profile", "minilm", "--count", "3"),
            "unrecognized arguments: --count 3 (see mpq_torch --help)",
        ),
        (
            ("sensitivity", "minilm", "--count", "400"),
            "--count: must be between 1 and 310 (sentences in the file)",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert _error(capsys, *argv) == (2, f"mpq_torch: error: {message}")


def test_config_naming_a_layer_the_model_lacks(capsys, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"bit_allocation": {"conv": 4, "conv_in": 8}}))
    code, line = _error(capsys, "evaluate", "tiny_models:build", "--config", str(config))
    assert (code, line) == (
        2,
        f"mpq_torch: error: {config}: layer 'conv_in': no Conv/Linear module or attention entry "
        "of this name",
    )


def test_merge_checks_that_shards_fit_together(capsys, tmp_path):
    run = {
        "model": "m",
        "layers": ["a", "b"],
        "widths": [4, 8],
        "inputs": "x",
        "count": 1,
        "seed": 0,
        "threads": 2,
        "task_metric": None,
        "task_higher_is_better": False,
        "versions": {"torch": "2.13.0+cpu"},
    }

    def shard(k, n, items, **change):
        doc = {
            "mpq_torch_shard": 1,
            "shard": f"{k}/{n}",
            "run": {**run, **change},
            "results": [{"layer": a, "width": w, "mse": 0.1, "sqnr_db": 10.0} for a, w in items],
        }
        path = tmp_path / f"shard{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(doc))
        return str(path)

    first = shard(1, 2, [("a", 4), ("a", 8)])
    second = shard(2, 2, [("b", 4), ("b", 8)])
    other_seed = shard(2, 2, [("b", 4), ("b", 8)], seed=1)
    wrong_items = shard(2, 2, [("b", 4)])
    assert _error(capsys, "merge", first) == (
        2,
        "mpq_torch: error: merge: field 'shard': missing shard(s) 2/2",
    )
    assert _error(capsys, "merge", first, first) == (
        2,
        f"mpq_torch: error: {first}: field 'shard': shard 1/2 is also in {first}",
    )
    assert _error(capsys, "merge", first, other_seed) == (
        2,
        f"mpq_torch: error: {other_seed}: field 'run.seed': differs from {first}",
    )
    assert _error(capsys, "merge", first, wrong_items) == (
        2,
        f"mpq_torch: error: {wrong_items}: field 'results': holds other (layer, width) pairs than slice 2/2 of this run",
    )
    assert main(["merge", first, second, "--output_dir", str(tmp_path / "out")]) == 0
    merged = json.loads((tmp_path / "out" / "sensitivity_mse.json").read_text())
    assert merged["sensitivity"] == {"a": {"4": 0.1, "8": 0.1}, "b": {"4": 0.1, "8": 0.1}}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "sensitivity_mse.json",
        "sensitivity_sqnr.json",
    ]


def test_unwritable_output_is_exit_1(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, line = _error(capsys, "profile", "tiny_models:build", "--output", str(blocker / "x.json"))
    assert code == 1
    assert line.startswith(f"mpq_torch: error: cannot write {blocker}")


def test_profile_writes_the_canonical_file(capsys, tmp_path):
    out = tmp_path / "flops.json"
    assert main(["profile", "tiny_models:build", "--output", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["unit"] == "MACs"
    assert list(doc["layers"]) == ["conv", "conv3d", "q", "attn.matmul", "conv1d", "head", "matmul"]
    assert doc["metadata"]["total_macs"] == 110756
    assert "7 layers (5 Conv/Linear, 2 attention matmuls), 110,756 MACs" in capsys.readouterr().err


def test_every_flag_is_explained():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) == {"profile", "sensitivity", "merge", "evaluate", "validate"}
    for name, sub in subparsers.choices.items():
        text = sub.format_help()
        for action in sub._actions:
            assert action.help, (name, action.dest)
            for flag in action.option_strings:
                assert flag in text, (name, flag)
    top = parser.format_help()
    assert "exit codes:" in top and "module:function" in top


def test_help_is_exit_0_and_does_not_import_torch():
    code = (
        "import sys, mpq_torch.cli as c; rc = c.main(['sensitivity', '--help']); "
        "print(rc, 'torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "--shard K/N" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "0 False"


def test_engine_and_app_modules_do_not_import_torch():
    code = (
        "import sys, mpq_core, mpq_core.cli, mpq_core.report.agreement, mpq_core.charts.validation; "
        "import main; print('torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
    outside = [
        str(p.relative_to(REPO))
        for folder in ("mpq_core", "mpq_app", "mpq")
        for p in (REPO / folder).rglob("*.py")
        if _imports_torch(p.read_text())
    ]
    outside += [p for p in ("main.py",) if _imports_torch((REPO / p).read_text())]
    assert outside == []


def _imports_torch(text: str) -> bool:
    """A line importing torch or mpq_torch (``from torchao`` in a snippet's text is another
    package, which the exports only write)."""
    pattern = re.compile(r"(import|from) (torch|mpq_torch)\b")
    return any(pattern.match(line.strip()) for line in text.splitlines())


def test_progress_in_a_log_is_a_few_lines():
    stream = io.StringIO()
    with Progress(126, "sensitivity", stream=stream) as bar:
        for _ in range(126):
            bar.advance()
    lines = stream.getvalue().splitlines()
    assert [line.split(" ")[1] for line in lines] == [
        "0/126",
        "32/126",
        "63/126",
        "95/126",
        "126/126",
    ]
    assert "\r" not in stream.getvalue()


def test_progress_on_a_terminal_redraws_one_line():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    with Progress(3, "validate", stream=stream) as bar:
        for _ in range(3):
            bar.advance()
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("validate: 3/3 (100%) 0 s\n")
