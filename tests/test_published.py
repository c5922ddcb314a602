"""The published allocations of HAWQ-V3 (ResNet18/50) and MixDQ (SDXL-turbo), reproduced by
``main.py ... --solver exact`` from the bundled inputs in ``sample_data/`` (their READMEs cite
the sources).

Every case runs the command line in-process in a temporary directory, reads the exported config
and the exported ``layer: wbit`` mapping, and checks: the status is "optimal"; the allocation
equals the published one layer by layer; and the allocation meets every limit, re-costed here
from the raw input files with exact fractions (no mpq code involved).

One published allocation is not reproduced, and cannot be: HAWQ-V3's ResNet50 model-size 0.25
config is strictly worse than another allocation that also fits the notebook's own model-size
limit (``test_hawq_resnet50_modelsize_025_published_is_not_optimal`` shows it by hand).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from support import REPO

from mpq_core.cli import main

SAMPLES = REPO / "sample_data"
HAWQ_RESOURCE = {"modelsize": "wbits", "bops": "bops", "latency": "t4_latency"}
HAWQ_CASES = [
    (model, kind, r)
    for model in ("resnet18", "resnet50")
    for kind in ("modelsize", "bops", "latency")
    for r in ("0.25", "0.5", "0.75")
]
# The one published config that is not the optimum of its own ILP (see the module docstring).
NOT_OPTIMAL = ("resnet50", "modelsize", "0.25")
MIXDQ = SAMPLES / "mixdq_sdxl_turbo"
MIXDQ_TAGS = ("4.08", "5.02")


def run_cli(argv: list[str], workdir: Path) -> dict:
    """``main(argv)`` in ``workdir``; the --json summary, or a failure with the report."""
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.chdir(workdir),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(["--optimize_mixed_precision", "--json", *argv])
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())


def exports(workdir: Path) -> tuple[dict, dict]:
    """The exported config and the exported mapping (the only two files written)."""
    (config,) = (workdir / "out" / "mixed_precision").glob("*.json")
    (mapping,) = (workdir / "out" / "mixed_precision").glob("*.yaml")
    return json.loads(config.read_text()), yaml.safe_load(mapping.read_text())


def published(path: Path) -> dict[str, int]:
    return yaml.safe_load(path.read_text())


# ---------------------------------------------------------------------------------- HAWQ-V3


def hawq_dir(model: str) -> Path:
    return SAMPLES / f"hawq_v3_{model}"


def hawq_argv(model: str, kind: str, r: str) -> list[str]:
    """The documented command (docs/formats.md, the example's README), with absolute paths."""
    d = hawq_dir(model)
    return [
        "--flops_file", str(d / "flops.json"),
        "--sensitivity_file", str(d / "sensitivity.json"),
        "--resources", str(d / "t4_latency.json"),
        "--constraints", str(d / "constraints.json"),
        "--act_bits", "match",
        "--limit", f"{HAWQ_RESOURCE[kind]}<={r}r",
        "--solver", "exact",
        "--export_format", "both",
        "--output_dir", "out",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def hawq_runs(tmp_path_factory) -> dict[tuple[str, str, str], tuple[dict, dict, dict]]:
    """Each of the 18 HAWQ-V3 cases solved once: (--json summary, config, mapping)."""
    runs = {}
    for case in HAWQ_CASES:
        workdir = tmp_path_factory.mktemp("_".join(case))
        summary = run_cli(hawq_argv(*case), workdir)
        runs[case] = (summary, *exports(workdir))
    return runs


def hawq_raw(model: str) -> tuple[dict, dict, dict, list]:
    """macs/params per layer, losses per layer, T4 latencies per layer, ties: from the files."""
    d = hawq_dir(model)
    layers = json.loads((d / "flops.json").read_text())["layers"]
    losses = json.loads((d / "sensitivity.json").read_text())["sensitivity"]
    latency = json.loads((d / "t4_latency.json").read_text())["resources"]["t4_latency"]
    ties = json.loads((d / "constraints.json").read_text())["ties"]
    return layers, losses, latency, ties


def hawq_use_and_cap(
    model: str, kind: str, r: str, wbits: dict[str, int]
) -> tuple[Fraction, Fraction]:
    """The allocation's use of the limited resource and the cap ``low + r (high - low)``, exactly.

    modelsize: params x w; bops: MACs x w x w (activations at the weight width); latency: the
    measured T4 table. low / high: every layer at 4 / at 8 bits (HAWQ-V3's definition).
    """
    layers, _, latency, _ = hawq_raw(model)

    def value(name: str, w: int) -> Fraction:
        if kind == "modelsize":
            return Fraction(layers[name]["params"] * w)
        if kind == "bops":
            return Fraction(layers[name]["macs"] * w * w)
        return Fraction(latency[name][str(w)])

    low = sum(value(n, 4) for n in layers)
    high = sum(value(n, 8) for n in layers)
    use = sum(value(n, wbits[n]) for n in layers)
    return use, low + Fraction(r) * (high - low)


@pytest.mark.parametrize("case", HAWQ_CASES, ids=["-".join(c) for c in HAWQ_CASES])
def test_hawq_optimal_within_its_limit(hawq_runs, case):
    summary, config, mapping = hawq_runs[case]
    assert summary["metadata"]["status"] == "optimal"
    assert config["metadata"]["status"] == "optimal"
    assert config["bit_allocation"] == mapping == summary["bit_allocation"]
    use, cap = hawq_use_and_cap(*case, mapping)
    assert use <= cap
    _, _, _, ties = hawq_raw(case[0])
    assert all(mapping[a] == mapping[b] for a, b in ties)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            marks=pytest.mark.xfail(
                strict=True,
                reason="published config is not the optimum of its own ILP; see "
                "test_hawq_resnet50_modelsize_025_published_is_not_optimal",
            ),
        )
        if c == NOT_OPTIMAL
        else c
        for c in HAWQ_CASES
    ],
    ids=["-".join(c) for c in HAWQ_CASES],
)
def test_hawq_matches_published(hawq_runs, case):
    model, kind, r = case
    want = published(hawq_dir(model) / f"published_{kind}_{r}.yaml")
    _, _, mapping = hawq_runs[case]
    assert list(mapping) == list(want)  # the same layers, in the same order
    assert {n: w for n, w in mapping.items() if w != want[n]} == {}


def hawq_objective(model: str, wbits: dict[str, int]) -> Fraction:
    """HAWQ-V3's objective, as a gain: sum over 8-bit layers of loss(4) - loss(8)."""
    _, losses, _, _ = hawq_raw(model)
    return sum(
        (Fraction(losses[n]["4"]) - Fraction(losses[n]["8"]) for n, w in wbits.items() if w == 8),
        Fraction(0),
    )


def test_hawq_resnet50_modelsize_025_published_is_not_optimal(hawq_runs):
    """bit_config_resnet50_modelsize_0.25 fits the limit with 1,490,944 bits to spare, and
    raising stage3.unit6.quant_convbn1 (262,144 params) from 4 to 8 bits costs 1,048,576 bits and
    gains 0.0081608 of the objective: a strictly better allocation under the same limit, which
    is exactly what the exact solver returns. No model-size limit reproduces the published one:
    at its own size, swapping that layer with stage3.unit2.quant_convbn1 (same size) gains too."""
    model, kind, r = NOT_OPTIMAL
    want = published(hawq_dir(model) / f"published_{kind}_{r}.yaml")
    use, cap = hawq_use_and_cap(model, kind, r, want)
    assert (use, cap - use) == (115_736_576, 1_490_944)

    better = {**want, "stage3.unit6.quant_convbn1": 8}
    better_use, _ = hawq_use_and_cap(model, kind, r, better)
    assert better_use - use == 1_048_576 and better_use <= cap
    gain = hawq_objective(model, better) - hawq_objective(model, want)
    assert float(gain) == pytest.approx(0.0081608482, rel=1e-8)

    swapped = {**better, "stage3.unit2.quant_convbn1": 4}
    assert hawq_use_and_cap(model, kind, r, swapped)[0] == use
    assert hawq_objective(model, swapped) > hawq_objective(model, want)

    _, _, mapping = hawq_runs[NOT_OPTIMAL]
    assert mapping == better
    assert float(hawq_objective(model, mapping)) == pytest.approx(0.831387219, rel=1e-8)
    assert float(hawq_objective(model, want)) == pytest.approx(0.823226371, rel=1e-8)


# ------------------------------------------------------------------------------------ MixDQ


def mixdq_argv(tag: str) -> list[str]:
    return [
        "--flops_file", str(MIXDQ / "flops.json"),
        "--sensitivity_file", str(MIXDQ / "sensitivity.yaml"),
        "--bits", "2,4,8",
        "--name_prefix", "model.",
        "--pin_file", str(MIXDQ / "pins_quality_4_8.json"),
        "--constraints", str(MIXDQ / f"constraints_w{tag}.json"),
        "--solver", "exact",
        "--export_format", "both",
        "--output_dir", "out",
    ]  # fmt: skip


def is_content(name: str) -> bool:
    return "ff" in name or "attn2" in name


def mixdq_means(wbits: dict[str, int]) -> dict[str, Fraction]:
    """Params-weighted mean width per group, from the raw flops file (names without 'model.')."""
    layers = json.loads((MIXDQ / "flops.json").read_text())["layers"]
    out = {}
    for group in ("content", "quality"):
        names = [n for n in layers if is_content(n) == (group == "content")]
        total = sum(layers[n]["params"] for n in names)
        out[group] = Fraction(sum(layers[n]["params"] * wbits[n] for n in names), total)
    return out


@pytest.mark.parametrize("tag", MIXDQ_TAGS)
def test_mixdq_matches_published(tmp_path, tag):
    summary = run_cli(mixdq_argv(tag), tmp_path)
    config, mapping = exports(tmp_path)
    assert summary["metadata"]["status"] == config["metadata"]["status"] == "optimal"

    want = published(MIXDQ / f"published_weight_{tag}.yaml")
    assert len(want) == 794
    assert list(mapping) == list(want)  # the exported names carry MixDQ's 'model.' prefix
    assert {n: w for n, w in mapping.items() if w != want[n]} == {}
    assert {f"model.{n}": w for n, w in config["bit_allocation"].items()} == mapping

    # every limit, re-costed from the raw files; each cap binds (use == the published mean), so
    # any lower bound MixDQ imposed (mean >= target - 0.02) is met by this optimum as well
    bare = {n.removeprefix("model."): w for n, w in mapping.items()}
    means = mixdq_means(bare)
    limits = json.loads((MIXDQ / f"constraints_w{tag}.json").read_text())["limits"]
    for limit in limits:
        cap = Fraction(limit["at_most"])
        assert means[limit["group"]] <= cap < means[limit["group"]] + Fraction(1, 10**15)
    assert {w for n, w in bare.items() if not is_content(n)} <= {4, 8}
    assert {w for n, w in bare.items() if is_content(n)} <= {2, 4, 8}


def test_mixdq_caps_are_the_published_group_means():
    """The constraints files hold the published allocations' group means (the W4.08 / W5.02
    configs: content 3.3635 / 4.0873 bits, quality 5.7312 / 7.1430 bits)."""
    expected = {
        "4.08": (3.363527239150508, 5.731163702345259),
        "5.02": (4.087349953831949, 7.143015166069922),
    }
    for tag, (content, quality) in expected.items():
        want = published(MIXDQ / f"published_weight_{tag}.yaml")
        means = mixdq_means({n.removeprefix("model."): w for n, w in want.items()})
        assert float(means["content"]) == pytest.approx(content, abs=1e-15)
        assert float(means["quality"]) == pytest.approx(quality, abs=1e-15)
        limits = json.loads((MIXDQ / f"constraints_w{tag}.json").read_text())["limits"]
        assert [(x["group"], float(x["at_most"])) for x in limits] == [
            ("content", content),
            ("quality", quality),
        ]


# ----------------------------------------------------------------------------- provenance


def test_generated_inputs_match_the_generator(tmp_path):
    """The bundled input files are exactly what scripts/gen_published_examples.py writes from
    the transcribed sources."""
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "gen_published_examples.py"),
            "--out-dir",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) == 13
    for rel in written:
        assert (tmp_path / rel).read_bytes() == (SAMPLES / rel).read_bytes(), rel


def test_mixdq_sensitivity_keeps_the_source_entries_verbatim():
    """sensitivity.yaml is MixDQ's layout: each entry is the source file's text, unchanged."""
    text = (MIXDQ / "sensitivity.yaml").read_text()
    source = (MIXDQ / "source" / "sensitivity_ssim.yaml").read_text() + (
        MIXDQ / "source" / "sensitivity_sqnr_quality_layers.yaml"
    ).read_text()
    entries = text.split("model.")[1:]
    assert len(entries) == 794
    assert all(("model." + entry) in source for entry in entries)
