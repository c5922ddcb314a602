"""The Phase 3 command line (main.py): report, saved config, flags, exit codes, bad input.

Most cases call ``main(argv)`` in-process (cwd = a tmp dir, so the default ``results/`` paths
do not exist and the bundled sample is used); a handful run ``python main.py`` for real. The
report's figures are recomputed here from the saved config and the Phase 1 JSON (read with
``json``, not through the engine) and matched against the printed lines.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

import pytest
from support import REPO, needs_chromium

import mpq_core as mpq

SAMPLE_FLOPS = REPO / "sample_data/sd14_unet/flops_analysis_unet.json"
SAMPLE_SENS = REPO / "sample_data/sd14_unet/sensitivity_100_prompts.json"
SAMPLE_PER_BIT = REPO / "sample_data/sd14_unet/sensitivity_per_bit.json"
CONFIG_050 = Path("results/mixed_precision/quantization_config_0.50.json")
ORIGINAL = [
    "--optimize_mixed_precision",
    "--flops_file",
    "results/flops_analysis/flops_analysis_unet.json",
    "--sensitivity_file",
    "results/sensitivity_analysis/sensitivity_100_prompts.json",
    "--budget_multiplier",
    "0.5",
]
OPT = "--optimize_mixed_precision"


# ---------------------------------------------------------------- helpers and fixtures


def run_subprocess(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "main.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def engine_config(flops=None, sens=None, multiplier=0.5, solver="greedy", **settings) -> str:
    """What mpq_core exports for the same settings (the sample unless files are given)."""
    sample = mpq.sample_inputs("sd14")
    problem = mpq.load_problem(flops or sample[0], sens or sample[1], **settings)
    return mpq.config_json(mpq.export_config(mpq.solve(problem, multiplier, solver)))


def saved(out: str) -> Path:
    """The config file the run reported ("Config saved to: <path>")."""
    line = next(line for line in out.splitlines() if line.startswith("Config saved to: "))
    return Path(line.removeprefix("Config saved to: "))


def sample_macs() -> dict[str, float]:
    """Per-layer MACs from the sample Phase 1 JSON, read directly."""
    layers = json.loads(SAMPLE_FLOPS.read_text())["layers"]
    return {name: record["macs"] for name, record in layers.items()}


def recompute(config: dict, macs: dict[str, float], multiplier: float, top: int = 16) -> dict:
    """The report's figures from a saved config, independently of the engine."""
    quant = config["quantization_config"]
    wbits = config["bit_allocation"]
    assert set(quant) == set(macs) == set(wbits)
    bops = {name: macs[name] * quant[name]["wbit"] * quant[name]["abit"] for name in quant}
    cost = math.fsum(bops.values())
    top_abit = min(top + 4, 16) if config["metadata"]["abit_rule"] == "plus4" else top
    max_cost = math.fsum(m * top * top_abit for m in macs.values())
    budget = multiplier * max_cost
    counts = Counter(wbits.values())
    shares = {
        w: math.fsum(b for name, b in bops.items() if wbits[name] == w) / cost for w in counts
    }
    return {
        "cost": cost,
        "max_cost": max_cost,
        "budget": budget,
        "utilization": cost / budget,
        "counts": counts,
        "shares": shares,
        "n": len(wbits),
    }


def one_line(err: str) -> str:
    """stderr must be exactly one line, no traceback; return it."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# Tiny hand-made inputs: three layers, scalar scores, no "synthetic" flag.
TINY_FLOPS = {
    "unit": "MACs",
    "layers": {
        "conv_in": {"macs": 1000, "type": "Conv2d"},
        "mid": {"macs": 4000, "type": "Conv2d"},
        "conv_out": {"macs": 1000, "type": "Conv2d"},
    },
}
TINY_SENS = {"sensitivity": {"conv_in": 0.9, "mid": 0.1, "conv_out": 0.8}}


# ---------------------------------------------------------------- real subprocess runs


def test_bare_command_uses_the_sample_and_saves_the_engine_export(tmp_path):
    result = run_subprocess([OPT], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout.splitlines()
    notes = [line for line in out if "bundled SD 1.4 sample" in line]
    assert len(notes) == 1
    assert "results/flops_analysis/flops_analysis_unet.json" in notes[0]
    assert sum("SYNTHETIC" in line for line in out) == 1

    saved = (tmp_path / CONFIG_050).read_text()
    assert saved == engine_config()
    assert f"Config saved to: {CONFIG_050}" in out
    assert out[-1] == f"Config saved to: {CONFIG_050}"
    # Nothing but the config in the output folder (the atomic write leaves no temp file).
    assert list(tree(tmp_path)) == [str(CONFIG_050)]


def test_original_invocation_report_matches_recomputed_figures(tmp_path):
    shutil.copy(SAMPLE_FLOPS, write(tmp_path / ORIGINAL[2], ""))
    shutil.copy(SAMPLE_SENS, write(tmp_path / ORIGINAL[4], ""))
    result = run_subprocess(ORIGINAL, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert not any("bundled" in line for line in out)  # the default paths exist here

    config = json.loads((tmp_path / CONFIG_050).read_text())
    flops_bytes = (tmp_path / ORIGINAL[2]).read_bytes()
    sens_bytes = (tmp_path / ORIGINAL[4]).read_bytes()
    expected = engine_config(
        mpq.InputFile(ORIGINAL[2], flops_bytes), mpq.InputFile(ORIGINAL[4], sens_bytes)
    )
    assert (tmp_path / CONFIG_050).read_text() == expected
    assert config["metadata"]["flops_file"] == ORIGINAL[2]
    assert config["metadata"]["sensitivity_file"] == ORIGINAL[4]

    macs = sample_macs()
    fig = recompute(config, macs, 0.5)
    min_cost = math.fsum(m * 4 * 8 for m in macs.values())
    assert out[out.index("GREEDY BANG-FOR-BUCK OPTIMIZATION") - 1] == "=" * 70
    for line in (
        "Budget multiplier: 0.50",
        f"Target budget: {fig['budget'] / 1e9:.2f} GBOPs",
        f"Min cost (all 4-bit): {min_cost / 1e9:.2f} GBOPs",
        f"Max cost (all 16-bit): {fig['max_cost'] / 1e9:.2f} GBOPs",
        f"Total possible upgrades: {2 * len(macs)}",
        "Running greedy selection...",
        f"Final cost: {fig['cost'] / 1e9:.2f} GBOPs",
        f"Budget utilization: {fig['utilization'] * 100:.1f}% (Excellent - budget fully utilized)",
        "Bit-width Distribution:",
        "Mixed-precision optimization completed!",
        f"Config saved to: {CONFIG_050}",
    ):
        assert line in out, line
    assert fig["utilization"] > 0.95
    for width in (4, 8, 16):
        count = fig["counts"][width]
        share = fig["shares"].get(width, 0.0)
        line = (
            f"{width}-bit: {count} layers ({count / fig['n'] * 100:4.1f}%), "
            f"{share * 100:4.1f}% of BOPs"
        )
        assert line in out, line
    # abit = min(wbit + 4, 16) for every layer.
    assert all(q["abit"] == min(q["wbit"] + 4, 16) for q in config["quantization_config"].values())
    # Upgrades: steps up the 4/8/16 ladder; a progress line every 50 of them, within budget.
    upgrades = fig["counts"][8] + 2 * fig["counts"][16]
    assert f"Optimization complete after {upgrades} upgrades" in out
    progress = [line for line in out if line.startswith("Iteration ")]
    assert [int(line.split()[1].rstrip(":")) for line in progress] == list(
        range(50, upgrades + 1, 50)
    )
    costs = [float(line.split("= ")[1].split(" /")[0]) for line in progress]
    assert costs == sorted(costs)
    assert all(line.endswith(f"/ {fig['budget'] / 1e9:.2f} GBOPs") for line in progress)
    assert costs[-1] <= fig["cost"] / 1e9 + 0.005


def test_infeasible_budget_subprocess_exit_3_and_nothing_written(tmp_path):
    result = run_subprocess([OPT, "--budget_multiplier", "0.1"], tmp_path)
    assert result.returncode == 3
    line = one_line(result.stderr)
    assert "smallest feasible multiplier is 0.125 (0.13 on the 0.01 grid)" in line
    assert result.stdout == ""
    assert tree(tmp_path) == {}


def test_bad_input_subprocess_one_line_no_traceback(tmp_path):
    write(tmp_path / "flops.json", '{"layers": {"conv_in": {"macs": NaN}}}')
    result = run_subprocess([OPT, "--flops_file", "flops.json"], tmp_path)
    assert result.returncode == 2
    assert (
        one_line(result.stderr)
        == "main.py: error: flops.json: field 'macs', layer 'conv_in': is NaN"
    )
    assert result.stdout == ""


def test_bad_flag_subprocess_one_line(tmp_path):
    result = run_subprocess([OPT, "--budget_multiplier", "1.5"], tmp_path)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "--budget_multiplier" in line and "between 0.0 and 1.0" in line and "1.5" in line
    assert "usage:" not in result.stderr
    assert tree(tmp_path) == {}


def test_json_subprocess_stdout_is_only_json(tmp_path):
    result = run_subprocess([OPT, "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    saved = json.loads((tmp_path / CONFIG_050).read_text())
    assert summary["metadata"] == saved["metadata"]
    assert summary["config_file"] == str(CONFIG_050)
    # The report went to stderr.
    assert "GREEDY BANG-FOR-BUCK OPTIMIZATION" in result.stderr
    assert f"Config saved to: {CONFIG_050}" in result.stderr


# ---------------------------------------------------------------- in-process: flags


def test_help_documents_streams_and_exit_codes(run):
    code, out, _ = run("--help")
    assert code == 0
    assert "exit codes" in out and "--json" in out and "stderr" in out
    for flag in ("--solver", "--act_bits", "--upgrade_discount", "--bits", "--pin", "--pin_file"):
        assert flag in out
    assert "--report DIR" in out and "--report_formats" in out


def test_default_budget_is_half(run, workdir):
    code, out, _ = run(OPT, "--no_save")
    assert code == 0
    assert "Budget multiplier: 0.50" in out.splitlines()


def test_no_save_writes_nothing(run, workdir):
    code, out, _ = run(OPT, "--no_save")
    assert code == 0
    assert "Config saved to" not in out
    assert tree(workdir) == {}


def test_quiet_prints_only_the_saved_path(run, workdir):
    code, out, err = run(OPT, "--quiet")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert "GREEDY BANG-FOR-BUCK OPTIMIZATION" not in out
    assert "Final cost" not in out
    assert "SYNTHETIC" not in out and "note:" not in out  # --quiet drops the notes too
    assert lines == [f"Config saved to: {CONFIG_050}"]


def test_output_dir_and_two_decimal_file_name(run, workdir):
    code, out, _ = run(OPT, "--output_dir", "elsewhere/out", "--budget_multiplier", "0.3")
    assert code == 0
    path = Path("elsewhere/out/mixed_precision/quantization_config_0.30.json")
    assert f"Config saved to: {path}" in out.splitlines()
    assert path.read_text() == engine_config(multiplier=0.3)


def test_synthetic_notice_only_for_synthetic_scores(run, workdir):
    flops = write(workdir / "f.json", TINY_FLOPS)
    sens = write(workdir / "s.json", TINY_SENS)
    code, out, _ = run(OPT, "--flops_file", str(flops), "--sensitivity_file", str(sens))
    assert code == 0
    assert "SYNTHETIC" not in out and "bundled" not in out
    code, out, _ = run(OPT, "--no_save")
    notices = [line for line in out.splitlines() if "SYNTHETIC" in line]
    assert len(notices) == 1
    assert notices[0].startswith("NOTE: sensitivity scores are SYNTHETIC (")
    assert "scripts/gen_sd14_sensitivity.py, seed 1234" in notices[0]


def test_partial_fallback_names_only_the_missing_default(run, workdir):
    shutil.copy(SAMPLE_FLOPS, write(workdir / ORIGINAL[2], ""))
    code, out, _ = run(OPT, "--no_save")
    assert code == 0
    notes = [line for line in out.splitlines() if "bundled SD 1.4 sample" in line]
    assert len(notes) == 1
    assert ORIGINAL[4] in notes[0] and ORIGINAL[2] not in notes[0]


def test_solver_exact_prints_lp_bound_and_greedy_gap(run, workdir):
    code, out, _ = run(OPT, "--solver", "exact")
    assert code == 0
    assert saved(out).read_text() == engine_config(solver="exact")
    lines = out.splitlines()
    assert "GREEDY BANG-FOR-BUCK OPTIMIZATION" not in lines
    assert not any(line.startswith("Iteration ") for line in lines)

    # Objectives recomputed from the configs: scalar s, 4->8 gains s, 8->16 gains 0.2 s.
    scores = json.loads(SAMPLE_SENS.read_text())["sensitivity"]
    gain = {4: 0.0, 8: 1.0, 16: 1.2}
    exact = json.loads(saved(out).read_text())
    greedy = json.loads(engine_config())
    exact_obj = math.fsum(scores[n] * gain[w] for n, w in exact["bit_allocation"].items())
    greedy_obj = math.fsum(scores[n] * gain[w] for n, w in greedy["bit_allocation"].items())
    assert exact_obj >= greedy_obj - 1e-9
    assert saved(out).name == "quantization_config_0.50_exact.json"
    bound_line = next(line for line in lines if line.startswith("Proven optimal"))
    lp = float(bound_line.rsplit(" ", 1)[1])
    assert lp >= exact_obj - 1e-4
    assert bound_line.startswith("Proven optimal (bound = objective, gap 0); LP relaxation ")
    gap_line = next(line for line in lines if line.startswith("Greedy at this budget: "))
    assert f"objective {greedy_obj:.4f}" in gap_line
    assert f"greedy gap {exact_obj - greedy_obj:.6f}" in gap_line
    fig = recompute(exact, sample_macs(), 0.5)
    assert f"Final cost: {fig['cost'] / 1e9:.2f} GBOPs" in lines
    assert fig["cost"] <= fig["budget"]


def test_act_bits_match(run, workdir):
    code, out, _ = run(OPT, "--act_bits", "match")
    assert code == 0
    config = json.loads(saved(out).read_text())
    assert config["metadata"]["abit_rule"] == "match"
    assert all(q["abit"] == q["wbit"] for q in config["quantization_config"].values())
    fig = recompute(config, sample_macs(), 0.5)
    assert f"Final cost: {fig['cost'] / 1e9:.2f} GBOPs" in out.splitlines()
    assert f"Max cost (all 16-bit): {fig['max_cost'] / 1e9:.2f} GBOPs" in out.splitlines()
    assert saved(out).read_text() == engine_config(abit_rule="match")


def test_upgrade_discount(run, workdir):
    code, out, _ = run(OPT, "--upgrade_discount", "0.5", "--budget_multiplier", "0.3")
    assert code == 0
    path = saved(out)
    assert path.name == f"quantization_config_0.30_greedy_{path.name[-11:-5]}.json"
    assert json.loads(path.read_text())["metadata"]["upgrade_discount"] == 0.5
    assert path.read_text() == engine_config(multiplier=0.3, upgrade_discount=0.5)
    assert path.read_text() != engine_config(multiplier=0.3)


def test_bits_ladder_on_the_scalar_sample(run, workdir):
    code, out, _ = run(OPT, "--bits", "4,16")
    assert code == 0
    config = json.loads(saved(out).read_text())
    assert config["metadata"]["ladder"] == [4, 16]
    assert set(config["bit_allocation"].values()) <= {4, 16}
    assert f"Total possible upgrades: {len(sample_macs())}" in out.splitlines()
    assert saved(out).read_text() == engine_config(bits=(4, 16))


def test_bits_ladder_with_a_per_bit_file(run, workdir):
    code, out, _ = run(
        OPT,
        "--sensitivity_file",
        str(SAMPLE_PER_BIT),
        "--bits",
        "4,8",
        "--budget_multiplier",
        "0.9",
    )
    assert code == 0
    config = json.loads(saved(out).read_text())
    assert config["metadata"]["ladder"] == [4, 8]
    assert config["metadata"]["sensitivity_kind"] == "per_bit"
    assert "Max cost (all 8-bit)" in out
    fig = recompute(config, sample_macs(), 0.9, top=8)
    assert f"Final cost: {fig['cost'] / 1e9:.2f} GBOPs" in out.splitlines()
    # A width the per-bit table lacks (below the top) is bad input.
    code, out, err = run(OPT, "--sensitivity_file", str(SAMPLE_PER_BIT), "--bits", "2,4,8,16")
    assert code == 2
    line = one_line(err)
    assert str(SAMPLE_PER_BIT) in line and "no width 2" in line and "layer '" in line


def test_pins_on_the_command_line(run, workdir):
    code, out, _ = run(OPT, "--pin", "conv_in=4", "--pin", "conv_out=8,16")
    assert code == 0
    config = json.loads(saved(out).read_text())
    assert config["bit_allocation"]["conv_in"] == 4
    assert config["bit_allocation"]["conv_out"] in (8, 16)
    assert config["metadata"]["pins"] == {"conv_in": [4], "conv_out": [8, 16]}
    assert "Pinned layers: conv_in=4, conv_out=8/16" in out.splitlines()
    assert saved(out).read_text() == engine_config(pins={"conv_in": 4, "conv_out": [8, 16]})
    assert json.loads(engine_config())["bit_allocation"]["conv_in"] != 4  # the pin mattered


def test_pin_file_and_pin_override(run, workdir):
    write(workdir / "pins.json", {"conv_in": 4, "conv_out": [8]})
    code, out, _ = run(OPT, "--pin_file", "pins.json", "--pin", "conv_out=16")
    assert code == 0
    config = json.loads(saved(out).read_text())
    assert config["metadata"]["pins"] == {"conv_in": [4], "conv_out": [16]}
    assert config["bit_allocation"]["conv_in"] == 4
    assert config["bit_allocation"]["conv_out"] == 16


def test_sweep_greedy(run, workdir):
    code, out, _ = run(OPT, "--sweep")
    assert code == 0
    path = Path("results/mixed_precision/budget_sweep.csv")
    assert f"Sweep saved to: {path}" in out.splitlines()
    rows = path.read_text().splitlines()
    header = rows[0].split(",")
    assert header[:2] == ["solver", "multiplier"] and "cost_gbops" in header
    assert len(rows) == 1 + 101
    assert list(tree(workdir)) == [str(path)]
    # The table: every 0.05 -> 21 rows; the 0.50 row agrees with a single-budget run.
    table = [line for line in out.splitlines() if line[:5].strip().replace(".", "").isdigit()]
    assert [line.split()[0] for line in table] == [f"{i / 100:.2f}" for i in range(0, 101, 5)]
    assert table[0].split()[1] == "infeasible"
    half = next(line for line in table if line.startswith(" 0.50"))
    fig = recompute(json.loads(engine_config()), sample_macs(), 0.5)
    assert f"{fig['cost'] / 1e9:.2f}" in half.split()
    cols = dict(zip(header, rows[1 + 50].split(","), strict=True))
    assert cols["multiplier"] == "0.5" and math.isclose(
        float(cols["cost_gbops"]), fig["cost"] / 1e9
    )


def test_sweep_exact_has_both_solvers_and_the_gap(run, workdir):
    code, out, _ = run(OPT, "--sweep", "--solver", "exact")
    assert code == 0
    rows = Path("results/mixed_precision/budget_sweep.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert "greedy_gap_pct" in header
    records = [dict(zip(header, row.split(","), strict=True)) for row in rows[1:]]
    assert len(records) == 202
    assert Counter(r["solver"] for r in records) == {"greedy": 101, "exact": 101}
    for r in records:
        if r["feasible"] == "True":
            assert float(r["greedy_gap"]) >= -1e-9
    assert "gap %" in out and "Largest greedy gap" in out


def test_sweep_no_save(run, workdir):
    code, out, _ = run(OPT, "--sweep", "--no_save")
    assert code == 0 and "Sweep saved" not in out
    assert tree(workdir) == {}


def test_json_summary_in_process(run, workdir):
    code, out, err = run(OPT, "--json", "--no_save", "--budget_multiplier", "0.4")
    assert code == 0
    summary = json.loads(out)
    assert summary["config_file"] is None
    expected = json.loads(engine_config(multiplier=0.4))
    assert summary["metadata"] == expected["metadata"]
    counts = Counter(expected["bit_allocation"].values())
    assert [(d["wbit"], d["layers"]) for d in summary["distribution"]] == [
        (w, counts[w]) for w in (4, 8, 16)
    ]
    assert math.isclose(sum(d["bops_share"] for d in summary["distribution"]), 1.0)
    assert "Final cost" in err  # the report went to stderr
    code, out, err = run(OPT, "--json", "--quiet", "--no_save")
    assert code == 0 and json.loads(out)["metadata"]["budget_multiplier"] == 0.5
    assert "Final cost" not in err


def test_on_mismatch_intersect_drops_and_warns(run, workdir):
    flops = write(workdir / "flops.json", TINY_FLOPS)
    sens = write(workdir / "sens.json", {"sensitivity": {"conv_in": 0.9, "mid": 0.1}})
    args = (OPT, "--flops_file", "flops.json", "--sensitivity_file", "sens.json")
    code, _, err = run(*args)
    assert code == 2
    line = one_line(err)
    assert "sens.json" in line and "layer 'conv_out'" in line and "intersect" in line
    code, out, err = run(*args, "--on_mismatch", "intersect", "--budget_multiplier", "1")
    assert code == 0 and err == ""
    assert "warning: dropped 1 layer(s) found only in flops.json: conv_out" in out.splitlines()
    config = json.loads(Path("results/mixed_precision/quantization_config_1.00.json").read_text())
    assert config["bit_allocation"] == {"conv_in": 16, "mid": 16}
    assert flops.exists() and sens.exists()


def test_tiny_instance_by_hand(run, workdir):
    # MACs 1000/4000/1000; plus4 costs per MAC: 4->32, 8->96, 16->256. Max = 6000 x 256 =
    # 1,536,000; at 0.25 the budget is 384,000; all-4 costs 192,000. Bang for buck of 4->8
    # (64 per MAC): conv_in 0.9/64000, conv_out 0.8/64000, mid 0.1/256000. Greedy: conv_in
    # to 8 (256,000), conv_out to 8 (320,000); 8->16 of conv_in (+160,000) does not fit,
    # mid 4->8 (+256,000) does not fit. Final 320,000 BOPs, utilization 83.3% ("Good").
    write(workdir / "f.json", TINY_FLOPS)
    write(workdir / "s.json", TINY_SENS)
    code, out, _ = run(
        OPT, "--flops_file", "f.json", "--sensitivity_file", "s.json", "--budget_multiplier", "0.25"
    )
    assert code == 0
    config = json.loads(Path("results/mixed_precision/quantization_config_0.25.json").read_text())
    assert config["bit_allocation"] == {"conv_in": 8, "mid": 4, "conv_out": 8}
    lines = out.splitlines()
    assert f"Final cost: {320_000 / 1e9:.2f} GBOPs" in lines
    assert "Budget utilization: 83.3% (Good - some budget left unused)" in lines
    assert "Optimization complete after 2 upgrades" in lines
    assert "4-bit: 1 layers (33.3%), 40.0% of BOPs" in lines
    assert "8-bit: 2 layers (66.7%), 60.0% of BOPs" in lines


# ---------------------------------------------------------------- exit codes and bad input


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["--budget_multiplier", "1.5"], ["--budget_multiplier", "between 0.0 and 1.0"]),
        (["--budget_multiplier", "nan"], ["--budget_multiplier", "'nan'"]),
        (["--budget_multiplier", "-0.1"], ["--budget_multiplier", "between 0.0 and 1.0"]),
        (["--budget_multiplier", "inf"], ["--budget_multiplier", "'inf'"]),
        (["--budget_multiplier", "half"], ["--budget_multiplier", "not a number"]),
        (["--solver", "annealing"], ["--solver", "invalid choice"]),
        (["--act_bits", "plus8"], ["--act_bits", "invalid choice"]),
        (["--bits", "4,x"], ["--bits", "whole numbers"]),
        (["--bits", "0,4"], ["--bits", "whole numbers from 1 to 64"]),
        (["--bits", "4,4"], ["--bits", "repeated width"]),
        (["--upgrade_discount", "nan"], ["--upgrade_discount", "finite"]),
        (["--upgrade_discount", "-1"], ["--upgrade_discount", "from 0 to 1e6"]),
        (["--pin", "conv_in"], ["--pin", "NAME=BITS"]),
        (["--pin", "conv_in=high"], ["--pin", "BITS"]),
        (["--pin", "no_such_layer=16"], ["--pin", "layer 'no_such_layer'", "no such layer"]),
        (["--pin", "conv_in=12"], ["--pin", "layer 'conv_in'", "not in the ladder 4/8/16"]),
        (["--pin", "conv_in=16", "--pin", "conv_in=8"], ["--pin", "conv_in", "twice"]),
        (["--pin_file", "missing.json"], ["missing.json", "file not found"]),
        (["--flops_file", "missing.json"], ["missing.json", "file not found"]),
        (["--sensitivity_file", "missing.json"], ["missing.json", "file not found"]),
        (["--on_mismatch", "union"], ["--on_mismatch", "invalid choice"]),
        (["--sweep", "--json"], ["--json", "--sweep"]),
        (["--sweep", "--budget_multiplier", "0.3"], ["--budget_multiplier", "--sweep"]),
        (["--frobnicate"], ["unrecognized arguments: --frobnicate"]),
    ],
)
def test_bad_flags_exit_2_one_line(run, workdir, argv, fragments):
    sentinel = write(workdir / CONFIG_050, "keep me\n")
    code, out, err = run(OPT, *argv)
    assert code == 2
    line = one_line(err)
    assert line.startswith("main.py: error: ")
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert out == ""
    assert tree(workdir) == {str(CONFIG_050): b"keep me\n"}
    assert sentinel.read_text() == "keep me\n"


def test_missing_required_flag_exit_2(run):
    code, out, err = run("--budget_multiplier", "0.5")
    assert code == 2
    assert "--optimize_mixed_precision" in one_line(err)
    assert out == ""


def _flops_with(layer_record: str) -> str:
    return '{"unit": "MACs", "layers": {"conv_in": ' + layer_record + ', "mid": {"macs": 4000}}}'


def _sens_with(value: str) -> str:
    return '{"sensitivity": {"conv_in": ' + value + ', "mid": 0.1}}'


TINY2_FLOPS = json.dumps(
    {"unit": "MACs", "layers": {"conv_in": {"macs": 1000}, "mid": {"macs": 4000}}}
)
TINY2_SENS = json.dumps({"sensitivity": {"conv_in": 0.9, "mid": 0.1}})
PER_BIT_GAP = json.dumps(
    {"sensitivity": {"conv_in": {"4": 0.9, "8": 0.1, "16": 0}, "mid": {"4": 0.2, "16": 0}}}
)

BAD_INPUTS = {
    # name: (flops text or bytes, sensitivity text, bad file, expected fragments)
    "flops not json": ("{layers: 1", TINY2_SENS, "flops", ["not JSON"]),
    "flops not utf8": (b"\xff\xfe{", TINY2_SENS, "flops", ["not JSON"]),
    "flops no layers": ('{"layers": {}}', TINY2_SENS, "flops", ["field 'layers'", "no layers"]),
    "flops duplicate name": (
        '{"layers": {"conv_in": {"macs": 1}, "conv_in": {"macs": 2}}}',
        TINY2_SENS,
        "flops",
        ["layer 'conv_in'", "duplicate"],
    ),
    "flops duplicate record": (
        '{"layers": [{"name": "mid", "macs": 1}, {"name": "mid", "macs": 2}]}',
        TINY2_SENS,
        "flops",
        ["field 'layers[1]'", "layer 'mid'", "duplicate"],
    ),
    "macs missing": (
        _flops_with('{"type": "Conv2d"}'),
        TINY2_SENS,
        "flops",
        ["field 'macs'", "layer 'conv_in'", "missing"],
    ),
    "macs null": (_flops_with('{"macs": null}'), TINY2_SENS, "flops", ["field 'macs'", "null"]),
    "macs not numeric": (
        _flops_with('{"macs": "lots"}'),
        TINY2_SENS,
        "flops",
        ["field 'macs'", "layer 'conv_in'", "not a number"],
    ),
    "macs NaN": (_flops_with('{"macs": NaN}'), TINY2_SENS, "flops", ["field 'macs'", "NaN"]),
    "macs infinite": (
        _flops_with('{"macs": Infinity}'),
        TINY2_SENS,
        "flops",
        ["field 'macs'", "layer 'conv_in'", "infinite"],
    ),
    "macs negative": (
        _flops_with('{"macs": -5}'),
        TINY2_SENS,
        "flops",
        ["field 'macs'", "layer 'conv_in'", "negative"],
    ),
    "sens not json": (TINY2_FLOPS, "[1, 2", "sens", ["not JSON"]),
    "sens no layers": (TINY2_FLOPS, '{"sensitivity": {}}', "sens", ["no layers"]),
    "sens duplicate name": (
        TINY2_FLOPS,
        '{"sensitivity": {"mid": 0.1, "mid": 0.2, "conv_in": 0.3}}',
        "sens",
        ["layer 'mid'", "duplicate"],
    ),
    "sens missing": (
        TINY2_FLOPS,
        '{"sensitivity": [{"name": "conv_in"}, {"name": "mid", "score": 0.1}]}',
        "sens",
        ["field 'sensitivity'", "layer 'conv_in'", "missing"],
    ),
    "sens null": (TINY2_FLOPS, _sens_with("null"), "sens", ["layer 'conv_in'", "null"]),
    "sens not numeric": (
        TINY2_FLOPS,
        _sens_with('"high"'),
        "sens",
        ["field 'sensitivity'", "layer 'conv_in'", "not a number"],
    ),
    "sens NaN": (TINY2_FLOPS, _sens_with("NaN"), "sens", ["field 'sensitivity'", "NaN"]),
    "sens infinite": (
        TINY2_FLOPS,
        _sens_with("-Infinity"),
        "sens",
        ["field 'sensitivity'", "layer 'conv_in'", "infinite"],
    ),
    "sens negative": (
        TINY2_FLOPS,
        _sens_with("-0.5"),
        "sens",
        ["field 'sensitivity'", "layer 'conv_in'", "negative"],
    ),
    "per-bit table missing a width": (
        TINY2_FLOPS,
        PER_BIT_GAP,
        "sens",
        ["field 'sensitivity'", "layer 'mid'", "no width 8"],
    ),
    "layers mismatch": (
        TINY2_FLOPS,
        '{"sensitivity": {"conv_in": 0.9, "other": 0.1}}',
        "sens",
        ["field 'sensitivity'", "layer 'mid'", "intersect"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_files_exit_2_one_line_nothing_overwritten(run, workdir, case):
    flops_text, sens_text, bad, fragments = BAD_INPUTS[case]
    flops = workdir / "in" / "flops.json"
    sens = workdir / "in" / "sens.json"
    flops.parent.mkdir()
    if isinstance(flops_text, bytes):
        flops.write_bytes(flops_text)
    else:
        flops.write_text(flops_text)
    sens.write_text(sens_text)
    write(workdir / CONFIG_050, "previous config\n")
    before = tree(workdir)

    code, out, err = run(OPT, "--flops_file", "in/flops.json", "--sensitivity_file", "in/sens.json")
    assert code == 2
    line = one_line(err)
    bad_label = f"in/{'flops' if bad == 'flops' else 'sens'}.json"
    assert line.startswith(f"main.py: error: {bad_label}: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert out == ""
    assert tree(workdir) == before


def test_intersect_option_rescues_the_mismatch_case(run, workdir):
    write(workdir / "f.json", TINY2_FLOPS)
    write(workdir / "s.json", '{"sensitivity": {"conv_in": 0.9, "other": 0.1}}')
    code, out, _ = run(
        OPT, "--flops_file", "f.json", "--sensitivity_file", "s.json", "--on_mismatch", "intersect"
    )
    assert code == 0
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2  # one layer dropped from each file
    config = json.loads(CONFIG_050.read_text())
    assert list(config["bit_allocation"]) == ["conv_in"]


@pytest.mark.parametrize(
    "content, fragments",
    [
        ("{oops", ["pins.json", "not JSON"]),
        ('["conv_in"]', ["pins.json", "JSON object"]),
        ('{"conv_in": "16"}', ["pins.json", "field 'pins'", "layer 'conv_in'"]),
        ('{"conv_in": [16, "x"]}', ["pins.json", "field 'pins'", "layer 'conv_in'"]),
        ('{"no_such": 16}', ["pins.json", "field 'pins'", "layer 'no_such'", "no such layer"]),
        ('{"conv_out": 5}', ["pins.json", "layer 'conv_out'", "not in the ladder"]),
        ('{"conv_out": 8, "conv_out": 16}', ["pins.json", "layer 'conv_out'", "duplicate"]),
    ],
)
def test_bad_pin_file_exit_2(run, workdir, content, fragments):
    write(workdir / "pins.json", content)
    code, out, err = run(OPT, "--pin_file", "pins.json")
    assert code == 2
    line = one_line(err)
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert out == "" and not Path("results").exists()


def test_infeasible_budget_exit_3_keeps_existing_config(run, workdir):
    old = write(workdir / "results/mixed_precision/quantization_config_0.12.json", "old\n")
    code, out, err = run(OPT, "--budget_multiplier", "0.12")
    assert code == 3
    line = one_line(err)
    assert "smallest feasible multiplier" in line and "0.13 on the 0.01 grid" in line
    assert out == ""
    assert old.read_text() == "old\n"
    assert tree(workdir) == {"results/mixed_precision/quantization_config_0.12.json": b"old\n"}
    # The grid value it names is feasible.
    code, _, _ = run(OPT, "--budget_multiplier", "0.13", "--no_save")
    assert code == 0


def test_infeasible_budget_with_pins_and_json(run, workdir):
    # Pinning every layer to 16 makes every multiplier below 1 infeasible; --json stays empty.
    pins = [f"--pin={name}=16" for name in sample_macs()]
    code, out, err = run(OPT, "--json", "--budget_multiplier", "0.9", *pins)
    assert code == 3
    assert out == ""
    assert "smallest feasible multiplier" in one_line(err)


def test_unwritable_output_exit_1(run, workdir):
    write(workdir / "blocker", "a file, not a folder\n")
    code, out, err = run(OPT, "--output_dir", "blocker")
    assert code == 1
    line = one_line(err)
    assert "cannot write" in line and "blocker" in line
    assert out == ""
    assert (workdir / "blocker").read_text() == "a file, not a folder\n"


# --report: the dashboard's charts of this budget, as files


def test_report_html_only_needs_no_browser(run, workdir, monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    code, out, err = run(
        "--optimize_mixed_precision", "--report", "rep", "--report_formats", "html",
        "--budget_multiplier", "0.3",
    )  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in (workdir / "rep").iterdir()) == ["report.html"]
    page = (workdir / "rep" / "report.html").read_text()
    config = json.loads(
        (workdir / "results/mixed_precision/quantization_config_0.30.json").read_text()
    )
    assert "conv_in" in page and "Plotly.newPlot" in page
    assert f"{config['metadata']['cost_gbops']:,.1f}" in page  # the headline cost
    assert "Report saved to: rep (1 files)" in out


@pytest.mark.slow
@needs_chromium
def test_report_writes_html_and_images(run, workdir):
    code, _out, err = run(
        "--optimize_mixed_precision", "--report", "rep", "--quiet", "--solver", "exact"
    )
    assert code == 0, err
    names = sorted(p.name for p in (workdir / "rep").iterdir())
    charts = ["budget_curve", "budget_use", "distribution", "heatmap", "slack", "solver_gap"]
    assert names == sorted(
        ["report.html", *(f"{c}_m0.50.{f}" for c in charts for f in ("png", "svg"))]
    )
    for chart in charts:
        png = (workdir / "rep" / f"{chart}_m0.50.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        root = ElementTree.parse(workdir / "rep" / f"{chart}_m0.50.svg").getroot()
        assert root.tag.endswith("svg")
        lines = [t for t in root.itertext() if t.strip()]
        solver = "greedy vs exact" if chart == "solver_gap" else "exact"
        # the context subtitle, wrapped at its " · " in a half-page figure: its lines in turn
        start = next(i for i, t in enumerate(lines) if t.startswith("stable-diffusion-v1-4"))
        subtitle = " · ".join(lines[start : start + 2])
        assert subtitle.endswith(f"m = 0.50 · {solver} · W4/8/16") or lines[start].endswith(
            f"m = 0.50 · {solver} · W4/8/16"
        ), lines[start : start + 2]
    assert oct((workdir / "rep" / "heatmap_m0.50.png").stat().st_mode & 0o777) != oct(0o600)


def test_report_bad_format_exit_2(run, workdir):
    code, _out, err = run(
        "--optimize_mixed_precision", "--report", "rep", "--report_formats", "html,gif"
    )
    assert code == 2
    assert one_line(err) == (
        "main.py: error: argument --report_formats: expected formats from html,png,svg,pdf "
        "separated by commas, got 'html,gif' (see main.py --help)"
    )
    assert not (workdir / "rep").exists()


def test_report_with_sweep_is_a_usage_error(run, workdir):
    code, _, err = run("--optimize_mixed_precision", "--sweep", "--report", "rep")
    assert code == 2
    assert "--report is for one budget" in one_line(err)


def test_report_images_without_chromium_exit_1_one_line(run, workdir, monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    code, _, err = run("--optimize_mixed_precision", "--report", "rep", "--report_formats", "png")
    assert code == 1
    assert err == (
        "main.py: error: cannot write: report images for rep: chart images need Chromium: "
        "BROWSER_PATH=/nonexistent/chromium does not exist (install it: apt-get install "
        "chromium, or point BROWSER_PATH at Chrome/Chromium)\n"
    )
    assert not (workdir / "rep").exists()


def test_report_images_with_a_broken_chromium_exit_1_one_line(run, workdir, monkeypatch):
    broken = workdir / "chromium"
    broken.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    broken.chmod(0o755)
    monkeypatch.setenv("BROWSER_PATH", str(broken))
    code, _, err = run("--optimize_mixed_precision", "--report", "rep")
    assert code == 1
    assert err == (
        "main.py: error: cannot write: report images for rep: chart images need a working "
        f"Chromium: {broken} --version exited with code 1\n"
    )
    assert not (workdir / "rep").exists()  # not even the HTML: images are rendered first


def test_report_with_a_broken_chromium_fails_fast_as_a_subprocess(tmp_path):
    """Regression: a missing or broken Chromium hung for 90 s and ended in a traceback."""
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    broken.chmod(0o755)
    result = subprocess.run(
        [sys.executable, str(REPO / "main.py"), OPT, "--report", "rep"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,  # a hang fails here instead of blocking the suite
        env={**os.environ, "BROWSER_PATH": str(broken)},
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{broken} --version exited with code 1" in result.stderr
