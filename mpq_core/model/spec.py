"""One frozen, validated value for everything a user sets besides the input files.

The command line, the app's URL, the cache keys and the export metadata all carry a
:class:`Spec`; ``Spec.to_dict`` / ``Spec.from_dict`` round-trip it. Field names are the one
name of each idea: ``ladder`` (the weight widths a layer may take; the CLI's ``--bits``),
``formats`` (quantization formats a layer may take instead of plain widths; the CLI's
``--formats``; ``formats.py``), ``abit_rule``, ``upgrade_discount``, ``pins``, ``sense``,
``constraints`` (groups, ties, limits), ``solver``, ``time_limit``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InputError
from .constraints import Constraints, Limit, parse_constraints
from .formats import Format, formats_from_dicts, order, parse_search_spaces

ABIT_RULES = ("plus4", "match")
SENSES = ("loss", "score")
DEFAULT_LADDER = (4, 8, 16)
DEFAULT_MULTIPLIER = 0.5
DEFAULT_DISCOUNT = 0.2
DEFAULT_TIME_LIMIT = 20.0  # seconds per exact solve; then the best allocation, bound and gap
MAX_WIDTH = 64  # bits of one weight, at most
MAX_LADDER = 12
SOLVER_NAMES = ("greedy", "exact")
_WIDTH_TEXT = re.compile(r"[0-9]{1,3}")


@dataclass(frozen=True)
class Pin:
    """A layer restricted to one width or a set of widths."""

    layer: str
    widths: tuple[int, ...]


@dataclass(frozen=True)
class Spec:
    """Everything that shapes and solves a problem, besides the two input files."""

    ladder: tuple[int, ...] | None = None  # None: the per-bit file's widths, else 4/8/16
    abit_rule: str = "plus4"
    upgrade_discount: float = DEFAULT_DISCOUNT
    pins: tuple[Pin, ...] = ()
    sense: str | None = None  # None: from the sensitivity file; "loss" or "score" overrides
    constraints: Constraints = field(default_factory=Constraints)
    solver: str = "greedy"
    time_limit: float = DEFAULT_TIME_LIMIT
    formats: tuple[Format, ...] | None = None  # None: the options are the ladder's widths
    search_spaces: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (pattern, formats) pairs
    tie_fused: bool = False  # tie the layers inference kernels fuse (model.fused)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ladder", check_ladder(self.ladder))
        if self.formats is not None:
            if self.ladder is not None:
                raise InputError("formats", "the ladder and formats both choose the options")
            object.__setattr__(self, "formats", order(self.formats))
        if self.search_spaces and self.formats is None:
            raise InputError("search_spaces", "choose among formats: give formats too")
        object.__setattr__(
            self, "search_spaces", tuple((p, tuple(n)) for p, n in self.search_spaces)
        )
        object.__setattr__(self, "abit_rule", check_abit_rule(self.abit_rule))
        object.__setattr__(self, "upgrade_discount", check_discount(self.upgrade_discount))
        object.__setattr__(self, "pins", check_pins(self.pins))
        if self.sense is not None and self.sense not in SENSES:
            raise InputError("sense", f"must be one of {', '.join(SENSES)}, not {self.sense!r}")
        if self.solver not in SOLVER_NAMES:
            raise InputError(
                "solver",
                f"unknown solver {_shown(self.solver)} (choose from {', '.join(SOLVER_NAMES)})",
            )
        object.__setattr__(self, "time_limit", check_time_limit(self.time_limit))
        if not isinstance(self.tie_fused, bool):
            raise InputError("tie_fused", f"must be true or false, not {_shown(self.tie_fused)}")

    @property
    def limits(self) -> tuple[Limit, ...]:
        """The limits to solve under: the constraints' own, else ``bops <= 0.5x``."""
        return self.constraints.limits or (Limit.budget(DEFAULT_MULTIPLIER),)

    @property
    def multiplier(self) -> float | None:
        """The BOPs multiplier when the only limit is ``bops <= Mx`` over every layer."""
        limits = self.limits
        if len(limits) == 1 and limits[0].is_budget:
            return limits[0].multiplier
        return None

    def with_multiplier(self, multiplier: float) -> Spec:
        """This spec with its limits replaced by ``bops <= multiplier x``."""
        limit = Limit.budget(float(multiplier), "budget_multiplier")
        return replace(self, constraints=replace(self.constraints, limits=(limit,)))

    def with_limits(self, limits: Iterable[Limit]) -> Spec:
        return replace(self, constraints=replace(self.constraints, limits=tuple(limits)))

    def problem_key(self) -> Spec:
        """The part that shapes the instance (limits, solver and time limit left out)."""
        return replace(
            self,
            constraints=replace(self.constraints, limits=()),
            solver="greedy",
            time_limit=DEFAULT_TIME_LIMIT,
        )

    def to_query(self, *, full: bool = False) -> dict[str, list[str]]:
        """The spec as URL query parameters (``spec_url``: the one writer of a link)."""
        from .spec_url import spec_to_query

        return spec_to_query(self, full=full)

    @classmethod
    def from_query(
        cls, params: Mapping[str, Sequence[str]], base: Spec | None = None
    ) -> tuple[Spec, list[str]]:
        """(spec, notes) from URL query parameters (``spec_url``: the one reader of a link)."""
        from .spec_url import spec_from_query

        return spec_from_query(params, base)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ladder": None if self.ladder is None else list(self.ladder),
            "abit_rule": self.abit_rule,
            "upgrade_discount": self.upgrade_discount,
            "pins": {pin.layer: list(pin.widths) for pin in self.pins},
            "sense": self.sense,
            **self.constraints.to_dict(),
            "solver": self.solver,
            "time_limit": self.time_limit,
            **({} if self.formats is None else {"formats": _formats_dict(self.formats)}),
            **(
                {"search_spaces": {p: list(n) for p, n in self.search_spaces}}
                if self.search_spaces
                else {}
            ),
            **({"tie_fused": True} if self.tie_fused else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "settings") -> Spec:
        if not isinstance(data, Mapping):
            raise InputError(source, "expected a mapping of settings")
        known = {
            "ladder",
            "abit_rule",
            "upgrade_discount",
            "pins",
            "sense",
            "groups",
            "ties",
            "limits",
            "solver",
            "time_limit",
            "formats",
            "search_spaces",
            "tie_fused",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(source, f"unknown setting {_shown(unknown[0])}")
        constraints = parse_constraints(
            {k: data[k] for k in ("groups", "ties", "limits") if k in data}, source
        )
        pins = data.get("pins") or {}
        if not isinstance(pins, Mapping):
            raise InputError(source, "must be a mapping of layer to widths", field="pins")
        return cls(
            ladder=data.get("ladder"),
            abit_rule=data.get("abit_rule", "plus4"),
            upgrade_discount=data.get("upgrade_discount", DEFAULT_DISCOUNT),
            pins=tuple(Pin(name, _widths_of(spec)) for name, spec in pins.items()),
            sense=data.get("sense"),
            constraints=constraints,
            solver=data.get("solver", "greedy"),
            time_limit=data.get("time_limit", DEFAULT_TIME_LIMIT),
            formats=None
            if data.get("formats") is None
            else formats_from_dicts(data["formats"], source),
            search_spaces=parse_search_spaces(data["search_spaces"], source)
            if data.get("search_spaces")
            else (),
            tie_fused=data.get("tie_fused", False),
        )


def _formats_dict(formats: tuple[Format, ...]) -> dict[str, Any]:
    return {f.name: f.to_dict() for f in formats}


def check_ladder(ladder: Iterable[Any] | None, source: str = "ladder") -> tuple[int, ...] | None:
    """``source``: where the ladder was written (the CLI's ``--bits``), named by an error."""
    if ladder is None:
        return None
    widths = []
    for width in ladder:
        widths.append(check_width(width, source))
    if not widths:
        raise InputError(source, "needs at least one width")
    if len(set(widths)) != len(widths):
        raise InputError(source, f"repeated width in {widths}")
    if len(widths) > MAX_LADDER:
        raise InputError(source, f"at most {MAX_LADDER} widths, got {len(widths)}")
    return tuple(sorted(widths))


def check_width(width: Any, source: str, layer: str | None = None, field: str | None = None) -> int:
    """A weight width: a whole number from 1 to MAX_WIDTH."""
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH:
        shown = _shown(width) if not isinstance(width, int) else _short_int(width)
        raise InputError(
            source,
            f"widths must be whole numbers from 1 to {MAX_WIDTH}, got {shown}",
            field=field,
            layer=layer,
        )
    return int(width)


def width_of_text(text: str) -> int | None:
    """A width written as text (a key, a flag, a link): one to three ASCII digits, else None.

    No sign, space, underscore or digit of another script, all of which ``int()`` takes
    (``int("\uff19")`` is 9); the range is :func:`check_width`'s."""
    return int(text) if _WIDTH_TEXT.fullmatch(text) else None


def check_abit_rule(rule: Any) -> str:
    if rule not in ABIT_RULES:
        raise InputError("abit_rule", f"must be one of {', '.join(ABIT_RULES)}, not {_shown(rule)}")
    return rule


def check_discount(value: Any, source: str = "upgrade_discount") -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(source, f"not a number ({_shown(value)})") from None
    if not math.isfinite(number) or not 0 <= number <= 1e6:
        raise InputError(source, f"must be a finite number from 0 to 1e6, got {_shown(value)}")
    return number


def check_time_limit(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError("time_limit", f"not a number ({_shown(value)})") from None
    if not math.isfinite(number) or not 0 < number <= 86_400:
        raise InputError("time_limit", f"must be seconds in (0, 86400], got {_shown(value)}")
    return number


def check_pins(
    pins: Iterable[Any], source: str = "pins", field: str | None = None
) -> tuple[Pin, ...]:
    """Pins as (layer, widths) or Pin; ``source`` and ``field`` name where they were written."""
    out = []
    seen: set[str] = set()
    for pin in pins:
        if not isinstance(pin, Pin):
            layer, widths = pin
            pin = Pin(layer, _widths_of(widths))
        if not isinstance(pin.layer, str) or not pin.layer:
            raise InputError(source, f"not a layer name ({_shown(pin.layer)})", field=field)
        if pin.layer in seen:
            raise InputError(source, "layer pinned twice", field=field, layer=pin.layer)
        seen.add(pin.layer)
        if not pin.widths:
            raise InputError(source, "no width given", field=field, layer=pin.layer)
        widths = [check_width(w, source, pin.layer, field) for w in pin.widths]
        if len(set(widths)) != len(widths):  # as in a ladder
            raise InputError(source, f"repeated width in {widths}", field=field, layer=pin.layer)
        out.append(Pin(pin.layer, tuple(sorted(widths))))
    return tuple(out)


def pins_from_mapping(pins: Mapping[str, Any] | None) -> tuple[Pin, ...]:
    """``{"conv_in": 16, "conv_out": [8, 16]}`` -> pins (validated)."""
    if not pins:
        return ()
    return check_pins((name, _widths_of(spec)) for name, spec in pins.items())


def parse_pin_file(data: Any, source: str) -> dict[str, list[int]]:
    """A pin file's parsed JSON: an object of layer name -> width or list of widths."""
    if not isinstance(data, dict):
        raise InputError(source, "expected a JSON object of layer name -> width or list of widths")
    out: dict[str, list[int]] = {}
    for name, spec in data.items():
        is_width = isinstance(spec, int) and not isinstance(spec, bool)
        if not is_width and not isinstance(spec, list):
            raise InputError(
                source,
                f"expected a width or a list of widths, got {_shown(spec)}",
                field="pins",
                layer=name,
            )
        widths = [spec] if is_width else spec
        for width in widths:
            check_width(width, source, name, field="pins")
        out[name] = list(widths)
    return out


def _widths_of(spec: Any) -> tuple[int, ...]:
    if isinstance(spec, int) and not isinstance(spec, bool):
        return (spec,)
    if isinstance(spec, list | tuple):
        return tuple(spec)
    raise InputError("pins", f"expected a width or a list of widths, got {_shown(spec)}")


def _short_int(value: int) -> str:
    digits = int(abs(value).bit_length() * 0.30103) + 1
    text = str(value) if value.bit_length() < 200 else f"a number of about {digits} digits"
    return text if len(text) <= 40 else text[:37] + "..."


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
