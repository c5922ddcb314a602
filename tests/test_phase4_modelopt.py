"""--export_format modelopt: each catalog format's hf_quant_config entry and quantizer configs
written out by hand, the refusals verbatim, ModelOpt's own config classes parsing the quant_cfg,
and the files the command line writes for MiniLM applied with ``mtq.quantize`` on the CPU: every
module's quantizers are checked, and ModelOpt's own export (``get_quant_config``, what
``export_hf_checkpoint`` writes as hf_quant_config.json) must give back the written
``quantized_layers``.

The fake-quantized forward pass is not run: ModelOpt's dynamic block quantization (MXFP8, NVFP4)
asserts a CUDA tensor ("amax must be a CUDA tensor for dynamic block quantization").
"""

from __future__ import annotations

import copy
import json
import warnings

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

from mpq_core.io.phase4.layers import CannotExpress, width_format
from mpq_core.io.phase4.modelopt_export import ModeloptLayer, modelopt_layer, quantize_config
from mpq_core.model.formats import CATALOG, CHANNEL, GROUP, Format, WeightFormat

__all__ = ["minilm"]  # the shared fixture

needs_library = pytest.mark.skipif(
    missing_reason("modelopt.torch.quantization") is not None,
    reason=missing_reason("modelopt.torch.quantization") or "",
)

FP8 = {"num_bits": [4, 3], "axis": None}
MX8 = {"num_bits": [4, 3], "block_sizes": {"-1": 32, "type": "dynamic", "scale_bits": [8, 0]}}
NV4 = {"num_bits": [2, 1], "block_sizes": {"-1": 16, "type": "dynamic", "scale_bits": [4, 3]}}


def _awq(group: int) -> ModeloptLayer:
    hf = {"quant_algo": "W4A16_AWQ", "group_size": group, "has_zero_point": False,
          "pre_quant_scale": True}  # fmt: skip
    return ModeloptLayer(hf, {"num_bits": 4, "block_sizes": {"-1": group, "type": "static"}}, None)


# catalog format -> (hf_quant_config entry, weight quantizer cfg, input quantizer cfg); the cfgs
# are those of ModelOpt's presets INT8_WEIGHT_ONLY_CFG, INT4_BLOCKWISE_WEIGHT_ONLY_CFG (block
# size g), FP8_DEFAULT_CFG, MXFP8_DEFAULT_CFG, NVFP4_DEFAULT_CFG and W4A16_NVFP4_CFG
EXPECTED = {
    "int8": ModeloptLayer({"quant_algo": "W8A16"}, {"num_bits": 8, "axis": 0}, None),
    "int4_g128": _awq(128),
    "int4_g64": _awq(64),
    "int4_g32": _awq(32),
    "fp8": ModeloptLayer({"quant_algo": "FP8"}, FP8, FP8),
    "mxfp8": ModeloptLayer({"quant_algo": "MXFP8", "group_size": 32}, MX8, MX8),
    "nvfp4": ModeloptLayer({"quant_algo": "NVFP4", "group_size": 16}, NV4, NV4),
    "nvfp4_w4a16": ModeloptLayer({"quant_algo": "W4A16_NVFP4", "group_size": 16}, NV4, None),
}
PRESETS = {"int8": "INT8_WEIGHT_ONLY_CFG", "int4_g128": "INT4_BLOCKWISE_WEIGHT_ONLY_CFG",
           "fp8": "FP8_DEFAULT_CFG", "mxfp8": "MXFP8_DEFAULT_CFG", "nvfp4": "NVFP4_DEFAULT_CFG",
           "nvfp4_w4a16": "W4A16_NVFP4_CFG"}  # fmt: skip
INT_WEIGHTS = (
    "ModelOpt exports integer weights for TensorRT-LLM as INT8 per output channel (W8A16) or "
    "INT4 in groups of 32, 64 or 128 (W4A16_AWQ)"
)
INT_ACTIVATIONS = (
    "activations: TensorRT-LLM's W8A8_SQ_PER_CHANNEL scales activations per tensor with a "
    "calibrated (static) scale and W4A8_AWQ's activations are FP8; mpq measures symmetric INT "
    "activations per token, computed on each call"
)
REFUSED = {
    "w8a8": f"INT8 weights with 8-bit {INT_ACTIVATIONS}",
    "w4a8_g128": f"INT4 weights with 8-bit {INT_ACTIVATIONS}",
    "int3_g128": f"INT3 weights in groups of 128: {INT_WEIGHTS}",
    "int2_g64": f"INT2 weights in groups of 64: {INT_WEIGHTS}",
    "mxfp4": "ModelOpt's export has no TensorRT-LLM quant_algo for MXFP4 weights with MXFP4 "
    "activations (it writes its internal name 'mxfp4'); TensorRT-LLM's MXFP4 formats take FP8 "
    "or MXFP8 activations or none",
    "mxfp6": "ModelOpt fake-quantizes FP6 but its export has no quant_algo for it "
    "(get_quantization_format raises NotImplementedError)",
}


def test_every_catalog_format_is_mapped_refused_or_left_in_float():
    assert set(EXPECTED) | set(REFUSED) | {"bf16", "fp16"} == set(CATALOG)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_catalog_format_by_hand(name):
    assert modelopt_layer(CATALOG[name]) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_modelopt_cannot_export_says_why(name):
    with pytest.raises(CannotExpress) as caught:
        modelopt_layer(CATALOG[name])
    assert str(caught.value) == REFUSED[name]


def test_plain_widths():
    assert modelopt_layer(width_format(8)) == EXPECTED["int8"]
    for width in range(2, 8):
        with pytest.raises(CannotExpress) as caught:
            modelopt_layer(width_format(width))
        assert str(caught.value) == f"INT{width} weights per output channel: {INT_WEIGHTS}"


@pytest.mark.parametrize(
    ("weight", "activation_bits", "message"),
    [
        (WeightFormat("int", 4, 128, GROUP, scale_bits=16, zero_bits=4), 16,
         "ModelOpt's TensorRT-LLM formats are symmetric (no zero point)"),
        (WeightFormat("float", 8, None, CHANNEL, scale_bits=16), 16,
         "8-bit float weights per output channel: ModelOpt's float formats for TensorRT-LLM are "
         "FP8 per tensor, MXFP8 (blocks of 32) and NVFP4 (blocks of 16)"),
        (CATALOG["fp8"].weight, 16,
         "TensorRT-LLM's FP8 quantizes activations to 8 bits as the weights; this format has "
         "none"),
        (CATALOG["nvfp4"].weight, 8,
         "TensorRT-LLM's NVFP4 quantizes activations to 4 bits as the weights; this format has "
         "8-bit ones"),
    ],
)  # fmt: skip
def test_formats_file_entries_it_cannot_export(weight, activation_bits, message):
    with pytest.raises(CannotExpress) as caught:
        modelopt_layer(Format("own", weight, activation_bits))
    assert str(caught.value) == message


def test_quantize_config_reads_block_sizes_axes_and_pairs_back():
    document = {"quantize_config": {"algorithm": "max", "quant_cfg": [
        {"quantizer_name": "*", "enable": False},
        {"quantizer_name": "a.weight_quantizer", "cfg": NV4},
        {"quantizer_name": "a.input_quantizer", "cfg": FP8},
    ]}}  # fmt: skip
    config = quantize_config(document)
    assert config["quant_cfg"][1]["cfg"] == {
        "num_bits": (2, 1), "block_sizes": {-1: 16, "type": "dynamic", "scale_bits": (4, 3)}
    }  # fmt: skip
    assert config["quant_cfg"][2]["cfg"] == {"num_bits": (4, 3), "axis": None}
    assert config["quant_cfg"][0] == {"quantizer_name": "*", "enable": False}
    assert document["quantize_config"]["quant_cfg"][1]["cfg"] is NV4  # not modified


@needs_library
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_quantizer_configs_are_modelopt_presets(name):
    """The weight and input quantizers' cfg, parsed by ModelOpt, equal its preset's."""
    from modelopt.torch.quantization import config as mtq_config

    preset = mtq_config.QuantizeConfig(**getattr(mtq_config, PRESETS[name]))
    ours = _parsed(name)
    for kind in ("weight_quantizer", "input_quantizer"):
        entries = [e for e in preset.quant_cfg if e.quantizer_name == f"*{kind}"]
        theirs = entries[-1].cfg if entries and entries[-1].enable else None  # none: "*" off
        mine = ours.get(kind)
        assert _dump(mine) == _dump(theirs), (name, kind)


def _parsed(name: str) -> dict:
    """The quantizers of a one-module config of a catalog format, parsed by QuantizeConfig."""
    from modelopt.torch.quantization.config import QuantizeConfig

    layer = EXPECTED[name]
    entries = [{"quantizer_name": "*", "enable": False},
               {"quantizer_name": "m.weight_quantizer", "cfg": layer.weight}]  # fmt: skip
    if layer.inputs:
        entries.append({"quantizer_name": "m.input_quantizer", "cfg": layer.inputs})
    document = {"quantize_config": {"quant_cfg": entries, "algorithm": "max"}}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the legacy dict form warns
        config = QuantizeConfig(**quantize_config(document))
    return {e.quantizer_name.removeprefix("m."): e.cfg for e in config.quant_cfg[1:]}


def _dump(cfg) -> dict | None:
    skip = {"effective_bits"}  # the presets' cost-model hint (NVFP4 4.5 bits), not the format
    return None if cfg is None else {k: v for k, v in cfg.model_dump().items() if k not in skip}


@needs_library
def test_modelopt_refuses_the_json_text_axis_unconverted():
    """Why quantize_config exists: ModelOpt's validator refuses the text key ``"-1"``."""
    from modelopt.torch.quantization.config import QuantizerAttributeConfig

    with pytest.raises((ValueError, AssertionError)):
        QuantizerAttributeConfig(**EXPECTED["int4_g128"].weight)


@needs_library
def test_the_quant_algo_values_are_modelopt_exports():
    """Each written quant_algo is one ModelOpt's export writes for the format of the same
    name (``modelopt.torch.export.model_config``'s constants, through the export's own
    ``process_layer_quant_config``)."""
    from modelopt.torch.export import model_config as mc
    from modelopt.torch.export.quant_utils import process_layer_quant_config

    formats = {"int8": mc.QUANTIZATION_INT8_WO, "int4_g128": mc.QUANTIZATION_INT4_AWQ,
               "fp8": mc.QUANTIZATION_FP8, "mxfp8": mc.QUANTIZATION_MXFP8,
               "nvfp4": mc.QUANTIZATION_NVFP4, "nvfp4_w4a16": mc.QUANTIZATION_W4A16_NVFP4}  # fmt: skip
    layers = {}
    for i, (name, constant) in enumerate(formats.items()):
        layers[f"m{i}.quantization"] = constant
        layers[f"m{i}.awq_block_size"] = EXPECTED[name].hf.get("group_size", 0)
    exported = process_layer_quant_config(layers)["quantized_layers"]
    assert [exported[f"m{i}"] for i in range(len(formats))] == [
        EXPECTED[name].hf for name in formats
    ]


# --- the command line on MiniLM ----------------------------------------------------------------


def _quantized(case, document: dict):
    """A copy of MiniLM through mtq.quantize (no calibration loop) with the file's config."""
    import modelopt.torch.quantization as mtq

    model = copy.deepcopy(case.model)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        mtq.quantize(model, quantize_config(document), forward_loop=None)
    return model


def _state(quantizer) -> dict:
    """A quantizer's settings; its axis only without blocks (block quantizers reshape)."""
    if not quantizer.is_enabled:
        return {"enabled": False}
    blocks = quantizer.block_sizes
    return {"enabled": True, "num_bits": quantizer.num_bits, "block_sizes": blocks,
            "axis": None if blocks else quantizer.axis}  # fmt: skip


def _expected_state(cfg: dict | None) -> dict:
    if cfg is None:
        return {"enabled": False}
    bits = cfg["num_bits"]
    blocks = cfg.get("block_sizes")
    if blocks:
        blocks = {(int(k) if k.lstrip("-").isdigit() else k): tuple(v) if isinstance(v, list)
                  else v for k, v in blocks.items()}  # fmt: skip
    return {"enabled": True, "num_bits": tuple(bits) if isinstance(bits, list) else bits,
            "block_sizes": blocks, "axis": cfg.get("axis")}  # fmt: skip


def _check(model, chosen: dict[str, str], hf: dict) -> None:
    """Each module's quantizers against the expected setting of its format (``int8`` for a
    width of 8, ``bf16`` for 16), the file's entries, and ModelOpt's own export of the model
    against the written file."""
    from modelopt.torch.export.quant_utils import get_quant_config

    modules = dict(model.named_modules())
    quantization = hf["quantization"]
    assert quantization["exclude_modules"] == [
        n for n, f in chosen.items() if f not in EXPECTED and n not in MATMULS
    ]
    assert _layers(quantization, chosen) == {n: EXPECTED[f].hf for n, f in chosen.items()
                                             if f in EXPECTED}  # fmt: skip
    _check_quantizers(modules, chosen)
    exported = get_quant_config(model)["quantization"]
    if quantization["quant_algo"] == "MIXED_PRECISION":
        assert exported["quantized_layers"] == quantization["quantized_layers"]
    # ModelOpt's exclude_modules are prefix wildcards of what we list by name
    ours = {k: v for k, v in quantization.items() if k != "exclude_modules"}
    assert {k: v for k, v in exported.items() if k != "exclude_modules"} == ours


def _check_quantizers(modules: dict, chosen: dict[str, str]) -> None:
    for name, fmt in chosen.items():
        if name in MATMULS:
            assert fmt == "bf16"
            continue
        layer = EXPECTED.get(fmt, ModeloptLayer({}, {}, None))
        weight = layer.weight or None  # {}: left in float
        assert _state(modules[name].weight_quantizer) == _expected_state(weight), name
        assert _state(modules[name].input_quantizer) == _expected_state(layer.inputs), name


def _layers(quantization: dict, chosen: dict[str, str]) -> dict:
    """Each quantized module's entry: ``quantized_layers``, or the flat entry ModelOpt writes
    when one format is used."""
    if quantization["quant_algo"] == "MIXED_PRECISION":
        return quantization["quantized_layers"]
    flat = {k: v for k, v in quantization.items() if k not in ("kv_cache_quant_algo",
                                                               "exclude_modules")}  # fmt: skip
    return {n: flat for n, f in chosen.items() if f in EXPECTED}


@needs_library
def test_widths_apply_to_minilm(run, workdir, minilm):
    """8 and 16 bits (ModelOpt exports no INT4 per output channel): W8A16 and excluded."""
    sens = str(MINILM / "sensitivity_mse.json")
    code, _, err = run(OPT, "--flops_file", FLOPS, "--sensitivity_file", sens, "--bits", "8,16",
                       "--budget_multiplier", "0.7", *pins("encoder.layer.0.output.dense"), "--tie_fused",
                       "--export_format", "modelopt", "--output_dir", "out")  # fmt: skip
    assert code == 0, err
    files = written(workdir)
    assert sorted(files) == ["hf_quant_config", "modelopt_quant_cfg", "quantization_config"]
    wbits = json.loads(files["quantization_config"].read_text())["bit_allocation"]
    assert {8, 16} == set(wbits.values())
    hf = json.loads(files["hf_quant_config"].read_text())
    document = json.loads(files["modelopt_quant_cfg"].read_text())
    assert document["config"] == files["quantization_config"].name
    chosen = {name: "int8" if w == 8 else "bf16" for name, w in wbits.items()}
    _check(_quantized(minilm, document), chosen, hf)


@needs_library
def test_formats_apply_to_minilm(run, workdir, minilm):
    formats = [*sorted(EXPECTED), "bf16"]
    # one format per unfused layer (q/k/v run as one matmul: one format each block)
    fixed = dict(zip([n for b in range(6) for n in unfused(b)], formats, strict=False))
    code, _, err = formats_run(run, workdir, formats, fixed, "modelopt", "--tie_fused")
    assert code == 0, err
    files = written(workdir)
    layers = json.loads(files["quantization_config"].read_text())["quantization_config"]
    chosen = {name: entry["format"] for name, entry in layers.items()}
    assert set(chosen.values()) == set(formats)
    hf = json.loads(files["hf_quant_config"].read_text())
    assert hf["producer"]["name"] == "mpq"
    assert hf["quantization"]["kv_cache_quant_algo"] is None
    document = json.loads(files["modelopt_quant_cfg"].read_text())
    _check(_quantized(minilm, document), chosen, hf)


def test_a_format_modelopt_cannot_export_writes_nothing(run, workdir):
    formats = ["int4_g128", "w8a8", "int8", "bf16"]
    fixed = {"encoder.layer.0.attention.self.query": "int8"}
    fixed["encoder.layer.0.attention.self.key"] = "w8a8"
    code, _, err = formats_run(run, workdir, formats, fixed, "modelopt")
    assert code == 2
    assert err == (
        "main.py: error: ModelOpt/TensorRT-LLM: layer 'encoder.layer.0.attention.self.key': "
        f"format 'w8a8' cannot be expressed: {REFUSED['w8a8']}\n"
    )
    assert not (workdir / "out").exists()
