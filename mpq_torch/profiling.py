"""Phase 1: one forward pass with hooks -> per-layer MACs, params, type and shapes.

Counted, in execution order (the time a layer's forward returns for the first time):

- ``nn.Conv1d/2d/3d``: output elements x (in_channels / groups) x kernel volume;
- ``nn.Linear``: output elements x in_features;
- attention matmuls (see :mod:`mpq_torch.tracing`), one entry per enclosing module named
  ``<module>.matmul`` (``matmul`` for the root), type ``AttentionMatMul``, params 0, summed over
  its calls: ``matmul``/``bmm`` = output elements x inner dimension; scaled dot-product attention
  = QK^T + AV = batch x heads x query_len x key_len x (head_dim + value_dim). ``input_shape`` is
  the first operand of the first call (the query), ``output_shape`` the output of the last.
  The entry is placed when its module's forward returns.

Biases are not counted in MACs; ``params`` is weight + bias. A layer that runs more than once
has its MACs summed and a ``calls`` count; its shapes are those of the first call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from .cases import ModelCase, call_model, floating_tensors
from .tracing import MatmulCall, watch_matmuls

MATMUL_SUFFIX = ".matmul"
ATTENTION = "AttentionMatMul"
WEIGHT_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
MAC_RULES = {
    "Conv1d/Conv2d/Conv3d": "output elements * (in_channels / groups) * kernel volume",
    "Linear": "output elements * in_features",
    ATTENTION: (
        "matmul/bmm: output elements * inner dimension; scaled_dot_product_attention: "
        "QK^T + AV = batch * heads * query_len * key_len * (head_dim + value_dim)"
    ),
    "bias": "not counted",
}


@dataclass(frozen=True)
class LayerRecord:
    """One row of the Phase 1 file."""

    name: str
    type: str
    macs: int
    params: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    calls: int = 1
    weight_shape: tuple[int, ...] | None = None  # written when set (with_weight_shapes)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "macs": self.macs,
            "params": self.params,
            "type": self.type,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
        }
        if self.weight_shape is not None:
            out["weight_shape"] = list(self.weight_shape)
        if self.calls > 1:
            out["calls"] = self.calls
        return out


@dataclass(frozen=True)
class Profile:
    """The layers of one forward pass, in execution order, and the model's output shapes."""

    layers: tuple[LayerRecord, ...]
    output_shapes: tuple[tuple[int, ...], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def of_type(self, *types: str) -> tuple[LayerRecord, ...]:
        return tuple(layer for layer in self.layers if layer.type in types)


def weight_macs(module: nn.Module, output: torch.Tensor) -> int:
    """MACs of one Conv/Linear call from its output tensor."""
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    kernel = math.prod(module.kernel_size)
    return output.numel() * (module.in_channels // module.groups) * kernel


def profile_model(model: nn.Module, inputs: Any) -> Profile:
    """Run ``model`` once on ``inputs`` (no grad) and record every counted layer."""
    records: dict[str, LayerRecord] = {}
    pending: dict[str, LayerRecord] = {}  # attention matmuls of modules still running

    def add(record: LayerRecord, table: dict[str, LayerRecord]) -> None:
        old = table.get(record.name)
        if old is None:
            table[record.name] = record
        else:
            table[record.name] = replace(
                old,
                macs=old.macs + record.macs,
                calls=old.calls + record.calls,
                output_shape=old.output_shape if table is records else record.output_shape,
            )

    def on_weight_layer(module, args, output):
        name = names[module]
        add(
            LayerRecord(
                name=name,
                type=type(module).__name__,
                macs=int(weight_macs(module, output)),
                params=int(sum(p.numel() for p in module.parameters())),
                input_shape=tuple(args[0].shape),
                output_shape=tuple(output.shape),
            ),
            records,
        )

    def on_matmul(call: MatmulCall) -> None:
        name = f"{call.module}{MATMUL_SUFFIX}" if call.module else MATMUL_SUFFIX[1:]
        record = LayerRecord(name, ATTENTION, call.macs, 0, call.input_shape, call.output_shape)
        add(record, pending)

    def on_module_exit(module, args, output):
        name = names[module]
        key = f"{name}{MATMUL_SUFFIX}" if name else MATMUL_SUFFIX[1:]
        record = pending.pop(key, None)
        if record is not None:  # all matmuls of this call of the module, as one call
            add(replace(record, calls=1), records)

    names = {module: name for name, module in model.named_modules()}
    handles = []
    for module in names:
        if isinstance(module, WEIGHT_TYPES):
            handles.append(module.register_forward_hook(on_weight_layer))
        handles.append(module.register_forward_hook(on_module_exit))
    try:
        with torch.no_grad(), watch_matmuls(model, on_call=on_matmul):
            output = call_model(model, inputs)
    finally:
        for handle in handles:
            handle.remove()
    shapes = tuple(tuple(t.shape) for t in floating_tensors(output))
    return Profile(layers=tuple(records.values()), output_shapes=shapes)


def with_weight_shapes(profile: Profile, model: nn.Module) -> Profile:
    """The profile with each Conv/Linear record's ``weight_shape`` (dim 0: output channels),
    which per-channel formats need."""
    modules = dict(model.named_modules())
    layers = tuple(
        replace(r, weight_shape=tuple(modules[r.name].weight.shape))
        if isinstance(modules.get(r.name), WEIGHT_TYPES)
        else r
        for r in profile.layers
    )
    return replace(profile, layers=layers)


def profile_case(case: ModelCase) -> Profile:
    return profile_model(case.model, case.example_inputs)


def flops_document(case: ModelCase, profile: Profile) -> dict[str, Any]:
    """The canonical Phase 1 document (the case may build its own for a fixed layout)."""
    if case.flops_document is not None:
        return case.flops_document(profile)
    counts: dict[str, int] = {}
    for layer in profile.layers:
        counts[layer.type] = counts.get(layer.type, 0) + 1
    metadata = {
        "generator": "python -m mpq_torch profile",
        "model": case.name,
        "input": case.example_description or "the entry's example inputs",
        "output_shapes": [list(s) for s in profile.output_shapes],
        "torch_version": torch.__version__,
        "num_layers": len(profile.layers),
        "layer_counts": dict(sorted(counts.items())),
        "total_macs": profile.total_macs,
        "attention_matmul_macs": sum(r.macs for r in profile.of_type(ATTENTION)),
        "params": sum(r.params for r in profile.layers),
        "layer_order": "network execution order (the first time each layer's forward returns)",
        "mac_rules": MAC_RULES,
        **case.metadata,
    }
    return {
        "model": case.name,
        "unit": "MACs",
        "metadata": metadata,
        "layers": {layer.name: layer.to_json() for layer in profile.layers},
    }
