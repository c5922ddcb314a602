"""Phase 2 (the sensitivity file): one parser per layout and :func:`parse_sensitivity`, which
detects the layout and calls its parser.

Where the layers are, with their metadata (``synthetic``, ``higher_is_better``, ...):

- ``{"metadata": {...}, "sensitivity": LAYERS}``;
- a flat mapping ``{name: VALUE, ...}``, beside an optional ``metadata`` object;
- a top-level list of records ``[{"name": ..., "sensitivity" or "score": VALUE}, ...]``.

``LAYERS`` is a mapping of name to ``VALUE`` or a list of such records. What ``VALUE`` is, the
first layer's decides, and every layer must follow it (one parser each):

- scalar: one score per layer, never negative;
- per-bit: ``{width: value}``, losses (lower is better, never negative) or, with
  ``"higher_is_better": true``, scores;
- lists, MixDQ's layout: ``[v_w1, v_w2, ...]``, one value per width of the ladder in ascending
  order, scores unless the metadata says ``"higher_is_better": false``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from .loading_fields import SWAPPED, named_entries, number_field, shown, width_key

_Rows = Iterable[tuple[str, Any]]


@dataclass(frozen=True, eq=False)
class SensitivityTable:
    """Phase 2: a scalar score per layer, or a per-bit loss table (NaN where a width is absent)."""

    source: str
    sha256: str
    names: tuple[str, ...]
    kind: str  # "scalar", "per_bit" or "per_format"
    scores: np.ndarray  # (n,) scalar scores; for per_bit the loss at the lowest width in the file
    widths: tuple[int, ...]  # widths present in a per-bit table; () for scalar
    losses: np.ndarray  # (n, len(widths)) per-bit losses; (n, 0) for scalar
    metadata: Mapping[str, Any] = field(default_factory=dict)
    higher_is_better: bool = False  # per-bit scores (SQNR, SSIM, accuracy) rather than losses
    synthetic: bool = False
    formats: tuple[str, ...] = ()  # format names of a per-format table (columns of ``losses``)

    @property
    def sense(self) -> str:
        """``scalar`` (scores per layer), ``loss`` or ``score`` (per-bit tables)."""
        if self.kind == "scalar":
            return "scalar"
        return "score" if self.higher_is_better else "loss"


@dataclass(frozen=True)
class _Header:
    """What a Phase 2 file says beside its layers."""

    source: str
    sha256: str
    metadata: Mapping[str, Any]
    synthetic: bool
    higher_is_better: bool  # as the metadata says; False when it does not


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
    entries, metadata = _entries_and_metadata(data, source)
    header = _Header(
        source=source,
        sha256=sha256,
        metadata=metadata,
        synthetic=flag(metadata, "synthetic", source),
        higher_is_better=flag(metadata, "higher_is_better", source),
    )
    found = named_entries(entries, source, "sensitivity", value_keys=("sensitivity", "score"))
    rows = list(_without_prefix(found, source, name_prefix))
    first = rows[0] if rows else None
    if first is None:
        raise InputError(source, "no layers", field="sensitivity")
    layout = _layout_of(first[1])
    if layout == "per_format" and any(_layout_of(value) == "per_bit" for _, value in rows):
        layout = "per_bit"  # a file with a width key anywhere is per-bit; its parser says why
    return _PARSERS[layout](_same_layout(rows, layout, source), header, ladder)


def _entries_and_metadata(data: Any, source: str) -> tuple[Any, Mapping[str, Any]]:
    """Where the layers and the metadata are; a Phase 1 file or a bare value is refused here."""
    if isinstance(data, list):
        return data, {}
    if not isinstance(data, dict):
        raise InputError(source, "expected a JSON object with 'sensitivity' or a list of records")
    if "layers" in data and "sensitivity" not in data:
        raise InputError(
            source,
            f"this looks like a Phase 1 (MACs) file, not a Phase 2 (sensitivity) file; {SWAPPED}",
        )
    meta = data.get("metadata")
    metadata = meta if isinstance(meta, dict) else {}
    entries = data["sensitivity"] if "sensitivity" in data else _flat_entries(data)
    return entries, metadata


def _flat_entries(data: dict) -> dict:
    """A flat mapping's layers: all but a ``metadata`` object (a layer may be named
    ``metadata`` when its value is not an object)."""
    return {k: v for k, v in data.items() if not (k == "metadata" and isinstance(v, dict))}


def _without_prefix(rows: _Rows, source: str, prefix: str) -> Iterator[tuple[str, Any]]:
    """The rows with ``prefix`` removed from the names that carry it."""
    for raw_name, value in rows:
        name = raw_name[len(prefix) :] if prefix and raw_name.startswith(prefix) else raw_name
        if not name:
            raise InputError(source, "empty after removing the name prefix", layer=raw_name)
        yield name, value


def _layout_of(value: Any) -> str:
    if isinstance(value, dict):
        named = any(any(ch.isalpha() for ch in str(key)) for key in value)
        return "per_format" if named else "per_bit"  # a format's name has a letter
    if isinstance(value, list):
        return "list"
    return "scalar"


# how the loader says a file of MixDQ's layout needs a ladder (the app looks for these words)
NEEDS_LADDER = "gives a list of values per layer: name their widths with the ladder"

_KIND_WORDS = {
    "scalar": "scalar scores",
    "per_bit": "per-bit tables",
    "per_format": "per-format tables",
    "list": "lists of values per width",
}


def _same_layout(rows: _Rows, layout: str, source: str) -> Iterator[tuple[str, Any]]:
    """The rows, each checked to follow ``layout`` (the first layer's) when it is reached."""
    for name, value in rows:
        this_kind = _layout_of(value)
        if {this_kind, layout} == {"per_bit", "per_format"}:
            this_kind = layout  # read as the file's layout: a bad key is named by its parser
        if this_kind != layout:
            both = " and ".join(w for k, w in _KIND_WORDS.items() if k in (layout, this_kind))
            raise InputError(
                source,
                f"mixes {both} (the first layer is {layout.replace('_', '-')})",
                field="sensitivity",
                layer=name,
            )
        yield name, value


def _parse_scalar(rows: _Rows, header: _Header, ladder: tuple[int, ...] | None) -> SensitivityTable:
    """One score per layer, ``{name: 0.96}``, never negative."""
    names: list[str] = []
    scores: list[float] = []
    for name, value in rows:
        names.append(name)
        scores.append(number_field(value, header.source, "sensitivity", name, signed=False))
    _check_unique(names, header.source)
    return SensitivityTable(
        source=header.source,
        sha256=header.sha256,
        names=tuple(names),
        kind="scalar",
        scores=np.asarray(scores, dtype=np.float64),
        widths=(),
        losses=np.zeros((len(names), 0)),
        metadata=header.metadata,
        synthetic=header.synthetic,
    )


def _parse_per_bit(
    rows: _Rows, header: _Header, ladder: tuple[int, ...] | None
) -> SensitivityTable:
    """``{name: {width: value}}``: losses, or scores when the metadata says so."""

    def read(value: Any, name: str) -> dict[int, float]:
        return _per_bit_row(value, header.source, name)

    names, tables = _width_rows(rows, header.source, read)
    return _width_table(names, tables, header, higher_is_better=header.higher_is_better)


def _parse_lists(rows: _Rows, header: _Header, ladder: tuple[int, ...] | None) -> SensitivityTable:
    """MixDQ's ``{name: [v_w1, v_w2, ...]}``, the widths of ``ladder`` ascending; scores unless
    the metadata says ``"higher_is_better": false``."""

    def read(value: Any, name: str) -> dict[int, float]:
        return _list_row(value, header.source, name, ladder)

    names, tables = _width_rows(rows, header.source, read)
    higher_is_better = flag(header.metadata, "higher_is_better", header.source, default=True)
    return _width_table(names, tables, header, higher_is_better=higher_is_better)


def _parse_per_format(
    rows: _Rows, header: _Header, ladder: tuple[int, ...] | None
) -> SensitivityTable:
    """``{name: {format: value}}``: a loss (or a score) per quantization format."""
    names: list[str] = []
    tables: list[dict[str, float]] = []
    for name, value in rows:
        names.append(name)
        tables.append(_per_format_row(value, header.source, name))
    _check_unique(names, header.source)
    formats = tuple(dict.fromkeys(f for row in tables for f in row))
    losses = _keyed_losses(names, tables, formats, header.source, header.higher_is_better)
    return SensitivityTable(
        source=header.source,
        sha256=header.sha256,
        names=tuple(names),
        kind="per_format",
        scores=np.zeros(len(names)),
        widths=(),
        losses=losses,
        metadata=header.metadata,
        higher_is_better=header.higher_is_better,
        synthetic=header.synthetic,
        formats=formats,
    )


def _keyed_losses(
    names: list[str], tables: list[dict], keys: tuple, source: str, higher_is_better: bool
) -> np.ndarray:
    """(n, len(keys)) values of the rows by key (a width or a format), NaN where a row lacks
    one; losses (not scores) are checked to be >= 0."""
    losses = np.full((len(names), len(keys)), np.nan)
    for i, row in enumerate(tables):
        for j, key in enumerate(keys):
            if key in row:
                losses[i, j] = row[key]
    if not higher_is_better:
        check_losses(losses, names, keys, source)
    return losses


def _per_format_row(value: dict, source: str, name: str) -> dict[str, float]:
    if not value:
        raise InputError(source, "empty per-format table", field="sensitivity", layer=name)
    row = {}
    for key, loss in value.items():
        if not any(ch.isalpha() for ch in str(key)):
            raise InputError(
                source,
                f"mixes a width ({key!r}) with format names; a layer's table is keyed by one",
                field="sensitivity",
                layer=name,
            )
        row[str(key)] = number_field(loss, source, f"sensitivity.{key}", name, signed=True)
    return row


_PARSERS: dict[str, Callable[[_Rows, _Header, tuple[int, ...] | None], SensitivityTable]] = {
    "scalar": _parse_scalar,
    "per_bit": _parse_per_bit,
    "per_format": _parse_per_format,
    "list": _parse_lists,
}


def _width_rows(
    rows: _Rows, source: str, read: Callable[[Any, str], dict[int, float]]
) -> tuple[list[str], list[dict[int, float]]]:
    """Names and {width: value} rows, each row read by ``read(value, name)``."""
    names: list[str] = []
    tables: list[dict[int, float]] = []
    for name, value in rows:
        names.append(name)
        tables.append(read(value, name))
    _check_unique(names, source)
    return names, tables


def _width_table(
    names: list[str], tables: list[dict[int, float]], header: _Header, *, higher_is_better: bool
) -> SensitivityTable:
    """A per-bit table over every width any row gives (NaN where a row lacks one)."""
    widths = tuple(sorted({w for row in tables for w in row}))
    losses = _keyed_losses(names, tables, widths, header.source, higher_is_better)
    return SensitivityTable(
        source=header.source,
        sha256=header.sha256,
        names=tuple(names),
        kind="per_bit",
        scores=losses[:, 0].copy(),
        widths=widths,
        losses=losses,
        metadata=header.metadata,
        higher_is_better=higher_is_better,
        synthetic=header.synthetic,
    )


def _check_unique(names: list[str], source: str) -> None:
    """Names stay unique once the prefix is removed (``model.a`` and ``a`` would clash)."""
    if len(set(names)) != len(names):
        dup = next(n for i, n in enumerate(names) if n in names[:i])
        raise InputError(
            source, "duplicate name after removing the name prefix", field="sensitivity", layer=dup
        )


def check_losses(
    losses: np.ndarray,
    names: tuple[str, ...] | list[str],
    widths: tuple[int, ...] | tuple[str, ...],
    source: str,
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
            f"{NEEDS_LADDER} (--bits, e.g. 2,4,8; ascending)",
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


def flag(metadata: Mapping[str, Any], key: str, source: str, default: bool = False) -> bool:
    """A true/false metadata field; the strings "true" / "false" are read as such."""
    value = metadata.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InputError(source, f"must be true or false, got {shown(value)}", field=f"metadata.{key}")
