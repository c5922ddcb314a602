"""Phase 2: per (layer, width), quantize that layer alone and measure; write the per-bit files.

The work is the list of (layer, width) pairs, layer-major in Phase 1 order, widths ascending.
Each pair is independent, so ``--shard K/N`` measures the K-th of N contiguous slices and writes
a shard file; :func:`merge_shards` checks that N shard files come from the same run and cover
every pair exactly once, then writes the same per-bit files as an unsharded run, byte for byte.

Files (floats to 6 significant digits):

- ``sensitivity_mse.json``: the loss form, MSE of the compared output; lower is better;
- ``sensitivity_sqnr.json``: the score form, SQNR in dB, ``"higher_is_better": true``;
- ``sensitivity_<task>.json``: the entry's task metric, when it defines one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mpq_core import InputError

from .backends import RTN, RTN_BACKEND, Backend
from .cases import ModelCase
from .jsonio import rounded
from .metrics import LOSS, SCORE, Metrics, measure
from .progress import Progress

SHARD_FORMAT = 1
FILE_STEM = "sensitivity_"
METHOD = (
    "one layer at a time: that layer quantized at the width (Conv/Linear: weights symmetric "
    "per-output-channel round-to-nearest; AttentionMatMul: its matmul operands, symmetric "
    "per-tensor round-to-nearest), every other tensor float32; the calibration inputs run "
    "through it and its compared output is measured against the float model's"
)
_VERSIONED = ("torch", "numpy", "transformers", "tokenizers", "diffusers")


@dataclass(frozen=True)
class Shard:
    """Slice ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str, source: str = "--shard") -> Shard:
        index, sep, count = str(text).partition("/")
        try:
            shard = cls(int(index), int(count))
        except ValueError:
            raise InputError(source, f"expected K/N (like 2/8), got {text!r}") from None
        if not sep or not 1 <= shard.index <= shard.count:
            raise InputError(source, f"expected K/N with 1 <= K <= N, got {text!r}")
        return shard

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def bounds(self, total: int) -> tuple[int, int]:
        """Item indices [start, stop) of this slice."""
        return (self.index - 1) * total // self.count, self.index * total // self.count


@dataclass(frozen=True)
class Run:
    """What identifies a measurement; shards of one run must agree on every field."""

    model: str
    layers: tuple[str, ...]
    widths: tuple[int, ...]
    inputs: str
    count: int
    seed: int
    threads: int
    task_metric: str | None
    task_higher_is_better: bool
    versions: tuple[tuple[str, str], ...]
    backend: str = RTN

    @property
    def items(self) -> list[tuple[str, int]]:
        return [(layer, width) for layer in self.layers for width in self.widths]

    def to_json(self) -> dict[str, Any]:
        out = {
            "model": self.model,
            "layers": list(self.layers),
            "widths": list(self.widths),
            "inputs": self.inputs,
            "count": self.count,
            "seed": self.seed,
            "threads": self.threads,
            "task_metric": self.task_metric,
            "task_higher_is_better": self.task_higher_is_better,
            "versions": dict(self.versions),
        }
        return out if self.backend == RTN else {**out, "backend": self.backend}

    @classmethod
    def from_json(cls, data: Any, source: str) -> Run:
        if not isinstance(data, dict):
            raise InputError(source, "missing or not a mapping", field="run")
        try:
            return cls(
                model=str(data["model"]),
                layers=tuple(str(n) for n in data["layers"]),
                widths=tuple(int(w) for w in data["widths"]),
                inputs=str(data["inputs"]),
                count=int(data["count"]),
                seed=int(data["seed"]),
                threads=int(data["threads"]),
                task_metric=None if data["task_metric"] is None else str(data["task_metric"]),
                task_higher_is_better=bool(data["task_higher_is_better"]),
                versions=tuple((str(k), str(v)) for k, v in data["versions"].items()),
                backend=str(data.get("backend", RTN)),
            )
        except KeyError as exc:
            raise InputError(source, "missing", field=f"run.{exc.args[0]}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise InputError(source, f"malformed ({exc})", field="run") from None


@dataclass(frozen=True)
class Result:
    """The metrics of one (layer, width) pair."""

    layer: str
    width: int
    metrics: Metrics


# the libraries a model's package brings with it (transformers' models run its tokenizers)
_WITH_MODEL = {"transformers": ("transformers", "tokenizers"), "diffusers": ("diffusers",)}


def library_versions(model: object = None) -> tuple[tuple[str, str], ...]:
    """Versions of the numerical libraries the measurement uses: torch and numpy, and those of
    the model's package (not whatever else the process has imported: a file's metadata must
    not depend on what ran before it)."""
    root = type(model).__module__.split(".")[0] if model is not None else ""
    used = {"torch", "numpy", *_WITH_MODEL.get(root, ())}
    out = []
    for name in _VERSIONED:
        module = sys.modules.get(name)
        if name in used and module is not None:
            out.append((name, str(getattr(module, "__version__", "unknown"))))
    return tuple(out)


def make_run(
    case: ModelCase,
    layers: Sequence[str],
    widths: Sequence[int],
    seed: int,
    threads: int,
    backend: Backend = RTN_BACKEND,
) -> Run:
    """The run's identity; every (layer, width) pair is checked with ``backend`` first."""
    backend.check_all(case.model, layers, list(widths))
    return Run(
        layers=tuple(layers),
        widths=tuple(sorted(widths)),
        **run_identity(case, seed, threads, backend),
    )


def run_identity(case: ModelCase, seed: int, threads: int, backend: Backend) -> dict[str, Any]:
    """The fields a measurement of widths (``Run``) and one of formats share besides its
    layers and options: the model, its inputs, the seed, threads, task metric, versions and
    backend."""
    metric = case.task_metric
    return {
        "model": case.name,
        "inputs": case.description or "the entry's calibration inputs",
        "count": case.sample_count,
        "seed": seed,
        "threads": threads,
        "task_metric": metric.name if metric else None,
        "task_higher_is_better": bool(metric.higher_is_better) if metric else False,
        "versions": library_versions(case.model) + backend.versions,
        "backend": backend.name,
    }


def metric_fields(metric: str, higher: bool, what: str, method: str) -> dict[str, Any]:
    """The head of a measured file's metadata: what its values are and how they were made."""
    return {
        "synthetic": False,
        "metric": metric,
        "metric_description": what,
        "higher_is_better": higher,
        "form": "score" if higher else "loss",
        "method": method,
    }


def run_fields(run: Any) -> dict[str, Any]:
    """A run's identity as a measured file's metadata states it (``model`` .. ``threads``)."""
    return {
        "model": run.model,
        "inputs": run.inputs,
        "count": run.count,
        "seed": run.seed,
        "threads": run.threads,
    }


def measure_items(
    case: ModelCase,
    reference: tuple[torch.Tensor, ...],
    items: Sequence[tuple[str, int]],
    *,
    progress: bool = True,
    label: str = "sensitivity",
    backend: Backend = RTN_BACKEND,
) -> list[Result]:
    """Measure each (layer, width) alone."""
    results = []
    with Progress(len(items), label, enabled=progress) as bar:
        for layer, width in items:
            metrics = measure(case, reference, {layer: width}, "flops file", backend=backend)
            results.append(Result(layer, width, metrics))
            bar.advance()
    return results


def shard_document(run: Run, shard: Shard, results: Sequence[Result]) -> dict[str, Any]:
    """The raw results of one slice (full float precision; merged later)."""
    return {
        "mpq_torch_shard": SHARD_FORMAT,
        "shard": shard.label,
        "run": run.to_json(),
        "results": [
            {"layer": r.layer, "width": r.width, **r.metrics.as_dict(run.task_metric)}
            for r in results
        ],
    }


def per_bit_documents(run: Run, results: Sequence[Result]) -> dict[str, dict[str, Any]]:
    """File name -> per-bit document, for the loss, the score and the task metric."""
    table = {(r.layer, r.width): r.metrics for r in results}
    missing = [item for item in run.items if item not in table]
    if missing:
        layer, width = missing[0]
        raise InputError(
            "results",
            f"{len(missing)} (layer, width) pair(s) not measured (first: {width} bits)",
            layer=layer,
        )
    forms: list[tuple[str, bool, Callable[[Metrics], float | None], str]] = [
        (LOSS, False, lambda m: m.mse, "mean squared error of the compared output"),
        (SCORE, True, lambda m: m.sqnr_db, "SQNR of the compared output in dB"),
    ]
    if run.task_metric is not None:
        forms.append(
            (run.task_metric, run.task_higher_is_better, lambda m: m.task, "the task metric")
        )
    documents = {}
    for metric, higher, pick, what in forms:
        name = f"{FILE_STEM}{metric.split('_')[0]}.json"
        sensitivity = {}
        for layer in run.layers:
            row = {}
            for width in run.widths:
                row[str(width)] = rounded(float(pick(table[(layer, width)])))
            sensitivity[layer] = row
        documents[name] = {
            "metadata": _metadata(run, metric, higher, what),
            "sensitivity": sensitivity,
        }
    return documents


def _metadata(run: Run, metric: str, higher: bool, what: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        **metric_fields(metric, higher, what, METHOD),
        **run_fields(run),
        "widths": list(run.widths),
        "num_layers": len(run.layers),
        "versions": dict(run.versions),
        "generator": "python -m mpq_torch sensitivity",
    }
    if run.backend != RTN:
        meta["backend"] = run.backend
    return meta


def merge_shards(shards: Sequence[tuple[str, Any]]) -> tuple[Run, list[Result]]:
    """(label, parsed JSON) of every shard file -> the run and all its results, checked."""
    if not shards:
        raise InputError("merge", "no shard files given")
    first_label, first = shards[0]
    run = Run.from_json(_shard_field(first, first_label, "run"), first_label)
    seen: dict[int, str] = {}
    count = None
    results: list[Result] = []
    items = run.items
    for label, data in shards:
        shard = Shard.parse(_shard_field(data, label, "shard"), label)
        if count is None:
            count = shard.count
        elif shard.count != count:
            raise InputError(
                label,
                f"shard {shard.label} is not one of {count} like {first_label}",
                field="shard",
            )
        if shard.index in seen:
            raise InputError(
                label, f"shard {shard.label} is also in {seen[shard.index]}", field="shard"
            )
        seen[shard.index] = label
        other = Run.from_json(_shard_field(data, label, "run"), label)
        if other != run:
            key = _differing_field(run, other)
            raise InputError(label, f"differs from {first_label}", field=f"run.{key}")
        start, stop = shard.bounds(len(items))
        got = _results(data, label, run)
        expected = items[start:stop]
        if [(r.layer, r.width) for r in got] != expected:
            raise InputError(
                label,
                f"holds other (layer, width) pairs than slice {shard.label} of this run",
                field="results",
            )
        results.extend(got)
    assert count is not None
    absent = sorted(set(range(1, count + 1)) - set(seen))
    if absent:
        names = ", ".join(f"{k}/{count}" for k in absent)
        raise InputError("merge", f"missing shard(s) {names}", field="shard")
    order = {item: i for i, item in enumerate(items)}
    results.sort(key=lambda r: order[(r.layer, r.width)])
    return run, results


def _differing_field(first: Run, other: Run) -> str:
    """The first field in which two runs differ: the backend before the versions it adds."""
    mine, theirs = first.to_json(), other.to_json()
    return next(k for k in ("backend", *mine, *theirs) if mine.get(k) != theirs.get(k))


def _shard_field(data: Any, label: str, key: str) -> Any:
    if not isinstance(data, dict) or data.get("mpq_torch_shard") != SHARD_FORMAT:
        raise InputError(label, "not an mpq_torch shard file", field="mpq_torch_shard")
    if key not in data:
        raise InputError(label, "missing", field=key)
    return data[key]


def _results(data: dict, label: str, run: Run) -> list[Result]:
    rows = _shard_field(data, label, "results")
    if not isinstance(rows, list):
        raise InputError(label, "not a list", field="results")
    out = []
    for i, row in enumerate(rows):
        where = f"results[{i}]"
        if not isinstance(row, dict):
            raise InputError(label, "not a record", field=where)
        layer = row.get("layer")
        try:
            width = int(row["width"])
            mse, sqnr = _finite(row[LOSS]), _finite(row[SCORE])
            task = _finite(row[run.task_metric]) if run.task_metric else None
        except KeyError as exc:
            raise InputError(
                label, "missing", field=f"{where}.{exc.args[0]}", layer=layer
            ) from None
        except (TypeError, ValueError) as exc:
            raise InputError(label, str(exc), field=where, layer=layer) from None
        out.append(Result(str(layer), width, Metrics(mse, sqnr, task)))
    return out


def _finite(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise ValueError(f"not a finite number ({value!r})")
    return float(value)
