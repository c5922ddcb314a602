"""NVIDIA ModelOpt / TensorRT-LLM: ``hf_quant_config_<m>.json``, the per-layer quantization
description TensorRT-LLM reads beside a ModelOpt checkpoint (``hf_quant_config.json``), and
``modelopt_quant_cfg_<m>.json``, the ``mtq.quantize`` config that fake-quantizes each module in
its format, so that ModelOpt's own export (``export_hf_checkpoint``) writes the same per-layer
``quant_algo`` values.

The hf_quant_config is ``{"producer": {...}, "quantization": {"quant_algo":
"MIXED_PRECISION", "kv_cache_quant_algo": null, "quantized_layers": {module: {...}},
"exclude_modules": [...]}}``, each layer's entry as ModelOpt 0.47's
``process_layer_quant_config`` writes it; when every quantized module has the same entry it is
written flat instead, as ModelOpt does (``{"quant_algo": "W8A16", "kv_cache_quant_algo": null,
"exclude_modules": [...]}``). ``exclude_modules`` lists the exact names of the modules left in
float (ModelOpt's own export shortens them to prefix wildcards).

The quant_cfg is ModelOpt 0.47's list form: a first entry ``{"quantizer_name": "*", "enable":
false}`` (every quantizer off), then per quantized module ``<module>.weight_quantizer`` (and
``<module>.input_quantizer`` when activations are quantized) with its ``cfg``. Names are exact
module names (glob characters bracketed), not ``*``-prefixed patterns that could match another
module ending the same way.

JSON has no integer keys or tuples: ``block_sizes`` keys are written as text (``"-1"``) and
``num_bits`` / ``scale_bits`` (E, M) pairs as lists; ``quantize_config`` turns the file back into
the dict ``mtq.quantize`` takes (ModelOpt's validator refuses a ``"-1"`` key).

Catalog format -> hf_quant_config quant_algo; weight quantizer / input quantizer:

- width 8, ``int8``: ``W8A16``; INT8 per output channel (``axis: 0``) / off
- ``int4_g128/g64/g32``: ``W4A16_AWQ``, group_size g; INT4 ``block_sizes {-1: g}`` static / off
- ``fp8``: ``FP8``; FP8 E4M3 per tensor / FP8 E4M3 per tensor
- ``mxfp8``: ``MXFP8``, group_size 32; E4M3 in blocks of 32 with E8M0 scales / the same
- ``nvfp4``: ``NVFP4``, group_size 16; E2M1 in blocks of 16 with E4M3 scales / the same
- ``nvfp4_w4a16``: ``W4A16_NVFP4``, group_size 16; as ``nvfp4`` / off
- ``bf16``, ``fp16``: in ``exclude_modules``; off / off

Exact: element types, bits, block sizes and scale types. The FP8 and NVFP4 input scale per
tensor is calibrated by ``mtq.quantize``'s forward loop (static, as TensorRT-LLM stores it) where
mpq measured it per call; W4A16_AWQ entries say ``pre_quant_scale: true`` as ModelOpt's export
does (a scale of ones unless AWQ calibration is run). Refused, with the reason: ``w8a8``
(TensorRT-LLM's ``W8A8_SQ_PER_CHANNEL`` scales activations per tensor, statically; mpq per token),
``w4a8_g128`` (``W4A8_AWQ``'s activations are FP8), ``int3_g128``, ``int2_g64`` and widths
2-7 (ModelOpt exports INT4 weights in groups and INT8 per channel only), ``mxfp4`` (ModelOpt's
export has no TensorRT-LLM quant_algo for it: it writes the internal name ``mxfp4``), ``mxfp6``
(its export raises NotImplementedError for FP6). ModelOpt quantizes ``Linear`` modules here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ...model.formats import CHANNEL, GROUP, TENSOR, Format, WeightFormat
from ...solving.solution import Solution
from .layers import CannotExpress, Target, expressed, layer_choices, provenance

LABEL = "ModelOpt/TensorRT-LLM"
MODULE_TYPES = ("Linear",)
MODELOPT_VERSION = "0.47.0"  # the version the export was written and tested for
SCHEMA_VERSION = 1
MIXED = "MIXED_PRECISION"
INT4_GROUPS = (32, 64, 128)
MX_BLOCK, NVFP4_BLOCK = 32, 16
E4M3, E2M1, E8M0 = (4, 3), (2, 1), (8, 0)  # ModelOpt's (exponent, mantissa) bits
_ONE_LEVEL = (16, 32)  # scales kept in a float dtype (the model's, or FP32)


@dataclass(frozen=True)
class ModeloptLayer:
    """One format in ModelOpt's terms: the hf_quant_config entry and the quantizer configs."""

    hf: dict[str, Any]  # {"quant_algo": ..., "group_size": ...}
    weight: dict[str, Any]  # the weight quantizer's cfg (JSON form)
    inputs: dict[str, Any] | None  # the input quantizer's cfg, None: left off


def _blocks(size: int, kind: str, scale: tuple[int, int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {str(-1): size, "type": kind}
    return out | ({"scale_bits": list(scale)} if scale else {})


def modelopt_layer(fmt: Format) -> ModeloptLayer:
    """The ModelOpt setting of a format (raising CannotExpress)."""
    w = fmt.weight
    if w.zero_bits:
        raise CannotExpress("ModelOpt's TensorRT-LLM formats are symmetric (no zero point)")
    if w.type == "int":
        return _int_layer(w, fmt.activation_bits)
    return _float_layer(w, fmt.activation_bits)


def _int_layer(w: WeightFormat, activation_bits: int) -> ModeloptLayer:
    if w.tensor_scale_bits or w.scale_bits not in _ONE_LEVEL:
        raise CannotExpress("ModelOpt's integer formats keep one level of float scales")
    if activation_bits < 16:
        raise CannotExpress(
            f"INT{w.bits} weights with {activation_bits}-bit activations: TensorRT-LLM's "
            "W8A8_SQ_PER_CHANNEL scales activations per tensor with a calibrated (static) scale "
            "and W4A8_AWQ's activations are FP8; mpq measures symmetric INT activations per "
            "token, computed on each call"
        )
    if (w.bits, w.granularity) == (8, CHANNEL):
        return ModeloptLayer({"quant_algo": "W8A16"}, {"num_bits": 8, "axis": 0}, None)
    if w.bits == 4 and w.granularity == GROUP and w.group_size in INT4_GROUPS:
        hf = {"quant_algo": "W4A16_AWQ", "group_size": w.group_size, "has_zero_point": False,
              "pre_quant_scale": True}  # fmt: skip
        return ModeloptLayer(hf, {"num_bits": 4, "block_sizes": _blocks(w.group_size, "static")},
                             None)  # fmt: skip
    raise CannotExpress(
        f"INT{w.bits} weights {_layout(w)}: ModelOpt exports integer weights for TensorRT-LLM "
        "as INT8 per output channel (W8A16) or INT4 in groups of 32, 64 or 128 (W4A16_AWQ)"
    )


def _float_layer(w: WeightFormat, activation_bits: int) -> ModeloptLayer:
    shape = (w.bits, w.granularity, w.group_size, w.scale_bits, w.tensor_scale_bits)
    if w.bits == 8 and w.granularity == TENSOR and w.scale_bits in _ONE_LEVEL:
        return _with_inputs("FP8", {"num_bits": list(E4M3), "axis": None}, activation_bits, 8)
    if shape == (8, GROUP, MX_BLOCK, 8, 0):
        cfg = {"num_bits": list(E4M3), "block_sizes": _blocks(MX_BLOCK, "dynamic", E8M0)}
        return _with_inputs("MXFP8", cfg, activation_bits, 8, MX_BLOCK)
    if shape == (4, GROUP, NVFP4_BLOCK, 8, 32):
        cfg = {"num_bits": list(E2M1), "block_sizes": _blocks(NVFP4_BLOCK, "dynamic", E4M3)}
        if activation_bits >= 16:
            return ModeloptLayer({"quant_algo": "W4A16_NVFP4", "group_size": NVFP4_BLOCK}, cfg,
                                 None)  # fmt: skip
        return _with_inputs("NVFP4", cfg, activation_bits, 4, NVFP4_BLOCK)
    if (w.bits, w.granularity, w.scale_bits, w.tensor_scale_bits) == (4, GROUP, 8, 0):
        raise CannotExpress(
            "ModelOpt's export has no TensorRT-LLM quant_algo for MXFP4 weights with MXFP4 "
            "activations (it writes its internal name 'mxfp4'); TensorRT-LLM's MXFP4 formats "
            "take FP8 or MXFP8 activations or none"
        )
    if w.bits == 6:
        raise CannotExpress(
            "ModelOpt fake-quantizes FP6 but its export has no quant_algo for it "
            "(get_quantization_format raises NotImplementedError)"
        )
    raise CannotExpress(
        f"{w.bits}-bit float weights {_layout(w)}: ModelOpt's float formats for TensorRT-LLM "
        "are FP8 per tensor, MXFP8 (blocks of 32) and NVFP4 (blocks of 16)"
    )


def _with_inputs(
    algo: str, cfg: dict[str, Any], activation_bits: int, bits: int, group: int | None = None
) -> ModeloptLayer:
    """A format whose activations are quantized as its weights are."""
    if activation_bits != bits:
        what = "none" if activation_bits >= 16 else f"{activation_bits}-bit ones"
        raise CannotExpress(
            f"TensorRT-LLM's {algo} quantizes activations to {bits} bits as the weights; this "
            f"format has {what}"
        )
    hf = {"quant_algo": algo} | ({"group_size": group} if group else {})
    return ModeloptLayer(hf, cfg, dict(cfg))


def _layout(w: WeightFormat) -> str:
    if w.granularity == GROUP:
        return f"in groups of {w.group_size}"
    return "per output channel" if w.granularity == CHANNEL else "per tensor"


TARGET = Target(LABEL, MODULE_TYPES, modelopt_layer, fused_by="TensorRT-LLM")


def _literal(module: str) -> str:
    """A module name as an fnmatch pattern matching only itself."""
    return re.sub(r"([*?\[])", r"[\1]", module)


def modelopt_export(solution: Solution, name_prefix: str = "") -> tuple[dict, dict]:
    """The hf_quant_config and the quant_cfg document of a feasible solution."""
    from ... import __version__

    layers: dict[str, dict[str, Any]] = {}
    excluded: list[str] = []
    entries: list[dict[str, Any]] = [{"quantizer_name": "*", "enable": False}]
    for choice, layer in expressed(layer_choices(solution, name_prefix), TARGET):
        if layer is None:
            excluded += [] if choice.weightless else [choice.module]
            continue
        layers[choice.module] = dict(layer.hf)
        name = _literal(choice.module)
        entries.append({"quantizer_name": f"{name}.weight_quantizer", "cfg": layer.weight})
        if layer.inputs is not None:
            entries.append({"quantizer_name": f"{name}.input_quantizer", "cfg": layer.inputs})
    hf = {
        "producer": {"name": "mpq", "version": __version__},
        "quantization": _quantization(layers, excluded),
    }
    document = {
        "schema_version": SCHEMA_VERSION,
        "library": f"nvidia-modelopt {MODELOPT_VERSION}",
        **provenance(solution),
        "block_sizes_keys": "text: read back with mpq_core.io.phase4.modelopt_export."
        "quantize_config (an axis such as '-1' becomes the integer -1)",
        "quantize_config": {"quant_cfg": entries, "algorithm": "max"},
    }
    return hf, document


def _quantization(layers: dict[str, dict[str, Any]], excluded: list[str]) -> dict[str, Any]:
    """The ``quantization`` object as ModelOpt's export lays it out: one format used is
    written flat (its quant_algo and fields), several as MIXED_PRECISION with per-layer
    entries; no format at all has quant_algo null."""
    distinct = {json.dumps(entry, sort_keys=True) for entry in layers.values()}
    if len(distinct) > 1:
        return {"quant_algo": MIXED, "kv_cache_quant_algo": None, "quantized_layers": layers,
                "exclude_modules": excluded}  # fmt: skip
    flat: dict[str, Any] = {"quant_algo": None, "kv_cache_quant_algo": None}
    if distinct:
        flat |= json.loads(distinct.pop())
    return flat | {"exclude_modules": excluded}


def quantize_config(document: dict[str, Any]) -> dict[str, Any]:
    """The ``mtq.quantize`` config of a quant_cfg document: ``block_sizes`` axes back to
    integers, (E, M) pairs back to tuples."""
    config = document["quantize_config"]
    return {**config, "quant_cfg": [_entry(e) for e in config["quant_cfg"]]}


def _entry(entry: dict[str, Any]) -> dict[str, Any]:
    if "cfg" not in entry:
        return dict(entry)
    return {**entry, "cfg": _attributes(entry["cfg"])}


def _attributes(cfg: dict[str, Any]) -> dict[str, Any]:
    out = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
    if isinstance(cfg.get("block_sizes"), dict):
        out["block_sizes"] = {
            _axis(k): tuple(v) if isinstance(v, list) else v for k, v in cfg["block_sizes"].items()
        }
    return out


def _axis(key: str) -> int | str:
    return int(key) if re.fullmatch(r"-?\d+", key) else key
