"""mpq_torch: measure a PyTorch model on the CPU for mpq (optional: pip install "mpq[torch]",
or requirements-torch.txt in a clone).

- Phase 1 :func:`profile_model`: per-layer MACs, params, type and shapes in execution order;
- Phase 2 :mod:`mpq_torch.sensitivity`: one layer quantized at a time, per width of a ladder;
  :mod:`mpq_torch.formats_sensitivity`: per quantization format (emulated by
  :mod:`mpq_torch.formats_quant`);
- Phase 4 :mod:`mpq_torch.validate` (widths) and :mod:`mpq_torch.formats_validate` (formats):
  solved allocations applied and measured.

Phases 2 and 4 quantize with a backend (:mod:`mpq_torch.backends`): ``rtn``, mpq's own emulation
(the default), or ``compressed_tensors`` (:mod:`mpq_torch.ct_quant`), each format as the
compressed-tensors export configures it.

The command line is ``python -m mpq_torch --help``. ``mpq_core`` never imports this package.
Names are imported on first use, so the command line answers ``--help`` without loading torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BUILTINS": "cases",
    "Call": "cases",
    "ModelCase": "cases",
    "TaskMetric": "cases",
    "load_case": "cases",
    "emulation": "formats_quant",
    "formatted": "formats_quant",
    "Metrics": "metrics",
    "measure": "metrics",
    "run_outputs": "metrics",
    "LayerRecord": "profiling",
    "Profile": "profiling",
    "flops_document": "profiling",
    "profile_case": "profiling",
    "profile_model": "profiling",
    "quantize_tensor": "quantize",
    "quantize_weight": "quantize",
    "quantized": "quantize",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mpq_torch' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
