"""Phase 1 / Phase 2 files -> typed, validated tables. The only module that parses input files.

Each file is read once (the same bytes are hashed and parsed). Every rejection is an
:class:`InputError` naming the file, the field and the layer.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError

_MAC_UNITS = {"mac", "macs"}
_FLOP_UNITS = {"flop", "flops"}
_FLOPS_META_KEYS = {"model", "unit", "metadata"}
_MISMATCH_SHOWN = 5


@dataclass(frozen=True)
class InputFile:
    """An input given as bytes (an upload) rather than a path; ``name`` labels it in messages."""

    name: str
    content: bytes = field(repr=False)


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


@dataclass(frozen=True, eq=False)
class SensitivityTable:
    """Phase 2: a scalar score per layer, or a per-bit loss table (NaN where a width is absent)."""

    source: str
    sha256: str
    names: tuple[str, ...]
    kind: str  # "scalar" or "per_bit"
    scores: np.ndarray  # (n,) scalar scores; for per_bit the loss at the lowest width in the file
    widths: tuple[int, ...]  # widths present in a per-bit table; () for scalar
    losses: np.ndarray  # (n, len(widths)) per-bit losses; (n, 0) for scalar
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return bool(self.metadata.get("synthetic", False))


@dataclass(frozen=True, eq=False)
class Inputs:
    """Both tables aligned on the common layers, in Phase 1 file order."""

    layers: LayerTable
    sensitivity: SensitivityTable
    only_in_flops: tuple[str, ...] = ()
    only_in_sensitivity: tuple[str, ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        out = []
        if self.only_in_flops:
            out.append(
                f"dropped {len(self.only_in_flops)} layer(s) found only in "
                f"{self.layers.source}: {_first_names(self.only_in_flops)}"
            )
        if self.only_in_sensitivity:
            out.append(
                f"dropped {len(self.only_in_sensitivity)} layer(s) found only in "
                f"{self.sensitivity.source}: {_first_names(self.only_in_sensitivity)}"
            )
        return tuple(out)


def read_json(source: str | Path | InputFile) -> tuple[str, str, Any]:
    """Read a file once; return (label, sha256 of its bytes, parsed JSON)."""
    if isinstance(source, InputFile):
        label, content = source.name, source.content
    else:
        label = str(source)
        try:
            content = Path(source).read_bytes()
        except FileNotFoundError:
            raise InputError(label, "file not found") from None
        except IsADirectoryError:
            raise InputError(label, "is a directory, not a file") from None
        except OSError as exc:
            raise InputError(label, f"cannot read file ({exc.strerror or exc})") from exc
    digest = hashlib.sha256(content).hexdigest()
    try:
        data = json.loads(content, object_pairs_hook=_reject_duplicate_keys)
    except _DuplicateKey as dup:
        raise InputError(label, "duplicate name in the file", layer=dup.key) from None
    except UnicodeDecodeError as exc:
        raise InputError(label, f"not JSON: not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            label, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    return label, digest, data


def parse_layers(data: Any, source: str, sha256: str = "") -> LayerTable:
    """Phase 1 JSON -> LayerTable. Accepts the canonical form, a list of records, a flat mapping."""
    unit = None
    model = ""
    metadata: Mapping[str, Any] = {}
    if isinstance(data, dict) and "layers" in data:
        entries = data["layers"]
    elif isinstance(data, dict):
        entries = {k: v for k, v in data.items() if k not in _FLOPS_META_KEYS}
    elif isinstance(data, list):
        entries = data
    else:
        raise InputError(source, "expected a JSON object with 'layers' or a list of layer records")
    if isinstance(data, dict):
        unit = _unit(data.get("unit"), source)
        model = str(data.get("model", ""))
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}

    names, macs, types, params = [], [], [], []
    for name, value in _named_entries(entries, source, "layers"):
        if isinstance(value, dict):
            record = {str(k).lower(): v for k, v in value.items()}
            if "macs" in record:
                amount = _number(record["macs"], source, "macs", name)
            elif "flops" in record:
                amount = _number(record["flops"], source, "flops", name)
                if unit != "macs":
                    amount /= 2.0
            else:
                raise InputError(
                    source, "missing (give 'macs' or 'flops')", field="macs", layer=name
                )
            kind = record.get("type", "")
            types.append(kind if isinstance(kind, str) else str(kind))
            raw_params = record.get("params")
            params.append(
                math.nan if raw_params is None else _number(raw_params, source, "params", name)
            )
        else:
            amount = _number(value, source, "macs", name)
            if unit == "flops":
                amount /= 2.0
            types.append("")
            params.append(math.nan)
        names.append(name)
        macs.append(amount)
    if not names:
        raise InputError(source, "no layers", field="layers")
    return LayerTable(
        source=source,
        sha256=sha256,
        names=tuple(names),
        macs=np.asarray(macs, dtype=np.float64),
        types=tuple(types),
        params=np.asarray(params, dtype=np.float64),
        model=model,
        metadata=metadata,
    )


def parse_sensitivity(data: Any, source: str, sha256: str = "") -> SensitivityTable:
    """Phase 2 JSON -> SensitivityTable, scalar or per-bit (decided by the first layer)."""
    metadata: Mapping[str, Any] = {}
    if isinstance(data, dict):
        meta = data.get("metadata")
        metadata = meta if isinstance(meta, dict) else {}
        if "sensitivity" in data:
            entries = data["sensitivity"]
        else:
            entries = {k: v for k, v in data.items() if k != "metadata"}
    elif isinstance(data, list):
        entries = data
    else:
        raise InputError(source, "expected a JSON object with 'sensitivity' or a list of records")

    names: list[str] = []
    scalars: list[float] = []
    tables: list[dict[int, float]] = []
    kind = None
    for name, value in _named_entries(
        entries, source, "sensitivity", value_keys=("sensitivity", "score")
    ):
        this_kind = "per_bit" if isinstance(value, dict) else "scalar"
        if kind is None:
            kind = this_kind
        elif this_kind != kind:
            raise InputError(
                source,
                "mixes scalar scores and per-bit tables "
                f"(the first layer is {kind.replace('_', '-')})",
                field="sensitivity",
                layer=name,
            )
        names.append(name)
        if this_kind == "scalar":
            scalars.append(_number(value, source, "sensitivity", name))
        else:
            tables.append(_per_bit_row(value, source, name))
    if not names:
        raise InputError(source, "no layers", field="sensitivity")

    if kind == "scalar":
        return SensitivityTable(
            source=source,
            sha256=sha256,
            names=tuple(names),
            kind="scalar",
            scores=np.asarray(scalars, dtype=np.float64),
            widths=(),
            losses=np.zeros((len(names), 0)),
            metadata=metadata,
        )
    widths = tuple(sorted({w for row in tables for w in row}))
    losses = np.full((len(names), len(widths)), np.nan)
    for i, row in enumerate(tables):
        for j, w in enumerate(widths):
            if w in row:
                losses[i, j] = row[w]
    return SensitivityTable(
        source=source,
        sha256=sha256,
        names=tuple(names),
        kind="per_bit",
        scores=losses[:, 0].copy(),
        widths=widths,
        losses=losses,
        metadata=metadata,
    )


def load_inputs(
    flops: str | Path | InputFile,
    sensitivity: str | Path | InputFile,
    *,
    on_mismatch: str = "error",
) -> Inputs:
    """Read and validate both files and align them on Phase 1 file order."""
    if on_mismatch not in ("error", "intersect"):
        raise InputError("on_mismatch", f"must be 'error' or 'intersect', not {on_mismatch!r}")
    label, digest, data = read_json(flops)
    layers = parse_layers(data, label, digest)
    label, digest, data = read_json(sensitivity)
    sens = parse_sensitivity(data, label, digest)
    return align_inputs(layers, sens, on_mismatch=on_mismatch)


def align_inputs(
    layers: LayerTable, sens: SensitivityTable, *, on_mismatch: str = "error"
) -> Inputs:
    """Match the two tables by layer name; reject or drop layers present in only one."""
    sens_index = {name: i for i, name in enumerate(sens.names)}
    layer_set = set(layers.names)
    only_flops = tuple(n for n in layers.names if n not in sens_index)
    only_sens = tuple(n for n in sens.names if n not in layer_set)
    if (only_flops or only_sens) and on_mismatch == "error":
        parts = []
        if only_flops:
            parts.append(
                f"{len(only_flops)} of {len(layers.names)} layers of {layers.source} are missing "
                f"here ({_first_names(only_flops)})"
            )
        if only_sens:
            parts.append(
                f"{len(only_sens)} of {len(sens.names)} layers here are not in {layers.source} "
                f"({_first_names(only_sens)})"
            )
        common = len(layers.names) - len(only_flops)
        raise InputError(
            sens.source,
            "; ".join(parts) + f"; on_mismatch='intersect' would keep the {common} common layers",
            field="sensitivity",
            layer=(only_flops or only_sens)[0],
        )
    if not (only_flops or only_sens) and layers.names == sens.names:
        return Inputs(layers, sens)

    keep = np.array([n in sens_index for n in layers.names], dtype=bool)
    if not keep.any():
        raise InputError(
            sens.source, f"no layer name in common with {layers.source}", field="sensitivity"
        )
    order = np.array([sens_index[n] for n in layers.names if n in sens_index], dtype=np.intp)
    kept_layers = LayerTable(
        source=layers.source,
        sha256=layers.sha256,
        names=tuple(n for n in layers.names if n in sens_index),
        macs=layers.macs[keep],
        types=tuple(t for t, k in zip(layers.types, keep, strict=True) if k),
        params=layers.params[keep],
        model=layers.model,
        metadata=layers.metadata,
    )
    kept_sens = SensitivityTable(
        source=sens.source,
        sha256=sens.sha256,
        names=kept_layers.names,
        kind=sens.kind,
        scores=sens.scores[order],
        widths=sens.widths,
        losses=sens.losses[order],
        metadata=sens.metadata,
    )
    return Inputs(kept_layers, kept_sens, only_flops, only_sens)


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def _named_entries(
    entries: Any, source: str, root: str, value_keys: tuple[str, ...] = ()
) -> Iterable[tuple[str, Any]]:
    """Yield (name, value) from a mapping or a list of records with a 'name'."""
    if isinstance(entries, dict):
        for name, value in entries.items():
            if not name:
                raise InputError(source, "empty layer name", field=root)
            yield name, value
        return
    if not isinstance(entries, list):
        raise InputError(source, "must be a mapping of layer name to value or a list", field=root)
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
        value = record
        for key in value_keys:
            if key in record:
                value = record[key]
                break
        else:
            if value_keys:
                raise InputError(
                    source, f"missing (give '{value_keys[0]}')", field=value_keys[0], layer=name
                )
        yield name, value


def _per_bit_row(value: dict, source: str, name: str) -> dict[int, float]:
    row: dict[int, float] = {}
    for key, loss in value.items():
        try:
            width = int(str(key).strip())
        except ValueError:
            raise InputError(
                source, f"width key {key!r} is not a whole number", field="sensitivity", layer=name
            ) from None
        if width <= 0:
            raise InputError(
                source, f"width {width} is not positive", field="sensitivity", layer=name
            )
        row[width] = _number(loss, source, f"sensitivity.{key}", name)
    if not row:
        raise InputError(source, "empty per-bit table", field="sensitivity", layer=name)
    return row


def _number(value: Any, source: str, field_name: str, layer: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        if value is None:
            raise InputError(source, "missing (null)", field=field_name, layer=layer)
        shown = json.dumps(value) if isinstance(value, str | list | dict) else repr(value)
        raise InputError(source, f"not a number ({shown[:40]})", field=field_name, layer=layer)
    number = float(value)
    if math.isnan(number):
        raise InputError(source, "is NaN", field=field_name, layer=layer)
    if math.isinf(number):
        raise InputError(source, "is infinite", field=field_name, layer=layer)
    if number < 0:
        raise InputError(source, f"is negative ({value})", field=field_name, layer=layer)
    return number


def _unit(unit: Any, source: str) -> str | None:
    if unit is None:
        return None
    key = str(unit).strip().lower()
    if key in _MAC_UNITS:
        return "macs"
    if key in _FLOP_UNITS:
        return "flops"
    raise InputError(source, f"unknown unit {unit!r} (expected 'MACs' or 'FLOPs')", field="unit")


def _first_names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_MISMATCH_SHOWN])
    more = len(names) - _MISMATCH_SHOWN
    return shown + (f", ... and {more} more" if more > 0 else "")
