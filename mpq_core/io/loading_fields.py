"""Field readers shared by the parsers of every input layout (``loading_layers``,
``loading_sensitivity``, ``resources``): layer entries, numbers, width keys, messages.

Each refuses what it cannot read with an :class:`InputError` naming the file, the field and
the layer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from ..errors import InputError
from ..model.spec import MAX_WIDTH, width_of_text
from .reading import HugeNumber

SWAPPED = "are the two files swapped?"


def named_entries(
    entries: Any, source: str, root: str, value_keys: tuple[str, ...] = ()
) -> Iterator[tuple[str, Any]]:
    """Yield (name, value) from a mapping or a list of records with a 'name'.

    A record's value is the record itself, or the first of ``value_keys`` it has (one of them
    is then required). Lazy: an entry's problems surface when it is reached, after those of
    the entries before it."""
    if isinstance(entries, dict):
        yield from _mapping_entries(entries, source, root)
    elif isinstance(entries, list):
        yield from _record_entries(entries, source, root, value_keys)
    else:
        raise InputError(source, "must be a mapping of layer name to value or a list", field=root)


def _mapping_entries(entries: dict, source: str, root: str) -> Iterator[tuple[str, Any]]:
    for name, value in entries.items():
        if not name:
            raise InputError(source, "empty layer name", field=root)
        yield name, value


def _record_entries(
    entries: list, source: str, root: str, value_keys: tuple[str, ...]
) -> Iterator[tuple[str, Any]]:
    seen: set[str] = set()
    for position, record in enumerate(entries):
        where = f"{root}[{position}]"
        if not isinstance(record, dict):
            raise InputError(source, "must be a record with a 'name'", field=where)
        name = record.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(source, "missing or not a non-empty string", field=f"{where}.name")
        if name in seen:
            raise InputError(source, "duplicate name in the file", field=where, layer=name)
        seen.add(name)
        yield name, _record_value(record, value_keys, source, name)


def _record_value(record: dict, value_keys: tuple[str, ...], source: str, name: str) -> Any:
    """The record itself without ``value_keys``; else the value of the first key it has."""
    if not value_keys:
        return record
    for key in value_keys:
        if key in record:
            return record[key]
    raise InputError(source, f"missing (give '{value_keys[0]}')", field=value_keys[0], layer=name)


def number_field(
    value: Any, source: str, field_name: str, layer: str, *, signed: bool = False
) -> float:
    """A finite number, ``>= 0`` unless ``signed``; anything else is an InputError naming it."""
    number = _as_float(value, source, field_name, layer)
    problem = _number_problem(number, value, signed)
    if problem:
        raise InputError(source, problem, field=field_name, layer=layer)
    return number


def _as_float(value: Any, source: str, field_name: str, layer: str) -> float:
    if isinstance(value, HugeNumber):
        raise InputError(
            source, f"is too large (a {value.digits}-digit number)", field=field_name, layer=layer
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        if value is None:
            raise InputError(source, "missing (null)", field=field_name, layer=layer)
        shown_value = shown(value) if isinstance(value, str | list | dict) else repr(value)[:40]
        raise InputError(source, f"not a number ({shown_value})", field=field_name, layer=layer)
    try:
        return float(value)
    except OverflowError:
        raise InputError(source, "is too large", field=field_name, layer=layer) from None


def _number_problem(number: float, value: Any, signed: bool) -> str:
    """What is wrong with a number read from the file ("" when nothing is)."""
    if math.isnan(number):
        return "is NaN"
    if math.isinf(number):
        return "is infinite"
    if number < 0 and not signed:
        return f"is negative ({value})"
    return ""


def width_key(key: Any, source: str, name: str) -> int:
    """A width key of a per-bit table: plain digits (``"4"``, ``"04"``), 1 to MAX_WIDTH."""
    text = str(key)
    width = width_of_text(text)
    if width is None or not 1 <= width <= MAX_WIDTH:
        raise InputError(
            source,
            f"width key {text[:40]!r} is not a whole number from 1 to {MAX_WIDTH}",
            field="sensitivity",
            layer=name,
        )
    return width


def shown(value: Any) -> str:
    """A value as JSON writes it (YAML's dates as text, a :class:`HugeNumber` by its size),
    cut."""
    if isinstance(value, HugeNumber):
        return repr(value)
    return json.dumps(value, default=str)[:40]
