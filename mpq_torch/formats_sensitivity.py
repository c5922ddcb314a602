"""Phase 2 for formats: per (layer, format), that layer alone in that format; per-format files.

The work is the list of (Conv/Linear layer, format) pairs, layer-major in Phase 1 order, formats
in option order (cheapest first, as ``mpq_core`` orders them). Each pair is measured like a
width in :mod:`mpq_torch.sensitivity`: only that layer is in the format (weights, and its input
when the format quantizes activations; :mod:`mpq_torch.formats_quant`), the calibration inputs
run and the compared output is measured against the float model's. Attention matmuls are left
out: a format is a layout of weights (and of a weight layer's input).

Files, in the per-format form ``{"metadata": ..., "sensitivity": {layer: {format: value}}}``
(floats to 6 significant digits):

- ``sensitivity_formats.json``: MSE of the compared output (loss; lower is better);
- ``sensitivity_formats_sqnr.json``: SQNR in dB (``"higher_is_better": true``);
- ``sensitivity_formats_<task>.json``: the entry's task metric, when it defines one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from mpq_core.model.formats import Format

from .backends import RTN, RTN_BACKEND, Backend
from .cases import ModelCase
from .jsonio import rounded
from .metrics import LOSS, SCORE, Metrics, compare, run_outputs
from .progress import Progress
from .sensitivity import metric_fields, run_fields, run_identity

FILE_STEM = "sensitivity_formats"
GENERATOR = "python -m mpq_torch sensitivity --formats"
METHOD = (
    "one layer at a time: that Conv/Linear layer in the format (its weights fake-quantized by "
    "the format's rule, and its input per call when the format's activation_bits < 16), every "
    "other tensor float32; the calibration inputs run through it and its compared output is "
    "measured against the float model's. An emulation on the CPU in float32, not a kernel; the "
    "rules are in the module docstring of mpq_torch/formats_quant.py and docs/formats.md"
)


@dataclass(frozen=True)
class FormatRun:
    """What identifies a per-format measurement."""

    model: str
    layers: tuple[str, ...]
    formats: tuple[Format, ...]
    inputs: str
    count: int
    seed: int
    threads: int
    task_metric: str | None
    task_higher_is_better: bool
    versions: tuple[tuple[str, str], ...]
    backend: str = RTN

    @property
    def items(self) -> list[tuple[str, Format]]:
        return [(layer, fmt) for layer in self.layers for fmt in self.formats]


@dataclass(frozen=True)
class FormatResult:
    """The metrics of one (layer, format) pair."""

    layer: str
    format: str
    metrics: Metrics


def make_format_run(
    case: ModelCase,
    layers: Sequence[str],
    formats: Sequence[Format],
    seed: int,
    threads: int,
    backend: Backend = RTN_BACKEND,
) -> FormatRun:
    """The run's identity; every (layer, format) pair is checked with ``backend`` (for rtn:
    every format for an emulation) before anything runs."""
    backend.check_all(case.model, layers, formats)
    return FormatRun(
        layers=tuple(layers), formats=tuple(formats), **run_identity(case, seed, threads, backend)
    )


def measure_format(
    case: ModelCase,
    reference: tuple[torch.Tensor, ...],
    allocation: dict[str, Format],
    source: str,
    backend: Backend = RTN_BACKEND,
) -> Metrics:
    """Every named layer in its format at once (by ``backend``), the calibration inputs run,
    compared."""
    with backend.formatted(case.model, allocation, source):
        outputs = run_outputs(case)
    return compare(case, reference, outputs)


def measure_format_items(
    case: ModelCase,
    reference: tuple[torch.Tensor, ...],
    items: Sequence[tuple[str, Format]],
    *,
    progress: bool = True,
    backend: Backend = RTN_BACKEND,
) -> list[FormatResult]:
    """Measure each (layer, format) alone."""
    results = []
    with Progress(len(items), "sensitivity --formats", enabled=progress) as bar:
        for layer, fmt in items:
            metrics = measure_format(case, reference, {layer: fmt}, "flops file", backend)
            results.append(FormatResult(layer, fmt.name, metrics))
            bar.advance()
    return results


def format_documents(run: FormatRun, results: Sequence[FormatResult]) -> dict[str, dict]:
    """File name -> per-format document, for the loss, the score and the task metric."""
    table = {(r.layer, r.format): r.metrics for r in results}
    forms: list[tuple[str, str, bool, Callable[[Metrics], float | None], str]] = [
        (f"{FILE_STEM}.json", LOSS, False, lambda m: m.mse, "mean squared error"),
        (f"{FILE_STEM}_sqnr.json", SCORE, True, lambda m: m.sqnr_db, "SQNR in dB"),
    ]
    if run.task_metric is not None:
        forms.append(
            (
                f"{FILE_STEM}_{run.task_metric}.json",
                run.task_metric,
                run.task_higher_is_better,
                lambda m: m.task,
                "the task metric",
            )
        )
    documents = {}
    for name, metric, higher, pick, what in forms:
        sensitivity = {
            layer: {fmt.name: rounded(float(pick(table[(layer, fmt.name)]))) for fmt in run.formats}
            for layer in run.layers
        }
        documents[name] = {
            "metadata": _metadata(run, metric, higher, f"{what} of the compared output"),
            "sensitivity": sensitivity,
        }
    return documents


def _metadata(run: FormatRun, metric: str, higher: bool, what: str) -> dict[str, Any]:
    meta = {
        **metric_fields(metric, higher, what, METHOD),
        "emulation": "fake quantization (quantize, then dequantize) in float32 on the CPU",
        **run_fields(run),
        "formats": {fmt.name: fmt.to_dict() for fmt in run.formats},
        "num_layers": len(run.layers),
        "versions": dict(run.versions),
        "generator": GENERATOR,
    }
    return meta if run.backend == RTN else {**meta, "backend": run.backend}
