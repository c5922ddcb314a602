"""Run the calibration inputs and compare with the float model: MSE, SQNR, the task metric.

Over every element e of the compared outputs of all calibration batches (float64):

    MSE  = sum (y_q - y_f)^2 / count
    SQNR = 10 log10( sum y_f^2 / sum (y_q - y_f)^2 )  dB, kept within -200..200 dB (an error
           below 1e-20 of the signal, or none at all, reads 200 dB)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from .backends import RTN_BACKEND, Backend
from .cases import ModelCase, call_model, compared_output
from .progress import Progress

SQNR_CAP_DB = 200.0
LOSS = "mse"
SCORE = "sqnr_db"


@dataclass(frozen=True)
class Metrics:
    """Quality of one quantized run against the float model."""

    mse: float
    sqnr_db: float
    task: float | None = None  # the case's task metric, when it has one

    def as_dict(self, task_name: str | None) -> dict[str, float]:
        out = {LOSS: self.mse, SCORE: self.sqnr_db}
        if task_name is not None and self.task is not None:
            out[task_name] = self.task
        return out


def run_outputs(case: ModelCase, progress: Progress | None = None) -> tuple[torch.Tensor, ...]:
    """The compared output of every calibration batch, as the model is now."""
    outputs = []
    with torch.no_grad():
        for batch in case.batches:
            outputs.append(compared_output(case, call_model(case.model, batch), batch))
            if progress is not None:
                progress.advance()
    return tuple(outputs)


def compare(
    case: ModelCase, reference: tuple[torch.Tensor, ...], outputs: tuple[torch.Tensor, ...]
) -> Metrics:
    signal = sum(float(torch.sum(r * r)) for r in reference)
    noise = sum(float(torch.sum((o - r) ** 2)) for o, r in zip(outputs, reference, strict=True))
    count = sum(r.numel() for r in reference)
    task = None
    if case.task_metric is not None:
        task = float(case.task_metric.compute(reference, outputs))
    return Metrics(mse=noise / count, sqnr_db=sqnr_db(signal, noise), task=task)


def sqnr_db(signal: float, noise: float) -> float:
    if noise <= signal * 1e-20:
        return SQNR_CAP_DB
    if signal <= noise * 1e-20:
        return -SQNR_CAP_DB
    return 10.0 * math.log10(signal / noise)


def measure(
    case: ModelCase,
    reference: tuple[torch.Tensor, ...],
    allocation: Mapping[str, int],
    source: str,
    progress: Progress | None = None,
    backend: Backend = RTN_BACKEND,
) -> Metrics:
    """Quantize the allocated layers at once (by ``backend``), run the calibration inputs,
    compare."""
    with backend.quantized(case.model, allocation, source):
        outputs = run_outputs(case, progress)
    return compare(case, reference, outputs)
