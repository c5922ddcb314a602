"""A Spec as URL query parameters, compact and readable, and back (a link reopens a view).

    ?budget=0.5&solver=exact&rule=match&discount=0.2&ladder=4,8,16&sense=score
     &pin16=conv_in&pin8=conv_out&pin16=conv_out
     &limit=mean_wbits@quality<=4.08&limit=latency_ms<=0.5r
     &group=content:*.attn2.*|*.ff.*&group=quality:*&tie=conv_in,conv_out

``budget`` is the first limit when that is ``bops <= m x`` over every layer (the slider);
``limit`` holds the others, in order. Every value is validated; what cannot be read is left
out and reported as a note, never applied half-way. Defaults are not written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from .constraints import Constraints, Group, Limit, check_name, limit_value, parse_limit_flag
from .errors import InputError
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
SPEC_PARAMETERS = (
    "budget",
    "solver",
    "rule",
    "discount",
    "ladder",
    "sense",
    "limit",
    "group",
    "tie",
)


def spec_to_query(spec: Spec) -> dict[str, list[str]]:
    """The spec as query parameters (lists of strings); defaults are left out."""
    out: dict[str, list[str]] = {}
    limits = list(spec.constraints.limits)
    first = limits[0] if limits else None
    if first is not None and first.is_budget:
        out["budget"] = [first.at_most[:-1]]
        limits = limits[1:]
    if spec.solver != "greedy":
        out["solver"] = [spec.solver]
    if spec.abit_rule != "plus4":
        out["rule"] = [spec.abit_rule]
    if spec.upgrade_discount != DEFAULT_DISCOUNT:
        out["discount"] = [f"{spec.upgrade_discount:g}"]
    if spec.ladder is not None:
        out["ladder"] = [",".join(map(str, spec.ladder))]
    if spec.sense is not None:
        out["sense"] = [spec.sense]
    for pin in spec.pins:
        for width in pin.widths:
            out.setdefault(f"pin{width}", []).append(pin.layer)
    if limits:
        out["limit"] = [
            f"{lim.resource}{'@' + lim.group if lim.group else ''}<={lim.at_most}" for lim in limits
        ]
    if spec.constraints.groups:
        out["group"] = [f"{g.name}:{'|'.join(g.patterns)}" for g in spec.constraints.groups]
    if spec.constraints.ties:
        out["tie"] = [",".join(t) for t in spec.constraints.ties]
    return out


def spec_from_query(
    params: Mapping[str, Sequence[str]], base: Spec | None = None
) -> tuple[Spec, list[str]]:
    """(spec, notes): the parameters over ``base`` (default: Spec()); each unreadable one is
    skipped with a note that says which and why. Unknown parameter names are not notes here
    (the app owns others, such as ``source``)."""
    spec = base or Spec()
    notes: list[str] = []
    pins: dict[str, list[int]] = {}
    limits: list[Limit] = []
    budget: Limit | None = None
    groups: list[Group] = []
    ties: list[tuple[str, ...]] = []
    changes: dict[str, object] = {}

    for name, raw_values in params.items():
        values = [v for v in raw_values if v != ""][:MAX_VALUES]
        if not values:
            continue
        try:
            if any(len(v) > MAX_PARAMETER for v in values):
                raise ValueError(f"longer than {MAX_PARAMETER} characters")
            last = values[-1]
            if name == "budget":
                number = _fraction(last)
                budget = Limit("bops", limit_value(number, "budget", "value") + "x")
            elif name == "solver":
                changes["solver"] = _one_of(last, SOLVER_NAMES)
            elif name == "rule":
                changes["abit_rule"] = _one_of(last, ABIT_RULES)
            elif name == "sense":
                changes["sense"] = _one_of(last, SENSES)
            elif name == "discount":
                changes["upgrade_discount"] = _fraction(last)
            elif name == "ladder":
                changes["ladder"] = _ladder(last)
            elif is_pin_parameter(name):
                width = width_of_text(name[3:]) or 0
                if not 1 <= width <= 64:
                    raise ValueError("the width must be from 1 to 64")
                for layer in values:
                    pins.setdefault(layer, []).append(width)
            elif name == "limit":
                limits.extend(parse_limit_flag(v, "limit") for v in values)
            elif name == "group":
                groups.extend(_group(v) for v in values)
            elif name == "tie":
                ties.extend(_tie(v) for v in values)
        except (InputError, ValueError) as err:
            message = err.problem if isinstance(err, InputError) else str(err)
            notes.append(f"{_shown_name(name)}: {message}")
    if pins:
        changes["pins"] = tuple(Pin(layer, tuple(sorted(set(w)))) for layer, w in pins.items())
    written = ([budget] if budget is not None else []) + limits
    constraints = _constraints(spec.constraints, written, groups, ties, notes)
    try:
        return replace(spec, constraints=constraints, **changes), notes
    except InputError as err:  # e.g. a layer pinned to two sets: keep the base spec
        return spec, [*notes, f"{err}"]


def _constraints(
    base: Constraints,
    limits: list[Limit],
    groups: list[Group],
    ties: list[tuple[str, ...]],
    notes: list[str],
) -> Constraints:
    """``base`` with what the link gives in place of its own limits, groups and ties."""
    out = base
    if limits:
        try:
            out = replace(out, limits=tuple(limits))
        except InputError as err:  # more limits than a problem takes: none of them is used
            notes.append(f"limit: {err.problem}")
    if groups:
        out = replace(out, groups=tuple(groups))
    if ties:
        out = replace(out, ties=tuple(ties))
    return out


def _ladder(text: str) -> tuple[int, ...] | None:
    parts = [width_of_text(p.strip()) for p in text.split(",") if p.strip()]
    if len(parts) > MAX_LADDER or None in parts:
        raise ValueError(
            f"expected at most {MAX_LADDER} whole numbers from 1 to 64, got {_shown(text)}"
        )
    return check_ladder(parts)


def _tie(text: str) -> tuple[str, ...]:
    tie = tuple(part.strip() for part in text.split(","))
    if len(tie) < 2 or not all(tie):
        raise ValueError(f"expected two or more layer names, got {_shown(text)}")
    return tie


def is_pin_parameter(name: str) -> bool:
    """``pin16`` and the like: the layers pinned to one width."""
    return name.startswith("pin") and name[3:].isdigit()


def _group(text: str) -> Group:
    name, sep, patterns = text.partition(":")
    if not sep:
        raise ValueError(f"expected NAME:PATTERN|PATTERN, got {_shown(text)}")
    check_name(name, "group", "name")
    parts = tuple(p for p in patterns.split("|") if p)
    if not parts:
        raise ValueError(f"group {name!r} has no pattern")
    return Group(name, parts)


def _fraction(text: str) -> float:
    """A number from 0 to 1 (-0 as 0)."""
    try:
        number = float(text) + 0.0
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise ValueError(f"must be a number from 0 to 1, got {_shown(text)}")
    return number


def _one_of(value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{_shown(value)} is not one of {', '.join(allowed)}")
    return value


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _shown_name(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "..."
