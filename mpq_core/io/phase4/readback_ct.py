"""Reading a compressed-tensors ``QuantizationConfig`` (or a model's ``config.json`` holding one
as ``quantization_config``) and an llm-compressor recipe's ``QuantizationModifier`` back into
formats.

Targets resolve as compressed-tensors 0.20 resolves them (``utils/match.py``,
``apply_quantization_config``): a target is an exact module name, ``re:`` and a regex matched
with ``re.match`` at the start of the name, or a class name (here the layer's Phase 1 type);
among the targets that match a module, exact names come first, then regexes, each in sorted
order, then class names, and the first one's group wins. ``ignore`` takes the same forms. A
module that no target matches, or that ``ignore`` matches, stays in float, and so does one that
is neither a ``Linear`` nor an ``Embedding`` (compressed-tensors quantizes those only). A
recipe's ``scheme`` preset (``W4A16``) is read with compressed-tensors' own presets.
"""

from __future__ import annotations

from typing import Any

from ...model.formats import CHANNEL, GROUP, TENSOR, Format, WeightFormat
from .compressed_tensors_export import MODULE_TYPES, quantization_scheme
from .readback_common import FLOAT, ReadContext, canonical, mapping, regex, texts, whole

_STRATEGIES = {"tensor": TENSOR, "channel": CHANNEL, "group": GROUP, "tensor_group": GROUP}
_E8M0 = ("torch.uint8", "torch.float8_e8m0fnu")  # MX's power-of-two scales
_E4M3 = "torch.float8_e4m3fn"  # NVFP4's scales
_FLOAT_SCALES = {"torch.float32": 32, "torch.float16": 16, "torch.bfloat16": 16}
_MODEL_DTYPE_SCALES = 16  # no scale_dtype: the model's dtype, read as 16 bits
SCALES_NOTE = (
    "compressed-tensors keeps scales without a scale_dtype in the model's dtype: such a layout "
    "is read as the catalog format written the same way, else with 16-bit scales"
)


def is_recipe(data: Any) -> bool:
    return _modifier(data) is not None


def read_compressed_tensors(data: dict, ctx: ReadContext) -> tuple[dict[str, Format], list[str]]:
    """Each layer's format under a QuantizationConfig, a config.json or a recipe."""
    modifier = _modifier(data)
    if modifier is not None:
        config = _from_modifier(modifier, ctx)
    else:
        config = data.get("quantization_config", data.get("compression_config", data))
    config = mapping(config, ctx, "quantization_config")
    groups = mapping(config.get("config_groups"), ctx, "config_groups")
    ignore = texts(config.get("ignore") or [], ctx, "ignore")
    owners = _targets(groups, ctx)
    order = sorted(owners, key=lambda t: ("re:" in t, t))
    out: dict[str, Format] = {}
    parsed: dict[str, Format] = {}
    notes = [SCALES_NOTE]
    for i, name in enumerate(ctx.names):
        module, kind = ctx.module(i), ctx.kind(i)
        group = None if ctx.weightless(i) else _group(module, kind, order, owners, ctx)
        if group is None or _matches_any(module, kind, ignore, ctx, "ignore"):
            out[name] = FLOAT
            continue
        if kind not in MODULE_TYPES:
            notes.append(f"{module}: a {kind} (compressed-tensors quantizes {MODULE_TYPES}) is "
                         "left in float")  # fmt: skip
            out[name] = FLOAT
            continue
        if group not in parsed:
            parsed[group] = scheme_format(groups[group], ctx, f"config_groups.{group}", name)
        out[name] = parsed[group]
    return out, notes


def _modifier(data: Any, depth: int = 0) -> dict | None:
    """The first ``...Modifier`` object with quantization settings in a recipe."""
    if depth > 6:
        return None
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(
        data, list) else ()  # fmt: skip
    for key, value in items:
        settings = isinstance(value, dict) and ("config_groups" in value or "scheme" in value)
        if settings and str(key).endswith("Modifier"):
            return value
        found = _modifier(value, depth + 1) if isinstance(value, dict | list) else None
        if found is not None:
            return found
    return None


def _from_modifier(modifier: dict, ctx: ReadContext) -> dict:
    """The modifier's settings as a QuantizationConfig dict (a ``scheme`` preset expanded)."""
    if "config_groups" in modifier:
        return {"config_groups": modifier["config_groups"], "ignore": modifier.get("ignore") or []}
    scheme = modifier["scheme"]
    if isinstance(scheme, str):
        scheme = {scheme: texts(modifier.get("targets", ["Linear"]), ctx, "targets")}
    scheme = mapping(scheme, ctx, "scheme")
    groups = {
        f"group_{k}": _preset(name, texts(targets, ctx, f"scheme.{name}"), ctx)
        for k, (name, targets) in enumerate(scheme.items())
    }
    return {"config_groups": groups, "ignore": modifier.get("ignore") or []}


def _preset(name: str, targets: list[str], ctx: ReadContext) -> dict:
    try:
        from compressed_tensors.quantization import is_preset_scheme, preset_name_to_scheme
    except ImportError:
        ctx.fail(f"{name!r} is a compressed-tensors preset: reading it needs compressed-tensors "
                 "(pip install -r requirements-phase4.txt)", "scheme")  # fmt: skip
    if not is_preset_scheme(name):
        ctx.fail(f"{name!r} is not a compressed-tensors preset scheme", "scheme")
    return preset_name_to_scheme(name, targets).model_dump(mode="json")


def _targets(groups: dict, ctx: ReadContext) -> dict[str, str]:
    """Target -> the name of its group (a later group's target replaces an earlier one's, as
    compressed-tensors' mapping of targets to schemes does)."""
    owners: dict[str, str] = {}
    for group, scheme in groups.items():
        where = f"config_groups.{group}"
        targets = texts(mapping(scheme, ctx, where).get("targets"), ctx, f"{where}.targets")
        for target in targets:
            if target.startswith("re:"):
                regex(target[3:], ctx, f"{where}.targets")
            owners[target] = group
    return owners


def _matches(module: str, kind: str, target: str, ctx: ReadContext, field: str) -> bool:
    """compressed-tensors' match_name (exact, or ``re:`` with re.match), or a class name."""
    if target.startswith("re:"):
        return regex(target[3:], ctx, field).match(module) is not None
    return target in (module, kind)


def _matches_any(module: str, kind: str, targets: list[str], ctx: ReadContext, field) -> bool:
    return any(_matches(module, kind, t, ctx, field) for t in targets)


def _group(module: str, kind: str, order: list[str], owners: dict, ctx) -> str | None:
    """The group of the first target matching the module: names, then classes."""
    for target in order:
        if target != kind and _matches(module, kind, target, ctx, "config_groups"):
            return owners[target]
    return owners.get(kind)


def scheme_format(scheme: Any, ctx: ReadContext, where: str, layer: str) -> Format:
    """The format of one ``QuantizationScheme`` dict."""
    scheme = mapping(scheme, ctx, where, layer)
    if scheme.get("weights") is None:
        ctx.fail("no 'weights': mpq's formats quantize weights", f"{where}.weights", layer)
    weight = _weights(mapping(scheme["weights"], ctx, f"{where}.weights", layer), ctx,
                      f"{where}.weights", layer)  # fmt: skip
    inputs = scheme.get("input_activations")
    bits = 16
    if inputs is not None:
        field = f"{where}.input_activations.num_bits"
        args = mapping(inputs, ctx, f"{where}.input_activations", layer)
        bits = whole(args.get("num_bits", 8), ctx, field, layer, 1, 16)
    return canonical(Format("", weight, bits), quantization_scheme)


def _weights(args: dict, ctx: ReadContext, where: str, layer: str) -> WeightFormat:
    bits = whole(args.get("num_bits", 8), ctx, f"{where}.num_bits", layer, 1, 16)
    kind = args.get("type", "int")
    if kind not in ("int", "float"):
        ctx.fail(f"type {kind!r}: mpq reads int and float weights", f"{where}.type", layer)
    group_size = args.get("group_size")
    strategy = args.get("strategy") or ("group" if group_size else "tensor")
    if strategy not in _STRATEGIES:
        ctx.fail(f"strategy {strategy!r}: mpq's formats scale weights per tensor, channel or "
                 "group (tensor_group for NVFP4)", f"{where}.strategy", layer)  # fmt: skip
    granularity = _STRATEGIES[strategy]
    group = None
    if granularity == GROUP:
        group = whole(group_size, ctx, f"{where}.group_size", layer, 1, 1 << 30)
    symmetric = args.get("symmetric", True) is not False
    if kind == "int":
        if strategy == "tensor_group":
            ctx.fail("strategy tensor_group is for float weights (NVFP4)", f"{where}.strategy",
                     layer)  # fmt: skip
        zero = 0 if symmetric else _MODEL_DTYPE_SCALES
        return WeightFormat("int", bits, group, granularity, _MODEL_DTYPE_SCALES, zero)
    if not symmetric:
        ctx.fail("asymmetric float weights: mpq's float formats are symmetric",
                 f"{where}.symmetric", layer)  # fmt: skip
    return _float_weights(args, bits, group, strategy, ctx, where, layer)


def _float_weights(args, bits, group, strategy, ctx, where, layer) -> WeightFormat:
    if bits == 6:
        ctx.fail("FP6 weights: compressed-tensors' FP6 is E2M3, mpq's FP6 (mxfp6) is E3M2",
                 f"{where}.num_bits", layer)  # fmt: skip
    if bits not in (4, 8):
        ctx.fail(f"{bits}-bit float weights: compressed-tensors' float types are FP4 and FP8",
                 f"{where}.num_bits", layer)  # fmt: skip
    dtype = args.get("scale_dtype")
    granularity = _STRATEGIES[strategy]
    if strategy == "tensor_group":
        if (bits, dtype) != (4, _E4M3):
            ctx.fail("strategy tensor_group is NVFP4's: FP4 weights with torch.float8_e4m3fn "
                     "scales", f"{where}.strategy", layer)  # fmt: skip
        return WeightFormat("float", 4, group, GROUP, 8, 0, 32)
    if dtype in _E8M0 and granularity == GROUP:
        return WeightFormat("float", bits, group, GROUP, 8)
    if dtype is not None and dtype not in _FLOAT_SCALES:
        ctx.fail(f"scale_dtype {dtype!r}: mpq reads float scales, and E8M0 scales per group",
                 f"{where}.scale_dtype", layer)  # fmt: skip
    return WeightFormat("float", bits, group, granularity, _FLOAT_SCALES.get(dtype, 16))
