"""compressed-tensors / llm-compressor: a ``QuantizationConfig`` dict and a recipe with a
``QuantizationModifier``, one config group per format used, its ``targets`` the exact module
names, ``ignore`` the modules left in float.

A format becomes ``QuantizationArgs`` fields (num_bits, type, strategy, group_size, symmetric,
and ``scale_dtype`` where the scales define the format: E8M0 for MX, FP8 E4M3 for NVFP4), and
``input_activations`` when its activation bits are below 16, laid out as mpq measures them
(``mpq_torch.formats_quant``): symmetric dynamic INT per token for integer weights, FP8 per
tensor for FP8 weights, MX blocks for MX, NVFP4 blocks for NVFP4. Integer scales are kept in
the model's dtype, as compressed-tensors' integer presets do. The table of formats is in
docs/formats.md ("Phase 4 exports").
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from ...model.formats import CHANNEL, GROUP, TENSOR, Format, WeightFormat
from ...solving.solution import Solution
from .layers import (
    CannotExpress,
    LayerChoice,
    Target,
    check_int_bits,
    expressed,
    layer_choices,
    provenance,
)

LABEL = "compressed-tensors"
MODULE_TYPES = ("Linear", "Embedding")  # what apply_quantization_config quantizes
_STRATEGIES = {TENSOR: "tensor", CHANNEL: "channel", GROUP: "group"}
_FLOAT_BITS = (4, 8)  # FP4 E2M1, FP8 E4M3
E8M0, E4M3 = "torch.uint8", "torch.float8_e4m3fn"  # scale dtypes of MX and NVFP4


def quantization_scheme(fmt: Format) -> dict[str, Any]:
    """The ``QuantizationScheme`` fields of a format, without its targets."""
    weights = _weight_args(fmt.weight)
    scheme = {"weights": weights}
    if fmt.activation_bits < 16:
        scheme["input_activations"] = _activation_args(fmt, weights)
    return scheme


def _weight_args(w: WeightFormat) -> dict[str, Any]:
    if w.type == "int":
        check_int_bits(w.bits)
        if w.tensor_scale_bits or w.scale_bits not in (16, 32):
            raise CannotExpress(
                "compressed-tensors keeps integer scales in the model's float dtype, one level "
                f"of them; this format has {_scales_text(w)}"
            )
        args = {"num_bits": w.bits, "type": "int", "symmetric": not w.zero_bits}
        return args | _layout(_STRATEGIES[w.granularity], w.group_size)
    _check_float_bits(w.bits, "weights")
    if w.zero_bits:
        raise CannotExpress("compressed-tensors' float weights are symmetric (no zero point)")
    strategy, scale_dtype = _float_scales(w)
    args = {"num_bits": w.bits, "type": "float", "symmetric": True}
    args |= _layout(strategy, w.group_size)
    return args | ({"scale_dtype": scale_dtype} if scale_dtype else {})


def _float_scales(w: WeightFormat) -> tuple[str, str | None]:
    """(strategy, scale dtype or None for the model's dtype) of float weights."""
    if w.tensor_scale_bits:
        if (w.bits, w.granularity, w.scale_bits, w.tensor_scale_bits) != (4, GROUP, 8, 32):
            raise CannotExpress(
                "compressed-tensors' two-level scales (strategy tensor_group) are NVFP4's: FP4, "
                f"an FP8 E4M3 scale per group and an FP32 scale per tensor; not {_scales_text(w)}"
            )
        return "tensor_group", E4M3
    if w.granularity == GROUP and w.scale_bits == 8:
        return "group", E8M0  # MX: a power-of-two scale per block
    if w.scale_bits in (16, 32):
        return _STRATEGIES[w.granularity], None
    raise CannotExpress(f"{_scales_text(w)} have no compressed-tensors counterpart")


def _activation_args(fmt: Format, weights: dict[str, Any]) -> dict[str, Any]:
    bits = fmt.activation_bits
    if fmt.weight.type == "int":
        check_int_bits(bits, "activations")
        return {"num_bits": bits, "type": "int", "symmetric": True, "strategy": "token",
                "dynamic": True}  # fmt: skip
    _check_float_bits(bits, "activations")
    args = {"num_bits": bits, "type": "float", "symmetric": True, "dynamic": True}
    if weights["strategy"] in ("group", "tensor_group"):  # MX and NVFP4 blocks, as the weights
        args |= _layout(weights["strategy"], weights["group_size"])
        return args | {"scale_dtype": weights["scale_dtype"]}
    return args | {"strategy": "tensor"}


def _layout(strategy: str, group_size: int | None) -> dict[str, Any]:
    if strategy in ("group", "tensor_group"):
        return {"strategy": strategy, "group_size": group_size}
    return {"strategy": strategy}


def _check_float_bits(bits: int, what: str) -> None:
    if bits == 6:
        raise CannotExpress(
            f"FP6 {what}: compressed-tensors' FP6 is E2M3, while mpq measures FP6 as E3M2 "
            "(mpq_torch.formats_quant); exporting one as the other would change the format"
        )
    if bits not in _FLOAT_BITS:
        raise CannotExpress(
            f"{bits}-bit float {what}: compressed-tensors' float types are FP4 E2M1 and FP8 E4M3"
        )


def _scales_text(w: WeightFormat) -> str:
    parts = [f"{w.scale_bits}-bit scales"]
    if w.tensor_scale_bits:
        parts.append(f"a {w.tensor_scale_bits}-bit scale per tensor")
    return " and ".join(parts)


TARGET = Target(LABEL, MODULE_TYPES, quantization_scheme, fused_by="vLLM")


def compressed_tensors_export(solution: Solution, name_prefix: str = "") -> tuple[dict, str]:
    """The ``QuantizationConfig`` dict and the llm-compressor recipe that applies it."""
    choices = layer_choices(solution, name_prefix)
    config = compressed_tensors_config(solution, choices)
    left_out = [c.module for c in choices if c.weightless and c.in_float]
    return config, recipe_text(solution, config, left_out)


def compressed_tensors_config(
    solution: Solution, choices: tuple[LayerChoice, ...]
) -> dict[str, Any]:
    """A config group per format used (named after it, in option order), its targets the
    exact module names; ``ignore`` the modules left in float."""
    groups: dict[str, dict[str, Any]] = {}
    ignore: list[str] = []
    for choice, scheme in expressed(choices, TARGET):
        if scheme is None:
            ignore += [] if choice.weightless else [choice.module]
            continue
        groups.setdefault(choice.group, {"targets": [], **scheme})["targets"].append(choice.module)
    order = {f.name: i for i, f in enumerate(solution.problem.formats or ())}
    ordered = sorted(groups.items(), key=lambda item: (order.get(item[0], 0), _bits(item[1])))
    config = {
        "quant_method": "compressed-tensors",
        "config_groups": dict(ordered),
        "ignore": ignore,
    }
    return json.loads(json.dumps(config))  # plain, unshared values (no YAML aliases)


def _bits(group: dict[str, Any]) -> int:
    return group["weights"]["num_bits"]


def recipe_text(solution: Solution, config: dict[str, Any], left_out: list[str]) -> str:
    """An llm-compressor recipe applying ``config`` with a QuantizationModifier, with a comment
    naming its source and the layers without a module of their own (left in float)."""
    meta = provenance(solution)
    modifier = {"ignore": config["ignore"], "config_groups": config["config_groups"]}
    body = {"quant_stage": {"quant_modifiers": {"QuantizationModifier": modifier}}}
    lines = [
        "# llm-compressor recipe: a QuantizationModifier with a config group per format; its",
        "# targets are exact module names, ignore lists the modules left in float.",
        f"# Written by {meta['written_by']} from {meta['config']} (solver {meta['solver']})",
        f"# Phase 1 sha256 {meta['flops_sha256']}",
        f"# Phase 2 sha256 {meta['sensitivity_sha256']}",
    ]
    if left_out:
        lines.append("# Left in float, without a module of their own:")
        lines += [f"#   {name}" for name in left_out]
    dumped = yaml.safe_dump(body, sort_keys=False, default_flow_style=False, width=100)
    return "\n".join(lines) + "\n" + dumped
