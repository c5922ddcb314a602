"""A resources file: any per-layer, per-option quantity a limit can cap (e.g. measured latency).

    {"resources": {"latency_ms": {"conv1": {"4": 0.21, "8": 0.36}, ...}},
     "units": {"latency_ms": "ms"}}

A row is keyed by width (digits) when the options are a ladder, or by format name (``"int4_g128":
0.12, "fp8": 0.09``) when they are formats; one file keys every row the same way. Every layer of
the loaded files needs every option, each value finite and >= 0. A resource is summed over
layers like BOPs; its limits read in the file's unit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..model.constraints import BUILTIN_RESOURCES, check_name
from ..model.spec import MAX_WIDTH, width_of_text
from .loading import number_field
from .reading import InputFile, read_data

_FORMAT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True, eq=False)
class ResourceTable:
    """The resources of one file: name -> {layer -> {width -> value}}, and their units."""

    source: str
    sha256: str
    tables: Mapping[str, Mapping[str, Mapping[int | str, float]]]
    units: Mapping[str, str] = field(default_factory=dict)
    by_format: bool = False  # rows keyed by format name, not by width

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.tables)

    def matrix(
        self, resource: str, layers: tuple[str, ...], options: tuple[int, ...] | tuple[str, ...]
    ) -> np.ndarray:
        """(n, k) values of ``resource`` for ``layers`` x ``options`` (the ladder's widths, or
        the formats' names); every cell must be given."""
        self._check_keys(options)
        table = self.tables[resource]
        out = np.empty((len(layers), len(options)))
        for i, name in enumerate(layers):
            row = table.get(name)
            if row is None:
                raise InputError(
                    self.source, "no values for this layer", field=resource, layer=name
                )
            for j, option in enumerate(options):
                if option not in row:
                    raise InputError(
                        self.source, _missing(option, options, row), field=resource, layer=name
                    )
                out[i, j] = row[option]
        return out

    def _check_keys(self, options: tuple[int, ...] | tuple[str, ...]) -> None:
        formats = bool(options) and isinstance(options[0], str)
        if formats and not self.by_format:
            raise InputError(
                self.source,
                "rows are keyed by width; with formats, key each row by format name "
                '({"int4_g128": 0.12, ...})',
            )
        if not formats and self.by_format:
            raise InputError(
                self.source,
                "rows are keyed by format name; they apply to a problem of formats (--formats)",
            )


def _missing(option: int | str, options: tuple, row: Mapping[int | str, float]) -> str:
    kind, all_of = ("format", "formats are") if isinstance(option, str) else ("width", "ladder is")
    have = "/".join(str(k) for k in sorted(row, key=str))
    shown = f"{option!r}" if isinstance(option, str) else str(option)
    return (
        f"no value for {kind} {shown} (the {all_of} {'/'.join(map(str, options))}; this layer "
        f"gives {have})"
    )


def load_resources(source: str | Path | InputFile) -> ResourceTable:
    label, digest, data = read_data(source)
    return parse_resources(data, label, digest)


def parse_resources(data: Any, source: str, sha256: str = "") -> ResourceTable:
    """A resources file -> ResourceTable: ``{"resources": {name: {layer: {width: value}}},
    "units": {name: unit}}``, or the resources at the top level beside ``units`` (and
    ``metadata``, ignored)."""
    raw, units = _resources_and_units(data, source)
    tables = {
        resource: _resource_table(resource, layers, source) for resource, layers in raw.items()
    }
    unknown = sorted(set(units) - set(tables))
    if unknown:
        raise InputError(source, "unit for a resource the file does not give", field="units")
    by_format = _keyed_by_format(tables, source)
    return ResourceTable(source, sha256, tables, {k: units.get(k, "") for k in tables}, by_format)


def _keyed_by_format(tables: Mapping[str, Mapping[str, Mapping[int | str, float]]], source: str):
    """Whether the rows are keyed by format name; the first key sets the kind, and a key of
    the other kind is refused, naming its resource and layer."""
    first: bool | None = None
    for resource, table in tables.items():
        for layer, row in table.items():
            for key in row:
                by_name = isinstance(key, str)
                first = by_name if first is None else first
                if by_name != first:
                    raise InputError(
                        source,
                        f"keyed by {'format name' if by_name else 'width'} ({key!r}) where "
                        f"the first row is keyed by {'width' if by_name else 'format name'}: "
                        "key every row the same way",
                        field=resource,
                        layer=layer,
                    )
    return bool(first)


def _resources_and_units(data: Any, source: str) -> tuple[dict, dict]:
    """The file's {resource: per-layer table} and {resource: unit}, in either layout."""
    if not isinstance(data, dict):
        raise InputError(source, "expected a JSON object with 'resources'")
    if "resources" in data:
        raw = data["resources"]
    else:
        raw = {k: v for k, v in data.items() if k not in ("metadata", "units")}
    units = data.get("units", {})
    if not isinstance(raw, dict) or not raw:
        raise InputError(source, "must map resource names to per-layer tables", field="resources")
    if not isinstance(units, dict) or not all(isinstance(u, str) for u in units.values()):
        raise InputError(source, "must map resource names to unit names", field="units")
    return raw, units


def _resource_table(resource: str, layers: Any, source: str) -> dict[str, dict[int, float]]:
    """One resource: {layer: {width: value}}; its name must not be a built-in one."""
    check_name(resource, source, "resources")
    if resource in BUILTIN_RESOURCES:
        raise InputError(
            source,
            f"{resource!r} is computed from the Phase 1 file; name this resource otherwise",
            field=f"resources.{resource}",
        )
    if not isinstance(layers, dict) or not layers:
        raise InputError(
            source, "must map layer names to {width: value}", field=f"resources.{resource}"
        )
    return {name: _resource_row(resource, name, row, source) for name, row in layers.items()}


def _resource_row(resource: str, name: str, row: Any, source: str) -> dict[int | str, float]:
    """One layer's {width or format name: value}, each finite and >= 0."""
    if not isinstance(row, dict) or not row:
        raise InputError(
            source, "must map widths or format names to values", field=resource, layer=name
        )
    values: dict[int | str, float] = {}
    for key, value in row.items():
        option = _option_key(key, source, resource, name)
        if option in values:
            raise InputError(
                source, f"width {option} given twice ({key!r})", field=resource, layer=name
            )
        values[option] = number_field(value, source, f"{resource}.{key}", name)
        if not math.isfinite(values[option]):
            raise InputError(source, "is infinite", field=f"{resource}.{key}", layer=name)
    return values


def _option_key(key: Any, source: str, resource: str, name: str) -> int | str:
    """A width (digits) or a format's name (a letter first: ``int4_g128``, ``fp8``)."""
    text = str(key)
    if text[:1].isalpha() and _FORMAT_NAME.fullmatch(text):
        return text
    width = width_of_text(text)
    if width is None or not 1 <= width <= MAX_WIDTH:
        raise InputError(
            source,
            f"key {text[:40]!r} is neither a width (a whole number from 1 to {MAX_WIDTH}) nor "
            "a format name",
            field=resource,
            layer=name,
        )
    return width
