"""Fake quantization by compressed-tensors (0.20.0), configured as the compressed-tensors export
configures each format (``mpq_core.io.phase4.compressed_tensors_export``).

A layer's format becomes ``QuantizationArgs`` through the export's own mapping (its refusals
included, word for word: ``mxfp6``, a Conv layer, an attention matmul, 9 to 15 bits); a plain
width b below 16 is the export's symmetric INT b per output channel. Then, with
compressed-tensors' functions, on the CPU in the model's dtype:

- **weights** (static, as llm-compressor's min-max observer calibrates them): the min and max
  per tensor, output channel or group of the weight matrix, ``calculate_qparams`` for the
  scales (with ``generate_gparam``'s FP32 global scale for ``tensor_group``, NVFP4), then
  ``fake_quantize``;
- **input activations** (``dynamic: true``), on every call: ``compute_dynamic_scales_and_zp``
  then ``fake_quantize``, as compressed-tensors' ``forward_quantize`` does for a module without
  a calibrated global scale.

A format the export leaves in float (``bf16``, ``fp16``, a width of 16 or more) is the 16-bit
cast of :mod:`mpq_torch.formats_quant` (the module stays in that dtype; nothing is quantized),
or nothing for 32 bits. Where this differs from the ``rtn`` emulation is in docs/formats.md and
``tests/test_torch_backend.py``: compressed-tensors' INT scale is max / (q_max + 1/2) with codes
-2^(b-1)..q_max, kept in FP32 (the model's dtype); its MX scale rounds the block maximum to the
nearest power of two before taking the exponent; its dynamic NVFP4 activations have no global
scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import torch
from compressed_tensors.quantization import (
    QuantizationArgs,
    QuantizationStrategy,
    fake_quantize,
)
from compressed_tensors.quantization.utils import (
    calculate_qparams,
    compute_dynamic_scales_and_zp,
    generate_gparam,
)
from torch import nn

from mpq_core import InputError
from mpq_core.io.phase4.compressed_tensors_export import LABEL, TARGET
from mpq_core.io.phase4.layers import ATTENTION_MATMUL, LayerChoice, expressed, width_format
from mpq_core.model.formats import Format

from .formats_quant import emulation, quantize_weight_as
from .quantize import LayerChange, applied, quantizable_layers, split_allocation

Quantizer = Callable[[torch.Tensor], torch.Tensor]
_GROUPED = (QuantizationStrategy.GROUP, QuantizationStrategy.TENSOR_GROUP)


@dataclass(frozen=True)
class LayerScheme:
    """How compressed-tensors quantizes one layer: the args of its weights and of its input
    (None: float), or, for a format it leaves in float, the 16-bit cast (None: unchanged)."""

    weights: QuantizationArgs | None = None
    input_activations: QuantizationArgs | None = None
    cast: Quantizer | None = None


def layer_scheme(
    name: str, fmt: Format, label: str, kind: str = "Linear", weight_shape: tuple = ()
) -> LayerScheme:
    """The export's scheme of ``fmt`` for layer ``name`` (module type ``kind``, "" for none) as
    QuantizationArgs; a format the export refuses is its InputError, word for word."""
    weightless = kind == ATTENTION_MATMUL
    choice = LayerChoice(name, name, kind, weightless, fmt, label, fmt.name)
    [(_, scheme)] = expressed((choice,), TARGET)
    if scheme is None:
        return LayerScheme(cast=_float_cast(fmt))
    weights = QuantizationArgs.model_validate(scheme["weights"])
    inputs = scheme.get("input_activations")
    _check_groups(name, label, weights, weight_shape)
    return LayerScheme(weights, None if inputs is None else QuantizationArgs.model_validate(inputs))


def _float_cast(fmt: Format) -> Quantizer | None:
    return emulation(fmt).weight if fmt.weight.bits == 16 else None


def _check_groups(name: str, label: str, args: QuantizationArgs, shape: tuple) -> None:
    """compressed-tensors' group quantization needs whole groups along the input dimension."""
    if args.strategy not in _GROUPED or len(shape) < 2:
        return
    columns = math.prod(shape[1:])
    if columns % args.group_size:
        raise InputError(
            LABEL,
            f"{label} cannot be expressed: compressed-tensors quantizes whole groups of "
            f"{args.group_size} (the input size {columns} is not a multiple of it)",
            layer=name,
        )


def fake_quantize_weight(weight: torch.Tensor, args: QuantizationArgs) -> torch.Tensor:
    """A Conv/Linear weight as an (output channels, rest) matrix, min-max calibrated and fake
    quantized by compressed-tensors."""
    flat = weight.detach().reshape(weight.shape[0], -1)
    low, high = _observe(flat, args)
    global_scale = None
    if args.strategy == QuantizationStrategy.TENSOR_GROUP:
        global_scale = generate_gparam(flat.amin(), flat.amax())
    scale, zero_point = calculate_qparams(low, high, args, global_scale=global_scale)
    out = fake_quantize(flat, scale, zero_point, args, global_scale=global_scale)
    return out.reshape(weight.shape).to(weight.dtype)


def _observe(flat: torch.Tensor, args: QuantizationArgs) -> tuple[torch.Tensor, torch.Tensor]:
    """Min and max per tensor, output channel or group: the shapes of the scales."""
    if args.strategy == QuantizationStrategy.TENSOR:
        return flat.amin(), flat.amax()
    if args.strategy == QuantizationStrategy.CHANNEL:
        return flat.amin(dim=1, keepdim=True), flat.amax(dim=1, keepdim=True)
    groups = flat.unflatten(-1, (-1, args.group_size))
    return groups.amin(dim=-1), groups.amax(dim=-1)


def fake_quantize_input(x: torch.Tensor, args: QuantizationArgs) -> torch.Tensor:
    """A layer's input fake quantized with dynamic scales, as ``forward_quantize`` does."""
    scale, zero_point = compute_dynamic_scales_and_zp(value=x, args=args, module=None)
    return fake_quantize(x, scale, zero_point, args)


def _quantized_weight(weight: torch.Tensor, scheme: LayerScheme) -> torch.Tensor:
    if scheme.weights is not None:
        return fake_quantize_weight(weight, scheme.weights)
    if scheme.cast is not None:
        return quantize_weight_as(weight, scheme.cast)
    return weight


@contextmanager
def formatted(
    model: nn.Module, allocation: Mapping[str, Format], source: str = "allocation"
) -> Iterator[None]:
    """Run the block with each named Conv/Linear layer in its format as compressed-tensors
    quantizes it; the float weights come back after."""
    layers = quantizable_layers(model)
    schemes = {}
    for name, fmt in allocation.items():
        if name not in layers:
            raise InputError(source, "no Conv/Linear module of this name", layer=name)
        schemes[name] = _module_scheme(name, layers[name], fmt, f"format {fmt.name!r}")
    with applied(layers, _changes(schemes)):
        yield


@contextmanager
def quantized(
    model: nn.Module, allocation: Mapping[str, int], source: str = "allocation"
) -> Iterator[None]:
    """Run the block with each named layer at its width as the export writes a width
    (symmetric INT per output channel; 16 or more: float)."""
    layers = quantizable_layers(model)
    split_allocation(model, allocation, source)  # unknown names and widths, as rtn
    schemes = {}
    for name, bits in allocation.items():
        fmt, label = width_format(bits), f"width {bits}"
        if name in layers:
            schemes[name] = _module_scheme(name, layers[name], fmt, label)
        else:  # an attention matmul entry: float at 16 bits, else the export's refusal
            layer_scheme(name, fmt, label, ATTENTION_MATMUL)
    with applied(layers, _changes(schemes)):
        yield


def check_format(model: nn.Module, layer: str, fmt: Format) -> None:
    """``layer`` in ``fmt`` can be quantized (nothing runs); else the export's InputError."""
    module = quantizable_layers(model).get(layer)
    if module is None:
        raise InputError("flops file", "no Conv/Linear module of this name", layer=layer)
    _module_scheme(layer, module, fmt, f"format {fmt.name!r}")


def check_width(model: nn.Module, layer: str, width: int) -> None:
    """``layer`` at ``width`` can be quantized (nothing runs); else the export's InputError."""
    module = quantizable_layers(model).get(layer)
    fmt, label = width_format(width), f"width {width}"
    if module is None:
        layer_scheme(layer, fmt, label, ATTENTION_MATMUL)
    else:
        _module_scheme(layer, module, fmt, label)


def _module_scheme(name: str, module: nn.Module, fmt: Format, label: str) -> LayerScheme:
    shape = tuple(module.weight.shape)
    return layer_scheme(name, fmt, label, type(module).__name__, shape)


def _changes(schemes: Mapping[str, LayerScheme]) -> dict[str, LayerChange]:
    """Each layer's weight and input as compressed-tensors quantizes them."""
    return {
        name: (
            partial(_quantized_weight, scheme=scheme),
            None if scheme.input_activations is None else _input_hook(scheme.input_activations),
        )
        for name, scheme in schemes.items()
    }


def _input_hook(args: QuantizationArgs):
    def hook(module: nn.Module, inputs: tuple) -> tuple:
        return (fake_quantize_input(inputs[0], args), *inputs[1:])

    return hook
