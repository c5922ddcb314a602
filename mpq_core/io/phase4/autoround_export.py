"""auto-round (Intel): ``autoround_layer_config_<m>.json``, the ``layer_config`` dict auto-round
takes, one entry per module with the keys of its ``QuantizationScheme`` (``bits``,
``group_size``, ``sym``, ``data_type``, ``act_bits`` and, when activations are quantized,
``act_group_size``, ``act_sym``, ``act_data_type``, ``act_dynamic``). A module left in float
gets ``{"bits": 16, "act_bits": 16, "data_type": "fp"}`` (auto-round quantizes a layer only
when its bits are 8 or fewer). Load it with ``AutoRound(model, tokenizer, scheme="BF16",
layer_config=document["layer_config"], iters=0)``: the ``BF16`` default leaves any module the
file does not name in float.

auto-round's ``group_size`` is the number of weights per scale, ``-1`` one scale per output
channel (per token for ``act_group_size``) and ``0`` one per tensor.

Catalog format -> weights | activations (``act_*``; none: ``act_bits 16``):

- width b (2-8), ``int8``: ``int``, b bits, group_size -1, sym | none
- ``w8a8``: ``int``, 8, -1, sym | ``int`` 8, -1 (per token), sym, dynamic
- ``int4_g128/g64/g32``, ``int3_g128``, ``int2_g64``: ``int``, 4/3/2 bits, group 128/64/32 | none
- ``w4a8_g128``: ``int``, 4, 128 | ``int`` 8, per token, sym, dynamic
- ``fp8``: ``fp``, 8, 0 (per tensor) | ``fp`` 8, 0, dynamic
- ``mxfp4``, ``mxfp8``: ``mx_fp``, 4/8, 32 | ``mx_fp`` 4/8, 32, dynamic
- ``mxfp6``: ``mx_fp6e3m2``, 6, 32 | ``mx_fp6e3m2`` 6, 32, dynamic
- ``nvfp4``: ``nv_fp``, 4, 16 | ``nv_fp`` 4, 16, dynamic; ``nvfp4_w4a16``: the same weights | none
- ``bf16``, ``fp16``: ``bits 16`` | ``act_bits 16``

Exact: element types and bits (FP6 as E3M2, which mpq measures; auto-round's plain ``mx_fp`` at 6
bits is E2M3), group sizes, symmetry, dynamic activation scales (NVFP4's tensor scale included:
``nv_fp`` computes it from each call's input). Integer scales are auto-round's ``scale_dtype``
(FP16 by default) for 16- and 32-bit scales alike; its symmetric integers use the full range
-2^(b-1)..2^(b-1)-1, where mpq's emulation uses +-(2^(b-1)-1): the same storage, a slightly
different grid. Refused: scales of another kind (an 8-bit integer scale, a second level on
integers), float weights other than FP8, MX and NVFP4, and activations laid out otherwise than
mpq measures them. auto-round quantizes ``Linear`` (and transformers' ``Conv1D``) modules.
"""

from __future__ import annotations

import json
from typing import Any

from ...model.formats import CHANNEL, GROUP, TENSOR, Format, WeightFormat
from ...solving.solution import Solution
from .layers import CannotExpress, Target, check_int_bits, expressed, layer_choices, provenance

LABEL = "auto-round"
MODULE_TYPES = ("Linear", "Conv1D")
AUTOROUND_VERSION = "0.16.1"  # the version the export was written and tested for
SCHEMA_VERSION = 1
PER_CHANNEL, PER_TENSOR = -1, 0  # auto-round's group_size for one scale per row / per tensor
IN_FLOAT = {"bits": 16, "act_bits": 16, "data_type": "fp"}
_ONE_LEVEL = (16, 32)
_MX_TYPES = {4: "mx_fp", 6: "mx_fp6e3m2", 8: "mx_fp"}  # FP4 E2M1, FP6 E3M2, FP8 E4M3
NVFP4_BLOCK = 16


def autoround_layer(fmt: Format) -> dict[str, Any]:
    """The layer_config entry of a format (raising CannotExpress)."""
    w = fmt.weight
    weights = _int_weights(w) if w.type == "int" else _float_weights(w)
    return weights | _activations(weights, fmt.activation_bits, w.granularity)


def _group(w: WeightFormat) -> int:
    if w.granularity == GROUP:
        return int(w.group_size or 0)
    return PER_CHANNEL if w.granularity == CHANNEL else PER_TENSOR


def _int_weights(w: WeightFormat) -> dict[str, Any]:
    check_int_bits(w.bits)
    if w.tensor_scale_bits or w.scale_bits not in _ONE_LEVEL:
        raise CannotExpress(
            "auto-round keeps integer scales in a float dtype (scale_dtype), one level of them; "
            f"this format has {w.scale_bits}-bit scales"
            + (f" and a {w.tensor_scale_bits}-bit scale per tensor" if w.tensor_scale_bits else "")
        )
    return {"bits": w.bits, "group_size": _group(w), "sym": not w.zero_bits, "data_type": "int"}


def _float_weights(w: WeightFormat) -> dict[str, Any]:
    if w.zero_bits:
        raise CannotExpress("auto-round's float types are symmetric (no zero point)")
    kind = _float_type(w)
    if kind is None:
        raise CannotExpress(
            f"{w.bits}-bit float weights with {w.scale_bits}-bit scales: auto-round's float "
            "types are FP8 E4M3 with a float scale per tensor or channel, MX (FP4/FP6/FP8 with "
            "a power-of-two scale per block) and NVFP4 (blocks of 16)"
        )
    return {"bits": w.bits, "group_size": _group(w), "sym": True, "data_type": kind}


def _float_type(w: WeightFormat) -> str | None:
    """auto-round's data_type of float weights, None when it has none."""
    if (w.bits, w.granularity, w.group_size, w.scale_bits, w.tensor_scale_bits) == (
        4, GROUP, NVFP4_BLOCK, 8, 32):  # fmt: skip
        return "nv_fp"
    if w.tensor_scale_bits:
        return None
    if w.granularity == GROUP and w.scale_bits == 8:
        return _MX_TYPES.get(w.bits)
    if w.bits == 8 and w.granularity in (TENSOR, CHANNEL) and w.scale_bits in _ONE_LEVEL:
        return "fp"
    return None


def _activations(weights: dict[str, Any], bits: int, granularity: str) -> dict[str, Any]:
    """The ``act_*`` keys, laid out as mpq measures activations (``mpq_torch.formats_quant``)."""
    if bits >= 16:
        return {"act_bits": 16}
    kind = weights["data_type"]
    if kind == "int":
        check_int_bits(bits, "activations")
        return _act(bits, PER_CHANNEL, "int")  # per token
    if kind == "fp" and bits == 8 and granularity == TENSOR:
        return _act(bits, PER_TENSOR, "fp")
    if kind == "nv_fp" and bits == 4:
        return _act(bits, NVFP4_BLOCK, "nv_fp")
    if kind.startswith("mx_fp") and bits in _MX_TYPES:
        return _act(bits, weights["group_size"], _MX_TYPES[bits])
    raise CannotExpress(
        f"{bits}-bit activations beside {kind} weights: mpq measures INT activations per token, "
        "FP8 per tensor beside FP8 weights per tensor, MX and NVFP4 in the weights' blocks"
    )


def _act(bits: int, group: int, kind: str) -> dict[str, Any]:
    return {"act_bits": bits, "act_group_size": group, "act_sym": True, "act_data_type": kind,
            "act_dynamic": True}  # fmt: skip


TARGET = Target(LABEL, MODULE_TYPES, autoround_layer, fused_by="vLLM")


def autoround_export(solution: Solution, name_prefix: str = "") -> dict[str, Any]:
    """The JSON document: ``layer_config`` (module name -> entry, in file order) and the layers
    left in float that have no module of their own."""
    entries: dict[str, dict[str, Any]] = {}
    left_out: list[str] = []
    for choice, entry in expressed(layer_choices(solution, name_prefix), TARGET):
        if choice.weightless:  # in float (else refused above): no module to name
            left_out.append(choice.module)
        else:
            entries[choice.module] = dict(IN_FLOAT) if entry is None else entry
    return {
        "schema_version": SCHEMA_VERSION,
        "library": f"auto-round {AUTOROUND_VERSION}",
        **provenance(solution),
        "left_in_float_without_module": left_out,
        "layer_config": json.loads(json.dumps(entries)),
    }
