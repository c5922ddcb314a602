"""llama.cpp (GGUF): a GGML type per weight tensor, for ``llama-quantize --tensor-type-file``,
and a notes file beside it.

``llamacpp_tensor_types_<m>.txt`` holds one ``PATTERN=TYPE`` per line. llama-quantize (tools/
quantize) reads the file as words separated by spaces or newlines, each ``NAME=TYPE`` (a ``#``
comment would be a malformed word, so the notes go to ``llamacpp_notes_<m>.txt``); it lowercases
the name, takes the type by its ``ggml_type_name`` (``q4_0``, ``q8_0``, ``f16``, ``bf16``, any
case), and matches each tensor against the patterns in order with ``std::regex_search``, the
first match winning. Each pattern is therefore one GGUF tensor name anchored and with its dots
escaped (``^blk\\.0\\.attn_q\\.weight$``): it selects that tensor and no other. The listed types
apply only when the base type given to llama-quantize is a quantized one (``Q8_0``, not ``F16``).

Module names (the Phase 1 layer names, with the name prefix, else without it) become GGUF
tensor names through the ``gguf`` package's own name map for an architecture and block count
(``gguf.get_tensor_name_map``; BERT for the bundled MiniLM), plus ``.weight``.

A format becomes the GGML type with the same weight bits, or the nearest one, named in the
notes; a format GGML has no type for is an InputError naming the layer, the format and the
target. Bits per weight (bpw) of each type with its scales, from ``gguf.GGML_QUANT_SIZES``
(block size, bytes per block):

=========  ======  =====  ======  ==================================================================
type       block   bytes  bpw     what a block holds
=========  ======  =====  ======  ==================================================================
q2_k       256     84     2.625   asymmetric INT2: a 4-bit scale and min per 16, fp16 super-scales
q3_k       256     110    3.4375  symmetric INT3: a 6-bit scale per 16, an fp16 super-scale
q4_0       32      18     4.5     symmetric INT4, an fp16 scale
q4_1       32      20     5.0     asymmetric INT4, an fp16 scale and min
q5_0       32      22     5.5     symmetric INT5, an fp16 scale
q5_1       32      24     6.0     asymmetric INT5, an fp16 scale and min
q6_k       256     210    6.5625  symmetric INT6: an 8-bit scale per 16, an fp16 super-scale
q8_0       32      34     8.5     symmetric INT8, an fp16 scale
mxfp4      32      17     4.25    FP4 E2M1, an E8M0 scale
nvfp4      64      36     4.5     FP4 E2M1, an E4M3 scale per 16
f16, bf16  1       2      16      no scales
f32        1       4      32      no scales
=========  ======  =====  ======  ==================================================================

mpq formats (weights only, 16-bit activations) and their types:

- INT4 with an fp16 scale per 32 (``int4_g32``) -> q4_0, exact;
- INT4 per group of 64 or 128 or per channel (``int4_g64``, ``int4_g128``, width 4) -> q4_0,
  near: the same symmetric INT4 and fp16 scales, in finer groups of 32 (4.5 bpw);
- INT8 (``int8``, width 8) -> q8_0, near: an fp16 scale per 32 weights (8.5 bpw);
- INT2, INT3, INT5, INT6 (``int2_g64``, ``int3_g128``, widths) -> q2_k, q3_k, q5_0, q6_k, near
  (q5_0 is exact for an fp16 scale per 32);
- asymmetric INT4 and INT5 (a zero point) -> q4_1, q5_1, exact for an fp16 scale and zero per
  32, near otherwise; other asymmetric widths take the symmetric type, near;
- FP4 with an 8-bit scale per 32 (MXFP4 weights) -> mxfp4, exact;
- FP4 with an 8-bit scale per 16 (NVFP4 weights) -> nvfp4, exact; near with an FP32 tensor
  scale (``nvfp4_w4a16``: GGML's block has none);
- left in float: ``bf16`` -> bf16, floats wider than 16 bits -> f32, other floats -> f16.

Refused: activations below 16 bits (a GGUF file holds weights; llama.cpp quantizes activations
as its kernels need, whatever the file says: ``w8a8``, ``w4a8_g128``, ``fp8``, ``mxfp4``,
``mxfp8``, ``nvfp4``), FP8 and FP6 weights (no GGML type), INT7 and integers outside 2-8 bits.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ...errors import InputError
from ...model.formats import GROUP, Format, WeightFormat
from ...solving.solution import Solution
from .layers import (
    FLOAT_WIDTH,
    CannotExpress,
    LayerChoice,
    Target,
    check_int_bits,
    export_stem,
    expressed,
    layer_choices,
    provenance,
)

LABEL = "llama.cpp (GGUF)"
MODULE_TYPES = ("Linear", "Embedding")  # llama-quantize quantizes 2-D weight tensors
GGUF_VERSION = "0.19.0"  # the gguf package whose name map and types the export was tested with
# a part of a layer name -> gguf's name of the architecture it is written for
_ARCH_MARKERS = (("self_attn.q_proj", "llama"), ("attention.self.query", "bert"))
WEIGHT_SUFFIX = ".weight"


@dataclass(frozen=True)
class GgmlType:
    """A GGML tensor type as llama-quantize names it, and its block layout."""

    name: str
    block: int  # weights per block
    block_bytes: int
    layout: str  # what a block holds

    @property
    def bits(self) -> float:
        """Bits per weight, scales included."""
        return self.block_bytes * 8 / self.block


GGML_TYPES = {
    t.name: t
    for t in (
        GgmlType("q2_k", 256, 84, "asymmetric INT2 in blocks of 256, a 4-bit scale and min per 16"),
        GgmlType("q3_k", 256, 110, "symmetric INT3 in blocks of 256, a 6-bit scale per 16"),
        GgmlType("q4_0", 32, 18, "symmetric INT4, an fp16 scale per 32"),
        GgmlType("q4_1", 32, 20, "asymmetric INT4, an fp16 scale and min per 32"),
        GgmlType("q5_0", 32, 22, "symmetric INT5, an fp16 scale per 32"),
        GgmlType("q5_1", 32, 24, "asymmetric INT5, an fp16 scale and min per 32"),
        GgmlType("q6_k", 256, 210, "symmetric INT6 in blocks of 256, an 8-bit scale per 16"),
        GgmlType("q8_0", 32, 34, "symmetric INT8, an fp16 scale per 32"),
        GgmlType("mxfp4", 32, 17, "FP4 E2M1, an E8M0 scale per 32"),
        GgmlType("nvfp4", 64, 36, "FP4 E2M1, an E4M3 scale per 16"),
        GgmlType("f16", 1, 2, "float16"),
        GgmlType("bf16", 1, 2, "bfloat16"),
        GgmlType("f32", 1, 4, "float32"),
    )
}
_SYMMETRIC = {2: "q2_k", 3: "q3_k", 4: "q4_0", 5: "q5_0", 6: "q6_k", 8: "q8_0"}
_ASYMMETRIC = {4: "q4_1", 5: "q5_1"}


def group_layout(kind: str, bits: int, size: int, scale: int, zero: int = 0) -> WeightFormat:
    """A weight layout with a scale (and a zero point) per group of ``size``."""
    return WeightFormat(kind, bits, size, GROUP, scale_bits=scale, zero_bits=zero)


# the weight format each type stores exactly (k-quants' scales of scales match no mpq format)
GGML_EXACT = {
    "q4_0": group_layout("int", 4, 32, 16),
    "q4_1": group_layout("int", 4, 32, 16, 16),
    "q5_0": group_layout("int", 5, 32, 16),
    "q5_1": group_layout("int", 5, 32, 16, 16),
    "q8_0": group_layout("int", 8, 32, 16),
    "mxfp4": group_layout("float", 4, 32, 8),
    "nvfp4": group_layout("float", 4, 16, 8),
}
# what llama-quantize does with a tensor whose rows are not a multiple of the type's block
_FALLBACK = {"q2_k": "q4_0", "q3_k": "q4_0", "q6_k": "q8_0"}
_FLOAT_TYPES = (
    "GGML's float types are f32, f16 and bf16 (no scales), mxfp4 (FP4 E2M1, an E8M0 scale per "
    "32 weights) and nvfp4 (FP4 E2M1, an E4M3 scale per 16 weights); it has no FP8 or FP6 type"
)


@dataclass(frozen=True)
class TypeChoice:
    """The GGML type of a format and whether it stores the format exactly."""

    type: GgmlType
    exact: bool


def ggml_type(fmt: Format) -> TypeChoice:
    """The GGML type of a quantized format (raising CannotExpress)."""
    w = fmt.weight
    name = _int_type(w) if w.type == "int" else _float_type(w)
    if fmt.activation_bits < FLOAT_WIDTH:
        raise CannotExpress(
            f"{fmt.activation_bits}-bit activations: a GGUF file holds weights only and "
            "llama.cpp quantizes activations as its kernels need, whatever the file says; only a "
            "weight-only format (16-bit activations) has a GGML type"
        )
    return TypeChoice(GGML_TYPES[name], GGML_EXACT.get(name) == w)


def _int_type(w: WeightFormat) -> str:
    check_int_bits(w.bits)
    name = (_ASYMMETRIC if w.zero_bits else {}).get(w.bits) or _SYMMETRIC.get(w.bits)
    if name is None:
        raise CannotExpress(
            f"INT{w.bits} weights: GGML's integer types store 2 (q2_k), 3 (q3_k), 4 (q4_0, "
            "q4_1), 5 (q5_0, q5_1), 6 (q6_k) or 8 bits (q8_0)"
        )
    return name


def _float_type(w: WeightFormat) -> str:
    fp4 = (w.bits, w.granularity, w.scale_bits, w.zero_bits) == (4, GROUP, 8, 0)
    if fp4 and w.group_size == 32 and not w.tensor_scale_bits:
        return "mxfp4"
    if fp4 and w.group_size == 16:
        return "nvfp4"
    raise CannotExpress(f"FP{w.bits} weights: {_FLOAT_TYPES}")


def float_type(fmt: Format) -> GgmlType:
    """The GGML type of a format left in float: bf16 for ``bf16``, f32 above 16 bits, else f16."""
    if fmt.weight.bits > FLOAT_WIDTH:
        return GGML_TYPES["f32"]
    return GGML_TYPES["bf16" if fmt.name == "bf16" else "f16"]


TARGET = Target(LABEL, MODULE_TYPES, ggml_type)


@dataclass(frozen=True)
class TensorType:
    """One line of the tensor-type file: a layer, its GGUF tensor and GGML type."""

    choice: LayerChoice
    tensor: str  # the GGUF tensor name, ``blk.0.attn_q.weight``
    type: GgmlType
    exact: bool

    @property
    def line(self) -> str:
        """``^blk\\.0\\.attn_q\\.weight$=q4_0``: a pattern that selects this tensor only."""
        return f"^{re.escape(self.tensor)}$={self.type.name}"


@dataclass(frozen=True)
class GgufExport:
    """The tensor types of a solution, the layers without a tensor, and where names came from."""

    tensors: tuple[TensorType, ...]
    left_out: tuple[str, ...]  # weightless layers left in float (no tensor of their own)
    arch: str
    n_blocks: int


def gguf_export(
    solution: Solution,
    name_prefix: str = "",
    arch: str | None = None,
    n_blocks: int | None = None,
) -> GgufExport:
    """Each weight tensor's GGML type; ``arch`` is gguf's architecture name (``bert``,
    ``llama``; None: told by the layer names), ``n_blocks`` its block count (default: the
    largest number in a layer name + 1)."""
    choices = layer_choices(solution, name_prefix)
    arch = guess_arch(c.layer for c in choices) if arch is None else arch
    n_blocks = block_count(c.layer for c in choices) if n_blocks is None else n_blocks
    names = _name_map(arch, n_blocks)
    tensors, left_out = [], []
    for choice, chosen in expressed(choices, TARGET):
        if choice.weightless:  # in float (else refused above): no tensor of its own
            left_out.append(choice.module)
            continue
        tensor = _tensor_name(names, choice, arch, n_blocks)
        if chosen is None:
            tensors.append(TensorType(choice, tensor, float_type(choice.format), True))
        else:
            tensors.append(TensorType(choice, tensor, chosen.type, chosen.exact))
    return GgufExport(tuple(tensors), tuple(left_out), arch, n_blocks)


def guess_arch(names: Iterable[str]) -> str:
    """The architecture the layer names are written for: ``llama`` (whose tensor names every
    Llama-style model shares: Mistral, Qwen2...) for ``self_attn.q_proj``, ``bert`` for
    ``attention.self.query``; anything else is an InputError asking for it."""
    for name in names:
        for marker, arch in _ARCH_MARKERS:
            if marker in name:
                return arch
    raise InputError(
        LABEL,
        "cannot tell the GGUF architecture from the layer names (no self_attn.q_proj or "
        "attention.self.query): give it with --gguf_arch (gguf's names: llama, bert, ...)",
    )


def block_count(names) -> int:
    """One more than the largest number among the dotted parts of ``names`` (0 without any)."""
    return 1 + max((int(p) for n in names for p in n.split(".") if p.isdigit()), default=-1)


def _name_map(arch: str, n_blocks: int):
    """gguf's tensor name map (built once per architecture and block count: it lists every
    block's names)."""
    try:
        import gguf
    except ImportError as exc:
        raise InputError(
            LABEL,
            f"GGUF tensor names come from the gguf package's name map: pip install "
            f"gguf=={GGUF_VERSION} ({exc})",
        ) from None
    known = {name: key for key, name in gguf.MODEL_ARCH_NAMES.items()}
    if arch not in known:
        raise InputError(
            LABEL, f"unknown GGUF architecture {arch!r} (gguf's MODEL_ARCH_NAMES: bert, llama, ...)"
        )
    return _built_map(known[arch], n_blocks)


@functools.lru_cache(maxsize=8)
def _built_map(arch, n_blocks: int):
    import gguf

    return gguf.get_tensor_name_map(arch, n_blocks)


def _tensor_name(names, choice: LayerChoice, arch: str, n_blocks: int) -> str:
    for key in dict.fromkeys((choice.module, choice.layer)):
        tensor = names.get_name(key)
        if tensor is not None:
            return tensor + WEIGHT_SUFFIX
    raise InputError(
        LABEL,
        f"no GGUF tensor: gguf's name map of architecture {arch!r} with {n_blocks} blocks has "
        "no entry for this module",
        layer=choice.layer,
    )


def tensor_types_text(export: GgufExport) -> str:
    """The file for ``llama-quantize --tensor-type-file``: one ``PATTERN=TYPE`` per line."""
    return "".join(t.line + "\n" for t in export.tensors)


def notes_text(solution: Solution, export: GgufExport, types_name: str) -> str:
    """The notes beside the tensor-type file: its source, how to use it, the types that are
    not exact, row-length caveats and the layers left in float without a tensor."""
    meta = provenance(solution)
    lines = [
        f"# {types_name}: a GGML type per GGUF tensor for llama-quantize, architecture "
        f"{export.arch!r}, {export.n_blocks} blocks (gguf {GGUF_VERSION}'s tensor name map).",
        f"# Written by {meta['written_by']} from {meta['config']} (solver {meta['solver']})",
        f"# Phase 1 sha256 {meta['flops_sha256']}",
        f"# Phase 2 sha256 {meta['sensitivity_sha256']}",
        "# Use it with a quantized base type (llama-quantize applies the listed types only then):",
        f"#   llama-quantize --tensor-type-file {types_name} model-f16.gguf model-mpq.gguf Q8_0",
        "# Tensors not listed take the base type (with --pure) or llama-quantize's own choice.",
    ]
    return "\n".join(lines + _near_lines(export) + _row_lines(export) + _left_lines(export)) + "\n"


def _near_lines(export: GgufExport) -> list[str]:
    near = {(t.choice.label, t.type.name): t for t in export.tensors if not t.exact}
    if not near:
        return []
    lines = ["# Not exact (the nearest GGML type):"]
    for (label, name), t in near.items():
        fmt = t.choice.format.weight.asymptotic_bits()
        lines.append(
            f"#   {label} -> {name}: {t.type.layout} ({t.type.bits:g} bits per weight, "
            f"mpq's {fmt:g})"
        )
    return lines


def _row_lines(export: GgufExport) -> list[str]:
    used = {t.type.name: t.type for t in export.tensors if t.type.block > 1}
    if not used:
        return []
    lines = [
        "# Row lengths: a tensor's rows must be a multiple of its type's block, or llama-quantize"
    ]
    for name, t in used.items():
        then = f"falls back to {_FALLBACK[name]}" if name in _FALLBACK else "stops"
        lines.append(f"#   {name} (block {t.block}) {then}")
    return lines


def _left_lines(export: GgufExport) -> list[str]:
    if not export.left_out:
        return []
    return ["# Left in float, without a tensor of their own:"] + [
        f"#   {name}" for name in export.left_out
    ]


def gguf_files(
    solution: Solution,
    name_prefix: str = "",
    arch: str | None = None,
    n_blocks: int | None = None,
) -> list[tuple[str, str]]:
    """(file name, text) of the tensor-type file and its notes."""
    stem = export_stem(solution)
    export = gguf_export(solution, name_prefix, arch, n_blocks)
    types_name = f"llamacpp_tensor_types_{stem}.txt"
    return [
        (types_name, tensor_types_text(export)),
        (f"llamacpp_notes_{stem}.txt", notes_text(solution, export, types_name)),
    ]
