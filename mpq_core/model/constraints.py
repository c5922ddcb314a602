"""Limits, groups and ties: what a problem states besides the cost model, as written by a user.

A limit reads ``resource <= value`` (``at_most``) or ``resource >= value`` (``at_least``, a
lower limit) over all layers or over one group; a band is one of each. The value is written
one of three ways (strings on the command line and in files; numbers allowed for the plain form):

- ``0.5x``: 0.5 times the resource with every layer (of the scope) at the top width;
- ``0.5r``: the minimum plus 0.5 x (maximum - minimum), where the minimum and maximum are the
  resource with every layer at its cheapest / dearest allowed width (pins respected);
- ``4.08``: absolute, in the resource's unit (GBOPs for ``bops``, bits for ``wbits`` and
  ``mean_wbits``, the file's unit for a resource from a resources file).

Groups are named lists of layer names or shell-style patterns (``fnmatch``, case-sensitive); a
layer belongs to the first group, in file order, that matches it. Ties are sets of layers that
must take the same weight width. These records only hold what was written; ``limits.py``
resolves them against a problem.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from typing import Any

from ..errors import InputError
from ..report.display import significant

BUILTIN_RESOURCES = ("bops", "wbits", "mean_wbits")
FORMAT_RESOURCES = ("bpw", "weight_bytes")  # resources of a problem whose options are formats
MEAN_RESOURCES = ("mean_wbits", "bpw")  # params-weighted means over a scope, not sums
RESOURCE_UNITS = {
    "bops": "GBOPs",
    "wbits": "bits",
    "mean_wbits": "bits",
    "bpw": "bits",
    "weight_bytes": "bytes",
}
FORMS = {"x": "times the all-top-width value", "r": "of the way from cheapest to dearest"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_NUMBER = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_LIMIT_FLAG = re.compile(r"^\s*([^@<>=\s]+)\s*(?:@\s*([^<>=\s]+)\s*)?([<>]=)\s*(\S+)\s*$")
MAX_LIMITS = 16
MAX_NAME = 64


class Form(StrEnum):
    """How a limit's number is read: the value is its written suffix (``"abs"`` for none, as
    ``Limit.form`` has always compared)."""

    TOP = "x"  # times the value with every layer of the scope at the top width
    RANGE = "r"  # of the way from the cheapest to the dearest allocation (HAWQ-V3's r)
    ABSOLUTE = "abs"  # in the resource's unit

    @property
    def suffix(self) -> str:
        """What follows the number when written: ``x``, ``r`` or nothing."""
        return "" if self is Form.ABSOLUTE else self.value

    @classmethod
    def _missing_(cls, value: object) -> Form | None:
        return cls.ABSOLUTE if value == "" else None  # the suffix of an absolute value


@dataclass(frozen=True, init=False)
class Limit:
    """``resource <= number`` (``resource >= number`` when ``lower``), the number read as
    ``form``, over ``group`` (None: every layer).

    ``Limit("bops", "0.5x")`` reads the value as written text (as :func:`limit_value`
    does); ``Limit("bpw", at_least="4.2")`` is a lower limit; ``Limit("bops",
    number=Fraction(1, 2), form=Form.TOP)`` takes the parts. The number is kept as its
    shortest exact decimal (what ``text`` writes reads back as it)."""

    resource: str
    number: Fraction
    form: Form
    group: str | None
    lower: bool

    def __init__(
        self,
        resource: str,
        at_most: Any = None,
        group: str | None = None,
        *,
        at_least: Any = None,
        number: Any = None,
        form: Form | str | None = None,
        lower: bool = False,
    ) -> None:
        if at_most is not None and at_least is not None:
            raise TypeError("a Limit is at_most or at_least (a band is two limits)")
        written = at_most if at_most is not None else at_least
        if written is not None:  # text wins (``dataclasses.replace(limit, at_most=...)``)
            lower = at_least is not None
            number, form = parse_value(written, "limits", "at_least" if lower else "at_most")
        elif number is None:
            raise TypeError("Limit needs at_most, at_least or number")
        value = Fraction(repr(number)) if isinstance(number, float) else Fraction(number)
        object.__setattr__(self, "resource", resource)
        object.__setattr__(self, "number", Fraction(_plain(value)))
        object.__setattr__(self, "form", Form(form if form is not None else Form.ABSOLUTE))
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "lower", bool(lower))

    @classmethod
    def parse(
        cls,
        resource: str,
        value: Any,
        source: str,
        where: str,
        group: str | None = None,
        lower: bool = False,
    ) -> Limit:
        """A limit whose value is written by a user (a flag, a file, a link, a table)."""
        number, form = parse_value(value, source, where)
        return cls(resource, group=group, number=number, form=form, lower=lower)

    def with_value(self, value: Any) -> Limit:
        """This limit (resource, group, sign) at another written value (``"0.4x"``, 5.2)."""
        number, form = parse_value(value, "limits", self.key)
        return replace(self, number=number, form=form)

    @classmethod
    def budget(cls, multiplier: Any, source: str = "budget", where: str = "value") -> Limit:
        """``bops <= m x`` over every layer (the slider's, ``--budget_multiplier``'s)."""
        number, _ = parse_value(multiplier, source, where)
        return cls("bops", number=number, form=Form.TOP)

    @property
    def text(self) -> str:
        """The value as normalised text: ``"0.5x"``, ``"0.5r"`` or ``"4.08"`` (files, names)."""
        return _plain(self.number) + self.form.suffix

    @property
    def sign(self) -> str:
        """``<=``, or ``>=`` for a lower limit."""
        return ">=" if self.lower else "<="

    @property
    def key(self) -> str:
        """The file key of the value: ``at_most``, or ``at_least`` for a lower limit."""
        return "at_least" if self.lower else "at_most"

    @property
    def multiplier(self) -> float:
        """The written number as a float (what ``--budget_multiplier`` gives for ``bops``)."""
        return float(self.number)

    @property
    def is_budget(self) -> bool:
        """The original budget: ``bops <= M x`` over every layer (the slider's, the
        ``--budget_multiplier``'s)."""
        return (
            self.resource == "bops"
            and self.group is None
            and self.form is Form.TOP
            and not self.lower
        )

    @property
    def target(self) -> str:
        """``mean_wbits@quality``, ``bpw``: what is limited, the group after an ``@``."""
        return f"{self.resource}@{self.group}" if self.group else self.resource

    def flag(self) -> str:
        """``mean_wbits@quality<=4.08``, ``bpw>=4.2``: as ``--limit`` and a link write it."""
        return f"{self.target}{self.sign}{self.text}"

    def label(self) -> str:
        """``bops <= 0.5x``, ``mean_wbits@quality <= 4.08``: the value with at most six
        significant digits (``3.363527239150508`` reads ``3.36353``; ``at_most`` and the
        files keep it exactly)."""
        number = significant(_plain(self.number))
        return f"{self.target} {self.sign} {number}{self.form.suffix}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"resource": self.resource, self.key: self.text}
        if self.group is not None:
            out["group"] = self.group
        return out


@dataclass(frozen=True)
class Group:
    name: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class Constraints:
    """Groups, ties and limits, as in a constraints file (JSON)."""

    groups: tuple[Group, ...] = ()
    ties: tuple[tuple[str, ...], ...] = ()
    limits: tuple[Limit, ...] = field(default=())

    def __post_init__(self) -> None:
        # the one check of the count: files, flags, links and the app all build this record
        if len(self.limits) > MAX_LIMITS:
            raise InputError("limits", f"at most {MAX_LIMITS} limits, got {len(self.limits)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": {g.name: list(g.patterns) for g in self.groups},
            "ties": [list(t) for t in self.ties],
            "limits": [limit.to_dict() for limit in self.limits],
        }

    def merged(self, other: Constraints) -> Constraints:
        """These constraints with ``other``'s added (flags add to a file)."""
        names = {g.name for g in self.groups}
        for g in other.groups:
            if g.name in names:
                raise InputError("constraints", "group defined twice", field=f"groups.{g.name}")
        return Constraints(
            self.groups + other.groups, self.ties + other.ties, self.limits + other.limits
        )

    @property
    def is_empty(self) -> bool:
        return not (self.groups or self.ties or self.limits)


def limit_value(value: Any, source: str, where: str) -> str:
    """A written limit value -> normalised text; a number is the plain (absolute) form."""
    number, form = parse_value(value, source, where)
    return _plain(number) + form.suffix


def parse_value(value: Any, source: str, where: str) -> tuple[Fraction, Form]:
    """A written limit value -> (number, form); a number is the plain (absolute) form."""
    if isinstance(value, bool) or value is None:
        raise InputError(source, f"not a limit value ({value!r})", field=where)
    if isinstance(value, int | float | Fraction):
        if not math.isfinite(value) or value < 0:
            raise InputError(source, f"must be a finite number >= 0, got {value!r}", field=where)
        number = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
        return Fraction(_plain(number)), Form.ABSOLUTE
    if not isinstance(value, str):
        raise InputError(source, f"not a limit value ({_shown(value)})", field=where)
    text = value.strip()
    suffix = text[-1:].lower()
    body = text[:-1].strip() if suffix in FORMS else text
    if len(text) > 40 or not _NUMBER.match(body):
        raise InputError(
            source,
            f"expected a number, a number with x (times the all-top-width value) or with r "
            f"(from cheapest to dearest), got {_shown(value)}",
            field=where,
        )
    number = Fraction(body)
    if number > Fraction(1e300):
        raise InputError(source, f"is too large ({_shown(value)})", field=where)
    return Fraction(_plain(number)), Form(suffix) if suffix in FORMS else Form.ABSOLUTE


def parse_limit_flag(text: str, source: str = "--limit") -> Limit:
    """``RESOURCE[@GROUP]<=VALUE`` or ``RESOURCE[@GROUP]>=VALUE`` (``--limit``, a link)."""
    match = _LIMIT_FLAG.match(text)
    if not match:
        raise InputError(
            source,
            f"expected RESOURCE[@GROUP]<=VALUE or >=VALUE (like mean_wbits<=4.08, "
            f"bops<=0.3x or bpw>=4.2), got {_shown(text)}",
        )
    resource, group, sign, value = match.groups()
    check_name(resource, source, "resource")
    if group is not None:
        check_name(group, source, "group")
    return Limit.parse(resource, value, source, "value", group, lower=sign == ">=")


def parse_tie_flag(text: str, source: str = "--tie") -> tuple[str, ...]:
    """``A,B[,C]`` (the command line's ``--tie``)."""
    names = tuple(part.strip() for part in text.split(","))
    if len(names) < 2 or not all(names):
        raise InputError(source, f"expected two or more layer names: A,B[,C], got {_shown(text)}")
    return names


CONSTRAINTS_KEYS = ("groups", "ties", "limits", "search_spaces", "metadata")


def parse_constraints(data: Any, source: str) -> Constraints:
    """A constraints file's parsed JSON -> Constraints (validated; names are checked against
    a problem later, when it is known). Its ``search_spaces``, a setting of formats rather
    than a constraint, are read by ``formats.parse_search_spaces`` (``Spec.search_spaces``)."""
    if not isinstance(data, dict):
        raise InputError(source, "expected a JSON object with 'groups', 'ties' and/or 'limits'")
    unknown = sorted(set(data) - set(CONSTRAINTS_KEYS))
    if unknown:
        raise InputError(
            source,
            f"unknown key (expected {', '.join(CONSTRAINTS_KEYS)}): {_shown(unknown[0])}",
            field=_shown_name(unknown[0]),
        )
    groups = _groups(data.get("groups", {}), source)
    ties = tuple(_tie(t, source, f"ties[{i}]") for i, t in enumerate(_list(data, "ties", source)))
    limits = tuple(
        limit
        for i, record in enumerate(_list(data, "limits", source))
        for limit in _limit_records(record, source, f"limits[{i}]")
    )
    try:
        return Constraints(groups, ties, limits)
    except InputError as err:  # too many limits
        raise InputError(source, err.problem, field="limits") from err


def _groups(raw: Any, source: str) -> tuple[Group, ...]:
    if isinstance(raw, list):  # [{"name": ..., "patterns": [...]}, ...]
        pairs = []
        for i, record in enumerate(raw):
            if not isinstance(record, dict) or not isinstance(record.get("name"), str):
                raise InputError(source, "must be a record with a 'name'", field=f"groups[{i}]")
            pairs.append((record["name"], record.get("patterns", record.get("layers"))))
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise InputError(source, "must be a mapping of group name to patterns", field="groups")
    out = []
    for name, patterns in pairs:
        check_name(name, source, f"groups.{_shown_name(name)}")
        where = f"groups.{name}"
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, list) or not patterns:
            raise InputError(source, "must be a non-empty list of names or patterns", field=where)
        for pattern in patterns:
            if not isinstance(pattern, str) or not pattern:
                raise InputError(source, f"not a name or pattern ({_shown(pattern)})", field=where)
        out.append(Group(name, tuple(patterns)))
    return tuple(out)


def _tie(raw: Any, source: str, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise InputError(source, "a tie needs a list of two or more layer names", field=where)
    for name in raw:
        if not isinstance(name, str) or not name:
            raise InputError(source, f"not a layer name ({_shown(name)})", field=where)
    if len(set(raw)) != len(raw):
        raise InputError(source, "a layer appears twice in the tie", field=where)
    return tuple(raw)


def _limit_records(raw: Any, source: str, where: str) -> tuple[Limit, ...]:
    """One record: ``at_most``, ``at_least``, or both (a band: the lower limit, then the
    upper)."""
    if not isinstance(raw, dict):
        raise InputError(
            source, "must be a record with 'resource' and 'at_most' or 'at_least'", field=where
        )
    unknown = sorted(set(raw) - {"resource", "at_most", "at_least", "group"})
    if unknown:
        raise InputError(
            source,
            f"unknown key {_shown(unknown[0])} (expected resource, at_most, at_least, group)",
            field=where,
        )
    resource = raw.get("resource")
    if not isinstance(resource, str):
        raise InputError(source, "missing or not a string", field=f"{where}.resource")
    check_name(resource, source, f"{where}.resource")
    keys = [key for key in ("at_least", "at_most") if key in raw]
    if not keys:
        missing = "missing (give at_most, at_least or both)"
        raise InputError(source, missing, field=f"{where}.at_most")
    group = raw.get("group")
    if group is not None:
        if not isinstance(group, str):
            raise InputError(source, "not a group name", field=f"{where}.group")
        check_name(group, source, f"{where}.group")
    return tuple(
        Limit.parse(resource, raw[key], source, f"{where}.{key}", group, lower=key == "at_least")
        for key in keys
    )


def _list(data: Mapping[str, Any], key: str, source: str) -> Sequence[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise InputError(source, "must be a list", field=key)
    return value


def check_name(name: Any, source: str, where: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_NAME:
        raise InputError(
            source,
            f"not a valid name ({_shown(name)}): letters, digits, _ . - (at most {MAX_NAME})",
            field=where,
        )


def _plain(number: Fraction) -> str:
    """Shortest decimal text of a number that reads back exactly as written, e.g. ``0.5``."""
    as_float = float(number)
    if Fraction(repr(as_float)) == number:
        text = repr(as_float)
        return text[:-2] if text.endswith(".0") else text
    return str(number.numerator) if number.denominator == 1 else f"{float(number)!r}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _shown_name(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
