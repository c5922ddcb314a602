"""Fake quantization: weights per output channel, attention-matmul operands per tensor.

Both are symmetric round-to-nearest on a signed grid without its most negative code. For a width
b, q_max = 2^(b-1) - 1 and, per output channel c of a weight W (dim 0) or per operand tensor x,

    scale = max|W_c| / q_max        (a channel of zeros keeps scale 1 and stays zero)
    W_hat = clamp(round(W / scale), -q_max, q_max) * scale

``round`` is torch's (half to even). Biases, norms and embeddings stay float. A layer is "at
width b" when its weights (Conv/Linear) or the operands of its matmuls (AttentionMatMul: Q, K, V
of scaled dot-product attention, both operands of matmul/bmm; scales taken on each call) are
quantized this way; every other tensor stays float32.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial

import torch
from torch import nn

from mpq_core import InputError

from .profiling import MATMUL_SUFFIX, WEIGHT_TYPES
from .tracing import watch_matmuls

MIN_WIDTH = 2
MAX_WIDTH = 32


def _q_max(bits: int) -> int:
    return 2 ** (bits - 1) - 1


def quantize_weight(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """Symmetric per-output-channel round-to-nearest (dim 0 is the output channel)."""
    q_max = _q_max(bits)
    flat = weight.detach().reshape(weight.shape[0], -1)
    scale = flat.abs().amax(dim=1, keepdim=True) / q_max
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.clamp(torch.round(flat / scale), -q_max, q_max)
    return (q * scale).reshape(weight.shape).to(weight.dtype)


def quantize_tensor(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Symmetric per-tensor round-to-nearest (for matmul operands)."""
    q_max = _q_max(bits)
    top = x.detach().abs().amax()
    scale = top / q_max if top > 0 else torch.ones_like(top)
    return (torch.clamp(torch.round(x / scale), -q_max, q_max) * scale).to(x.dtype)


def check_widths(widths: Mapping[str, int] | list[int], source: str) -> None:
    values = widths.values() if isinstance(widths, Mapping) else widths
    for width in values:
        if isinstance(width, bool) or not isinstance(width, int):
            raise InputError(source, f"width {width!r} is not a whole number", field="widths")
        if not MIN_WIDTH <= width <= MAX_WIDTH:
            raise InputError(
                source,
                f"width {width} is outside {MIN_WIDTH}..{MAX_WIDTH}",
                field="widths",
            )


def quantizable_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Conv/Linear modules by qualified name."""
    return {n: m for n, m in model.named_modules() if isinstance(m, WEIGHT_TYPES)}


def split_allocation(
    model: nn.Module, allocation: Mapping[str, int], source: str = "allocation"
) -> tuple[dict[str, int], dict[str, int]]:
    """Check an allocation against ``model``: (Conv/Linear name -> width, module whose matmul
    operands are quantized -> width). An unknown name or width is an InputError naming
    ``source``."""
    layers = quantizable_layers(model)
    modules = {name for name, _ in model.named_modules()}
    weights: dict[str, int] = {}
    operands: dict[str, int] = {}
    for name, bits in allocation.items():
        check_widths([bits], source)
        if name in layers:
            weights[name] = bits
        elif name.endswith(MATMUL_SUFFIX) and name[: -len(MATMUL_SUFFIX)] in modules:
            operands[name[: -len(MATMUL_SUFFIX)]] = bits
        elif name == MATMUL_SUFFIX[1:]:
            operands[""] = bits
        else:
            raise InputError(
                source, "no Conv/Linear module or attention entry of this name", layer=name
            )
    return weights, operands


# how one layer runs while quantized: its weight through the first function, and its input
# through the forward pre-hook (None: the input as it comes)
LayerChange = tuple[Callable[[torch.Tensor], torch.Tensor], Callable | None]


@contextmanager
def applied(layers: Mapping[str, nn.Module], changes: Mapping[str, LayerChange]) -> Iterator[None]:
    """Run the block with each named layer changed; the float weights come back after (and
    the hooks go), whatever happens."""
    saved, handles = {}, []
    try:
        for name, (weight_of, input_hook) in changes.items():
            module = layers[name]
            saved[name] = module.weight.data
            module.weight.data = weight_of(module.weight.data)
            if input_hook is not None:
                handles.append(module.register_forward_pre_hook(input_hook))
        yield
    finally:
        for handle in handles:
            handle.remove()
        for name, data in saved.items():
            layers[name].weight.data = data


@contextmanager
def quantized(
    model: nn.Module, allocation: Mapping[str, int], source: str = "allocation"
) -> Iterator[None]:
    """Run the block with each named layer at its width; the float weights come back after.

    Names are Conv/Linear module names or ``<module>.matmul`` attention entries (see
    :mod:`mpq_torch.profiling`); any other name is an InputError naming ``source``.
    """
    layers = quantizable_layers(model)
    weights, operands = split_allocation(model, allocation, source)
    changes = {name: (partial(quantize_weight, bits=bits), None) for name, bits in weights.items()}
    with applied(layers, changes):
        if operands:

            def on_operands(module: str, func: str, tensors: tuple) -> tuple:
                bits = operands.get(module)
                if bits is None:
                    return tensors
                return tuple(quantize_tensor(t, bits) for t in tensors)

            with watch_matmuls(model, on_operands=on_operands):
                yield
        else:
            yield
