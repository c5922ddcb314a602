"""Phase 1 / Phase 2 files -> typed, validated tables. The only module that parses them.

Each file is read once (``reading.py``: the same bytes are hashed and parsed). Every rejection
is an :class:`InputError` naming the file, the field and the layer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .reading import HugeNumber, InputFile, read_data
from .spec import MAX_WIDTH, width_of_text

_MAC_UNITS = {"mac", "macs"}
_FLOP_UNITS = {"flop", "flops"}
_MISMATCH_SHOWN = 5
SWAPPED = "are the two files swapped?"


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
    higher_is_better: bool = False  # per-bit scores (SQNR, SSIM, accuracy) rather than losses
    synthetic: bool = False

    @property
    def sense(self) -> str:
        """``scalar`` (scores per layer), ``loss`` or ``score`` (per-bit tables)."""
        if self.kind == "scalar":
            return "scalar"
        return "score" if self.higher_is_better else "loss"


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
    """Read a file once; return (label, sha256 of its bytes, parsed JSON or YAML)."""
    return read_data(source)


def parse_layers(data: Any, source: str, sha256: str = "") -> LayerTable:
    """Phase 1 JSON -> LayerTable. Accepts the canonical form, a list of records, a flat mapping."""
    unit = None
    model = ""
    metadata: Mapping[str, Any] = {}
    if isinstance(data, dict) and "sensitivity" in data and "layers" not in data:
        raise InputError(
            source,
            f"this looks like a Phase 2 (sensitivity) file, not a Phase 1 (MACs) file; {SWAPPED}",
        )
    if isinstance(data, dict) and "layers" in data:
        entries = data["layers"]
    elif isinstance(data, dict):
        entries = {k: v for k, v in data.items() if not _is_flops_meta(k, v)}
    elif isinstance(data, list):
        entries = data
    else:
        raise InputError(source, "expected a JSON object with 'layers' or a list of layer records")
    if isinstance(data, dict):
        unit = _unit(data.get("unit"), source)
        raw_model = data.get("model", "")
        model = raw_model if isinstance(raw_model, str) else ""
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}

    names, macs, types, params = [], [], [], []
    for name, value in _named_entries(entries, source, "layers"):
        if isinstance(value, dict):
            record = _lower_keys(value, source, name)
            if "macs" in record:
                amount = number_field(record["macs"], source, "macs", name)
            elif "flops" in record:
                amount = number_field(record["flops"], source, "flops", name)
                if unit != "macs":
                    amount /= 2.0
            elif "sensitivity" in record or "score" in record:
                raise InputError(
                    source,
                    f"missing (give 'macs' or 'flops'); this record looks like a Phase 2 "
                    f"(sensitivity) one, {SWAPPED}",
                    field="macs",
                    layer=name,
                )
            else:
                raise InputError(
                    source, "missing (give 'macs' or 'flops')", field="macs", layer=name
                )
            kind = record.get("type", "")
            types.append(kind if isinstance(kind, str) else str(kind))
            raw_params = record.get("params")
            params.append(
                math.nan if raw_params is None else number_field(raw_params, source, "params", name)
            )
        else:
            amount = number_field(value, source, "macs", name)
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


def parse_sensitivity(
    data: Any,
    source: str,
    sha256: str = "",
    *,
    ladder: tuple[int, ...] | None = None,
    name_prefix: str = "",
) -> SensitivityTable:
    """Phase 2 JSON/YAML -> SensitivityTable: scalar scores, per-bit tables keyed by width, or
    MixDQ's layout of one list per layer (``name: [v_w1, v_w2, ...]``, the widths of ``ladder``
    in ascending order, read as scores). ``name_prefix`` is stripped from names that carry it."""
    metadata: Mapping[str, Any] = {}
    if isinstance(data, dict) and "layers" in data and "sensitivity" not in data:
        raise InputError(
            source,
            f"this looks like a Phase 1 (MACs) file, not a Phase 2 (sensitivity) file; {SWAPPED}",
        )
    if isinstance(data, dict):
        meta = data.get("metadata")
        metadata = meta if isinstance(meta, dict) else {}
        if "sensitivity" in data:
            entries = data["sensitivity"]
        else:
            entries = {
                k: v for k, v in data.items() if not (k == "metadata" and isinstance(v, dict))
            }
    elif isinstance(data, list):
        entries = data
    else:
        raise InputError(source, "expected a JSON object with 'sensitivity' or a list of records")
    synthetic = _flag(metadata, "synthetic", source)
    higher_is_better = _flag(metadata, "higher_is_better", source)

    names: list[str] = []
    scalars: list[float] = []
    tables: list[dict[int, float]] = []
    kind = None
    for raw_name, value in _named_entries(
        entries, source, "sensitivity", value_keys=("sensitivity", "score")
    ):
        name = (
            raw_name[len(name_prefix) :]
            if name_prefix and raw_name.startswith(name_prefix)
            else raw_name
        )
        if not name:
            raise InputError(source, "empty after removing the name prefix", layer=raw_name)
        if isinstance(value, dict):
            this_kind = "per_bit"
        elif isinstance(value, list):
            this_kind = "list"
        else:
            this_kind = "scalar"
        if kind is None:
            kind = this_kind
        elif this_kind != kind:
            both = " and ".join(w for k, w in _KIND_WORDS.items() if k in (kind, this_kind))
            raise InputError(
                source,
                f"mixes {both} (the first layer is {kind.replace('_', '-')})",
                field="sensitivity",
                layer=name,
            )
        names.append(name)
        if this_kind == "scalar":
            scalars.append(number_field(value, source, "sensitivity", name, signed=False))
        elif this_kind == "per_bit":
            tables.append(_per_bit_row(value, source, name))
        else:
            tables.append(_list_row(value, source, name, ladder))
    if not names:
        raise InputError(source, "no layers", field="sensitivity")
    if len(set(names)) != len(names):
        dup = next(n for i, n in enumerate(names) if n in names[:i])
        raise InputError(
            source, "duplicate name after removing the name prefix", field="sensitivity", layer=dup
        )
    if kind == "list":
        higher_is_better = _flag(metadata, "higher_is_better", source, default=True)

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
            synthetic=synthetic,
        )
    widths = tuple(sorted({w for row in tables for w in row}))
    losses = np.full((len(names), len(widths)), np.nan)
    for i, row in enumerate(tables):
        for j, w in enumerate(widths):
            if w in row:
                losses[i, j] = row[w]
    if not higher_is_better:
        check_losses(losses, names, widths, source)
    return SensitivityTable(
        source=source,
        sha256=sha256,
        names=tuple(names),
        kind="per_bit",
        scores=losses[:, 0].copy(),
        widths=widths,
        losses=losses,
        metadata=metadata,
        higher_is_better=higher_is_better,
        synthetic=synthetic,
    )


def check_losses(
    losses: np.ndarray, names: tuple[str, ...] | list[str], widths: tuple[int, ...], source: str
) -> None:
    """Losses (lower is better) cannot be negative; scores may be."""
    negative = np.nan_to_num(losses, nan=0.0) < 0
    if negative.any():
        i, j = (int(v) for v in np.argwhere(negative)[0])
        raise InputError(
            source,
            f"is negative ({losses[i, j]:g}); losses cannot be (scores with "
            '"higher_is_better": true in the metadata can)',
            field=f"sensitivity.{widths[j]}",
            layer=names[i],
        )


_KIND_WORDS = {
    "scalar": "scalar scores",
    "per_bit": "per-bit tables",
    "list": "lists of values per width",
}


def load_inputs(
    flops: str | Path | InputFile,
    sensitivity: str | Path | InputFile,
    *,
    on_mismatch: str = "error",
    ladder: tuple[int, ...] | None = None,
    name_prefix: str = "",
) -> Inputs:
    """Read and validate both files and align them on Phase 1 file order.

    ``ladder`` names the widths of a sensitivity file that gives one list per layer;
    ``name_prefix`` is stripped from the sensitivity file's names (``model.`` for MixDQ's).
    """
    if on_mismatch not in ("error", "intersect"):
        raise InputError("on_mismatch", f"must be 'error' or 'intersect', not {on_mismatch!r}")
    label, digest, data = read_json(flops)
    layers = parse_layers(data, label, digest)
    label, digest, data = read_json(sensitivity)
    sens = parse_sensitivity(data, label, digest, ladder=ladder, name_prefix=name_prefix)
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
    kept_sens = replace(
        sens, names=kept_layers.names, scores=sens.scores[order], losses=sens.losses[order]
    )
    return Inputs(kept_layers, kept_sens, only_flops, only_sens)


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
        width = width_key(key, source, name)
        if width in row:
            raise InputError(
                source, f"width {width} given twice ({key!r})", field="sensitivity", layer=name
            )
        row[width] = number_field(loss, source, f"sensitivity.{key}", name, signed=True)
    if not row:
        raise InputError(source, "empty per-bit table", field="sensitivity", layer=name)
    return row


def _list_row(
    value: list, source: str, name: str, ladder: tuple[int, ...] | None
) -> dict[int, float]:
    """MixDQ's layout: one value per width of the ladder, ascending."""
    if ladder is None:
        raise InputError(
            source,
            "gives a list of values per layer: name their widths with the ladder "
            "(--bits, e.g. 2,4,8; ascending)",
            field="sensitivity",
            layer=name,
        )
    if len(value) != len(ladder):
        raise InputError(
            source,
            f"has {len(value)} value(s) but the ladder {'/'.join(map(str, ladder))} has "
            f"{len(ladder)} widths",
            field="sensitivity",
            layer=name,
        )
    return {
        width: number_field(v, source, f"sensitivity[{j}]", name, signed=True)
        for j, (width, v) in enumerate(zip(sorted(ladder), value, strict=True))
    }


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


def _flag(metadata: Mapping[str, Any], key: str, source: str, default: bool = False) -> bool:
    """A true/false metadata field; the strings "true" / "false" are read as such."""
    value = metadata.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InputError(source, f"must be true or false, got {_shown(value)}", field=f"metadata.{key}")


def number_field(
    value: Any, source: str, field_name: str, layer: str, *, signed: bool = False
) -> float:
    if isinstance(value, HugeNumber):
        raise InputError(
            source, f"is too large (a {value.digits}-digit number)", field=field_name, layer=layer
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        if value is None:
            raise InputError(source, "missing (null)", field=field_name, layer=layer)
        shown = _shown(value) if isinstance(value, str | list | dict) else repr(value)[:40]
        raise InputError(source, f"not a number ({shown})", field=field_name, layer=layer)
    try:
        number = float(value)
    except OverflowError:
        raise InputError(source, "is too large", field=field_name, layer=layer) from None
    if math.isnan(number):
        raise InputError(source, "is NaN", field=field_name, layer=layer)
    if math.isinf(number):
        raise InputError(source, "is infinite", field=field_name, layer=layer)
    if number < 0 and not signed:
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


def _shown(value: Any) -> str:
    """A value as JSON writes it (YAML's dates as text, a :class:`HugeNumber` by its size),
    cut."""
    if isinstance(value, HugeNumber):
        return repr(value)
    return json.dumps(value, default=str)[:40]


def _first_names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_MISMATCH_SHOWN])
    more = len(names) - _MISMATCH_SHOWN
    return shown + (f", ... and {more} more" if more > 0 else "")
