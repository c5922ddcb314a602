"""``--backend compressed_tensors`` (mpq_torch.ct_quant) against ``rtn`` (mpq_torch.quantize,
mpq_torch.formats_quant): the same quantized weights where the two rules agree, the exact
relation where they differ, compressed-tensors' own forward pass, the refusals verbatim and the
command line's metadata.

The relations, per format (W a weight matrix, rows = output channels):

- INT b per channel (widths, ``int8``): compressed-tensors' ``fake_quantize`` given rtn's scale
  max|W_c| / q_max reproduces rtn bit for bit. Its own ``calculate_qparams`` divides by half the
  range of its codes, (2^b - 1) / 2 = q_max + 1/2, with codes -2^(b-1)..q_max (FP32, the
  model's dtype): so the two differ by at most half a step of each, (s_rtn + s_ct) / 2 per
  channel, which is max|W_c| x (1/254 + 1/255) at 8 bits and x (1/14 + 1/15) at 4.
- ``int4_g128``: the same per group, and rtn's scale is rounded to FP16 (``scale_bits`` 16)
  while compressed-tensors keeps FP32 (the model's dtype).
- ``fp8`` per tensor: the same rule (max / 448, torch's float8_e4m3fn cast): bit for bit,
  weights and (per-tensor, dynamic) inputs.
- ``mxfp4`` / ``mxfp8``: the same element grid; compressed-tensors rounds a block's maximum to
  the nearest power of two (up when its mantissa is 1.75 or more) before taking the exponent,
  where the OCP conversion (rtn) truncates: those blocks get twice rtn's scale, every other
  block is bit for bit rtn's.
- ``nvfp4``: the same two-level rule; compressed-tensors divides by its global scale 448 x 6 /
  max|W| where rtn multiplies by max|W| / (6 x 448): the same codes, values within 2 units in
  the last place (2^-22 relative), but where w / scale sits on a rounding tie of E2M1 (2 of
  MiniLM's 10.6 million weights).
"""

from __future__ import annotations

import json
import math
import sys

import pytest
import torch
from support import REPO
from test_phase4_compressed_tensors import missing_reason
from tiny_models import HAND_WEIGHT, hand_linear
from torch import nn

import mpq_core as mc
from mpq_core import InputError
from mpq_core.io.phase4.compressed_tensors_export import quantization_scheme
from mpq_core.io.phase4.layers import width_format
from mpq_core.model.formats import CATALOG, catalog_formats
from mpq_core.report.agreement import spearman
from mpq_torch import ModelCase
from mpq_torch.cli import main
from mpq_torch.formats_quant import E2M1, E4M3, emulation, round_to_grid, to_e4m3
from mpq_torch.quantize import quantize_weight

pytestmark = pytest.mark.skipif(
    missing_reason("compressed_tensors") is not None,
    reason=missing_reason("compressed_tensors") or "",
)

CT = "compressed_tensors"
FIRST = "encoder.layer.0.intermediate.dense"  # 1536 x 384, the widest activations


def _ct():
    from mpq_torch import ct_quant

    return ct_quant


def _args(fmt, part: str = "weights"):
    from compressed_tensors.quantization import QuantizationArgs

    return QuantizationArgs.model_validate(quantization_scheme(fmt)[part])


def _ct_weight(w: torch.Tensor, fmt) -> torch.Tensor:
    return _ct().fake_quantize_weight(w, _args(fmt))


@pytest.fixture(scope="module")
def minilm() -> dict[str, torch.Tensor]:
    """MiniLM's Linear weights by name (the bundled package's weights, nothing downloaded)."""
    from mpq_torch.cases import load_case

    model = load_case("minilm", count=1).model
    return {n: m.weight.detach().clone() for n, m in model.named_modules() if hasattr(m, "weight")}


# --- INT per channel: the cross-check ------------------------------------------------------


@pytest.mark.parametrize("bits", [8, 4])
@pytest.mark.parametrize("layer", [FIRST, "encoder.layer.5.attention.self.query"])
def test_int_per_channel_is_rtn_bit_for_bit_with_rtns_scale(minilm, layer, bits):
    from compressed_tensors.quantization import fake_quantize

    w = minilm[layer]
    scale = w.abs().amax(dim=1, keepdim=True) / (2 ** (bits - 1) - 1)
    ct = fake_quantize(w, scale, None, _args(width_format(bits)))
    assert torch.equal(ct, quantize_weight(w, bits))


@pytest.mark.parametrize("bits", [8, 4])
def test_int_per_channel_scale_is_max_over_q_max_plus_half(minilm, bits):
    w = minilm[FIRST]
    q_max = 2 ** (bits - 1) - 1
    top = w.abs().amax(dim=1, keepdim=True)
    s_ct = top / (q_max + 0.5)
    hand = torch.clamp(torch.round(w / s_ct), -(q_max + 1), q_max) * s_ct
    ct = _ct_weight(w, width_format(bits))
    assert torch.equal(ct, hand)
    # both within half a step of w: apart by at most (s_rtn + s_ct) / 2, attained to 1%
    gap = (ct - quantize_weight(w, bits)).abs() / top
    bound = 1 / (2 * q_max) + 1 / (2 * q_max + 1)  # 1/254 + 1/255 at 8 bits, 1/14 + 1/15 at 4
    assert float(gap.max()) <= bound * (1 + 2**-20)
    assert float(gap.max()) >= 0.99 * bound / 2  # a real difference, not rounding noise


def test_hand_weight_at_4_bits():
    # row 0 = [1.4, -0.45, 0.33, 0.05]: s = 1.4 / 7.5; W / s = [7.5, -2.41, 1.77, 0.27]
    # -> round [8 -> clamp 7, -2, 2, 0] -> [1.30667, -0.37333, 0.37333, 0]; row 1 zeros
    got = _ct_weight(torch.tensor(HAND_WEIGHT), width_format(4))
    s = 1.4 / 7.5
    want = torch.tensor([[7 * s, -2 * s, 2 * s, 0.0], [0.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(got, want, rtol=0, atol=1e-7)


# --- group and float formats on a MiniLM weight --------------------------------------------


def test_int4_g128_same_grid_fp32_scale_over_7_5(minilm):
    w = minilm[FIRST]
    groups = w.reshape(w.shape[0], -1, 128)
    top = groups.abs().amax(dim=-1, keepdim=True)
    s_ct = top / 7.5
    hand = (torch.clamp(torch.round(groups / s_ct), -8, 7) * s_ct).reshape(w.shape)
    ct = _ct_weight(w, CATALOG["int4_g128"])
    assert torch.equal(ct, hand)
    s_rtn = (top / 7).to(torch.float16).to(torch.float32)
    rtn = emulation(CATALOG["int4_g128"]).weight(w).reshape(groups.shape)
    gap = (ct.reshape(groups.shape) - rtn).abs()
    assert bool((gap <= (s_rtn + s_ct) / 2 * (1 + 2**-20)).all())


def test_fp8_is_rtn_bit_for_bit(minilm):
    fmt = CATALOG["fp8"]
    w = minilm[FIRST]
    assert torch.equal(_ct_weight(w, fmt), emulation(fmt).weight(w))
    x = torch.randn(2, 7, 384, generator=torch.Generator().manual_seed(0)) * 3
    got = _ct().fake_quantize_input(x, _args(fmt, "input_activations"))
    assert torch.equal(got, emulation(fmt).activation(x))


@pytest.mark.parametrize(("name", "grid"), [("mxfp4", E2M1), ("mxfp8", E4M3)])
def test_mx_scale_rounds_the_block_max_to_a_power_of_two(minilm, name, grid):
    fmt = CATALOG[name]
    w = minilm[FIRST]
    blocks = w.reshape(w.shape[0], -1, 32)
    mantissa, exponent = torch.frexp(blocks.abs().amax(dim=-1, keepdim=True))
    shared = exponent - 1 - grid.max_exponent  # OCP: floor(log2 max) - e_max
    up = mantissa >= 0.875  # max = 2 x mantissa x 2^(exponent - 1): 1.75 or more
    shifted = shared + up.int()

    def on_grid(v):
        return to_e4m3(v) if grid is E4M3 else round_to_grid(v, grid)

    hand = torch.ldexp(on_grid(torch.ldexp(blocks, -shifted)), shifted).reshape(w.shape)
    ct = _ct_weight(w, fmt)
    assert torch.equal(ct, hand)
    rtn = emulation(fmt).weight(w)
    same = ~up.expand_as(blocks).reshape(w.shape)
    assert torch.equal(ct[same], rtn[same])
    assert 0.01 < float(up.float().mean()) < 0.5  # both kinds of blocks occur


@pytest.mark.parametrize(("layer", "ties"), [(FIRST, 0), ("encoder.layer.1.output.dense", 1)])
def test_nvfp4_same_codes_global_scale_rounded_otherwise(minilm, layer, ties):
    # the effective scales differ in the last place, so values differ by at most 2 units in
    # the last place; where w / scale falls on a rounding tie of E2M1 that difference can move
    # it to the neighbouring value (2 of the 10.6 million weights of MiniLM's 36 layers)
    fmt = CATALOG["nvfp4"]
    w = minilm[layer]
    ct, rtn = _ct_weight(w, fmt), emulation(fmt).weight(w)
    off = (ct - rtn).abs() > 2**-22 * rtn.abs()
    assert int(off.sum()) == ties
    assert torch.equal((ct == 0) | off, (rtn == 0) | off)


def test_int8_tokens_scale_over_127_5_and_nvfp4_inputs_have_no_global_scale():
    x = torch.randn(2, 5, 64, generator=torch.Generator().manual_seed(1)) * 4
    # w8a8: per token, s = max|x_token| / 127.5, codes -128..127
    s = x.abs().amax(dim=-1, keepdim=True) / 127.5
    want = torch.clamp(torch.round(x / s), -128, 127) * s
    got = _ct().fake_quantize_input(x, _args(CATALOG["w8a8"], "input_activations"))
    assert torch.equal(got, want)
    # nvfp4, dynamic: per block of 16, s = E4M3(max / 6) with no global scale
    blocks = x.reshape(2, 5, 4, 16)
    s = to_e4m3(blocks.abs().amax(dim=-1, keepdim=True) / 6)
    want = (round_to_grid(blocks / s, E2M1) * s).reshape(x.shape)
    got = _ct().fake_quantize_input(x, _args(CATALOG["nvfp4"], "input_activations"))
    assert torch.equal(got, want)


def _min_max(w: torch.Tensor, args) -> tuple[torch.Tensor, torch.Tensor]:
    """A min-max observer: per tensor, output channel or group, as llm-compressor's."""
    if args.strategy == "tensor":
        return w.amin(), w.amax()
    if args.strategy == "channel":
        return w.amin(dim=1, keepdim=True), w.amax(dim=1, keepdim=True)
    groups = w.unflatten(-1, (-1, args.group_size))
    return groups.amin(dim=-1), groups.amax(dim=-1)


@pytest.mark.parametrize("name", ["w8a8", "w4a8_g128", "fp8", "mxfp4", "mxfp8", "nvfp4"])
def test_formatted_is_compressed_tensors_own_forward(name):
    """apply_quantization_config with the export's scheme, the weight's scales calibrated as
    min-max: the module's own quantized forward equals the backend's, bit for bit."""
    from compressed_tensors.quantization import QuantizationConfig, apply_quantization_config
    from compressed_tensors.quantization.utils import calculate_qparams, generate_gparam

    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(256, 64))
    theirs = nn.Sequential(nn.Linear(256, 64))
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 5, 256)
    with torch.no_grad(), _ct().formatted(ours, {"0": CATALOG[name]}):
        mine = ours(x)
    group = {"targets": ["Linear"], **quantization_scheme(CATALOG[name])}
    config = {"quant_method": "compressed-tensors", "config_groups": {"g": group}}
    apply_quantization_config(theirs, QuantizationConfig.model_validate(config))
    module, w = theirs[0], theirs[0].weight.detach()
    args = module.quantization_scheme.weights
    low, high = _min_max(w, args)
    global_scale = None
    if hasattr(module, "weight_global_scale"):
        global_scale = generate_gparam(w.amin(), w.amax())
        module.weight_global_scale.data = global_scale
    scale, zero = calculate_qparams(low, high, args, global_scale=global_scale)
    module.weight_scale.data, module.weight_zero_point.data = scale, zero
    with torch.no_grad():
        assert torch.equal(theirs(x), mine)
    assert torch.equal(ours[0].weight, w)  # the float weight is back


# --- refusals ------------------------------------------------------------------------------

REFUSED = [
    (
        "mxfp6",
        "compressed-tensors: layer '0': format 'mxfp6' cannot be expressed: FP6 weights: "
        "compressed-tensors' FP6 is E2M3, while mpq measures FP6 as E3M2 "
        "(mpq_torch.formats_quant); exporting one as the other would change the format",
    ),
    (
        "int4_g32",
        "compressed-tensors: layer '0': format 'int4_g32' cannot be expressed: "
        "compressed-tensors quantizes whole groups of 32 (the input size 48 is not a multiple "
        "of it)",
    ),
]


@pytest.mark.parametrize(("name", "message"), REFUSED)
def test_refused_formats_verbatim(name, message):
    model = nn.Sequential(nn.Linear(48, 4))
    with pytest.raises(InputError) as err, _ct().formatted(model, {"0": CATALOG[name]}):
        pass
    assert str(err.value) == message


def test_the_export_refuses_mxfp6_with_the_same_words():
    from mpq_core.io.phase4.compressed_tensors_export import TARGET
    from mpq_core.io.phase4.layers import LayerChoice, expressed

    fmt = CATALOG["mxfp6"]
    choice = LayerChoice("0", "0", "Linear", False, fmt, "format 'mxfp6'", "mxfp6")
    with pytest.raises(InputError) as err:
        expressed((choice,), TARGET)
    assert str(err.value) == REFUSED[0][1]


def test_widths_refused_verbatim():
    model = nn.Sequential(nn.Conv1d(2, 2, 1), nn.Linear(4, 2))
    cases = {
        ("0", 8): "compressed-tensors: layer '0': width 8 cannot be expressed: "
        "compressed-tensors quantizes Linear and Embedding modules, not Conv1d",
        ("1", 12): "compressed-tensors: layer '1': width 12 cannot be expressed: INT12 weights: "
        "integers of 2 to 8 bits are exported (the libraries store at most 8; a symmetric 1-bit "
        "integer has no level but 0)",
    }
    for (layer, bits), message in cases.items():
        with pytest.raises(InputError) as err, _ct().quantized(model, {layer: bits}):
            pass
        assert str(err.value) == message
    with pytest.raises(InputError) as err:
        _ct().check_width(model, "attn.matmul", 4)
    assert str(err.value).startswith(
        "compressed-tensors: layer 'attn.matmul': width 4 cannot be expressed: compressed-tensors "
        "quantizes the weights and inputs of modules; this layer has no weights"
    )
    _ct().check_width(model, "attn.matmul", 16)  # left in float: nothing to refuse


def test_float_formats_are_the_16_bit_cast_and_weights_come_back():
    layer = hand_linear()
    before = layer.weight.detach().clone()
    model = nn.Sequential(layer)
    with _ct().formatted(model, {"0": CATALOG["bf16"]}):
        assert torch.equal(layer.weight, before.to(torch.bfloat16).float())
    with _ct().quantized(model, {"0": 16}):
        assert torch.equal(layer.weight, before.half().float())
    assert torch.equal(layer.weight, before)


# --- the command line ----------------------------------------------------------------------

HAND = "tiny_models:build_hand"
NAMED = "test_torch_backend:build_named"


def build_named() -> ModelCase:
    """``test_torch_backend:build_named``: the hand-checked Linear as layer ``0`` of a
    Sequential (a Phase 1 file needs a layer name), on eye(4)."""
    return ModelCase(name="named", model=nn.Sequential(hand_linear()), example_inputs=torch.eye(4))


# the hand weight at 4 bits (above): errors [0.09333, -0.07667, -0.04333, 0.05] on eye(4), the
# output W^T (8 elements): MSE = 0.0189667 / 8
HAND_CT_MSE_4 = (
    (1.4 - 7 * 1.4 / 7.5) ** 2 + (0.45 - 2 * 1.4 / 7.5) ** 2 + (0.33 - 2 * 1.4 / 7.5) ** 2 + 0.05**2
) / 8


def _meta(path) -> dict:
    return json.loads(path.read_text())["metadata"]


def test_sensitivity_and_merge_record_the_backend(tmp_path, capsys):
    ct_dir, rtn_dir = tmp_path / "ct", tmp_path / "rtn"
    argv = ["sensitivity", HAND, "--no_progress", "--output_dir"]
    assert main([*argv, str(ct_dir), "--backend", CT]) == 0
    assert main([*argv, str(rtn_dir)]) == 0
    meta = _meta(ct_dir / "sensitivity_mse.json")
    assert meta["backend"] == CT
    assert meta["versions"]["compressed_tensors"] == "0.20.0"
    assert "backend" not in _meta(rtn_dir / "sensitivity_mse.json")
    losses = json.loads((ct_dir / "sensitivity_mse.json").read_text())["sensitivity"][""]
    assert losses["4"] == pytest.approx(HAND_CT_MSE_4, rel=1e-5)
    # a shard records the backend in its run, the merge carries it over; rtn and ct shards
    # are different runs
    assert main([*argv, str(tmp_path / "s"), "--backend", CT, "--shard", "1/2"]) == 0
    assert main([*argv, str(tmp_path / "r"), "--shard", "2/2"]) == 0
    shard = json.loads((tmp_path / "s" / "shard_1_of_2.json").read_text())
    assert shard["run"]["backend"] == CT
    capsys.readouterr()
    parts = [str(tmp_path / "s" / "shard_1_of_2.json"), str(tmp_path / "r" / "shard_2_of_2.json")]
    assert main(["merge", *parts, "--output_dir", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err.strip().endswith("field 'run.backend': differs from " + parts[0])


def test_validate_and_evaluate_say_the_backend(tmp_path, capsys):
    flops, sens = tmp_path / "flops.json", tmp_path / "sens"
    assert main(["profile", NAMED, "--output", str(flops)]) == 0
    assert main(["sensitivity", NAMED, "--output_dir", str(sens), "--no_progress"]) == 0
    losses = sens / "sensitivity_mse.json"
    capsys.readouterr()
    argv = ["validate", NAMED, "--flops_file", str(flops), "--sensitivity_file", str(losses)]
    argv += ["--budgets", "0.3,1.0", "--output", str(tmp_path / "v.csv"), "--no_progress"]
    assert main([*argv, "--backend", CT]) == 0
    assert f"backend: {CT}" in capsys.readouterr().out.splitlines()
    assert main(argv) == 0
    assert "backend" not in capsys.readouterr().out
    solution = mc.solve(mc.load_problem(flops, losses), 0.3, "greedy")
    config = mc.save_config(solution, tmp_path)
    out = tmp_path / "metrics.json"
    argv = ["evaluate", NAMED, "--config", str(config), "--output", str(out), "--no_progress"]
    assert main([*argv, "--backend", CT]) == 0
    document = json.loads(out.read_text())
    assert document["backend"] == CT
    assert document["mse"] == pytest.approx(HAND_CT_MSE_4, rel=1e-5)  # 0.3x: the layer at 4
    assert main(argv) == 0
    assert "backend" not in json.loads(out.read_text())


def test_sensitivity_formats_records_the_backend_and_refuses_before_running(tmp_path, capsys):
    out = tmp_path / "f"
    argv = ["sensitivity", HAND, "--formats", "int8,fp8,bf16", "--output_dir", str(out)]
    assert main([*argv, "--backend", CT, "--no_progress"]) == 0
    meta = _meta(out / "sensitivity_formats.json")
    assert meta["backend"] == CT
    capsys.readouterr()
    argv = ["sensitivity", HAND, "--formats", "int4_g32,mxfp6", "--backend", CT]
    assert main([*argv, "--output_dir", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "mpq_torch: error: compressed-tensors: layer '': format 'int4_g32' cannot be expressed: "
        "compressed-tensors quantizes whole groups of 32 (the input size 4 is not a multiple "
        "of it)"
    )
    assert not (tmp_path / "g").exists()


def test_missing_library_names_the_pip_command(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "compressed_tensors", None)
    code = main(["sensitivity", HAND, "--backend", CT, "--output_dir", "unused"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith(
        "mpq_torch: error: --backend: compressed_tensors needs compressed-tensors, which is not "
        "importable ("
    )
    assert err[0].endswith(
        "pip install -c <(printf 'torch==2.13.0\\ntransformers==5.24.0\\n') -r "
        "requirements-phase4.txt"
    )


def test_backend_flag_defaults_to_rtn_where_layers_are_quantized():
    from mpq_torch.cli import build_parser

    parser = build_parser()
    for argv in (
        ["sensitivity", "m"],
        ["evaluate", "m", "--config", "c"],
        ["validate", "m", "--flops_file", "f", "--sensitivity_file", "s"],
    ):
        assert parser.parse_args(argv).backend == "rtn"
        assert parser.parse_args([*argv, "--backend", CT]).backend == CT


# --- the bundled compressed_tensors sample -------------------------------------------------

SAMPLE = REPO / "sample_data" / "minilm_l6_formats"
# float32 spread of MiniLM's outputs on another CPU and the 6 digits written: as in
# tests/test_torch_formats.py (FLOAT32_SPREAD, WRITTEN_DIGITS)
FLOAT32_SPREAD = 2 * math.sqrt(1536) * 2.0**-24
WRITTEN_DIGITS = 5e-6


def _sample(name: str) -> dict:
    return json.loads((SAMPLE / name).read_text(encoding="utf-8"))


SAME = ("fp8", "bf16", "fp16")  # formats whose rule is the same in both backends


def test_bundled_backends_agree_on_the_order_of_the_losses():
    rtn = _sample("sensitivity_formats.json")["sensitivity"]
    ct = _sample("sensitivity_formats_compressed_tensors.json")
    assert ct["metadata"]["backend"] == CT
    assert "mxfp6" not in ct["metadata"]["formats"]  # refused: FP6 E2M3 is not E3M2
    pairs = [(value, rtn[layer][fmt]) for layer, row in ct["sensitivity"].items()
             for fmt, value in row.items()]  # fmt: skip
    assert len(pairs) == 36 * 15
    assert spearman([a for a, _ in pairs], [b for _, b in pairs]) > 0.99
    for layer, row in ct["sensitivity"].items():  # the same rule, the same loss
        assert [row[f] for f in SAME] == [rtn[layer][f] for f in SAME], layer
        # weights within 2 units in the last place (and 2 ties moved in all 36 layers)
        assert row["nvfp4_w4a16"] == pytest.approx(rtn[layer]["nvfp4_w4a16"], rel=1e-3)


@pytest.mark.slow
def test_first_layer_reproduces_the_bundled_compressed_tensors_losses():
    """The first layer's 15 pairs of the bundled compressed_tensors sweep, through the same
    functions as the command: the same metadata, the numbers within float32 rounding."""
    from mpq_torch.backends import get_backend
    from mpq_torch.cases import load_case
    from mpq_torch.formats_sensitivity import (
        format_documents,
        make_format_run,
        measure_format_items,
    )
    from mpq_torch.metrics import run_outputs

    bundled = _sample("sensitivity_formats_compressed_tensors.json")
    torch.set_num_threads(2)
    torch.manual_seed(0)
    case = load_case("minilm", count=bundled["metadata"]["count"])
    layer = next(iter(bundled["sensitivity"]))
    formats = catalog_formats(list(bundled["metadata"]["formats"]))
    backend = get_backend(CT)
    run = make_format_run(case, [layer], formats, 0, 2, backend)
    reference = run_outputs(case)
    results = measure_format_items(case, reference, run.items, progress=False, backend=backend)
    documents = format_documents(run, results)
    got = documents["sensitivity_formats.json"]
    assert got["metadata"] == {**bundled["metadata"], "num_layers": 1}
    sqnr = _sample("sensitivity_formats_compressed_tensors_sqnr.json")["sensitivity"][layer]
    for fmt, value in bundled["sensitivity"][layer].items():
        rms_y = math.sqrt(value * 10 ** (sqnr[fmt] / 10))
        slack = FLOAT32_SPREAD * rms_y + WRITTEN_DIGITS * math.sqrt(value)
        measured = got["sensitivity"][layer][fmt]
        assert abs(math.sqrt(measured) - math.sqrt(value)) <= slack, (fmt, measured, value)
