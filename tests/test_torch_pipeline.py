"""The real pipeline on the bundled MiniLM with a small calibration set: Phase 2 files,
determinism, shards, Phase 4; and the bundled sample's numbers reproduced from its command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from support import REPO

import mpq_core as mc
from mpq_core.report.agreement import read_validation
from mpq_torch.cli import main

pytestmark = pytest.mark.slow  # runs the real MiniLM model

SAMPLE = REPO / "sample_data" / "minilm_l6"
FLOPS = SAMPLE / "flops_analysis.json"
COUNT = "8"
FILES = ("sensitivity_mse.json", "sensitivity_sqnr.json", "sensitivity_cosine.json")


def _run(*argv: str) -> None:
    assert main([*argv, "--no_progress"] if argv[0] != "merge" else list(argv)) == 0


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("minilm")
    _run("sensitivity", "minilm", "--count", COUNT, "--output_dir", str(out))
    return out


def test_loss_and_score_files(measured):
    loss = json.loads((measured / "sensitivity_mse.json").read_text())
    score = json.loads((measured / "sensitivity_sqnr.json").read_text())
    cosine = json.loads((measured / "sensitivity_cosine.json").read_text())
    assert loss["metadata"]["synthetic"] is False
    assert loss["metadata"]["higher_is_better"] is False
    assert score["metadata"]["higher_is_better"] is True
    assert cosine["metadata"]["higher_is_better"] is True
    assert loss["metadata"]["count"] == 8
    assert loss["metadata"]["versions"]["torch"].startswith("2.13.0")
    assert len(loss["sensitivity"]) == 42
    for layer, row in loss["sensitivity"].items():
        # fewer bits, more error: a real measurement, not a rule
        assert row["4"] > row["8"] > row["16"] >= 0, layer
        s = score["sensitivity"][layer]
        assert s["4"] < s["8"] < s["16"], layer
        # 8 -> 16 bits takes off roughly 6 dB per bit
        assert 30 < s["16"] - s["8"] < 60, layer
        assert all(-1.0 <= v <= 1.0 for v in cosine["sensitivity"][layer].values())
    # the engine reads the loss file against the bundled flops file
    problem = mc.load_problem(FLOPS, measured / "sensitivity_mse.json")
    assert problem.widths == (4, 8, 16)
    assert not problem.inputs.sensitivity.synthetic


def test_same_command_same_bytes(measured, tmp_path):
    _run("sensitivity", "minilm", "--count", COUNT, "--output_dir", str(tmp_path))
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (measured / name).read_bytes(), name


def test_shards_merge_into_the_unsharded_files(measured, tmp_path):
    shards = []
    for k in (1, 2, 3):
        _run(
            "sensitivity",
            "minilm",
            "--count",
            COUNT,
            "--shard",
            f"{k}/3",
            "--output_dir",
            str(tmp_path),
        )
        shards.append(str(tmp_path / f"shard_{k}_of_3.json"))
    sizes = [len(json.loads(Path(s).read_text())["results"]) for s in shards]
    assert sizes == [42, 42, 42]  # 126 (layer, width) pairs in three slices
    merged = tmp_path / "merged"
    _run("merge", *reversed(shards), "--output_dir", str(merged))
    for name in FILES:
        assert (merged / name).read_bytes() == (measured / name).read_bytes(), name


def test_validate_then_evaluate_the_same_allocation(measured, tmp_path, capsys):
    csv = tmp_path / "validation.csv"
    _run(
        "validate",
        "minilm",
        "--count",
        COUNT,
        "--flops_file",
        str(FLOPS),
        "--sensitivity_file",
        str(measured / "sensitivity_mse.json"),
        "--budgets",
        "0.1,0.3,0.5",
        "--output",
        str(csv),
    )
    printed = capsys.readouterr().out
    assert "infeasible (below the all-lowest cost, multiplier 0.125): 0.10" in printed
    results = read_validation(csv)
    assert results.metrics == ("cosine", "mse", "sqnr_db")
    frame = results.frame
    assert sorted(set(frame["budget"])) == [0.3, 0.5]

    # Phase 3 at m = 0.5, exported, then evaluated: the same allocation measures the same
    problem = mc.load_problem(FLOPS, measured / "sensitivity_mse.json")
    solution = mc.solve(problem, 0.5, "greedy")
    config = mc.save_config(solution, tmp_path)
    _run(
        "evaluate",
        "minilm",
        "--count",
        COUNT,
        "--config",
        str(config),
        "--output",
        str(tmp_path / "metrics.json"),
    )
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    row = frame[(frame["budget"] == 0.5) & (frame["solver"] == "greedy")]
    value = dict(zip(row["metric"], row["value"], strict=True))
    assert metrics["mse"] == pytest.approx(value["mse"], rel=1e-5)
    assert metrics["cosine"] == pytest.approx(value["cosine"], rel=1e-6)
    predicted = row["predicted_objective"].iloc[0]
    assert predicted == pytest.approx(solution.objective, rel=1e-5)


# Float32 rounding, u = 2**-24. Another CPU sums the same products in another order (AVX2,
# AVX-512 and AMX kernels block their dot products differently), so each output y moves by some
# epsilon. The difference d = y_quantized - y moves by at most the two epsilons, and since RMS is
# a norm, |RMS(d') - RMS(d)| <= RMS(eps). A dot product of K float32 terms rounded in another
# order typically moves by about sqrt(K) u x its size; MiniLM's longest is K = 1536 (sqrt ~ 40).
# So RMS(d) = sqrt(mse) is compared within 2 x 40 u x RMS(y), with RMS(y) taken from the
# bundled files themselves (mse x 10**(sqnr/10) = signal / count), plus the 6 significant
# digits the files are written with. At 16 bits d is itself at that noise (about 1e-6): only
# its order of magnitude carries over to another CPU, and the tolerance says so.
FLOAT32_SPREAD = 2 * math.sqrt(1536) * 2.0**-24
WRITTEN_DIGITS = 5e-6  # relative: the files hold 6 significant digits


def _close_rms(measured: float, bundled: float, rms_y: float) -> bool:
    """sqrt(measured) and sqrt(bundled) within the float32 spread of outputs of size rms_y."""
    slack = FLOAT32_SPREAD * rms_y + WRITTEN_DIGITS * math.sqrt(bundled)
    return abs(math.sqrt(measured) - math.sqrt(bundled)) <= slack


def test_bundled_sensitivity_reproduced_by_its_command(tmp_path):
    """Slice 1 of 21 of the bundled run (all 310 sentences): the first 6 (layer, width) pairs
    give the numbers in the bundled files, within what float32 rounding on another CPU can
    change (see FLOAT32_SPREAD; the bytes are checked on one machine by
    test_same_command_same_bytes), and every layer ranks its widths as the files do."""
    _run("sensitivity", "minilm", "--shard", "1/21", "--output_dir", str(tmp_path))
    shard = json.loads((tmp_path / "shard_1_of_21.json").read_text())
    assert len(shard["results"]) == 6
    bundled = {
        name: json.loads((SAMPLE / f"sensitivity_{name}.json").read_text())["sensitivity"]
        for name in ("mse", "sqnr", "cosine")
    }
    by_layer: dict[str, dict[int, float]] = {}
    for row in shard["results"]:
        layer, width = row["layer"], str(row["width"])
        mse, sqnr = bundled["mse"][layer][width], bundled["sqnr"][layer][width]
        rms_y = math.sqrt(mse * 10 ** (sqnr / 10))
        assert _close_rms(row["mse"], mse, rms_y), (layer, width, row["mse"], mse)
        # the same noise seen through SQNR: noise / count = (signal / count) / 10**(dB / 10)
        assert _close_rms(rms_y**2 / 10 ** (row["sqnr_db"] / 10), mse, rms_y), (layer, width)
        # cosines are written to 6 digits; the spread moves 1 - cosine far less than that
        assert row["cosine"] == pytest.approx(bundled["cosine"][layer][width], abs=1e-6)
        by_layer.setdefault(layer, {})[row["width"]] = row["mse"]
    for layer, losses in by_layer.items():
        widths = sorted(losses)
        assert [losses[w] for w in widths] == sorted(losses.values(), reverse=True), layer


def test_bundled_validation_csv():
    results = read_validation(SAMPLE / "validation.csv")
    frame = results.frame
    assert set(frame["solver"]) == {"greedy", "exact"}
    assert results.higher_is_better("mse") is False
    assert results.higher_is_better("cosine") is True
    # every row's predicted objective is the solver's on the bundled files
    problem = mc.load_problem(*mc.sample_inputs("minilm"))
    for (budget, solver), rows in frame.groupby(["budget", "solver"]):
        solution = mc.solve(problem, budget, solver)
        assert rows["predicted_objective"].iloc[0] == pytest.approx(solution.objective, rel=1e-5)
        assert rows["cost_gbops"].iloc[0] == pytest.approx(solution.cost / mc.GIGA, rel=1e-5)
    infeasible = [b / 20 for b in range(1, 21) if b / 20 < problem.min_multiplier()]
    assert not set(frame["budget"]) & set(infeasible)
    assert len(frame) == (20 - len(infeasible)) * 2 * 3
    mse = frame[frame["metric"] == "mse"]
    ratio = mse["value"] / mse["predicted_loss"]
    assert not ratio.isna().any() and math.isfinite(ratio.max())
    assert isinstance(frame, pd.DataFrame)
