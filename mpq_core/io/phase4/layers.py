"""Each layer of a solved allocation as an export target sees it: a module name, the format it
takes (a plain width becomes a symmetric per-output-channel INT format) and whether it is left in
float; a layer the target cannot express is an InputError naming the layer, the format and the
target."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from ...errors import InputError
from ...model.formats import CHANNEL, Format, WeightFormat
from ...model.fused import fused_split
from ...solving.solution import Solution
from ..export import config_filename

FLOAT_WIDTH = 16  # a plain width of 16 bits or more leaves the layer in float
MIN_INT_BITS, MAX_INT_BITS = 2, 8  # integer weights both targets store
WIDTH_SCALE_BITS = 32  # mpq's own quantizer keeps a plain width's scales in float32
ATTENTION_MATMUL = "AttentionMatMul"  # mpq_torch's type of an attention matmul (no weights)


class CannotExpress(Exception):
    """A format has no counterpart in a target; the message says why."""


@dataclass(frozen=True)
class LayerChoice:
    """One layer: its module name, the Phase 1 type, the chosen format and how to name it."""

    module: str  # the layer's name with the export's name prefix
    layer: str  # the layer's name as in the Phase 1 file
    kind: str  # the Phase 1 type ("Linear", "AttentionMatMul"; "" when the file does not say)
    weightless: bool  # no weights: an attention matmul, or 0 parameters
    format: Format
    label: str  # "format 'int4_g128'" or "width 4"
    group: str  # the name of its group of layers: the format's name, or ``int4`` for a width

    @property
    def in_float(self) -> bool:
        """Left unquantized: float weights of 16 bits or more, no scales, float activations."""
        w = self.format.weight
        return (
            w.type == "float"
            and w.bits >= FLOAT_WIDTH
            and not (w.scale_bits or w.zero_bits or w.tensor_scale_bits)
            and self.format.activation_bits >= FLOAT_WIDTH
        )


@dataclass(frozen=True)
class Target:
    """An export target: its name in messages, the module types it quantizes and the mapping
    of a format to its own configuration (raising CannotExpress)."""

    label: str
    module_types: tuple[str, ...]
    express: Callable[[Format], Any]
    # who runs the target's q/k/v and gate/up as one matmul ("": none), so that they must
    # share a format
    fused_by: str = ""


def width_format(width: int) -> Format:
    """A plain width as a format: symmetric INT per output channel (weights only), or float."""
    if width >= FLOAT_WIDTH:
        return Format(f"float{width}", WeightFormat("float", width), FLOAT_WIDTH)
    weight = WeightFormat("int", width, None, CHANNEL, scale_bits=WIDTH_SCALE_BITS)
    return Format(f"int{width}", weight, FLOAT_WIDTH)


def layer_choices(solution: Solution, name_prefix: str = "") -> tuple[LayerChoice, ...]:
    """Every layer of a feasible solution, in file order."""
    if not solution.feasible:
        raise ValueError(f"nothing to export: {solution.message}")
    problem = solution.problem
    params = problem.params
    out = []
    for i, (name, kind) in enumerate(zip(problem.names, problem.types, strict=True)):
        if problem.formats is None:
            width = int(solution.wbits[i])
            fmt = width_format(width)
            label = f"width {width}"
        else:
            fmt = problem.formats[int(solution.choice[i])]
            label = f"format {fmt.name!r}"
        weightless = kind == ATTENTION_MATMUL or (math.isfinite(params[i]) and params[i] == 0)
        out.append(
            LayerChoice(f"{name_prefix}{name}", name, kind, weightless, fmt, label, fmt.name)
        )
    return tuple(out)


def expressed(choices: tuple[LayerChoice, ...], target: Target) -> list[tuple[LayerChoice, Any]]:
    """Each layer with the target's configuration of its format (None: left in float)."""
    known: dict[Hashable, Any] = {}
    out = []
    for choice in choices:
        if choice.in_float:
            out.append((choice, None))
            continue
        _check_module(choice, target)
        if choice.format not in known:
            try:
                known[choice.format] = target.express(choice.format)
            except CannotExpress as exc:
                raise _refusal(choice, target, str(exc)) from None
        out.append((choice, known[choice.format]))
    if target.fused_by:
        _check_fused(choices, target)
    return out


def _check_fused(choices: tuple[LayerChoice, ...], target: Target) -> None:
    """Refuse an allocation that gives the layers of one fused matmul different formats."""
    options = {c.layer: c.label if c.label.startswith("width") else c.format.name for c in choices}
    split = fused_split((c.layer for c in choices), options)
    if split is None:
        return
    members, formats = split
    shown = ", ".join(f"{name} {fmt}" for name, fmt in zip(members, formats, strict=True))
    raise InputError(
        target.label,
        f"fused layers take different formats ({shown}): {target.fused_by} runs them as one "
        "matmul; solve with --tie_fused",
        layer=members[0],
    )


def _check_module(choice: LayerChoice, target: Target) -> None:
    if choice.weightless:
        why = (
            f"{target.label} quantizes the weights and inputs of modules; this layer has no "
            "weights and no module of its own (an attention matmul's operands); leave it in "
            "float (a pin or search space of 16 bits / bf16)"
        )
        raise _refusal(choice, target, why)
    if choice.kind and choice.kind not in target.module_types:
        types = " and ".join(target.module_types)
        raise _refusal(
            choice, target, f"{target.label} quantizes {types} modules, not {choice.kind}"
        )


def _refusal(choice: LayerChoice, target: Target, why: str) -> InputError:
    return InputError(
        target.label, f"{choice.label} cannot be expressed: {why}", layer=choice.layer
    )


def check_int_bits(bits: int, what: str = "weights") -> None:
    if not MIN_INT_BITS <= bits <= MAX_INT_BITS:
        raise CannotExpress(
            f"INT{bits} {what}: integers of {MIN_INT_BITS} to {MAX_INT_BITS} bits are exported "
            "(the libraries store at most 8; a symmetric 1-bit integer has no level but 0)"
        )


def export_stem(solution: Solution) -> str:
    """The config file name's part that names the budget and settings (``0.50``,
    ``0.50_exact``, ``bops0.3x_mean_wbits4.08_exact``)."""
    return config_filename(solution).removeprefix("quantization_config_").removesuffix(".json")


def provenance(solution: Solution) -> dict[str, Any]:
    """Where an export came from: the config beside it and the hashes of both input files."""
    from ... import __version__

    inputs = solution.problem.inputs
    return {
        "written_by": f"mpq {__version__}",
        "config": config_filename(solution),
        "solver": solution.solver,
        "flops_sha256": inputs.layers.sha256,
        "sensitivity_sha256": inputs.sensitivity.sha256,
    }
