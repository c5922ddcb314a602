"""Phase 1 (the "flops file"): one parser per layout and :func:`parse_layers`, which detects
the layout and calls its parser.

Layouts (docs/formats.md, "Phase 1"):

- canonical: ``{"model": ..., "unit": ..., "metadata": {...}, "layers": LAYERS}``;
- flat mapping: ``{name: LAYER, ...}`` beside optional ``model`` / ``unit`` strings and a
  ``metadata`` object;
- a top-level list of records ``[{"name": ..., "macs": ...}, ...]``.

``LAYERS`` is a mapping of name to ``LAYER`` or a list of records with a ``name``; a ``LAYER``
is a record (``macs`` or ``flops``, with ``type`` and ``params`` if known; keys in any case)
or a bare number of MACs (of FLOPs under ``"unit": "FLOPs"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from .loading_fields import SWAPPED, named_entries, number_field

_MAC_UNITS = {"mac", "macs"}
_FLOP_UNITS = {"flop", "flops"}


@dataclass(frozen=True, eq=False)
class LayerTable:
    """Phase 1: per-layer compute, in file order."""

    source: str
    sha256: str
    names: tuple[str, ...]
    macs: np.ndarray  # float64 (n,)
    types: tuple[str, ...]
    params: np.ndarray  # float64 (n,), NaN where the file does not say
    model: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    channels: np.ndarray | None = None  # (n,) output channels, NaN where unknown; None: none

    @property
    def out_channels(self) -> np.ndarray:
        """Output channels of each layer (a per-channel scale's count), NaN where unknown:
        ``out_channels`` / ``out_features``, else ``weight_shape[0]``, else the channel axis
        of ``output_shape`` (axis 1 for a convolution, the last axis otherwise)."""
        if self.channels is None:
            return np.full(len(self.names), np.nan)
        return self.channels


@dataclass(frozen=True)
class _Header:
    """What a Phase 1 file says beside its layers."""

    unit: str | None = None  # "macs", "flops" or None (not said)
    model: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


def parse_layers(data: Any, source: str, sha256: str = "") -> LayerTable:
    """Phase 1 JSON -> LayerTable. Accepts the canonical form, a list of records, a flat mapping."""
    return _layers_layout(data, source)(data, source, sha256)


def _layers_layout(data: Any, source: str) -> Callable[[Any, str, str], LayerTable]:
    """The parser of ``data``'s layout; a Phase 2 file or a bare value is refused here."""
    if isinstance(data, dict) and "sensitivity" in data and "layers" not in data:
        raise InputError(
            source,
            f"this looks like a Phase 2 (sensitivity) file, not a Phase 1 (MACs) file; {SWAPPED}",
        )
    if isinstance(data, dict):
        return _parse_canonical if "layers" in data else _parse_flat
    if isinstance(data, list):
        return _parse_record_list
    raise InputError(source, "expected a JSON object with 'layers' or a list of layer records")


def _parse_canonical(data: dict, source: str, sha256: str) -> LayerTable:
    """``{"model": ..., "unit": ..., "metadata": {...}, "layers": LAYERS}``."""
    return _layer_table(data["layers"], source, sha256, _header(data, source))


def _parse_flat(data: dict, source: str, sha256: str) -> LayerTable:
    """``{name: LAYER, ...}``; ``model``/``unit`` strings and a ``metadata`` object are not
    layers (a layer may be named so when its value is a number or a record)."""
    entries = {k: v for k, v in data.items() if not _is_flops_meta(k, v)}
    return _layer_table(entries, source, sha256, _header(data, source))


def _parse_record_list(data: list, source: str, sha256: str) -> LayerTable:
    """``[{"name": ..., "macs": ...}, ...]``: no unit, model or metadata."""
    return _layer_table(data, source, sha256, _Header())


def _header(data: dict, source: str) -> _Header:
    raw_model = data.get("model", "")
    metadata = data.get("metadata")
    return _Header(
        unit=_unit(data.get("unit"), source),
        model=raw_model if isinstance(raw_model, str) else "",
        metadata=metadata if isinstance(metadata, dict) else {},
    )


def _layer_table(entries: Any, source: str, sha256: str, header: _Header) -> LayerTable:
    """Read every layer of ``entries`` (a mapping or a list of records), in file order."""
    names, macs, types, params, channels = [], [], [], [], []
    for name, value in named_entries(entries, source, "layers"):
        if isinstance(value, dict):
            amount, kind, count, outs = _record(value, source, name, header.unit)
        else:
            amount, kind = _bare_macs(value, source, name, header.unit), ""
            count = outs = math.nan
        names.append(name)
        macs.append(amount)
        types.append(kind)
        params.append(count)
        channels.append(outs)
    if not names:
        raise InputError(source, "no layers", field="layers")
    return LayerTable(
        source=source,
        sha256=sha256,
        names=tuple(names),
        macs=np.asarray(macs, dtype=np.float64),
        types=tuple(types),
        params=np.asarray(params, dtype=np.float64),
        model=header.model,
        metadata=header.metadata,
        channels=np.asarray(channels, dtype=np.float64),
    )


def _record(
    value: dict, source: str, name: str, unit: str | None
) -> tuple[float, str, float, float]:
    """(MACs, type, params, output channels) of a layer record; params and channels are NaN
    when the record does not say."""
    record = _lower_keys(value, source, name)
    amount = _record_macs(record, source, name, unit)
    kind = record.get("type", "")
    kind = kind if isinstance(kind, str) else str(kind)
    raw_params = record.get("params")
    params = math.nan if raw_params is None else number_field(raw_params, source, "params", name)
    return amount, kind, params, _channels(record, kind, source, name)


def _channels(record: dict[str, Any], kind: str, source: str, name: str) -> float:
    """Output channels: stated (``out_channels``, ``out_features``), else read off a shape; a
    shape that is not a list of whole numbers says nothing (NaN)."""
    for key in ("out_channels", "out_features"):
        if key in record:
            return number_field(record[key], source, key, name)
    shape, axis = record.get("weight_shape"), 0
    if shape is None:
        shape = record.get("output_shape")
        axis = 1 if kind.lower().startswith("conv") else -1
    if not isinstance(shape, list) or len(shape) < 2:
        return math.nan
    size = shape[axis]
    ok = isinstance(size, int) and not isinstance(size, bool) and size > 0
    return float(size) if ok else math.nan


def _record_macs(record: dict[str, Any], source: str, name: str, unit: str | None) -> float:
    """``macs``, or ``flops`` / 2 (as they are when the unit says MACs)."""
    if "macs" in record:
        return number_field(record["macs"], source, "macs", name)
    if "flops" in record:
        amount = number_field(record["flops"], source, "flops", name)
        return amount if unit == "macs" else amount / 2.0
    if "sensitivity" in record or "score" in record:
        raise InputError(
            source,
            f"missing (give 'macs' or 'flops'); this record looks like a Phase 2 "
            f"(sensitivity) one, {SWAPPED}",
            field="macs",
            layer=name,
        )
    raise InputError(source, "missing (give 'macs' or 'flops')", field="macs", layer=name)


def _bare_macs(value: Any, source: str, name: str, unit: str | None) -> float:
    """A layer given as a bare number: MACs, or FLOPs under ``"unit": "FLOPs"``."""
    amount = number_field(value, source, "macs", name)
    return amount / 2.0 if unit == "flops" else amount


def _lower_keys(record: dict, source: str, name: str) -> dict[str, Any]:
    """Per-layer keys are case-insensitive; the same key twice in two cases is ambiguous."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        lower = str(key).lower()
        if lower in out:
            raise InputError(
                source, f"given twice, as {lower!r} and {key!r}", field=lower, layer=name
            )
        out[lower] = value
    return out


def _is_flops_meta(key: str, value: Any) -> bool:
    """In a flat mapping, ``model``/``unit`` strings and a ``metadata`` object are not layers."""
    if key == "metadata":
        return isinstance(value, dict)
    return key in ("model", "unit") and isinstance(value, str)


def _unit(unit: Any, source: str) -> str | None:
    if unit is None:
        return None
    key = str(unit).strip().lower()
    if key in _MAC_UNITS:
        return "macs"
    if key in _FLOP_UNITS:
        return "flops"
    raise InputError(source, f"unknown unit {unit!r} (expected 'MACs' or 'FLOPs')", field="unit")
