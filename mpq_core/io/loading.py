"""Phase 1 / Phase 2 files -> typed, validated tables. The only code that parses them.

Each file is read once (``reading.py``: the same bytes are hashed and parsed). Every rejection
is an :class:`InputError` naming the file, the field and the layer.

One parser per file layout, and a dispatcher that detects the layout and calls its parser:
``loading_layers.py`` (Phase 1: :func:`parse_layers`), ``loading_sensitivity.py`` (Phase 2:
:func:`parse_sensitivity`), ``resources.py`` (the resources file); the field readers they
share are in ``loading_fields.py``. This module reads both files and aligns them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .loading_fields import SWAPPED, number_field, width_key
from .loading_layers import LayerTable, parse_layers
from .loading_sensitivity import SensitivityTable, check_losses, parse_sensitivity
from .reading import InputFile, read_data

__all__ = [
    "SWAPPED",
    "InputFile",
    "Inputs",
    "LayerTable",
    "SensitivityTable",
    "align_inputs",
    "check_losses",
    "load_inputs",
    "number_field",
    "parse_layers",
    "parse_sensitivity",
    "read_json",
    "width_key",
]

_MISMATCH_SHOWN = 5


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
    only_flops, only_sens = _only_in_one(layers.names, sens.names, sens_index)
    differ = bool(only_flops or only_sens)
    if differ and on_mismatch == "error":
        raise _mismatch(layers, sens, only_flops, only_sens)
    if not differ and layers.names == sens.names:
        return Inputs(layers, sens)
    return _common_layers(layers, sens, sens_index, only_flops, only_sens)


def _only_in_one(
    layer_names: tuple[str, ...], sens_names: tuple[str, ...], sens_index: dict[str, int]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names found only in the Phase 1 file, and those found only in the Phase 2 file."""
    layer_set = set(layer_names)
    only_flops = tuple(n for n in layer_names if n not in sens_index)
    only_sens = tuple(n for n in sens_names if n not in layer_set)
    return only_flops, only_sens


def _mismatch(
    layers: LayerTable,
    sens: SensitivityTable,
    only_flops: tuple[str, ...],
    only_sens: tuple[str, ...],
) -> InputError:
    """The error for files that name different layers: how many on each side, and which."""
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
    return InputError(
        sens.source,
        "; ".join(parts) + f"; on_mismatch='intersect' would keep the {common} common layers",
        field="sensitivity",
        layer=(only_flops or only_sens)[0],
    )


def _common_layers(
    layers: LayerTable,
    sens: SensitivityTable,
    sens_index: dict[str, int],
    only_flops: tuple[str, ...],
    only_sens: tuple[str, ...],
) -> Inputs:
    """Both tables cut to the layers they share, in Phase 1 file order."""
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


def _first_names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_MISMATCH_SHOWN])
    more = len(names) - _MISMATCH_SHOWN
    return shown + (f", ... and {more} more" if more > 0 else "")
