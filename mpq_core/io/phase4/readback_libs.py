"""Reading torchao's module -> config JSON and auto-round's ``layer_config`` back into formats.

torchao (0.18 ``FqnToConfig``): a module takes the config of its exact name (or of its
``.weight`` parameter), else of the first ``re:`` key whose regex matches the whole name, else
``_default`` (Linear modules); ``null`` or no key leaves it in float. Configs are read from
torchao's own dict form (``config_to_dict``), including GPU-only ones mpq does not write
(``Float8DynamicActivationFloat8WeightConfig``, ``NVFP4DynamicActivationNVFP4WeightConfig``).

auto-round: a module named in ``layer_config`` takes its entry (16 bits or more: float); a
module not named keeps float (the export is loaded with ``scheme="BF16"``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ...model.formats import CHANNEL, GROUP, TENSOR, Format, WeightFormat
from .autoround_export import autoround_layer
from .readback_common import FLOAT, ReadContext, canonical, mapping, regex, whole
from .torchao_export import torchao_config

_MODEL_DTYPE = 16  # scales kept in the model's dtype, read as 16 bits
_FP32 = 32


# --- torchao ---------------------------------------------------------------------------------


def read_torchao(data: dict, ctx: ReadContext) -> tuple[dict[str, Format], list[str]]:
    """Each layer's format under a torchao ``fqn_to_config`` document."""
    if data.get("_type") in ("FqnToConfig", "ModuleFqnToConfig"):
        data = mapping(data.get("_data"), ctx, "_data")
    key = "fqn_to_config" if "fqn_to_config" in data else "module_fqn_to_config"
    entries = mapping(data.get(key), ctx, key)
    patterns = [(k, regex(k[3:], ctx, f"{key}.{k}")) for k in entries if k.startswith("re:")]
    out: dict[str, Format] = {}
    parsed: dict[str, Format] = {}
    for i, name in enumerate(ctx.names):
        module = ctx.module(i)
        found = None if ctx.weightless(i) else _torchao_key(module, entries, patterns)
        if found is None and ctx.kind(i) == "Linear" and "_default" in entries:
            found = "_default"
        if found is None or entries[found] is None:
            out[name] = FLOAT
            continue
        if found not in parsed:
            parsed[found] = torchao_format(entries[found], ctx, f"{key}.{found}", name)
        out[name] = parsed[found]
    return out, ["torchao keeps scales in the model's dtype (read as 16-bit scales)"]


def _torchao_key(module: str, entries: dict, patterns: list) -> str | None:
    for key in (module, f"{module}.weight"):
        if key in entries:
            return key
    return next((key for key, rx in patterns if rx.fullmatch(module)), None)


def torchao_format(entry: Any, ctx: ReadContext, where: str, layer: str) -> Format:
    """The format of one torchao config in ``config_to_dict`` form."""
    entry = mapping(entry, ctx, where, layer)
    kind = entry.get("_type")
    if kind not in _TORCHAO:
        ctx.fail(f"config {kind!r} is not one mpq reads (known: {', '.join(_TORCHAO)})",
                 f"{where}._type", layer)  # fmt: skip
    data = mapping(entry.get("_data", {}), ctx, f"{where}._data", layer)

    def fail(problem: str, key: str):
        ctx.fail(problem, f"{where}._data.{key}", layer)

    weight, activation_bits = _TORCHAO[kind](data, fail)
    return canonical(Format("", weight, activation_bits), torchao_config)


def _granularity(value: Any, default: str, fail) -> tuple[str, int | None]:
    """(granularity, group size) of a torchao granularity dict (a list: the weights' is last)."""
    if isinstance(value, list) and value:
        value = value[-1]
    if value is None:
        return default, None
    kind = value.get("_type") if isinstance(value, dict) else None
    data = value.get("_data") or {} if isinstance(value, dict) else {}
    if kind in ("PerRow", "PerAxis") and data.get("axis", 0) in (0, -2):
        return CHANNEL, None
    if kind == "PerTensor":
        return TENSOR, None
    group = data.get("group_size") if kind == "PerGroup" else None
    if isinstance(group, int) and not isinstance(group, bool) and group > 0:
        return GROUP, group
    fail(f"granularity {value!r}: mpq reads PerTensor, PerRow, PerAxis(0) and PerGroup",
         "granularity")  # fmt: skip
    raise AssertionError  # fail raised


def _int8_weight_only(data: dict, fail) -> tuple[WeightFormat, int]:
    granularity, group = _granularity(data.get("granularity"), CHANNEL, fail)
    if data.get("group_size"):  # the version 1 form
        granularity, group = GROUP, data["group_size"]
    return WeightFormat("int", 8, group, granularity, _MODEL_DTYPE), 16


def _intx_weight_only(data: dict, fail) -> tuple[WeightFormat, int]:
    dtype = data.get("weight_dtype", {"_data": "int8"})
    name = dtype.get("_data") if isinstance(dtype, dict) else dtype
    match = re.fullmatch(r"(?:torch\.)?int([1-8])", str(name))
    if match is None:
        fail(f"weight_dtype {name!r}: mpq reads torch.int1 to torch.int8", "weight_dtype")
    granularity, group = _granularity(data.get("granularity"), GROUP, fail)
    if granularity == GROUP and group is None:
        group = 32  # torchao's default PerGroup(32)
    mapping_type = data.get("mapping_type", {"_data": "SYMMETRIC"})
    mapping_name = mapping_type.get("_data") if isinstance(mapping_type, dict) else mapping_type
    zero = 0 if str(mapping_name).startswith("SYMMETRIC") else _MODEL_DTYPE
    return WeightFormat("int", int(match[1]), group, granularity, _MODEL_DTYPE, zero), 16


def _int8_dynamic(data: dict, fail) -> tuple[WeightFormat, int]:
    granularity, group = _granularity(data.get("granularity"), CHANNEL, fail)
    return WeightFormat("int", 8, group, granularity, _MODEL_DTYPE), 8


def _float8(activation_bits: int) -> Callable:
    def read(data: dict, fail) -> tuple[WeightFormat, int]:
        granularity, _ = _granularity(data.get("granularity"), TENSOR, fail)
        if granularity == GROUP:
            fail("FP8 in groups: mpq reads FP8 per tensor or per row", "granularity")
        return WeightFormat("float", 8, None, granularity, _FP32), activation_bits

    return read


def _nvfp4(activation_bits: int) -> Callable:
    def read(data: dict, fail) -> tuple[WeightFormat, int]:
        tensor = _FP32 if data.get("use_dynamic_per_tensor_scale", True) else 0
        return WeightFormat("float", 4, 16, GROUP, 8, 0, tensor), activation_bits

    return read


_TORCHAO = {
    "Int8WeightOnlyConfig": _int8_weight_only,
    "IntxWeightOnlyConfig": _intx_weight_only,
    "Int8DynamicActivationInt8WeightConfig": _int8_dynamic,
    "Float8WeightOnlyConfig": _float8(16),
    "Float8DynamicActivationFloat8WeightConfig": _float8(8),
    "NVFP4WeightOnlyConfig": _nvfp4(16),
    "NVFP4DynamicActivationNVFP4WeightConfig": _nvfp4(4),
}


# --- auto-round ------------------------------------------------------------------------------

_AR_FLOAT = {"fp": (8,), "mx_fp": (4, 8), "mx_fp6e3m2": (6,), "nv_fp": (4,)}


def is_layer_config(data: dict) -> bool:
    """A bare auto-round layer_config: every value an entry with ``bits``."""
    return bool(data) and all(isinstance(v, dict) and "bits" in v for v in data.values())


def read_autoround(data: dict, ctx: ReadContext) -> tuple[dict[str, Format], list[str]]:
    """Each layer's format under an auto-round ``layer_config``."""
    key = "layer_config" if "layer_config" in data else ""
    entries = mapping(data[key], ctx, key) if key else data
    out: dict[str, Format] = {}
    notes = ["modules the layer_config does not name keep float (loaded with scheme='BF16')"]
    for i, name in enumerate(ctx.names):
        entry = None if ctx.weightless(i) else entries.get(ctx.module(i))
        where = f"{key}.{ctx.module(i)}" if key else ctx.module(i)
        out[name] = FLOAT if entry is None else autoround_format(entry, ctx, where, name)
    return out, notes


def autoround_format(entry: Any, ctx: ReadContext, where: str, layer: str) -> Format:
    """The format of one layer_config entry (16 bits or more: float)."""
    entry = mapping(entry, ctx, where, layer)
    bits = whole(entry.get("bits"), ctx, f"{where}.bits", layer, 1, 32)
    act = whole(entry.get("act_bits", 16), ctx, f"{where}.act_bits", layer, 1, 32)
    if bits >= 16:
        return FLOAT
    kind = entry.get("data_type", "int")
    group = entry.get("group_size", 128)
    if isinstance(group, bool) or not isinstance(group, int) or group < -1:
        ctx.fail(f"must be -1, 0 or a whole number of weights, not {group!r}",
                 f"{where}.group_size", layer)  # fmt: skip
    granularity = {-1: CHANNEL, 0: TENSOR}.get(group, GROUP)
    size = group if granularity == GROUP else None
    if kind == "int":
        zero = 0 if entry.get("sym", True) else _MODEL_DTYPE
        weight = WeightFormat("int", bits, size, granularity, _MODEL_DTYPE, zero)
    elif bits in _AR_FLOAT.get(kind, ()):
        weight = _autoround_float(kind, bits, size, granularity)
    else:
        ctx.fail(f"data_type {kind!r} with {bits} bits: mpq reads int, fp (8 bits), mx_fp "
                 "(4, 8), mx_fp6e3m2 (6) and nv_fp (4)", f"{where}.data_type", layer)  # fmt: skip
    return canonical(Format("", weight, min(act, 16)), autoround_layer)


def _autoround_float(kind: str, bits: int, size: int | None, granularity: str) -> WeightFormat:
    if kind == "nv_fp":
        return WeightFormat("float", 4, 16, GROUP, 8, 0, _FP32)
    if kind == "fp":
        return WeightFormat("float", 8, size, granularity, _FP32)
    return WeightFormat("float", bits, size, granularity, 8)
