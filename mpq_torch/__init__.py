"""mpq_torch: measure a PyTorch model on the CPU for mpq (optional; needs requirements-torch.txt).

- Phase 1 :func:`profile_model`: per-layer MACs, params, type and shapes in execution order;
- Phase 2 :mod:`mpq_torch.sensitivity`: one layer quantized at a time, per width of a ladder;
- Phase 4 :mod:`mpq_torch.validate`: solved allocations applied and measured.

The command line is ``python -m mpq_torch --help``. ``mpq_core`` never imports this package.
"""

from __future__ import annotations

from .cases import BUILTINS, Call, ModelCase, TaskMetric, load_case
from .measure import Metrics, measure, run_outputs
from .profiling import LayerRecord, Profile, flops_document, profile_case, profile_model
from .quantize import quantize_tensor, quantize_weight, quantized

__all__ = [
    "BUILTINS",
    "Call",
    "LayerRecord",
    "Metrics",
    "ModelCase",
    "Profile",
    "TaskMetric",
    "flops_document",
    "load_case",
    "measure",
    "profile_case",
    "profile_model",
    "quantize_tensor",
    "quantize_weight",
    "quantized",
    "run_outputs",
]
