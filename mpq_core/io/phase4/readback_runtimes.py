"""Reading llama.cpp's tensor-type file, an MLX ``quantization`` block and ModelOpt's
``hf_quant_config`` / ``quant_cfg`` back into formats.

- GGUF: each layer's GGUF tensor name comes from the ``gguf`` package's name map (as the export
  names it); the first ``PATTERN=TYPE`` whose regex is found in that name gives its type, as
  llama-quantize matches them. A type is read as the layout its block stores: exact for q4_0,
  q4_1, q5_0, q5_1, q8_0, mxfp4, nvfp4 and the floats; the k-quants (q2_k, q3_k, q4_k, q5_k,
  q6_k) as their scales per 16 or 32 weights, without the fp16 scale per 256 (a note says so).
  A layer no pattern selects takes llama-quantize's base type, which the file does not state.
- MLX: a module's entry, else the block's defaults; ``affine`` is INT with a scale and a bias
  per group (read as a 16-bit scale and zero point), ``mxfp4``/``nvfp4``/``mxfp8`` are FP4/FP8
  with 8-bit scales (MLX's nvfp4 has no tensor scale), ``quantize_input`` quantizes inputs to
  the weights' element type.
- ModelOpt: ``quant_algo`` per layer (``MIXED_PRECISION``) or for every Linear (one algorithm),
  ``exclude_modules`` as fnmatch patterns; the ``quant_cfg`` list (or dict) form applied in order
  to ``<module>.weight_quantizer`` and ``<module>.input_quantizer``, the last match winning.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from ...errors import InputError
from ...model.formats import CATALOG, CHANNEL, GROUP, TENSOR, Format, WeightFormat
from .gguf_export import GGML_EXACT, WEIGHT_SUFFIX, block_count, group_layout, guess_arch
from .gguf_export import LABEL as GGUF_LABEL
from .modelopt_export import MIXED, modelopt_layer
from .readback_common import FLOAT, ReadContext, canonical, mapping, regex, texts, whole

# GGML type -> the weight layout its block stores (k-quants: without the scale per 256)
GGML_LAYOUTS = {
    **GGML_EXACT,
    "q2_k": group_layout("int", 2, 16, 4, 4),
    "q3_k": group_layout("int", 3, 16, 6),
    "q4_k": group_layout("int", 4, 32, 6, 6),
    "q5_k": group_layout("int", 5, 32, 6, 6),
    "q6_k": group_layout("int", 6, 16, 8),
}
_SUPER = {"q2_k": 32, "q3_k": 16, "q4_k": 32, "q5_k": 32, "q6_k": 16}  # bits per 256 left out
GGML_FLOATS = {
    "bf16": CATALOG["bf16"],
    "f16": CATALOG["fp16"],
    "f32": Format("float32", WeightFormat("float", 32), 16),
}


def is_tensor_types(text: str) -> bool:
    words = text.split()
    return bool(words) and "=" in words[0]


def read_gguf(text: str, ctx: ReadContext) -> tuple[dict[str, Format], list[str]]:
    """Each layer's format under a ``--tensor-type-file``."""
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        for word in line.split():
            pattern, _, kind = word.partition("=")
            if not pattern or not kind:
                ctx.fail(f"{word!r} is not PATTERN=TYPE", f"line {number}")
            rules.append((regex(pattern.lower(), ctx, f"line {number}"), kind.lower(), number))
    tensors = _tensor_names(ctx)
    out: dict[str, Format] = {}
    notes: list[str] = []
    for i, name in enumerate(ctx.names):
        if ctx.weightless(i):
            out[name] = FLOAT
            continue
        rule = next((r for r in rules if r[0].search(tensors[i])), None)
        if rule is None:
            notes.append(f"{name}: no pattern selects {tensors[i]} (it takes llama-quantize's "
                         "base type, which the file does not state)")  # fmt: skip
            continue
        out[name] = _ggml_format(rule[1], ctx, f"line {rule[2]}", name)
        if rule[1] in _SUPER:
            notes.append(f"{rule[1]} is read as its scales per {GGML_LAYOUTS[rule[1]].group_size} "
                         f"weights; its fp16 scales per 256 ({_SUPER[rule[1]] / 256:g} bits per "
                         "weight) are left out")  # fmt: skip
    return out, notes


def _ggml_format(kind: str, ctx: ReadContext, field: str, layer: str) -> Format:
    if kind in GGML_FLOATS:
        return GGML_FLOATS[kind]
    if kind not in GGML_LAYOUTS:
        known = ", ".join([*GGML_LAYOUTS, *GGML_FLOATS])
        ctx.fail(f"GGML type {kind!r} has no mpq format (mpq reads {known})", field, layer)
    return canonical(Format("", GGML_LAYOUTS[kind], 16))


def _tensor_names(ctx: ReadContext) -> list[str]:
    """Each layer's GGUF weight tensor name, from gguf's name map ("" for weightless layers)."""
    try:
        import gguf
    except ImportError as exc:
        ctx.fail(f"GGUF tensor names come from the gguf package's name map: pip install gguf "
                 f"({exc})")  # fmt: skip
    try:
        arch = ctx.gguf_arch or guess_arch(ctx.names)
    except InputError as exc:
        ctx.fail(exc.problem.replace("--gguf_arch", "gguf_arch"))
    known = {name: key for key, name in gguf.MODEL_ARCH_NAMES.items()}
    if arch not in known:
        ctx.fail(f"unknown GGUF architecture {arch!r} (gguf's MODEL_ARCH_NAMES)", "gguf_arch")
    names = gguf.get_tensor_name_map(known[arch], block_count(ctx.names))
    out = []
    for i, layer in enumerate(ctx.names):
        found = None if ctx.weightless(i) else names.get_name(ctx.module(i))
        found = found or (None if ctx.weightless(i) else names.get_name(layer))
        if found is None and not ctx.weightless(i):
            ctx.fail(f"no GGUF tensor in gguf's {arch!r} name map ({GGUF_LABEL})", layer=layer)
        out.append(f"{found}{WEIGHT_SUFFIX}" if found else "")
    return out


# --- MLX -------------------------------------------------------------------------------------

_MLX_FLOAT = {"mxfp4": (4, 32, 8), "nvfp4": (4, 16, 8), "mxfp8": (8, 32, 8)}
_MLX_DEFAULTS = {"group_size": 64, "bits": 4, "mode": "affine"}


def read_mlx(data: dict, ctx: ReadContext) -> tuple[dict[str, Format], list[str]]:
    """Each layer's format under an MLX ``quantization`` block."""
    key = "quantization" if "quantization" in data else "quantization_config"
    block = mapping(data[key], ctx, key)
    defaults = {k: block[k] for k in _MLX_DEFAULTS if k in block}
    out: dict[str, Format] = {}
    notes = ["mlx's affine mode stores a scale and a bias per group (read as a 16-bit scale and "
             "zero point)"]  # fmt: skip
    for i, name in enumerate(ctx.names):
        module = ctx.module(i)
        entry = False if ctx.weightless(i) else block.get(module, defaults)
        if module not in block and entry is not False:
            notes.append(f"{module} is not in the block: read with its defaults {defaults}")
        out[name] = FLOAT if entry is False else mlx_format(entry, ctx, f"{key}.{module}", name)
    return out, notes


def mlx_format(entry: Any, ctx: ReadContext, where: str, layer: str) -> Format:
    """The format of one module's ``to_quantized`` arguments."""
    entry = _MLX_DEFAULTS | mapping(entry, ctx, where, layer)
    mode = entry["mode"]
    size = whole(entry["group_size"], ctx, f"{where}.group_size", layer, 1, 1 << 30)
    bits = whole(entry["bits"], ctx, f"{where}.bits", layer, 1, 8)
    if mode == "affine":
        if entry.get("quantize_input"):
            ctx.fail("mlx quantizes inputs in nvfp4 and mxfp8 only", f"{where}.quantize_input",
                     layer)  # fmt: skip
        return canonical(Format("", group_layout("int", bits, size, 16, 16), 16))
    if mode not in _MLX_FLOAT:
        ctx.fail(f"mode {mode!r}: mpq reads affine, mxfp4, nvfp4 and mxfp8", f"{where}.mode", layer)
    bits, size, scale = _MLX_FLOAT[mode]
    act = bits if entry.get("quantize_input") else 16
    return canonical(Format("", group_layout("float", bits, size, scale), act))


# --- ModelOpt --------------------------------------------------------------------------------


def _w(kind: str, bits: int, group: int | None, granularity: str, scale: int, tensor: int = 0):
    return WeightFormat(kind, bits, group, granularity, scale, 0, tensor)


_ALGOS = {  # quant_algo -> (weights, activation bits); W4A16_AWQ's group comes from the entry
    "W8A16": (_w("int", 8, None, CHANNEL, 16), 16),
    "W4A16_AWQ": (_w("int", 4, 128, GROUP, 16), 16),
    "FP8": (_w("float", 8, None, TENSOR, 32), 8),
    "MXFP8": (_w("float", 8, 32, GROUP, 8), 8),
    "NVFP4": (_w("float", 4, 16, GROUP, 8, 32), 4),
    "W4A16_NVFP4": (_w("float", 4, 16, GROUP, 8, 32), 16),
    "W8A8_SQ_PER_CHANNEL": (_w("int", 8, None, CHANNEL, 16), 8),
    "W4A8_AWQ": (_w("int", 4, 128, GROUP, 16), 8),
}
_STATIC_NOTE = (
    "{algo}: activations are read as {bits}-bit activations (TensorRT-LLM's layout of them, "
    "{how}, is not part of an mpq format)"
)
_HOW = {"W8A8_SQ_PER_CHANNEL": "INT8 with one static scale", "W4A8_AWQ": "FP8"}


def is_hf_quant_config(data: dict) -> bool:
    return isinstance(data.get("quantization"), dict) and "quant_algo" in data["quantization"]


def read_hf_quant_config(data: dict, ctx: ReadContext) -> tuple[dict[str, Format], list[str]]:
    """Each layer's format under an ``hf_quant_config.json``."""
    q = data["quantization"]
    algo = q.get("quant_algo")
    excluded = texts(q.get("exclude_modules") or [], ctx, "quantization.exclude_modules")
    layers = q.get("quantized_layers") if algo == MIXED else None
    if algo == MIXED:
        layers = mapping(layers, ctx, "quantization.quantized_layers")
    out: dict[str, Format] = {}
    notes: list[str] = []
    for i, name in enumerate(ctx.names):
        module = ctx.module(i)
        skip = ctx.weightless(i) or any(fnmatch.fnmatchcase(module, p) for p in excluded)
        entry, where = (layers.get(module), f"quantization.quantized_layers.{module}") if (
            layers is not None) else (q if algo and ctx.kind(i) == "Linear" else None,
                                      "quantization")  # fmt: skip
        if skip or entry is None:
            out[name] = FLOAT
            continue
        out[name] = _algo_format(mapping(entry, ctx, where, name), ctx, where, name, notes)
    return out, list(dict.fromkeys(notes))


def _algo_format(entry: dict, ctx: ReadContext, where: str, layer: str, notes) -> Format:
    algo = entry.get("quant_algo")
    if algo not in _ALGOS:
        ctx.fail(f"quant_algo {algo!r} is not one mpq reads (known: {', '.join(_ALGOS)})",
                 f"{where}.quant_algo", layer)  # fmt: skip
    weight, act = _ALGOS[algo]
    if algo.startswith("W4A") and "AWQ" in algo and "group_size" in entry:
        size = whole(entry["group_size"], ctx, f"{where}.group_size", layer, 1, 1 << 30)
        weight = _w("int", 4, size, GROUP, 16)
    if algo in _HOW:
        notes.append(_STATIC_NOTE.format(algo=algo, bits=act, how=_HOW[algo]))
    return canonical(Format("", weight, act), _modelopt_key)


def _modelopt_key(fmt: Format) -> dict:
    return modelopt_layer(fmt).hf


def is_quant_cfg(data: dict) -> bool:
    inner = data.get("quantize_config")
    return "quant_cfg" in data or (isinstance(inner, dict) and "quant_cfg" in inner)


def read_quant_cfg(data: dict, ctx: ReadContext) -> tuple[dict[str, Format], list[str]]:
    """Each layer's format under an ``mtq.quantize`` config (list or dict form)."""
    where = "quantize_config.quant_cfg" if "quantize_config" in data else "quant_cfg"
    config = data.get("quantize_config", data)
    rules = _quantizer_rules(mapping(config, ctx, where.split(".")[0])["quant_cfg"], ctx, where)
    out: dict[str, Format] = {}
    for i, name in enumerate(ctx.names):
        module = ctx.module(i)
        weight = None if ctx.weightless(i) else _quantizer(rules, f"{module}.weight_quantizer")
        if weight is None:
            out[name] = FLOAT
            continue
        inputs = _quantizer(rules, f"{module}.input_quantizer")
        w = _quantizer_weight(weight, ctx, where, name)
        act = 16 if inputs is None else _element_bits(inputs.get("num_bits"), ctx, where, name)
        out[name] = canonical(Format("", w, act), _modelopt_key)
    return out, ["ModelOpt's integer scales are read as 16-bit scales"]


def _quantizer_rules(raw: Any, ctx: ReadContext, where: str) -> list[tuple[str, bool, dict]]:
    """(pattern, enabled, attributes) in order, from the list or the dict form."""
    if isinstance(raw, dict):
        raw = [{"quantizer_name": "*" if k == "default" else k, "cfg": v} for k, v in raw.items()]
    if not isinstance(raw, list):
        ctx.fail("expected a list of quantizer entries", where)
    rules = []
    for k, entry in enumerate(raw):
        entry = mapping(entry, ctx, f"{where}[{k}]")
        name = entry.get("quantizer_name")
        if not isinstance(name, str):
            ctx.fail("needs a quantizer_name", f"{where}[{k}]")
        cfg = entry.get("cfg") or {}
        cfg = cfg[-1] if isinstance(cfg, list) and cfg else cfg  # a list: sequential quantizers
        attributes = dict(mapping(cfg, ctx, f"{where}[{k}].cfg"))
        enabled = entry.get("enable", attributes.pop("enable", True)) is not False
        rules.append((name, enabled, attributes))
    return rules


def _quantizer(rules: list, name: str) -> dict | None:
    """The attributes of the last entry matching ``name``, None when it leaves it off."""
    found = None
    for pattern, enabled, attributes in rules:
        if fnmatch.fnmatchcase(name, pattern):
            found = attributes if enabled else None
    return found


def _element_bits(value: Any, ctx: ReadContext, where: str, layer: str) -> int:
    if isinstance(value, list | tuple) and len(value) == 2:
        return 1 + whole(value[0], ctx, where, layer, 0, 8) + whole(value[1], ctx, where, layer,
                                                                    0, 23)  # fmt: skip
    return whole(value if value is not None else 8, ctx, f"{where}.num_bits", layer, 1, 16)


def _quantizer_weight(cfg: dict, ctx: ReadContext, where: str, layer: str) -> WeightFormat:
    bits = _element_bits(cfg.get("num_bits"), ctx, where, layer)
    kind = "float" if isinstance(cfg.get("num_bits"), list | tuple) else "int"
    blocks = cfg.get("block_sizes")
    if isinstance(blocks, dict):
        size = whole(blocks.get("-1", blocks.get(-1)), ctx, f"{where}.block_sizes", layer, 1,
                     1 << 30)  # fmt: skip
        scale = blocks.get("scale_bits")
        if kind == "int" or scale is None:
            return _w(kind, bits, size, GROUP, 16)
        if list(scale) not in ([4, 3], [8, 0]):
            ctx.fail(f"scale_bits {scale!r}: mpq reads E4M3 (NVFP4) and E8M0 (MX) block scales",
                     f"{where}.block_sizes.scale_bits", layer)  # fmt: skip
        tensor = 32 if list(scale) == [4, 3] else 0  # NVFP4: FP8 scales under an FP32 one
        return _w(kind, bits, size, GROUP, 8, tensor)
    granularity = CHANNEL if cfg.get("axis") in (0, -2) else TENSOR
    return _w(kind, bits, None, granularity, 32 if kind == "float" else 16)
