"""Reading a Phase 4 file back: which layer the file gives which format, as mpq formats.

A file is recognised by its content, whatever its name: a compressed-tensors
``QuantizationConfig`` (``config_groups``; also inside a ``config.json``'s
``quantization_config``) or an llm-compressor recipe (a ``...Modifier`` with ``config_groups``
or a ``scheme``), torchao's ``fqn_to_config``, llama-quantize's ``PATTERN=TYPE`` words, an MLX
``quantization`` block, ModelOpt's ``hf_quant_config`` (``quantization.quant_algo``) and
``quant_cfg``, and auto-round's ``layer_config``: the files mpq writes, and the same schemas as
the libraries write them (regex targets, ignore lists, defaults). Module names are resolved
against the problem's layer names (with the export's name prefix); how each library resolves
them is in its reader (``readback_ct``, ``readback_libs``, ``readback_runtimes``).

Each layer gets the format its setting stores: a catalog format when the fields are the same
(or, for the targets that do not state the width of float scales, when the export writes that
catalog format the same way), else a format built from the fields and named after them
(``int4_g96``). ``FLOAT`` marks a module left in float. What cannot be an mpq format (FP6 E2M3,
2-D blocks, an unknown type) and broken input are an InputError naming the file, the field and
the layer. GGUF and MLX store their own layouts: a format read from them is that layout (q4_0 is
INT4 with an fp16 scale per 32), not the format the export started from; ``notes`` say what is
approximate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...model.formats import Format
from ..reading import InputFile, decode, read_bytes
from .readback_common import FLOAT, ReadContext, in_float

__all__ = ["FLOAT", "ReadAllocation", "in_float", "read_phase4"]


@dataclass(frozen=True)
class ReadAllocation:
    """A Phase 4 file read back: the target it was recognised as, the file's label, each
    layer's format (``FLOAT``: left in float; a layer the file does not determine is absent)
    and notes on what is approximate."""

    target: str
    source: str
    formats: Mapping[str, Format]
    notes: tuple[str, ...] = ()


Reader = Callable[[Any, ReadContext], tuple[dict[str, Format], list[str]]]


def read_phase4(
    source: str | Path | InputFile,
    names: tuple[str, ...],
    *,
    types: tuple[str, ...] = (),
    name_prefix: str = "",
    gguf_arch: str | None = None,
) -> ReadAllocation:
    """Read a Phase 4 file against the layers ``names`` (their Phase 1 ``types``: "" or none
    given is a Linear; an ``AttentionMatMul`` has no module and stays in float)."""
    label, content = read_bytes(source)
    names = tuple(names)
    types = tuple(types) or ("",) * len(names)
    if len(types) != len(names):
        raise ValueError("one type per layer name")
    ctx = ReadContext(label, names, types, name_prefix, gguf_arch)
    data = _decoded(content, label)
    target, reader = _recognised(data, label)
    formats, notes = reader(data, ctx)
    return ReadAllocation(target, label, formats, tuple(dict.fromkeys(notes)))


def _decoded(content: bytes, label: str) -> Any:
    """JSON or YAML data, or the text of a tensor-type file."""
    from .readback_runtimes import is_tensor_types

    if label.lower().endswith((".yaml", ".yml")):
        return decode(content, label)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(label, f"not a text file ({exc.reason})") from None
    if text.lstrip().startswith(("{", "[")):
        return decode(content, label)
    if is_tensor_types(text):
        return text
    raise InputError(
        label,
        "not a file mpq reads back: expected JSON, YAML (.yaml, .yml) or llama-quantize's "
        "PATTERN=TYPE words",
    )


def _recognised(data: Any, label: str) -> tuple[str, Reader]:
    """(target, reader) of decoded content."""
    from . import readback_ct as ct
    from . import readback_libs as libs
    from . import readback_runtimes as rt

    if isinstance(data, str):
        return "gguf", rt.read_gguf
    if not isinstance(data, dict):
        raise InputError(label, "expected an object (a mapping) at the top level")
    if "bit_allocation" in data:
        raise InputError(label, "an mpq config, not a library's file: read it with load_config")
    torchao_keys = ("fqn_to_config", "module_fqn_to_config", "_type")
    autoround = _has(data, "layer_config") or libs.is_layer_config(data)
    checks: list[tuple[bool, str, Reader]] = [
        (ct.is_recipe(data) or _has_groups(data), "compressed_tensors", ct.read_compressed_tensors),
        (_has(data, *torchao_keys), "torchao", libs.read_torchao),
        (rt.is_hf_quant_config(data), "modelopt", rt.read_hf_quant_config),
        (rt.is_quant_cfg(data), "modelopt", rt.read_quant_cfg),
        (_has(data, "quantization"), "mlx", rt.read_mlx),
        (autoround, "autoround", libs.read_autoround),
    ]
    for found, target, reader in checks:
        if found:
            return target, reader
    raise InputError(
        label,
        "not a Phase 4 file mpq knows: expected config_groups (compressed-tensors), an "
        "llm-compressor recipe, fqn_to_config (torchao), quantization (MLX, ModelOpt), "
        "quant_cfg (ModelOpt), layer_config (auto-round) or PATTERN=TYPE lines (llama.cpp)",
    )


def _has(data: dict, *keys: str) -> bool:
    return any(key in data for key in keys)


def _has_groups(data: dict) -> bool:
    inner = [data, data.get("quantization_config"), data.get("compression_config")]
    return any(isinstance(d, dict) and "config_groups" in d for d in inner)
