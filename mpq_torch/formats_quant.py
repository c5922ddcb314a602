"""Fake quantization of a layer in a quantization format (``mpq_core.model.formats``).

This is an **emulation**, not a kernel: every tensor stays float32 on the CPU and is replaced
by the float32 value its quantized form stands for (quantize, then dequantize), so a format's
rounding error reaches the model's output while the arithmetic is torch's usual float32. It is
deterministic: no random rounding, no state kept between calls.

A format is emulated from its fields (``Format.weight`` and ``Format.activation_bits``), so a
formats file's own entries work when their layout is one of the rules below; any other layout
is an InputError naming the format. Rules for a Conv/Linear weight ``W`` seen as a matrix
(output channels x everything else; for a Linear that is out_features x in_features), with
"groups" or "blocks" of consecutive weights along the input dimension (a last group that is
shorter, when the size does not divide, is quantized on its own). ``round`` is round half to
even throughout, and a scale of 0 gives zeros (a group of zeros, or an NVFP4 block scale below
E4M3's smallest value).

**INT, symmetric** (``type: int``, no zero point; ``int8``, ``w8a8``, ``int4_g128/g64/g32``,
``w4a8_g128``, ``int3_g128``, ``int2_g64``): q_max = 2^(bits-1) - 1 and, per group of
``group_size`` weights (``granularity: group``), per output channel (``channel``) or per tensor,

    scale = max|w| / q_max,   rounded to FP16 when scale_bits is 16 (kept FP32 when 32)
    w_hat = clamp(round(w / scale), -q_max, q_max) * scale

**FP8 per tensor** (``type: float``, 8 bits, one 32-bit scale per tensor; ``fp8``): scale =
max|W| / 448 in FP32; w_hat = float8_e4m3fn(clamp(w / scale, -448, 448)) * scale (torch's cast,
round to nearest even). A float format of 4 or 6 bits with one FP32 scale uses its grid below.

**MX** (``type: float``, a group with an 8-bit scale and no tensor scale; ``mxfp4/6/8``), as the
conversion of the OCP Microscaling Formats (MX) Specification v1.0: per block of ``group_size``
(32) weights, a shared power-of-two scale X = 2^(floor(log2(max|w|)) - e_max) (E8M0, exponent
kept within -127..127), where e_max is the exponent of the element's largest normal number (2
for FP4 E2M1, 4 for FP6 E3M2, 8 for FP8 E4M3); w_hat = grid(w / X) * X.

**NVFP4** (``type: float``, a group with an 8-bit scale and a 32-bit tensor scale; ``nvfp4``,
``nvfp4_w4a16``), NVIDIA's two-level layout: a tensor scale t = max|W| / (6 * 448) in FP32; per
block of 16 weights, a block scale s = E4M3(max|w_block| / (6 * t)) (torch's float8_e4m3fn
cast); w_hat = E2M1(w / (s * t)) * s * t. (6 is E2M1's largest value, 448 E4M3's.)

**16-bit float** (``type: float``, 16 bits, no scale; ``bf16``, ``fp16``): a cast and back, to
bfloat16 when the format's name starts with ``bf``, else to IEEE half.

Element grids (``grid(v)`` above): FP4 E2M1 {0, 0.5, 1, 1.5, 2, 3, 4, 6}, FP6 E3M2 (largest
28, smallest step 0.0625), FP8 E4M3 (largest 448, smallest step 2^-9), subnormals included: v is
rounded to the nearest value of the grid, ties to an even mantissa, and clamped to the largest
(saturation, as the MX specification's conversion does).

**Activations.** When ``activation_bits`` < 16, the layer's input is quantized on every call,
with a scale from that call's own tensor (dynamic; a call is one batch of padded sentences for
``minilm``), "per token" meaning per row along the input dimension (the last dimension of a
Linear's input; a convolution's channel dimension):

- INT weights (``w8a8``, ``w4a8_g128``): INT``activation_bits`` per token, symmetric, scale =
  max|x_token| / q_max in FP32 (not rounded);
- FP8 per tensor (``fp8``): as its weights, scale = max|X| / 448 over the call's whole input;
- MX (``mxfp4/6/8``): as its weights, blocks of 32 along the input dimension, the element grid
  of ``activation_bits`` (FP4 E2M1, FP6 E3M2, FP8 E4M3);
- NVFP4 (``nvfp4``): as its weights, blocks of 16, tensor scale from the call's input.

With ``activation_bits`` 16 the input stays float32: the rounding of a 16-bit activation is not
emulated for any format. Biases, norms and embeddings stay float32.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from mpq_core import InputError
from mpq_core.model.formats import CHANNEL, GROUP, TENSOR, Format

from .profiling import WEIGHT_TYPES
from .quantize import applied

Quantizer = Callable[[torch.Tensor], torch.Tensor]
E4M3_MAX = 448.0
FP16_MAX = 65504.0
E8M0_EXPONENTS = (-127, 127)


@dataclass(frozen=True)
class FloatGrid:
    """A small float element type: sign, ``exponent_bits``, ``mantissa_bits``, its bias and
    largest value (the top code of E4M3 is NaN, so its largest is 448, not 480)."""

    name: str
    exponent_bits: int
    mantissa_bits: int
    largest: float

    @property
    def bias(self) -> int:
        return 2 ** (self.exponent_bits - 1) - 1

    @property
    def min_exponent(self) -> int:
        """Exponent of the smallest normal number (subnormals share its step)."""
        return 1 - self.bias

    @property
    def max_exponent(self) -> int:
        """Exponent of the largest normal number (the MX specification's e_max)."""
        return math.frexp(self.largest)[1] - 1


E2M1 = FloatGrid("FP4 E2M1", 2, 1, 6.0)
E3M2 = FloatGrid("FP6 E3M2", 3, 2, 28.0)
E4M3 = FloatGrid("FP8 E4M3", 4, 3, E4M3_MAX)
FLOAT_GRIDS = {4: E2M1, 6: E3M2, 8: E4M3}


def round_to_grid(x: torch.Tensor, grid: FloatGrid) -> torch.Tensor:
    """``x`` rounded to the nearest value of ``grid`` (ties to even), clamped to its largest."""
    magnitude = x.abs()
    _, exponent = torch.frexp(magnitude)  # magnitude = m * 2^exponent, m in [0.5, 1)
    exponent = torch.clamp(exponent - 1, min=grid.min_exponent)
    step_exponent = exponent - grid.mantissa_bits
    steps = torch.round(torch.ldexp(magnitude, -step_exponent))  # exact: a power of two
    value = torch.clamp(torch.ldexp(steps, step_exponent), max=grid.largest)
    return torch.copysign(value, x)


def to_e4m3(x: torch.Tensor) -> torch.Tensor:
    """Torch's float8_e4m3fn cast (round to nearest even), saturated at +-448, back to float."""
    return torch.clamp(x, -E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn).to(x.dtype)


def _on_grid(x: torch.Tensor, grid: FloatGrid) -> torch.Tensor:
    return to_e4m3(x) if grid is E4M3 else round_to_grid(x, grid)


def _safe(scale: torch.Tensor) -> torch.Tensor:
    """A scale of 0 (only zeros under it) divides by 1 instead: the zeros stay zeros."""
    return torch.where(scale > 0, scale, torch.ones_like(scale))


def _blocks(x: torch.Tensor, size: int | None) -> torch.Tensor:
    """``x`` (rows, n) as (rows, blocks, size), zero-padded; size None: one block per row."""
    rows, n = x.shape
    if size is None:
        return x.reshape(rows, 1, n)
    pad = -n % size
    if pad:
        x = torch.nn.functional.pad(x, (0, pad))
    return x.reshape(rows, -1, size)


def _per_block(x: torch.Tensor, size: int | None, rule: Quantizer) -> torch.Tensor:
    """Apply ``rule`` to each block of ``size`` along the last dimension of ``x``."""
    flat = x.reshape(-1, x.shape[-1])
    out = rule(_blocks(flat, size)).reshape(flat.shape[0], -1)[:, : flat.shape[1]]
    return out.reshape(x.shape)


def quantize_int(
    x: torch.Tensor, bits: int, block: int | None, scale_bits: int = 32
) -> torch.Tensor:
    """Symmetric INT per block of ``block`` along the last dimension (None: per row)."""
    q_max = 2 ** (bits - 1) - 1

    def rule(b: torch.Tensor) -> torch.Tensor:
        scale = b.abs().amax(dim=-1, keepdim=True) / q_max
        if scale_bits == 16:
            scale = torch.clamp(scale, max=FP16_MAX).to(torch.float16).to(b.dtype)
        scale = _safe(scale)
        return torch.clamp(torch.round(b / scale), -q_max, q_max) * scale

    return _per_block(x, block, rule)


def quantize_int_tensor(x: torch.Tensor, bits: int, scale_bits: int = 32) -> torch.Tensor:
    """Symmetric INT with one scale for the whole tensor."""
    return quantize_int(x.reshape(1, -1), bits, None, scale_bits).reshape(x.shape)


def quantize_float_tensor(x: torch.Tensor, grid: FloatGrid = E4M3) -> torch.Tensor:
    """One FP32 scale max|x| / largest for the whole tensor, elements on ``grid``."""
    scale = _safe(x.abs().amax() / grid.largest)
    return _on_grid(torch.clamp(x / scale, -grid.largest, grid.largest), grid) * scale


def quantize_mx(x: torch.Tensor, grid: FloatGrid, block: int = 32) -> torch.Tensor:
    """OCP MX: per block a power-of-two scale 2^(floor(log2 max|x|) - e_max), elements on
    ``grid``."""

    def rule(b: torch.Tensor) -> torch.Tensor:
        top = b.abs().amax(dim=-1, keepdim=True)
        _, exponent = torch.frexp(top)  # floor(log2 top) = exponent - 1 for top > 0
        shared = torch.clamp(exponent - 1 - grid.max_exponent, *E8M0_EXPONENTS)
        out = torch.ldexp(_on_grid(torch.ldexp(b, -shared), grid), shared)
        return torch.where(top > 0, out, torch.zeros_like(out))

    return _per_block(x, block, rule)


def quantize_nv(x: torch.Tensor, grid: FloatGrid = E2M1, block: int = 16) -> torch.Tensor:
    """NVFP4: FP32 tensor scale max|x| / (largest * 448), E4M3 block scales, ``grid``
    elements."""
    tensor_scale = x.abs().amax() / (grid.largest * E4M3_MAX)
    if tensor_scale <= 0:
        return torch.zeros_like(x)

    def rule(b: torch.Tensor) -> torch.Tensor:
        block_scale = to_e4m3(b.abs().amax(dim=-1, keepdim=True) / (grid.largest * tensor_scale))
        scale = block_scale * tensor_scale
        out = _on_grid(b / _safe(scale), grid) * scale
        return torch.where(scale > 0, out, torch.zeros_like(out))

    return _per_block(x, block, rule)


@dataclass(frozen=True)
class Emulation:
    """How one format quantizes a layer: its weight matrix, and its input (None: float32)."""

    format: Format
    weight: Quantizer
    activation: Quantizer | None


def emulation(fmt: Format, source: str = "--formats") -> Emulation:
    """The rules of the module docstring for ``fmt``; an InputError for any other layout."""
    weight = _weight_rule(fmt)
    if weight is None:
        raise InputError(
            source,
            f"format {fmt.name!r} has no emulation for its weight layout {fmt.weight.to_dict()} "
            "(emulated: symmetric INT per group/channel/tensor with FP16 or FP32 scales, FP8 "
            "per tensor, MX, NVFP4, 16-bit float)",
        )
    activation = None
    if fmt.activation_bits < 16:
        activation = _activation_rule(fmt)
        if activation is None:
            raise InputError(
                source,
                f"format {fmt.name!r} has no emulation for {fmt.activation_bits}-bit activations "
                "with its weight layout",
            )
    return Emulation(fmt, weight, activation)


def _weight_rule(fmt: Format) -> Quantizer | None:
    w = fmt.weight
    if w.type == "int":
        return _int_rule(w.bits, w.granularity, w.group_size, w.scale_bits, w.zero_bits)
    if w.bits == 16 and w.scale_bits == 0 and w.granularity == TENSOR:
        dtype = torch.bfloat16 if fmt.name.lower().startswith("bf") else torch.float16
        return lambda x: x.to(dtype).to(x.dtype)
    return _float_rule(w, FLOAT_GRIDS.get(w.bits))


def _int_rule(
    bits: int, granularity: str, group: int | None, scale_bits: int, zero_bits: int
) -> Quantizer | None:
    if zero_bits or scale_bits not in (16, 32) or not 2 <= bits <= 16:
        return None
    if granularity == TENSOR:
        return lambda x: quantize_int_tensor(x, bits, scale_bits)
    size = group if granularity == GROUP else None
    return lambda x: quantize_int(x, bits, size, scale_bits)


def _float_rule(w, grid: FloatGrid | None) -> Quantizer | None:
    if grid is None:
        return None
    if w.granularity == TENSOR and w.scale_bits == 32:
        return lambda x: quantize_float_tensor(x, grid)
    if w.granularity == GROUP and w.scale_bits == 8 and w.tensor_scale_bits == 0:
        return lambda x: quantize_mx(x, grid, w.group_size)
    if w.granularity == GROUP and w.scale_bits == 8 and w.tensor_scale_bits == 32:
        return lambda x: quantize_nv(x, grid, w.group_size)
    return None


def _activation_rule(fmt: Format) -> Quantizer | None:
    w, bits = fmt.weight, fmt.activation_bits
    if w.type == "int":
        return _int_rule(bits, CHANNEL, None, 32, 0) if bits >= 2 else None
    if w.bits == 16:
        return None
    return _float_rule(w, FLOAT_GRIDS.get(bits))


def quantize_weight_as(weight: torch.Tensor, rule: Quantizer) -> torch.Tensor:
    """A Conv/Linear weight through a weight rule, as an (output channels, rest) matrix."""
    flat = weight.detach().reshape(weight.shape[0], -1)
    return rule(flat).reshape(weight.shape).to(weight.dtype)


def quantize_input_as(x: torch.Tensor, rule: Quantizer, conv: bool) -> torch.Tensor:
    """A layer's input through an activation rule, along the input dimension (a
    convolution's channel dimension is moved last and back)."""
    if conv:
        return rule(x.movedim(1, -1)).movedim(-1, 1).contiguous()
    return rule(x)


@contextmanager
def formatted(
    model: nn.Module, allocation: Mapping[str, Format], source: str = "allocation"
) -> Iterator[None]:
    """Run the block with each named Conv/Linear layer in its format; the float weights come
    back after. Another name is an InputError naming ``source``."""
    layers = {n: m for n, m in model.named_modules() if isinstance(m, WEIGHT_TYPES)}
    rules = {}
    for name, fmt in allocation.items():
        if name not in layers:
            raise InputError(source, "no Conv/Linear module of this name", layer=name)
        rules[name] = emulation(fmt, source)
    changes = {
        name: (
            partial(quantize_weight_as, rule=rule.weight),
            None if rule.activation is None else _input_hook(rule.activation),
        )
        for name, rule in rules.items()
    }
    with applied(layers, changes):
        yield


def _input_hook(rule: Quantizer):
    def hook(module: nn.Module, args: tuple) -> tuple:
        conv = not isinstance(module, nn.Linear)
        return (quantize_input_as(args[0], rule, conv), *args[1:])

    return hook
