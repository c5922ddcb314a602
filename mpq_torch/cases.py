"""A model to measure: the module, how to call it, its calibration inputs and its task metric.

Users name a model as ``module:function`` (or ``path/to/file.py:function``). The function takes
no arguments, or a keyword ``count`` (the ``--count`` flag), and returns either
``(model, example_inputs)`` or a :class:`ModelCase`. Inputs are a tensor (``model(x)``), a tuple
(``model(*args)``), a dict (``model(**kwargs)``) or a :class:`Call` (both).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mpq_core import InputError

BUILTINS = {
    "minilm": "mpq_torch.models.minilm:case",
    "sd14": "mpq_torch.models.sd14:case",
}


@dataclass(frozen=True)
class Call:
    """Positional and keyword arguments of one forward call."""

    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskMetric:
    """A model-specific quality figure computed from float and quantized compared outputs."""

    name: str
    higher_is_better: bool
    compute: Callable[[Sequence[torch.Tensor], Sequence[torch.Tensor]], float]
    description: str


@dataclass(frozen=True, eq=False)
class ModelCase:
    """Everything the profiler and the measurements need about one model."""

    name: str
    model: nn.Module
    example_inputs: Any
    calibration: tuple[Any, ...] = ()  # batches of inputs; () means (example_inputs,)
    # maps (raw model output, the inputs of that call) to the tensor compared with the float
    # model; None: every floating-point tensor of the output, flattened and concatenated
    output: Callable[[Any, Any], torch.Tensor] | None = None
    task_metric: TaskMetric | None = None
    samples: int | None = None  # calibration samples (sentences, images); None: batches
    description: str = ""  # what the calibration inputs are, for Phase 2/4 metadata
    example_description: str = ""  # what the example inputs are, for the Phase 1 metadata
    metadata: Mapping[str, Any] = field(default_factory=dict)  # extra provenance
    # builds the whole Phase 1 document (for a file that must stay byte-identical)
    flops_document: Callable[[Any], dict] | None = None

    @property
    def batches(self) -> tuple[Any, ...]:
        return self.calibration or (self.example_inputs,)

    @property
    def sample_count(self) -> int:
        return self.samples if self.samples is not None else len(self.batches)


def call_model(model: nn.Module, inputs: Any) -> Any:
    """Run one forward call with inputs in any of the accepted shapes."""
    if isinstance(inputs, Call):
        return model(*inputs.args, **inputs.kwargs)
    if isinstance(inputs, dict):
        return model(**inputs)
    if isinstance(inputs, tuple | list):
        return model(*inputs)
    return model(inputs)


def compared_output(case: ModelCase, raw: Any, inputs: Any) -> torch.Tensor:
    """The tensor of one call that is compared with the float model's (flattened, float64)."""
    if case.output is not None:
        tensor = case.output(raw, inputs)
        return tensor.detach().reshape(-1).to(torch.float64)
    parts = [t.detach().reshape(-1).to(torch.float64) for t in floating_tensors(raw)]
    if not parts:
        raise InputError(case.name, "the model's output holds no floating-point tensor")
    return torch.cat(parts)


def floating_tensors(value: Any) -> list[torch.Tensor]:
    """Floating-point tensors in an output: a tensor, a sequence, a mapping or a dataclass."""
    if isinstance(value, torch.Tensor):
        return [value] if value.is_floating_point() else []
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in floating_tensors(v)]
    if isinstance(value, tuple | list):
        return [t for v in value for t in floating_tensors(v)]
    if hasattr(value, "__dataclass_fields__"):
        return [t for k in value.__dataclass_fields__ for t in floating_tensors(getattr(value, k))]
    return []


def load_case(spec: str, *, count: int | None = None) -> ModelCase:
    """A built-in name (``minilm``, ``sd14``) or ``module:function`` -> a ModelCase."""
    target = BUILTINS.get(spec, spec)
    function = _resolve(spec, target)
    accepts_count = "count" in inspect.signature(function).parameters
    if count is not None and not accepts_count:
        raise InputError(spec, "--count is given but the function takes no 'count'", field="model")
    try:
        result = function(count=count) if count is not None else function()
    except InputError:
        raise
    except Exception as exc:  # the user's code: one line, not a traceback
        raise InputError(
            spec, f"the function failed: {type(exc).__name__}: {exc}", field="model"
        ) from exc
    if isinstance(result, ModelCase):
        case = result
    elif isinstance(result, tuple) and len(result) == 2:
        case = ModelCase(name=spec, model=result[0], example_inputs=result[1])
    else:
        raise InputError(
            spec, "the function must return (model, example_inputs) or a ModelCase", field="model"
        )
    if not isinstance(case.model, nn.Module):
        kind = type(case.model).__name__
        raise InputError(spec, f"the model is a {kind}, not a torch.nn.Module", field="model")
    case.model.eval()
    return case


def _resolve(spec: str, target: str) -> Callable[..., Any]:
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        known = ", ".join(BUILTINS)
        raise InputError(
            spec, f"expected module:function or a built-in name ({known})", field="model"
        )
    try:
        if module_name.endswith(".py"):
            module = _import_file(Path(module_name))
        else:
            module = importlib.import_module(module_name)
    except FileNotFoundError:
        raise InputError(spec, f"file {module_name} not found", field="model") from None
    except ImportError as exc:
        raise InputError(spec, f"cannot import {module_name} ({exc})", field="model") from exc
    function = getattr(module, attr, None)
    if not callable(function):
        raise InputError(spec, f"{module_name} has no function {attr!r}", field="model")
    return function


def _import_file(path: Path):
    if not path.is_file():
        raise FileNotFoundError(path)
    name = f"_mpq_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"not a Python file: {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
