"""The command line with limits, groups, ties, resources, scores and the mapping export; file
names per setting; one-line errors for every new input. Figures in saved configs are
recomputed from the raw input files, not through the engine."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

from mpq_core import cli

OPT = "--optimize_mixed_precision"
SAMPLE_FLOPS = REPO / "sample_data/sd14_unet/flops_analysis_unet.json"


def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def saved(out: str, label: str = "Config") -> Path:
    line = next(line for line in out.splitlines() if line.startswith(f"{label} saved to: "))
    return Path(line.split(": ", 1)[1])


def raw_layers() -> dict:
    return json.loads(SAMPLE_FLOPS.read_text())["layers"]


def mean_wbits(config: dict, names=None) -> float:
    layers = raw_layers()
    names = names or list(config["bit_allocation"])
    params = [layers[n]["params"] for n in names]
    bits = [layers[n]["params"] * config["bit_allocation"][n] for n in names]
    return math.fsum(bits) / math.fsum(params)


def bops(config: dict) -> float:
    layers = raw_layers()
    return math.fsum(
        layers[n]["macs"] * (q["wbit"] * q["abit"])
        for n, q in config["quantization_config"].items()
    )


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("solver", ["greedy", "exact"])
def test_two_limits_from_flags(run, workdir, solver):
    code, out, err = run(
        OPT, "--limit", "mean_wbits<=6", "--limit", "bops<=0.4x", "--solver", solver
    )
    assert code == 0, err
    path = saved(out)
    suffix = "" if solver == "greedy" else "_exact"  # the original greedy needs no suffix
    assert path.name == f"quantization_config_mean_wbits6_bops0.4x{suffix}.json"
    config = json.loads(path.read_text())
    max_bops = math.fsum(v["macs"] * 256 for v in raw_layers().values())
    assert mean_wbits(config) <= 6
    assert bops(config) <= 0.4 * max_bops
    meta = config["metadata"]
    assert [(x["resource"], x["at_most"]) for x in meta["limits"]] == [
        ("mean_wbits", "6"),
        ("bops", "0.4x"),
    ]
    assert meta["limits"][0]["use"] == pytest.approx(mean_wbits(config))
    assert meta["mean_wbits"] == pytest.approx(mean_wbits(config))
    assert meta["weight_mib"] == pytest.approx(
        math.fsum(raw_layers()[n]["params"] * w for n, w in config["bit_allocation"].items())
        / 8
        / 2**20
    )
    lines = out.splitlines()
    assert any(line.startswith("Limit mean_wbits <= 6: cap 6 bits, use ") for line in lines)
    assert any(line.startswith("Mean weight bits: ") for line in lines)
    if solver == "exact":
        assert meta["status"] == "optimal"
        assert any(line.startswith("Proven optimal") for line in lines)


def test_budget_multiplier_adds_to_the_limits(run, workdir):
    code, out, _ = run(OPT, "--budget_multiplier", "0.3", "--limit", "mean_wbits<=7")
    assert code == 0
    meta = json.loads(saved(out).read_text())["metadata"]
    assert [x["at_most"] for x in meta["limits"]] == ["0.3x", "7"]
    assert meta["budget_multiplier"] == 0.3


def test_constraints_file_with_groups_and_ties(run, workdir):
    write(
        workdir / "c.json",
        {
            "groups": {"content": ["*.attn2.*", "*.ff.*"], "quality": ["*"]},
            "ties": [["conv_in", "conv_out"]],
            "limits": [
                {"resource": "mean_wbits", "group": "content", "at_most": 5},
                {"resource": "mean_wbits", "group": "quality", "at_most": "0.5r"},
            ],
        },
    )
    code, out, err = run(OPT, "--constraints", "c.json", "--solver", "exact")
    assert code == 0, err
    config = json.loads(saved(out).read_text())
    alloc = config["bit_allocation"]
    assert alloc["conv_in"] == alloc["conv_out"]
    content = [n for n in alloc if ".attn2." in n or ".ff." in n]
    quality = [n for n in alloc if n not in content]
    assert mean_wbits(config, content) <= 5
    assert mean_wbits(config, quality) <= 4 + 0.5 * (16 - 4) + 1e-12
    assert set(config["metadata"]["mean_wbits_by_group"]) == {"content", "quality"}
    assert "Group content: " in out and "Tie: conv_in, conv_out" in out


def test_resources_and_mixdq_yaml_scores(run, workdir):
    """A latency table and a MixDQ-style YAML of scores with a name prefix."""
    write(
        workdir / "f.json",
        {"layers": {"a": {"macs": 4, "params": 10}, "b": {"macs": 1, "params": 30}}},
    )
    write(workdir / "s.yaml", "model.a: [5.0, 12.0, 20.0]\nmodel.b: [1.0, 9.0, 30.0]\n")
    write(
        workdir / "r.json",
        {
            "resources": {"lat": {"a": {"2": 1, "4": 2, "8": 4}, "b": {"2": 1, "4": 1.5, "8": 3}}},
            "units": {"lat": "ms"},
        },
    )
    code, out, err = run(
        OPT, "--flops_file", "f.json", "--sensitivity_file", "s.yaml", "--bits", "2,4,8",
        "--name_prefix", "model.", "--resources", "r.json", "--limit", "lat<=5",
        "--solver", "exact", "--export_format", "both",
    )  # fmt: skip
    assert code == 0, err
    # scores: gains a 0/7/15, b 0/8/29; latency a 1/2/4, b 1/1.5/3, at most 5 ms:
    # a2 b8 = 4 ms, gain 29; a4 b8 = 5 ms, gain 36 (best); a8 b4 = 5.5 (over)
    config = json.loads(saved(out).read_text())
    assert config["bit_allocation"] == {"a": 4, "b": 8}
    assert config["metadata"]["sensitivity_sense"] == "score"
    assert config["metadata"]["objective"] == 36.0
    mapping = saved(out, "Mapping")
    assert mapping.suffix == ".yaml"
    assert mapping.read_text() == '"model.a": 4\n"model.b": 8\n'
    assert "score gained over the lowest widths, higher is better" in out


def test_sensitivity_sense_overrides_the_file(run, workdir):
    write(workdir / "f.json", {"layers": {"a": {"macs": 1}, "b": {"macs": 1}}})
    write(workdir / "s.json", {"sensitivity": {"a": {"4": 10, "8": 30}, "b": {"4": 5, "8": 40}}})
    code, out, _ = run(OPT, "--flops_file", "f.json", "--sensitivity_file", "s.json",
                       "--budget_multiplier", "0.75", "--sensitivity_sense", "score", "--no_save")  # fmt: skip
    assert code == 0
    assert "Objective (score gained over the lowest widths, higher is better): 35.0000" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--limit", "mean_wbits=4"], "main.py: error: argument --limit: expected RESOURCE[@GROUP]<=VALUE or >=VALUE (like mean_wbits<=4.08, bops<=0.3x or bpw>=4.2), got 'mean_wbits=4' (see main.py --help)"),
        (["--limit", "speed<=1"], "main.py: error: limits: unknown resource 'speed' (known: bops, wbits, mean_wbits; others come from a resources file)"),
        (["--limit", "bops@g<=1"], "main.py: error: limits: unknown group 'g' (groups: none defined)"),
        (["--tie", "conv_in"], "main.py: error: argument --tie: expected two or more layer names: A,B[,C], got 'conv_in' (see main.py --help)"),
        (["--tie", "conv_inn,conv_out"], "main.py: error: --tie/--limit: field 'ties[0]', layer 'conv_inn': no such layer in the loaded files (did you mean 'conv_in'?)"),
        (["--pin", "conv_inn=16"], "main.py: error: --pin: field 'pins', layer 'conv_inn': no such layer in the loaded files (did you mean 'conv_in'?)"),
        (["--constraints", "missing.json"], "main.py: error: missing.json: file not found"),
        (["--resources", "missing.json"], "main.py: error: missing.json: file not found"),
        (["--no_save", "--report", "r"], "main.py: error: --report writes files and --no_save writes none: drop one of them (see main.py --help)"),
        (["--sensitivity_sense", "score"], "main.py: error: --sensitivity_sense: applies to per-bit tables; a scalar score per layer is already the gain of upgrading that layer"),
        (["--limit", "mean_wbits<=2"], "main.py: error: infeasible: mean_wbits <= 2 cannot be met: with every layer at its least use it is 4 bits against a limit of 2 bits"),
        (["--time_limit", "0"], "main.py: error: argument --time_limit: must be seconds in (0, 86400], got '0' (see main.py --help)"),
        (["--bits", str(2**1100)], "main.py: error: argument --bits: expected whole numbers separated by commas (like 4,8,16), got '" + str(2**1100)[:57] + "...' (see main.py --help)"),
    ],
)  # fmt: skip
def test_new_inputs_fail_in_one_line(run, workdir, argv, message):
    code, out, err = run(OPT, *argv)
    assert code == (3 if "infeasible" in message else 2)
    assert out == ""
    assert one_line(err) == message
    assert not (workdir / "results").exists()


def test_bad_constraints_file_names_file_and_field(run, workdir):
    write(workdir / "c.json", {"limits": [{"resource": "bops", "at_most": "lots"}]})
    code, _, err = run(OPT, "--constraints", "c.json")
    assert code == 2
    assert one_line(err).startswith(
        "main.py: error: c.json: field 'limits[0].at_most': expected a number"
    )


def test_other_settings_never_overwrite_the_original_file(run, workdir):
    code, out, _ = run(OPT)
    original = saved(out)
    assert original.name == "quantization_config_0.50.json"
    before = original.read_text()
    for argv in (["--solver", "exact"], ["--act_bits", "match"], ["--pin", "conv_in=16"]):
        code, out, _ = run(OPT, *argv)
        assert code == 0 and saved(out) != original
    assert original.read_text() == before
    code, out, _ = run(OPT, "--budget_multiplier", "0.337")
    assert saved(out).name == "quantization_config_0.337.json"
    from mpq_core import config_filename

    assert config_filename(-0.0) == "quantization_config_0.00.json"


def test_replacing_a_config_made_from_other_inputs_says_so(run, workdir):
    code, out, _ = run(OPT)
    path = saved(out)
    data = json.loads(path.read_text())
    data["metadata"]["flops_sha256"] = "0" * 64
    path.write_text(json.dumps(data))
    code, out, _ = run(OPT)
    assert code == 0
    assert f"note: replaced {path}, made from another Phase 1 file" in out.splitlines()


def test_stale_temporary_files_are_removed(run, workdir):
    folder = workdir / "results/mixed_precision"
    folder.mkdir(parents=True)
    dead = folder / ".quantization_config_0.50.json.999999999.abcd.tmp"
    dead.write_text("half")
    alive = folder / f".quantization_config_0.50.json.{os.getpid()}.abcd.tmp"
    alive.write_text("still being written")
    code, _, _ = run(OPT)
    assert code == 0
    assert not dead.exists() and alive.exists()


def test_json_carries_the_allocation(run, workdir):
    code, out, _ = run(OPT, "--json", "--no_save")
    assert code == 0
    summary = json.loads(out)
    assert len(summary["bit_allocation"]) == 314
    assert summary["metadata"]["limits"][0]["at_most"] == "0.5x"


def test_version_and_fast_help():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(REPO / "main.py"), "--help"],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0
    imported = result.stderr
    for heavy in ("pandas", "scipy", "plotly", "numpy"):
        assert f" {heavy}\n" not in imported and f"| {heavy}\n" not in imported, heavy
    version = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "--version"], capture_output=True, text=True
    )
    assert version.stdout.strip().startswith("mpq ")


def test_quiet_help_lists_every_new_flag(capsys):
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--limit", "--tie", "--constraints", "--resources", "--sensitivity_sense",
                 "--name_prefix", "--export_format", "--time_limit", "--version"):  # fmt: skip
        assert flag in text
