"""MLX (mlx-lm): the ``quantization`` block of an mlx-lm ``config.json``, with an entry per
module, in a JSON file that also names its source.

mlx-lm's loader (``mlx_lm.utils.load_model``) hands the block to ``mlx.nn.quantize``: its
``group_size``, ``bits`` and ``mode`` are the defaults, and its class predicate returns the
block's entry for a module path found in it, a dict of ``to_quantized`` arguments
(``{"group_size": 64, "bits": 4, "mode": "affine"}``) or ``false`` (left in float); a module not
in the block is quantized with the defaults only when the weights hold its ``scales``. Every
module is listed, so the defaults (the most common entry) matter only for modules mpq did not
see.

mlx 0.32.4's modes: ``affine`` (INT of 1-6 or 8 bits per group of 32, 64 or 128, a scale and a
bias per group in the model's dtype), ``mxfp4`` (FP4 E2M1, an E8M0 scale per 32), ``nvfp4``
(FP4 E2M1, an E4M3 scale per 16, no tensor scale) and ``mxfp8`` (FP8 E4M3, an E8M0 scale per
32). Inputs are quantized only in ``nvfp4`` and ``mxfp8`` (``quantize_input``: ``QQLinear``,
for Linear layers without bias; mlx 0.32.4 has no CPU kernel for it).

- symmetric or asymmetric INT2-INT6 and INT8 weights per group of 32, 64 or 128 -> ``affine``
  with that group, near: mlx's grid is asymmetric (min-max, a bias per group) where mpq's
  symmetric formats have a scale only;
- INT weights per output channel or per tensor (``int8``, plain widths) -> ``affine`` in
  groups of 128, mlx's largest, near;
- MXFP4 / MXFP8 / NVFP4 weights -> ``mxfp4`` / ``mxfp8`` / ``nvfp4``, exact; NVFP4 with an FP32
  tensor scale (``nvfp4_w4a16``) near (mlx's nvfp4 has none);
- NVFP4 weights with FP4 inputs (``nvfp4``), MXFP8 weights with FP8 inputs (``mxfp8``) -> the
  mode with ``"quantize_input": true``;
- refused: INT7, groups other than 32/64/128, FP8 per tensor or channel (``fp8``), FP6
  (``mxfp6``), two levels of integer scales, and quantized inputs anywhere else (``w8a8``,
  ``w4a8_g128``, ``mxfp4``'s FP4 inputs).

The table is in docs/formats.md ("Phase 4 exports").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ...errors import InputError
from ...model.formats import GROUP, Format, WeightFormat
from ...solving.solution import Solution
from .layers import (
    FLOAT_WIDTH,
    CannotExpress,
    LayerChoice,
    Target,
    check_int_bits,
    expressed,
    layer_choices,
    provenance,
)

LABEL = "MLX (mlx-lm)"
MODULE_TYPES = ("Linear", "Embedding")  # what nn.quantize quantizes (to_quantized)
MLX_VERSION, MLX_LM_VERSION = "0.32.4", "0.32.2"  # the versions the export was tested with
SCHEMA_VERSION = 1
AFFINE_BITS = (2, 3, 4, 5, 6, 8)  # mlx's affine bits within mpq's exported 2-8
AFFINE_GROUPS = (32, 64, 128)
ROW_GROUP = 128  # a scale per output channel or tensor becomes mlx's largest group
MLX_DEFAULT = {"group_size": 64, "bits": 4, "mode": "affine"}  # nn.quantize's own defaults
_FLOAT_MODES = {  # (bits, group size) of float weights with 8-bit scales -> mode
    (4, 32): "mxfp4",
    (4, 16): "nvfp4",
    (8, 32): "mxfp8",
}
_INPUT_MODES = {"nvfp4": 4, "mxfp8": 8}  # modes that quantize inputs, and the input bits
_GRID = "mlx's affine grid is asymmetric (min-max: a scale and a bias per group)"
_ZERO = "mlx's offset per group is a float bias (the model's dtype), not an integer zero point"


@dataclass(frozen=True)
class MlxQuantization:
    """A module's ``to_quantized`` arguments, and why they are not exact (None: exact)."""

    group_size: int
    bits: int
    mode: str
    quantize_input: bool = False
    near: str | None = None

    def entry(self) -> dict[str, Any]:
        """The block's entry: the arguments of ``to_quantized``."""
        out: dict[str, Any] = {"group_size": self.group_size, "bits": self.bits, "mode": self.mode}
        return out | ({"quantize_input": True} if self.quantize_input else {})


def mlx_quantization(fmt: Format) -> MlxQuantization:
    """The mlx quantization of a format (raising CannotExpress)."""
    w = fmt.weight
    weights = _affine(w) if w.type == "int" else _float_mode(w)
    if fmt.activation_bits >= FLOAT_WIDTH:
        return weights
    if _INPUT_MODES.get(weights.mode) != fmt.activation_bits:
        raise CannotExpress(
            f"{fmt.activation_bits}-bit activations: mlx quantizes inputs only in its nvfp4 "
            "(FP4 inputs) and mxfp8 (FP8 inputs) modes (QQLinear), with weights of the same mode"
        )
    return MlxQuantization(weights.group_size, w.bits, weights.mode, True, weights.near)


def _affine(w: WeightFormat) -> MlxQuantization:
    check_int_bits(w.bits)
    if w.bits not in AFFINE_BITS:
        raise CannotExpress(f"INT{w.bits} weights: mlx's affine mode stores 1-6 or 8 bits")
    if w.tensor_scale_bits:
        raise CannotExpress("mlx's affine mode has one level of scales (and biases) per group")
    grid = _ZERO if w.zero_bits else _GRID
    if w.granularity != GROUP:
        why = f"one scale per {w.granularity} becomes groups of {ROW_GROUP} (mlx's largest)"
        return MlxQuantization(ROW_GROUP, w.bits, "affine", near=f"{why}; {grid}")
    if w.group_size not in AFFINE_GROUPS:
        raise CannotExpress(
            f"groups of {w.group_size}: mlx's affine groups are 32, 64 or 128 weights"
        )
    return MlxQuantization(w.group_size, w.bits, "affine", near=grid)


def _float_mode(w: WeightFormat) -> MlxQuantization:
    mode = _FLOAT_MODES.get((w.bits, w.group_size)) if w.granularity == GROUP else None
    if (
        mode is None
        or w.scale_bits != 8
        or w.zero_bits
        or (w.tensor_scale_bits and mode != "nvfp4")
    ):
        raise CannotExpress(
            f"FP{w.bits} weights: mlx's float modes are mxfp4 (FP4 E2M1, an E8M0 scale per 32 "
            "weights), nvfp4 (FP4 E2M1, an E4M3 scale per 16) and mxfp8 (FP8 E4M3, an E8M0 "
            "scale per 32)"
        )
    near = "mlx's nvfp4 has no FP32 tensor scale" if w.tensor_scale_bits else None
    return MlxQuantization(w.group_size, w.bits, mode, near=near)


TARGET = Target(LABEL, MODULE_TYPES, mlx_quantization)


def mlx_export(solution: Solution, name_prefix: str = "") -> dict[str, Any]:
    """The JSON document: its source, the approximations, and the ``quantization`` block
    (module path -> ``to_quantized`` arguments, ``false`` for a module left in float)."""
    entries: dict[str, Any] = {}
    near: dict[str, str] = {}
    left_out = []
    for choice, chosen in expressed(layer_choices(solution, name_prefix), TARGET):
        if choice.weightless:  # in float (else refused above): no module to name
            left_out.append(choice.module)
        elif chosen is None:
            entries[choice.module] = False
        else:
            _check_inputs(choice, chosen)
            entries[choice.module] = chosen.entry()
            if chosen.near:
                near[choice.group] = f"{_described(chosen)}: {chosen.near}"
    return {
        "schema_version": SCHEMA_VERSION,
        "library": f"mlx {MLX_VERSION}, mlx-lm {MLX_LM_VERSION}",
        **provenance(solution),
        "left_in_float_without_module": left_out,
        "near": near,
        "quantization": default_quantization(entries) | entries,
    }


def _check_inputs(choice: LayerChoice, chosen: MlxQuantization) -> None:
    if chosen.quantize_input and choice.kind not in ("", "Linear"):
        raise InputError(
            LABEL,
            f"{choice.label} cannot be expressed: mlx quantizes the inputs of Linear layers "
            f"(QQLinear), not of {choice.kind}",
            layer=choice.layer,
        )


def _described(q: MlxQuantization) -> str:
    return f"{q.mode}, {q.bits} bits, groups of {q.group_size}"


def default_quantization(entries: dict[str, Any]) -> dict[str, Any]:
    """The block's defaults: the most common entry (without ``quantize_input``, which the
    loader does not pass on), else mlx's own defaults."""
    counts = Counter(
        (e["group_size"], e["bits"], e["mode"]) for e in entries.values() if isinstance(e, dict)
    )
    if not counts:
        return dict(MLX_DEFAULT)
    group_size, bits, mode = counts.most_common(1)[0][0]
    return {"group_size": group_size, "bits": bits, "mode": mode}
