"""Config files for Phase 4: export, atomic save, load back, re-cost; per-layer tables.

The exported shape is the original one (``metadata``, ``bit_allocation``,
``quantization_config``); the metadata keeps the original keys and adds the schema version,
the settings, the costs and the hashes of both input files.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .blocks import block_labels
from .errors import InputError
from .loading import InputFile, read_json
from .problem import GIGA, Problem
from .solution import Solution

SCHEMA_VERSION = 1
CONFIG_DIR = "mixed_precision"


def config_filename(multiplier: float) -> str:
    """``quantization_config_0.50.json``: two decimals of the multiplier, as originally."""
    return f"quantization_config_{multiplier:.2f}.json"


def export_config(solution: Solution) -> dict[str, Any]:
    """The config dict of a feasible solution (lists, not tuples; plain Python numbers)."""
    if not solution.feasible:
        raise ValueError(f"nothing to export: {solution.message}")
    problem = solution.problem
    inputs = problem.inputs
    wbits = [int(w) for w in solution.wbits]
    abits = [int(a) for a in solution.abits]
    metadata: dict[str, Any] = {
        "budget_multiplier": float(solution.multiplier),
        "num_layers": problem.n_layers,
        "flops_file": inputs.layers.source,
        "sensitivity_file": inputs.sensitivity.source,
        "schema_version": SCHEMA_VERSION,
        "solver": solution.solver,
        "status": solution.status,
        "abit_rule": problem.abit_rule,
        "upgrade_discount": problem.upgrade_discount,
        "sensitivity_kind": inputs.sensitivity.kind,
        "synthetic_sensitivity": inputs.sensitivity.synthetic,
        "ladder": list(problem.widths),
        "pins": {name: list(widths) for name, widths in problem.pins},
        "budget_gbops": solution.budget / GIGA,
        "cost_gbops": solution.cost / GIGA,
        "min_cost_gbops": problem.min_cost / GIGA,
        "max_cost_gbops": problem.max_cost / GIGA,
        "budget_utilization": solution.utilization,
        "objective": solution.objective,
        "max_objective": problem.max_objective,
        "upper_bound": solution.upper_bound,
        "num_upgrades": solution.num_upgrades,
        "flops_sha256": inputs.layers.sha256,
        "sensitivity_sha256": inputs.sensitivity.sha256,
    }
    names = problem.names
    return {
        "metadata": metadata,
        "bit_allocation": dict(zip(names, wbits, strict=True)),
        "quantization_config": {
            name: {"wbit": w, "abit": a} for name, w, a in zip(names, wbits, abits, strict=True)
        },
    }


def config_json(config: Mapping[str, Any]) -> str:
    """The exact text written to disk and offered for download."""
    return json.dumps(config, indent=2) + "\n"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_current_umask()  # what open() would give; mkstemp alone gives 0600


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write via a temporary file in the same folder and rename: no half-written file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_text_atomic(path: str | Path, text: str) -> Path:
    """:func:`write_bytes_atomic` for UTF-8 text with the newlines as given."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def save_config(solution: Solution, output_dir: str | Path) -> Path:
    """Write ``<output_dir>/mixed_precision/quantization_config_<m>.json`` atomically."""
    path = Path(output_dir) / CONFIG_DIR / config_filename(solution.multiplier)
    return write_text_atomic(path, config_json(export_config(solution)))


@dataclass(frozen=True)
class SavedConfig:
    """A config file read back: its metadata and the per-layer widths."""

    source: str
    metadata: Mapping[str, Any]
    wbits: Mapping[str, int]
    abits: Mapping[str, int] = field(default_factory=dict)


def load_config(source: str | Path | InputFile) -> SavedConfig:
    """Read an exported config (any schema version up to the current one)."""
    label, _, data = read_json(source)
    if not isinstance(data, dict) or not isinstance(data.get("bit_allocation"), dict):
        raise InputError(
            label, "missing or not a mapping of layer to width", field="bit_allocation"
        )
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InputError(label, "not a mapping", field="metadata")
    version = metadata.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise InputError(
            label,
            f"unsupported schema version {version!r} (this tool reads up to {SCHEMA_VERSION})",
            field="metadata.schema_version",
        )
    wbits = {
        name: _width(w, label, "bit_allocation", name) for name, w in data["bit_allocation"].items()
    }
    abits: dict[str, int] = {}
    quant = data.get("quantization_config", {})
    if not isinstance(quant, dict):
        raise InputError(label, "not a mapping", field="quantization_config")
    for name, entry in quant.items():
        if not isinstance(entry, dict) or "abit" not in entry:
            raise InputError(
                label, "needs 'wbit' and 'abit'", field="quantization_config", layer=name
            )
        abits[name] = _width(entry["abit"], label, "quantization_config.abit", name)
        if "wbit" in entry and _width(
            entry["wbit"], label, "quantization_config.wbit", name
        ) != wbits.get(name):
            raise InputError(
                label, "wbit differs from bit_allocation", field="quantization_config", layer=name
            )
    return SavedConfig(source=label, metadata=metadata, wbits=wbits, abits=abits)


def evaluate_config(
    problem: Problem, saved: SavedConfig, multiplier: float | None = None
) -> Solution:
    """Re-cost a saved config on ``problem`` (at its own multiplier unless one is given)."""
    missing = [n for n in problem.names if n not in saved.wbits]
    if missing:
        raise InputError(
            saved.source,
            f"{len(missing)} layer(s) of the loaded model are not in the config",
            field="bit_allocation",
            layer=missing[0],
        )
    choice = np.empty(problem.n_layers, dtype=np.intp)
    ladder = "/".join(map(str, problem.widths))
    for i, name in enumerate(problem.names):
        width = saved.wbits[name]
        if width not in problem.widths:
            raise InputError(
                saved.source,
                f"width {width} is not in the ladder {ladder}",
                field="bit_allocation",
                layer=name,
            )
        choice[i] = problem.widths.index(width)
    if multiplier is None:
        multiplier = float(saved.metadata.get("budget_multiplier", 1.0))
    budget = problem.budget_for(multiplier)
    cost = problem.cost_of(choice)
    return Solution(
        problem=problem,
        solver="saved",
        status="feasible" if cost <= budget else "infeasible",
        multiplier=multiplier,
        budget=budget,
        choice=choice,
        cost=cost,
        objective=problem.objective_of(choice),
        message=f"re-costed from {saved.source}",
    )


def layer_table(solution: Solution) -> pd.DataFrame:
    """Per-layer view: block, type, MACs, BOPs share, sensitivity, upgrade efficiencies, width."""
    problem = solution.problem
    bops = solution.layer_bops()
    total = bops.sum()
    frame = pd.DataFrame(
        {
            "layer": list(problem.names),
            "block": block_labels(problem.names),
            "type": list(problem.types),
            "macs": problem.macs,
            "sensitivity": problem.sensitivity,
            "wbit": solution.wbits.astype(int),
            "abit": solution.abits.astype(int),
            "bops": bops,
            "bops_share": bops / total if total > 0 else np.zeros_like(bops),
            "pinned": problem.pinned,
        }
    )
    for j in range(len(problem.widths) - 1):
        lo, hi = problem.widths[j], problem.widths[j + 1]
        step = problem.costs[:, j + 1] - problem.costs[:, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            eff = np.where(
                step > 0, problem.step_gains[:, j + 1] / np.where(step > 0, step, 1), np.inf
            )
        frame[f"eff_{lo}_{hi}"] = eff * GIGA  # gain per GBOP of the single step lo -> hi
    return frame


def layers_csv(solution: Solution) -> str:
    """The per-layer table as CSV text."""
    buffer = io.StringIO()
    layer_table(solution).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def _width(value: Any, source: str, field_name: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError(
            source, f"not a positive whole number ({value!r})", field=field_name, layer=layer
        )
    return value
