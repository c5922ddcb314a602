"""Format emulation (mpq_torch.formats_quant) against values worked out by hand, the
``--formats`` flags of ``python -m mpq_torch``, and the bundled per-format MiniLM sample."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pandas as pd
import pytest
import torch
from support import REPO
from torch import nn

import mpq_core as mc
from mpq_core import InputError
from mpq_core.model.formats import CATALOG, GROUP, Format, WeightFormat, catalog_formats
from mpq_core.report.agreement import spearman
from mpq_torch.cli import main
from mpq_torch.formats_quant import (
    E2M1,
    E3M2,
    E4M3,
    emulation,
    formatted,
    quantize_mx,
    quantize_nv,
    round_to_grid,
    to_e4m3,
)

SAMPLE = REPO / "sample_data" / "minilm_l6_formats"
FLOPS = SAMPLE / "flops_analysis.json"
LOSSES = SAMPLE / "sensitivity_formats.json"
ALL_FORMATS = ",".join(CATALOG)


def _weight(name: str, w: list[list[float]]) -> torch.Tensor:
    return emulation(CATALOG[name]).weight(torch.tensor(w))


def _row(size: int, values: dict[int, list[float]]) -> torch.Tensor:
    """A 1 x size tensor of zeros with ``values`` written from each start index."""
    row = torch.zeros(1, size)
    for start, part in values.items():
        row[0, start : start + len(part)] = torch.tensor(part)
    return row


# --- element grids -----------------------------------------------------------------------------


def test_fp4_e2m1_grid_by_hand():
    # E2M1: 0, 0.5 (subnormal), 1, 1.5, 2, 3, 4, 6. Steps: 0.5 below 2, 1 in [2, 4), 2 in [4, 6].
    # 0.25 -> tie 0 / 0.5 -> 0 (even); 0.75 -> tie 0.5 / 1 -> 1; 1.25 -> tie 1 / 1.5 -> 1;
    # 1.75 -> 2; 2.5 -> 2; 3.5 -> 4; 5 -> tie 4 / 6 -> 4; 5.1 -> 6; 7 and 100 saturate at 6
    x = torch.tensor([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 5.1, 7.0, 100.0, -2.6, 0.0])
    want = torch.tensor([0.0, 1.0, 1.0, 2.0, 2.0, 4.0, 4.0, 6.0, 6.0, 6.0, -3.0, 0.0])
    torch.testing.assert_close(round_to_grid(x, E2M1), want, rtol=0, atol=0)


def test_fp6_e3m2_grid_by_hand():
    # E3M2: bias 3, largest 1.75 x 2^4 = 28, smallest step 2^(-2-2) = 0.0625 (subnormals).
    # 0.09 -> 1.44 steps -> 0.0625; 10.4 -> step 2 in [8, 16) -> 5.2 -> 10; 27 -> step 4 -> 28;
    # 30 saturates at 28
    x = torch.tensor([0.09, 10.4, 27.0, 30.0, -1.6])
    want = torch.tensor([0.0625, 10.0, 28.0, 28.0, -1.5])
    torch.testing.assert_close(round_to_grid(x, E3M2), want, rtol=0, atol=0)
    assert (E2M1.max_exponent, E3M2.max_exponent, E4M3.max_exponent) == (2, 4, 8)


def test_e4m3_grid_matches_torch_float8_cast():
    x = torch.cat([torch.linspace(-460, 460, 20001), torch.linspace(-0.02, 0.02, 20001)])
    torch.testing.assert_close(round_to_grid(x, E4M3), to_e4m3(x), rtol=0, atol=0)


# --- weights -----------------------------------------------------------------------------------


def test_int8_per_channel_with_fp16_scales_by_hand():
    # row 0: max 127 -> scale 1: 0.5 -> 0, -1.5 -> -2, 2.5 -> 2 (half to even)
    # row 1: max 12.7 -> 0.1 -> FP16 0.0999755859375 = s: 12.7 / s = 127.03 -> 127 -> 127 s;
    # 0.05 / s = 0.5001 -> 1 -> s; -3.33 / s = -33.31 -> -33 -> -33 s
    s = 0.0999755859375
    got = _weight("int8", [[127.0, 0.5, -1.5, 2.5], [12.7, 0.05, -3.33, 0.0]])
    want = torch.tensor([[127.0, 0.0, -2.0, 2.0], [127 * s, s, -33 * s, 0.0]])
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_int4_groups_of_32_by_hand():
    # group 1 (max 7): scale 1: 2.5 -> 2, -3.5 -> -4, 0.4 -> 0.
    # group 2 (max 0.7): scale FP16(0.1) = s = 0.0999755859375: 0.7 / s = 7.002 -> 7;
    # 0.35 / s = 3.5009 -> 4; -0.05 / s = -0.50012 -> -1 (an FP32 scale of 0.1 would give
    # -0.5 -> 0: the FP16 rounding of the scale shows)
    s = 0.0999755859375
    got = emulation(CATALOG["int4_g32"]).weight(
        _row(64, {0: [7.0, 2.5, -3.5, 0.4], 32: [0.7, 0.35, -0.05]})
    )
    want = _row(64, {0: [7.0, 2.0, -4.0, 0.0], 32: [7 * s, 4 * s, -s]})
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_a_short_last_group_is_quantized_on_its_own():
    # 40 inputs in groups of 32: the last 8 form a group of their own (max 0.7, as above)
    s = 0.0999755859375
    got = emulation(CATALOG["int4_g32"]).weight(_row(40, {0: [7.0, 2.5], 32: [0.7, 0.35]}))
    torch.testing.assert_close(got, _row(40, {0: [7.0, 2.0], 32: [7 * s, 4 * s]}), rtol=0, atol=0)
    # a tensor narrower than its group (4 < 128) is one group
    got = _weight("int4_g128", [[7.0, 2.5, -3.5, 0.4]])
    torch.testing.assert_close(got, torch.tensor([[7.0, 2.0, -4.0, 0.0]]), rtol=0, atol=0)


def test_fp8_per_tensor_by_hand():
    # max 28 -> FP32 scale 28 / 448 = 0.0625; x / 0.0625 = 448, 16, -4.8, 0.16. E4M3 steps:
    # 0.5 in [4, 8): -4.8 -> -5; 2^-6 in [0.125, 0.25): 0.16 -> 10.24 steps -> 0.15625.
    # Back: 28, 1, -5 x 0.0625 = -0.3125, 0.15625 x 0.0625 = 0.009765625
    got = _weight("fp8", [[28.0, 1.0, -0.3, 0.01]])
    want = torch.tensor([[28.0, 1.0, -0.3125, 0.009765625]])
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_mxfp4_two_blocks_of_32_by_hand():
    # block 1: max 3 -> floor(log2 3) = 1, E2M1's e_max = 2 -> X = 2^(1 - 2) = 0.5.
    #   x / X: 6 -> 6; 2.6 -> 3; 0.4 -> 0.5 (subnormal step 0.5: 0.8 steps -> 1); -1.4 -> -1.5;
    #   4.4 -> 4; 0.2 -> 0; 0.25 -> tie 0 / 0.5 -> 0; 5.5 -> 6. Times X:
    #   3, 1.5, 0.25, -0.75, 2, 0, 0, 3
    # block 2: max 3.9 -> X = 0.5 too: 7.8 saturates at 6 -> 3; -0.6 -> -0.5 -> -0.25; 0.02 -> 0
    x = _row(64, {0: [3.0, 1.3, 0.2, -0.7, 2.2, 0.1, 0.125, 2.75], 32: [3.9, -0.3, 0.01]})
    want = _row(64, {0: [3.0, 1.5, 0.25, -0.75, 2.0, 0.0, 0.0, 3.0], 32: [3.0, -0.25, 0.0]})
    got = emulation(CATALOG["mxfp4"]).weight(x)
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_mxfp6_and_mxfp8_by_hand():
    x = _row(32, {0: [3.0, 1.3, 0.2]})
    # MXFP6 (E3M2, e_max 4): X = 2^(1 - 4) = 1/8; x / X = 24, 10.4, 1.6
    #   24 -> 24 (step 4); 10.4 -> 10 (step 2); 1.6 -> 1.5 (step 0.25) -> 3, 1.25, 0.1875
    torch.testing.assert_close(
        emulation(CATALOG["mxfp6"]).weight(x), _row(32, {0: [3.0, 1.25, 0.1875]}), rtol=0, atol=0
    )
    # MXFP8 (E4M3, e_max 8): X = 2^(1 - 8) = 1/128; x / X = 384, 166.4, 25.6
    #   384 -> 384; 166.4 -> 160 (step 16); 25.6 -> 26 (step 2) -> 3, 1.25, 0.203125
    torch.testing.assert_close(
        emulation(CATALOG["mxfp8"]).weight(x), _row(32, {0: [3.0, 1.25, 0.203125]}), rtol=0, atol=0
    )


def test_nvfp4_two_blocks_of_16_by_hand():
    # tensor scale t = max|W| / (6 x 448) = 2.625 / 2688 = 2^-10.
    # block 1 (max 2.625): E4M3(2.625 / (6 t)) = E4M3(448) = 448 -> scale 448 t = 0.4375;
    #   x / 0.4375 = 6, 2.6, -0.686 -> E2M1 6, 3, -0.5 -> 2.625, 1.3125, -0.21875
    # block 2 (max 0.7): 0.7 / (6 t) = 119.47 -> E4M3 (step 8 in [64, 128)) 120 ->
    #   scale 120 t = 0.1171875; x / scale = 5.97, 1.71, -0.427 -> 6, 1.5, -0.5 ->
    #   0.703125, 0.17578125, -0.05859375
    x = _row(32, {0: [2.625, 1.1375, -0.3], 16: [0.7, 0.2, -0.05]})
    want = _row(32, {0: [2.625, 1.3125, -0.21875], 16: [0.703125, 0.17578125, -0.05859375]})
    torch.testing.assert_close(emulation(CATALOG["nvfp4"]).weight(x), want, rtol=0, atol=0)
    torch.testing.assert_close(emulation(CATALOG["nvfp4_w4a16"]).weight(x), want, rtol=0, atol=0)


def test_bf16_and_fp16_casts_by_hand():
    # bfloat16 keeps 7 mantissa bits: 1 + 2^-9 is a tie between 1 and 1 + 2^-8 -> 1 (even);
    # IEEE half keeps 10: 1 + 2^-9 stays, 1 + 2^-12 (a quarter step) -> 1
    got = _weight("bf16", [[1 + 2**-9, 1 + 2**-7]])
    torch.testing.assert_close(got, torch.tensor([[1.0, 1 + 2**-7]]), rtol=0, atol=0)
    got = _weight("fp16", [[1 + 2**-9, 1 + 2**-12]])
    torch.testing.assert_close(got, torch.tensor([[1 + 2**-9, 1.0]]), rtol=0, atol=0)


def test_a_zero_tensor_stays_zero_in_every_format():
    for fmt in CATALOG.values():
        rule = emulation(fmt)
        zeros = torch.zeros(2, 64)
        assert torch.equal(rule.weight(zeros), zeros), fmt.name
        if rule.activation is not None:
            assert torch.equal(rule.activation(zeros), zeros), fmt.name


# --- activations -------------------------------------------------------------------------------


def test_int8_activations_per_token_by_hand():
    # token 1: max 127 -> scale 1: 0.5 -> 0, 1.5 -> 2, -2.4 -> -2
    # token 2: max 254 -> scale 2: 1 / 2 = 0.5 -> 0, 3.2 / 2 = 1.6 -> 2 -> 4
    x = torch.tensor([[[127.0, 0.5, 1.5, -2.4], [254.0, 1.0, 3.2, 0.0]]])
    want = torch.tensor([[[127.0, 0.0, 2.0, -2.0], [254.0, 0.0, 4.0, 0.0]]])
    for name in ("w8a8", "w4a8_g128"):
        torch.testing.assert_close(emulation(CATALOG[name]).activation(x), want, rtol=0, atol=0)


def test_fp8_activations_share_one_scale_per_call():
    # one scale for the whole input (28 / 448), not one per token: the second token alone
    # would have 0.3 / 448 and keep -0.3 nearly exactly
    x = torch.tensor([[[28.0, 1.0], [-0.3, 0.01]]])
    want = torch.tensor([[[28.0, 1.0], [-0.3125, 0.009765625]]])
    torch.testing.assert_close(emulation(CATALOG["fp8"]).activation(x), want, rtol=0, atol=0)


def test_mx_and_nv_activations_use_the_weight_blocks_along_the_last_dimension():
    x = torch.randn(2, 3, 64, generator=torch.Generator().manual_seed(0))
    flat = x.reshape(6, 64)
    cases = {
        "mxfp4": quantize_mx(flat, E2M1, 32),
        "mxfp6": quantize_mx(flat, E3M2, 32),
        "mxfp8": quantize_mx(flat, E4M3, 32),
        "nvfp4": quantize_nv(flat, E2M1, 16),  # one tensor scale over the whole call
    }
    for name, want in cases.items():
        got = emulation(CATALOG[name]).activation(x)
        torch.testing.assert_close(got, want.reshape(x.shape), rtol=0, atol=0)
    for name in ("int8", "int4_g128", "nvfp4_w4a16", "bf16", "fp16"):
        assert emulation(CATALOG[name]).activation is None, name


def test_formatted_linear_quantizes_weight_and_input_then_restores():
    layer = nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        layer.weight.copy_(127 * torch.eye(4))  # per-channel scale 1: the weights stay exact
    model = nn.Sequential(layer)
    x = torch.tensor([[127.0, 0.5, 1.5, -2.4]])
    with formatted(model, {"0": CATALOG["w8a8"]}):
        got = model(x)
    torch.testing.assert_close(got, 127 * torch.tensor([[127.0, 0.0, 2.0, -2.0]]))
    torch.testing.assert_close(model(x), 127 * x)  # hook removed
    assert not layer._forward_pre_hooks
    torch.testing.assert_close(layer.weight, 127 * torch.eye(4))


def test_formatted_conv_quantizes_its_input_per_position_over_channels():
    conv = nn.Conv1d(2, 1, kernel_size=1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(127.0)
    # position 0: channels (127, 0.5) -> scale 1 -> (127, 0); position 1: (254, 1.5) ->
    # scale 2 -> (254, 2) (0.75 -> 1)
    x = torch.tensor([[[127.0, 254.0], [0.5, 1.5]]])
    with formatted(conv, {"": CATALOG["w8a8"]}):
        got = conv(x)
    torch.testing.assert_close(got, 127 * torch.tensor([[[127.0, 256.0]]]))


def test_unknown_layer_and_layout_are_input_errors():
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(InputError) as err, formatted(model, {"nope": CATALOG["int8"]}, "cfg"):
        pass
    assert str(err.value) == "cfg: layer 'nope': no Conv/Linear module of this name"
    asym = Format("asym4", WeightFormat("int", 4, 128, GROUP, scale_bits=16, zero_bits=4))
    with pytest.raises(InputError) as err:
        emulation(asym, "formats.json")
    assert str(err.value) == (
        "formats.json: format 'asym4' has no emulation for its weight layout {'type': 'int', "
        "'bits': 4, 'group_size': 128, 'scale_bits': 16, 'zero_bits': 4} (emulated: symmetric "
        "INT per group/channel/tensor with FP16 or FP32 scales, FP8 per tensor, MX, NVFP4, "
        "16-bit float)"
    )
    bf8 = Format("bf16a8", CATALOG["bf16"].weight, 8)
    with pytest.raises(InputError, match="no emulation for 8-bit activations"):
        emulation(bf8)


# --- command line ------------------------------------------------------------------------------

_VALIDATE = ("validate", "minilm", "--flops_file", "f", "--sensitivity_file", "s")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("sensitivity", "minilm", "--formats", "int8,bf16", "--bits", "4,8"),
            "--bits and --formats cannot be combined (see mpq_torch --help)",
        ),
        (
            ("sensitivity", "minilm", "--formats", "int8,bf16", "--shard", "1/2"),
            "--shard and --formats cannot be combined (see mpq_torch --help)",
        ),
        (
            (*_VALIDATE, "--formats", "int8,bf16", "--budgets", "0.5"),
            "--budgets and --formats cannot be combined (see mpq_torch --help)",
        ),
        (
            (*_VALIDATE, "--limits", "bpw<=6"),
            "--limits is for --formats; without it give --budgets (see mpq_torch --help)",
        ),
        (
            ("sensitivity", "minilm", "--formats", "int8"),
            "argument --formats: choose at least two formats (one option leaves no choice) in "
            "'int8' (see mpq_torch --help)",
        ),
    ],
)
def test_format_flag_errors(capsys, argv, message):
    assert main(list(argv)) == 2
    assert capsys.readouterr().err.strip() == f"mpq_torch: error: {message}"


# --- the bundled sample ------------------------------------------------------------------------


def _json(name: str) -> dict:
    return json.loads((SAMPLE / name).read_text(encoding="utf-8"))


def test_bundled_files_name_the_same_36_linear_layers_with_weight_shapes():
    flops, losses = _json("flops_analysis.json"), _json("sensitivity_formats.json")
    layers = flops["layers"]
    assert list(layers) == list(losses["sensitivity"])
    assert len(layers) == 36 and {r["type"] for r in layers.values()} == {"Linear"}
    assert flops["metadata"]["left_out"] == "attention matmuls (--skip_matmuls)"
    for record in layers.values():
        out, inp = record["weight_shape"]
        assert record["params"] == out * inp + out  # weight + bias
        assert record["output_shape"][-1] == out
    problem = mc.load_problem(FLOPS, LOSSES, spec=mc.Spec(formats=catalog_formats(ALL_FORMATS)))
    assert problem.inputs.layers.out_channels.tolist() == [
        r["weight_shape"][0] for r in layers.values()
    ]


def test_bundled_losses_are_measured_for_every_catalog_format():
    for name, metric, higher in (
        ("sensitivity_formats.json", "mse", False),
        ("sensitivity_formats_sqnr.json", "sqnr_db", True),
        ("sensitivity_formats_cosine.json", "cosine", True),
    ):
        meta = _json(name)["metadata"]
        assert meta["synthetic"] is False
        assert (meta["metric"], meta["higher_is_better"]) == (metric, higher)
        assert (meta["count"], meta["seed"], meta["threads"]) == (32, 0, 2)
        assert meta["generator"] == "python -m mpq_torch sensitivity --formats"
        assert meta["formats"] == {f.name: f.to_dict() for f in catalog_formats(ALL_FORMATS)}
    for layer, row in _json("sensitivity_formats.json")["sensitivity"].items():
        assert set(row) == set(CATALOG), layer
        # measured, not a rule: yet on every layer fewer bits, larger groups and quantized
        # activations cost more
        assert row["int2_g64"] > row["int3_g128"] > row["int4_g128"] > row["int8"], layer
        assert row["int4_g128"] > row["int4_g32"], layer
        assert row["mxfp4"] > row["mxfp6"] > row["mxfp8"] > row["bf16"] > row["fp16"] > 0, layer
        assert row["nvfp4"] >= row["nvfp4_w4a16"] and row["w8a8"] >= row["int8"], layer


def test_the_sample_solves_on_the_command_line():
    files = ["--flops_file", str(FLOPS), "--sensitivity_file", str(LOSSES)]
    flags = ["--formats", ALL_FORMATS, "--limit", "bpw<=6", "--no_save"]
    done = subprocess.run(
        [sys.executable, "main.py", "--optimize_mixed_precision", *files, *flags],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Limit bpw <= 6: cap 6 bits" in done.stdout


def test_bundled_validation_is_what_the_solvers_predict():
    frame = pd.read_csv(SAMPLE / "validation.csv")
    assert tuple(frame.columns) == (
        "limit", "solver", "cost_gbops", "bpw", "predicted_objective", "predicted_loss",
        "metric", "value", "higher_is_better",
    )  # fmt: skip
    problem = mc.load_problem(FLOPS, LOSSES, spec=mc.Spec(formats=catalog_formats(ALL_FORMATS)))
    for (limit, solver), rows in frame.groupby(["limit", "solver"], sort=False):
        assert sorted(rows["metric"]) == ["cosine", "mse", "sqnr_db"]
        solution = mc.solve(problem, None, solver, limits=[mc.parse_limit_flag(limit)])
        assert rows["predicted_objective"].iloc[0] == pytest.approx(solution.objective, rel=1e-5)
        assert rows["cost_gbops"].iloc[0] == pytest.approx(solution.cost / mc.GIGA, rel=1e-5)
        if limit.startswith("bpw<="):
            assert rows["bpw"].iloc[0] <= float(limit[5:]) + 1e-9
    # the rank correlation the summary (and the README) report
    mse = frame[frame["metric"] == "mse"]
    rho = spearman(mse["predicted_objective"], mse["value"])
    summary = (SAMPLE / "validation_summary.txt").read_text(encoding="utf-8")
    assert f"mse        rho = {rho:+.3f} over {len(mse)} rows" in summary
    assert f"rho = {rho:+.3f}" in (SAMPLE / "README.md").read_text(encoding="utf-8")
    assert rho < -0.9  # more loss recovered, less measured error


# --- the sample's files from their commands (the real model) ------------------------------------

# RMS of the output difference within what float32 sums in another order can move it (see
# tests/test_torch_pipeline.py, FLOAT32_SPREAD), plus the 6 digits written
FLOAT32_SPREAD = 2 * math.sqrt(1536) * 2.0**-24
WRITTEN_DIGITS = 5e-6


@pytest.mark.slow
def test_profile_reproduces_the_bundled_flops_file(tmp_path):
    out = tmp_path / "flops.json"
    argv = ["profile", "minilm", "--skip_matmuls", "--weight_shapes", "--output", str(out)]
    assert main(argv) == 0
    assert out.read_bytes() == FLOPS.read_bytes()


@pytest.mark.slow
def test_first_layer_in_every_format_reproduces_the_bundled_losses():
    """The first layer's 16 (layer, format) pairs of the bundled sweep, through the same
    functions as the command: the same metadata, and the numbers within float32 rounding."""
    from mpq_torch.cases import load_case
    from mpq_torch.formats_sensitivity import (
        format_documents,
        make_format_run,
        measure_format_items,
    )
    from mpq_torch.metrics import run_outputs

    torch.set_num_threads(2)
    torch.manual_seed(0)
    case = load_case("minilm", count=_json("sensitivity_formats.json")["metadata"]["count"])
    layer = next(iter(_json("flops_analysis.json")["layers"]))
    run = make_format_run(case, [layer], catalog_formats(ALL_FORMATS), 0, 2)
    results = measure_format_items(case, run_outputs(case), run.items, progress=False)
    documents = format_documents(run, results)
    for name, document in documents.items():
        bundled = _json(name)
        assert document["metadata"] == {**bundled["metadata"], "num_layers": 1}, name
    mse = documents["sensitivity_formats.json"]["sensitivity"][layer]
    want = _json("sensitivity_formats.json")["sensitivity"][layer]
    sqnr = _json("sensitivity_formats_sqnr.json")["sensitivity"][layer]
    for fmt, value in want.items():
        rms_y = math.sqrt(value * 10 ** (sqnr[fmt] / 10))
        slack = FLOAT32_SPREAD * rms_y + WRITTEN_DIGITS * math.sqrt(value)
        assert abs(math.sqrt(mse[fmt]) - math.sqrt(value)) <= slack, (fmt, mse[fmt], value)


@pytest.mark.slow
def test_validate_formats_writes_the_bundled_predictions(tmp_path, capsys):
    out = tmp_path / "validation.csv"
    argv = ["validate", "minilm", "--count", "8", "--flops_file", str(FLOPS)]
    argv += ["--sensitivity_file", str(LOSSES), "--formats", ALL_FORMATS]
    argv += ["--limits", "bpw<=5", "bops<=0.1x", "--output", str(out), "--no_progress"]
    assert main(argv) == 0
    assert "Spearman rank correlation" in capsys.readouterr().out
    got = pd.read_csv(out)
    bundled = pd.read_csv(SAMPLE / "validation.csv")
    keys = ["limit", "solver", "metric"]
    predicted = ["cost_gbops", "bpw", "predicted_objective", "predicted_loss"]
    merged = got.merge(bundled, on=keys, suffixes=("", "_bundled"))
    assert len(merged) == len(got) == 2 * 2 * 3
    for column in predicted:  # the files alone decide these; the measured values use 8 sentences
        pd.testing.assert_series_equal(
            merged[column], merged[f"{column}_bundled"], check_names=False
        )
