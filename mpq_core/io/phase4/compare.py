"""Comparing a solved allocation with a file's: a Phase 4 file read back (:mod:`.readback`) or
an mpq config, evaluated under the same problem and limits.

A layer's format from a file is evaluated as one of the problem's options (the sensitivity
gives values for those only): the option with the same fields (preferring the same name), else
one the file's target writes the same way (the export's own mapping: for GGUF and MLX, whose
types are not the catalog's formats, the options the export would have written as that type,
the nearest in bits per weight first). A format that is no option of the problem is an
InputError naming the file, the layer and the format; so is a layer the file does not determine.
A float module takes the problem's float option (width 16 or more, or ``bf16``/``fp16``: the
one of the same name when the file says, else the first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from ...model.formats import Format
from ...solving.solution import Solution
from ..reading import InputFile, decode, read_bytes
from .layers import width_format
from .readback_common import Express, described, express_key, in_float

SHOWN_DIFFERENCES = 20  # rows of the printed table of differing layers


@dataclass(frozen=True)
class LayerDifference:
    layer: str
    ours: str  # mpq's option
    theirs: str  # the file's option


@dataclass(frozen=True)
class LimitValues:
    """One limit of the solved problem: its label and unit, cap, and both allocations' use."""

    label: str
    unit: str
    cap: float
    ours: float
    theirs: float
    theirs_fits: bool


@dataclass(frozen=True)
class Comparison:
    """mpq's allocation against a file's, layer by layer and by objective and limits."""

    source: str
    target: str  # a Phase 4 target, or "config" (an mpq config)
    n_layers: int
    differences: tuple[LayerDifference, ...]
    ours_objective: float
    theirs_objective: float
    limits: tuple[LimitValues, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``compare`` object of ``--json``."""
        return {
            "file": self.source,
            "target": self.target,
            "layers": self.n_layers,
            "layers_differing": len(self.differences),
            "differences": [
                {"layer": d.layer, "mpq": d.ours, "file": d.theirs} for d in self.differences
            ],
            "objective": {"mpq": self.ours_objective, "file": self.theirs_objective},
            "limits": [
                {
                    "limit": v.label,
                    "unit": v.unit,
                    "cap": v.cap,
                    "mpq": v.ours,
                    "file": v.theirs,
                    "file_fits": v.theirs_fits,
                }
                for v in self.limits
            ],
            "notes": list(self.notes),
        }


def compare_file(
    solution: Solution,
    source: str | Path | InputFile,
    *,
    name_prefix: str = "",
    gguf_arch: str | None = None,
) -> Comparison:
    """Compare a feasible solution with the allocation of a Phase 4 file or an mpq config."""
    label, content = read_bytes(source)
    given = InputFile(label, content)
    if _is_config(content, label):
        choice, target, notes = _config_choice(solution, given, name_prefix), "config", ()
    else:
        from .readback import read_phase4
        from .readback_ct import SCALES_NOTE

        problem = solution.problem
        read = read_phase4(given, problem.names, types=problem.types, name_prefix=name_prefix,
                           gguf_arch=gguf_arch)  # fmt: skip
        choice, target, notes = file_choice(solution, read), read.target, read.notes
        if problem.formats is None:  # widths are read without their scales' dtype
            notes = tuple(note for note in notes if note != SCALES_NOTE)
    return _compared(solution, choice, label, target, notes)


def _is_config(content: bytes, label: str) -> bool:
    if not content.lstrip().startswith(b"{") and not label.endswith(".json"):
        return False
    try:
        data = decode(content, label)
    except InputError:
        return False
    return isinstance(data, dict) and "bit_allocation" in data


def _config_choice(solution: Solution, given: InputFile, name_prefix: str) -> np.ndarray:
    """Each layer's option under an mpq config (``load_config``): its format (a config of
    formats), else its width, among the options of this problem."""
    from ..export import load_config

    problem = solution.problem
    saved = load_config(given, name_prefix=name_prefix)
    options = problem.option_names
    stated = saved.formats if problem.formats is not None else saved.wbits
    field = "quantization_config.format" if problem.formats is not None else "bit_allocation"
    choice = np.empty(problem.n_layers, dtype=np.intp)
    for i, name in enumerate(problem.names):
        option = str(stated[name]) if name in stated else None
        if option not in options:
            what = "missing" if option is None else f"{option!r} is not"
            raise InputError(given.name, f"{what} among the problem's options "
                             f"({', '.join(options)})", field=field, layer=name)  # fmt: skip
        choice[i] = options.index(option)
    return choice


def file_choice(solution: Solution, read) -> np.ndarray:
    """Each layer's option for a ReadAllocation (see the module docstring)."""
    problem = solution.problem
    options = problem.formats or tuple(width_format(w) for w in problem.widths)
    express = target_express(read.target)
    choice = np.empty(problem.n_layers, dtype=np.intp)
    for i, name in enumerate(problem.names):
        fmt = read.formats.get(name)
        if fmt is None:
            raise InputError(read.source, "the file does not determine this layer's format",
                             layer=name)  # fmt: skip
        j = option_for(fmt, options, express)
        if j is None:
            raise InputError(
                read.source,
                f"format {fmt.name!r} ({_fields(fmt)}) is not among the problem's options "
                f"({', '.join(problem.option_names)})",
                layer=name,
            )
        choice[i] = j
    return choice


def option_for(fmt: Format, options: tuple[Format, ...], express: Express | None) -> int | None:
    """The index of the option ``fmt`` is evaluated as, None when there is none."""
    if in_float(fmt):
        floats = [j for j, o in enumerate(options) if in_float(o)]
        same = [j for j in floats if options[j].name == fmt.name]
        return (same or floats or [None])[0]
    equal = [j for j, o in enumerate(options) if _same_fields(o, fmt)]
    if equal:
        return next((j for j in equal if options[j].name == fmt.name), equal[0])
    key = express_key(express, fmt)
    if key is None:
        return None
    written = [j for j, o in enumerate(options) if express_key(express, o) == key]
    bits = fmt.weight.asymptotic_bits()
    return min(written, key=lambda j: abs(options[j].weight.asymptotic_bits() - bits), default=None)


def _same_fields(a: Format, b: Format) -> bool:
    return (a.weight, a.activation_bits) == (b.weight, b.activation_bits)


def _fields(fmt: Format) -> str:
    w = fmt.weight
    text = ", ".join(f"{k} {v}" for k, v in w.to_dict().items())
    return f"{text}, activation_bits {fmt.activation_bits}" if text else described(fmt)


def target_express(target: str) -> Express | None:
    """The export's mapping of a format to the target's setting (how the target writes it)."""
    from .autoround_export import autoround_layer
    from .compressed_tensors_export import quantization_scheme
    from .gguf_export import ggml_type
    from .mlx_export import mlx_quantization
    from .modelopt_export import modelopt_layer
    from .torchao_export import torchao_config

    table: dict[str, Callable[[Format], Any]] = {
        "compressed_tensors": quantization_scheme,
        "torchao": torchao_config,
        "gguf": lambda f: ggml_type(f).type.name,
        "mlx": lambda f: mlx_quantization(f).entry(),
        "modelopt": lambda f: modelopt_layer(f).hf,
        "autoround": autoround_layer,
    }
    return table.get(target)


def _compared(solution: Solution, choice: np.ndarray, label: str, target: str, notes) -> Comparison:
    problem = solution.problem
    names = problem.option_names
    differences = tuple(
        LayerDifference(layer, names[int(a)], names[int(b)])
        for layer, a, b in zip(problem.names, solution.choice, choice, strict=True)
        if a != b
    )
    limits = tuple(
        LimitValues(
            b.limit.label(),
            b.unit,
            b.shown_cap,
            b.use_of(solution.choice) / b.scale,
            b.use_of(choice) / b.scale,
            bool(b.fits(choice)),
        )
        for b in solution.bounds
    )
    outside = int((~problem.allowed[np.arange(problem.n_layers), choice]).sum())
    if outside:
        notes = (*notes, f"{outside} layer(s) of the file take an option their pin, tie or search "
                         "space does not allow")  # fmt: skip
    return Comparison(label, target, problem.n_layers, differences, solution.objective,
                      problem.objective_of(choice), limits, tuple(notes))  # fmt: skip


def comparison_lines(comparison: Comparison) -> list[str]:
    """The printed comparison: the differing layers (at most SHOWN_DIFFERENCES), then both
    allocations' objective and each limit's value."""
    c = comparison
    lines = [f"Compared with {c.source} ({c.target}): {len(c.differences)} of {c.n_layers} "
             "layers differ"]  # fmt: skip
    if c.differences:
        width = max(len(d.layer) for d in c.differences[:SHOWN_DIFFERENCES])
        ours = max(3, *(len(d.ours) for d in c.differences[:SHOWN_DIFFERENCES]))
        lines.append(f"  {'layer':<{width}}  {'mpq':<{ours}}  file")
        lines += [f"  {d.layer:<{width}}  {d.ours:<{ours}}  {d.theirs}"
                  for d in c.differences[:SHOWN_DIFFERENCES]]  # fmt: skip
        if len(c.differences) > SHOWN_DIFFERENCES:
            lines.append(f"  ... and {len(c.differences) - SHOWN_DIFFERENCES} more")
    lines.append(f"  objective: mpq {c.ours_objective:.6g}, file {c.theirs_objective:.6g}")
    for v in c.limits:
        verdict = "" if v.theirs_fits else " (over the limit)"
        lines.append(f"  {v.label}: cap {_amount(v.cap, v)}; mpq {_amount(v.ours, v)}, file "
                     f"{_amount(v.theirs, v)}{verdict}")  # fmt: skip
    lines += [f"  note: {note}" for note in c.notes]
    return lines


def _amount(value: float, v: LimitValues) -> str:
    return f"{value:,.6g} {v.unit}".rstrip()
