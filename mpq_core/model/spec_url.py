"""A Spec as URL query parameters, compact and readable, and back (a link reopens a view).

    ?budget=0.5&solver=exact&rule=match&discount=0.2&ladder=4,8,16&sense=score
     &pin16=conv_in&pin8=conv_out&pin16=conv_out
     &limit=mean_wbits@quality<=4.08&limit=latency_ms<=0.5r
     &group=content:*.attn2.*|*.ff.*&group=quality:*&tie=conv_in,conv_out
    ?formats=int4_g128,nvfp4,fp8,bf16&space=*.attn*:fp8|bf16&limit=bpw<=5.4

One table, :data:`PARAMETERS`, holds a row per parameter: its name, how it is written from a
Spec and how it is read back (each reading bounds its value). :func:`spec_to_query` and
:func:`spec_from_query` (``Spec.to_query`` / ``Spec.from_query``) are the only writer and
reader of a Spec's parameters; reading what was written gives the Spec back.

``budget`` is the first limit when that is ``bops <= m x`` over every layer with m from 0 to 1
(the slider); ``limit`` holds the others, in order. Every value is validated; what cannot be
read is left out and reported as a note, never applied half-way. Defaults are not written
unless asked (``full=True``: the app's links always carry the solver, cost model and ladder).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InputError
from .constraints import Constraints, Group, Limit, check_name, parse_limit_flag
from .formats import catalog_formats
from .spec import (
    ABIT_RULES,
    DEFAULT_DISCOUNT,
    MAX_LADDER,
    SENSES,
    SOLVER_NAMES,
    Pin,
    Spec,
    check_ladder,
    width_of_text,
)

MAX_PARAMETER = 2_000  # characters of one parameter value
MAX_VALUES = 400  # values of one repeated parameter (pins, limits, groups, ties)
# read from repeated parameters, added up
_LISTS = ("pins", "limits", "groups", "ties", "search_spaces")
PIN = "pin"  # pin<width>: the layers pinned to that width (one parameter per width)


@dataclass(frozen=True)
class Parameter:
    """One query parameter of a Spec: ``write`` gives its values ([] leaves it out; ``full``
    writes defaults too), ``read`` turns its values into the Spec fields it sets (raising
    ValueError or InputError, with the bound in the message, for what it cannot read)."""

    name: str
    write: Callable[[Spec, bool], list[str]]
    read: Callable[[list[str]], dict[str, Any]]


def _budget_of(spec: Spec) -> Limit | None:
    """The first limit when the slider can show it: ``bops <= m x``, m from 0 to 1."""
    limits = spec.constraints.limits
    first = limits[0] if limits else None
    return first if first is not None and first.is_budget and first.number <= 1 else None


def _other_limits(spec: Spec) -> tuple[Limit, ...]:
    limits = spec.constraints.limits
    return limits[1:] if _budget_of(spec) is not None else limits


def _unit(text: str) -> float:
    """A number from 0 to 1 (-0 as 0)."""
    try:
        number = float(text) + 0.0
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise ValueError(f"must be a number from 0 to 1, got {_shown(text)}")
    return number


def _one_of(allowed: Sequence[str]) -> Callable[[str], str]:
    def read(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{_shown(value)} is not one of {', '.join(allowed)}")
        return value

    return read


def _ladder(text: str) -> tuple[int, ...] | None:
    parts = [width_of_text(p.strip()) for p in text.split(",") if p.strip()]
    if len(parts) > MAX_LADDER or None in parts:
        raise ValueError(
            f"expected at most {MAX_LADDER} whole numbers from 1 to 64, got {_shown(text)}"
        )
    return check_ladder(parts)


def _group(text: str) -> Group:
    name, sep, patterns = text.partition(":")
    if not sep:
        raise ValueError(f"expected NAME:PATTERN|PATTERN, got {_shown(text)}")
    check_name(name, "group", "name")
    parts = tuple(p for p in patterns.split("|") if p)
    if not parts:
        raise ValueError(f"group {name!r} has no pattern")
    return Group(name, parts)


def _space(text: str) -> tuple[str, tuple[str, ...]]:
    """``PATTERN:FORMAT|FORMAT``: the formats the layers of a pattern may take."""
    pattern, sep, names = text.rpartition(":")
    formats = tuple(n for n in names.split("|") if n)
    if not sep or not pattern or not formats:
        raise ValueError(f"expected PATTERN:FORMAT|FORMAT, got {_shown(text)}")
    return pattern, formats


def _tie(text: str) -> tuple[str, ...]:
    tie = tuple(part.strip() for part in text.split(","))
    if len(tie) < 2 or not all(tie):
        raise ValueError(f"expected two or more layer names, got {_shown(text)}")
    return tie


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError(f"expected 0 or 1, got {_shown(text)}")
    return text == "1"


def _scalar(
    name: str,
    field: str,
    default: Any,
    parse: Callable[[str], Any],
    text: Callable[[Any], str] = str,
) -> Parameter:
    """A parameter holding one field's value (the last one given counts)."""

    def write(spec: Spec, full: bool) -> list[str]:
        value = getattr(spec, field)
        return [text(value)] if value is not None and (full or value != default) else []

    return Parameter(name, write, lambda values: {field: parse(values[-1])})


def _number_text(value: float) -> str:
    """``0.2``, ``1``: the shortest text that reads back as the same float."""
    text = repr(float(value) + 0.0)
    return text[:-2] if text.endswith(".0") else text


PARAMETERS: tuple[Parameter, ...] = (
    Parameter(
        "budget",
        lambda spec, full: [b.text[:-1]] if (b := _budget_of(spec)) else [],
        lambda values: {"budget": Limit.budget(_unit(values[-1]))},
    ),
    _scalar("solver", "solver", "greedy", _one_of(SOLVER_NAMES)),
    _scalar("rule", "abit_rule", "plus4", _one_of(ABIT_RULES)),
    _scalar("discount", "upgrade_discount", DEFAULT_DISCOUNT, _unit, _number_text),
    _scalar("ladder", "ladder", None, _ladder, lambda ladder: ",".join(map(str, ladder))),
    _scalar("sense", "sense", None, _one_of(SENSES)),
    Parameter(
        "limit",
        lambda spec, full: [limit.flag() for limit in _other_limits(spec)],
        lambda values: {"limits": [parse_limit_flag(v, "limit") for v in values]},
    ),
    Parameter(
        "group",
        lambda spec, full: [f"{g.name}:{'|'.join(g.patterns)}" for g in spec.constraints.groups],
        lambda values: {"groups": [_group(v) for v in values]},
    ),
    Parameter(
        "tie",
        lambda spec, full: [",".join(t) for t in spec.constraints.ties],
        lambda values: {"ties": [_tie(v) for v in values]},
    ),
    Parameter(
        "formats",
        lambda spec, full: [",".join(f.name for f in spec.formats)] if spec.formats else [],
        lambda values: {"formats": catalog_formats(values[-1], "formats")},
    ),
    Parameter(
        "tie_fused",
        lambda spec, full: ["1"] if spec.tie_fused else [],
        lambda values: {"tie_fused": _flag(values[-1])},
    ),
    Parameter(
        "space",
        lambda spec, full: [f"{p}:{'|'.join(names)}" for p, names in spec.search_spaces],
        lambda values: {"search_spaces": [_space(v) for v in values]},
    ),
)
BY_NAME = {parameter.name: parameter for parameter in PARAMETERS}
SPEC_PARAMETERS = tuple(BY_NAME)


def is_pin_parameter(name: str) -> bool:
    """``pin16`` and the like: the layers pinned to one width."""
    return name.startswith(PIN) and name[len(PIN) :].isdigit()


def _read_pins(name: str, values: list[str]) -> dict[str, Any]:
    width = width_of_text(name[len(PIN) :]) or 0
    if not 1 <= width <= 64:
        raise ValueError("the width must be from 1 to 64")
    return {"pins": [(layer, width) for layer in values]}


def spec_to_query(spec: Spec, *, full: bool = False) -> dict[str, list[str]]:
    """The spec as query parameters (lists of strings); defaults are left out unless ``full``."""
    out: dict[str, list[str]] = {}
    for parameter in PARAMETERS:
        values = parameter.write(spec, full)
        if values:
            out[parameter.name] = values
    for pin in spec.pins:
        for width in pin.widths:
            out.setdefault(f"{PIN}{width}", []).append(pin.layer)
    return out


def spec_from_query(
    params: Mapping[str, Sequence[str]], base: Spec | None = None
) -> tuple[Spec, list[str]]:
    """(spec, notes): the parameters over ``base`` (default: Spec()); each unreadable one is
    skipped with a note that says which and why. Unknown parameter names are not notes here
    (the app owns others, such as ``source``)."""
    spec = base or Spec()
    notes: list[str] = []
    read: dict[str, Any] = {key: [] for key in _LISTS}
    for name, raw_values in params.items():
        values = [v for v in raw_values if v != ""][:MAX_VALUES]
        if not values or not (name in BY_NAME or is_pin_parameter(name)):
            continue
        try:
            fields = _read_one(name, values)
        except (InputError, ValueError) as err:
            message = err.problem if isinstance(err, InputError) else str(err)
            notes.append(f"{_shown_name(name)}: {message}")
            continue
        read |= {key: read[key] + v if key in _LISTS else v for key, v in fields.items()}
    return _apply(spec, read, notes)


def _read_one(name: str, values: list[str]) -> dict[str, Any]:
    """The Spec fields one parameter sets (its row of the table, or a pin width's)."""
    if any(len(v) > MAX_PARAMETER for v in values):
        raise ValueError(f"longer than {MAX_PARAMETER} characters")
    parameter = BY_NAME.get(name)
    return parameter.read(values) if parameter else _read_pins(name, values)


def _apply(spec: Spec, read: dict[str, Any], notes: list[str]) -> tuple[Spec, list[str]]:
    """``spec`` with what was read; a combination the Spec refuses keeps ``spec``."""
    pins: dict[str, list[int]] = {}
    for layer, width in read.pop("pins"):
        pins.setdefault(layer, []).append(width)
    if pins:
        read["pins"] = tuple(Pin(layer, tuple(sorted(set(w)))) for layer, w in pins.items())
    spaces = read.pop("search_spaces")
    if spaces:
        read["search_spaces"] = tuple(spaces)
    if "formats" in read and "ladder" not in read:
        read["ladder"] = None  # the options are the formats
    budget = read.pop("budget", None)
    limits = ([budget] if budget is not None else []) + read.pop("limits")
    constraints = _constraints(spec.constraints, limits, read.pop("groups"), read.pop("ties"))
    try:
        return replace(spec, constraints=constraints[0], **read), notes + constraints[1]
    except InputError as err:  # e.g. a layer pinned to two sets: keep the base spec
        return spec, [*notes, *constraints[1], f"{err}"]


def _constraints(
    base: Constraints, limits: list[Limit], groups: list[Group], ties: list[tuple[str, ...]]
) -> tuple[Constraints, list[str]]:
    """``base`` with what the link gives in place of its own limits, groups and ties."""
    out, notes = base, []
    if limits:
        try:
            out = replace(out, limits=tuple(limits))
        except InputError as err:  # more limits than a problem takes: none of them is used
            notes.append(f"limit: {err.problem}")
    if groups:
        out = replace(out, groups=tuple(groups))
    if ties:
        out = replace(out, ties=tuple(ties))
    return out, notes


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _shown_name(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "..."
