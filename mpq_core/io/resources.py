"""A resources file: any per-layer, per-width quantity a limit can cap (e.g. measured latency).

    {"resources": {"latency_ms": {"conv1": {"4": 0.21, "8": 0.36}, ...}},
     "units": {"latency_ms": "ms"}}

Every layer of the loaded files needs every width of the ladder, each value finite and >= 0.
A resource is summed over layers like BOPs; its limits read in the file's unit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..model.constraints import BUILTIN_RESOURCES, check_name
from .loading import number_field, width_key
from .reading import InputFile, read_data


@dataclass(frozen=True, eq=False)
class ResourceTable:
    """The resources of one file: name -> {layer -> {width -> value}}, and their units."""

    source: str
    sha256: str
    tables: Mapping[str, Mapping[str, Mapping[int, float]]]
    units: Mapping[str, str] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.tables)

    def matrix(self, resource: str, layers: tuple[str, ...], ladder: tuple[int, ...]) -> np.ndarray:
        """(n, k) values of ``resource`` for ``layers`` x ``ladder``; every cell must be given."""
        table = self.tables[resource]
        out = np.empty((len(layers), len(ladder)))
        for i, name in enumerate(layers):
            row = table.get(name)
            if row is None:
                raise InputError(
                    self.source, "no values for this layer", field=resource, layer=name
                )
            for j, width in enumerate(ladder):
                if width not in row:
                    have = "/".join(str(w) for w in sorted(row))
                    raise InputError(
                        self.source,
                        f"no value for width {width} (the ladder is "
                        f"{'/'.join(map(str, ladder))}; this layer gives {have})",
                        field=resource,
                        layer=name,
                    )
                out[i, j] = row[width]
        return out


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
    return ResourceTable(source, sha256, tables, {k: units.get(k, "") for k in tables})


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


def _resource_row(resource: str, name: str, row: Any, source: str) -> dict[int, float]:
    """One layer's {width: value}, each finite and >= 0."""
    if not isinstance(row, dict) or not row:
        raise InputError(source, "must map widths to values", field=resource, layer=name)
    values: dict[int, float] = {}
    for key, value in row.items():
        width = width_key(key, source, name)
        if width in values:
            raise InputError(
                source, f"width {width} given twice ({key!r})", field=resource, layer=name
            )
        values[width] = number_field(value, source, f"{resource}.{key}", name)
        if not math.isfinite(values[width]):
            raise InputError(source, "is infinite", field=f"{resource}.{key}", layer=name)
    return values
