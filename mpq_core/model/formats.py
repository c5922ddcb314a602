"""Quantization formats: what an option of a layer is when it is more than a weight width.

A format has a weight part and an activation part. Its true cost in bits per weight counts the
scales (and zero points) the format stores beside the weights. For a layer with ``P`` weights
and ``C`` output channels, the weight memory in bits is

    W = P x bits + n_scales x (scale_bits + zero_bits) + tensor_scale_bits

with ``n_scales`` = ``P / group_size`` (a scale per group of weights), ``C`` (a scale per output
channel) or 1 (one scale per tensor); its effective bits per weight are ``W / P``:

    bits + (scale_bits + zero_bits) / group_size + tensor_scale_bits / P.

``P / group_size`` is taken as written (not rounded up to whole groups): the layers of the
networks mpq targets have sizes divisible by the group sizes of the catalog. The activation
part is a width (16 for weight-only formats); a format's BOPs are MACs x weight bits x
activation bits, as for a width. The catalog below gives the common formats; a formats file
adds one's own (``parse_formats``). Every catalog value and its source is in docs/formats.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:  # numpy loads on first use: the command line's --help stays fast
    import numpy as np

WEIGHT_TYPES = ("int", "float")
TENSOR, CHANNEL, GROUP = "tensor", "channel", "group"
MAX_BITS = 32
MAX_SCALE_BITS = 64
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")


@dataclass(frozen=True)
class WeightFormat:
    """How the weights are stored: element type and bits, and the scales beside them."""

    type: str  # "int" or "float"
    bits: int
    group_size: int | None = None  # weights per scale (GROUP granularity)
    granularity: str = TENSOR  # TENSOR, CHANNEL or GROUP
    scale_bits: int = 0  # bits of each scale (0: no scale, as bf16)
    zero_bits: int = 0  # bits of each zero point (asymmetric int)
    tensor_scale_bits: int = 0  # a second-level scale per tensor (NVFP4's FP32)

    @property
    def per_scale_bits(self) -> int:
        return self.scale_bits + self.zero_bits

    def asymptotic_bits(self) -> float:
        """Effective bits per weight of a very large tensor (per-tensor terms vanish)."""
        if self.granularity == GROUP and self.group_size:
            return self.bits + self.per_scale_bits / self.group_size
        return float(self.bits)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "bits": self.bits}
        if self.granularity == GROUP:
            out["group_size"] = self.group_size
        elif self.granularity == CHANNEL:
            out["group_size"] = CHANNEL
        if self.scale_bits:
            out["scale_bits"] = self.scale_bits
        if self.zero_bits:
            out["zero_bits"] = self.zero_bits
        if self.tensor_scale_bits:
            out["tensor_scale_bits"] = self.tensor_scale_bits
        return out


@dataclass(frozen=True)
class Format:
    """One quantization format: a name, a weight part and the activation width."""

    name: str
    weight: WeightFormat
    activation_bits: int = 16

    @property
    def bits(self) -> int:
        """The nominal weight bits (what ``wbit`` and BOPs use)."""
        return self.weight.bits

    @property
    def needs_channels(self) -> bool:
        return self.weight.granularity == CHANNEL and self.weight.per_scale_bits > 0

    @property
    def order_key(self) -> tuple[float, int, str]:
        """Options are ordered cheapest first: by effective bits of a large tensor, then by
        activation bits, then by name (the last one is the top the ``x`` form refers to)."""
        return (self.weight.asymptotic_bits(), self.activation_bits, self.name)

    def weight_bits(self, params: np.ndarray, channels: np.ndarray) -> np.ndarray:
        """(n,) weight memory in bits, scales included, of layers with ``params`` weights and
        ``channels`` output channels (NaN where a needed count is unknown)."""
        import numpy as np

        w = self.weight
        with np.errstate(invalid="ignore"):
            total = params * w.bits + w.tensor_scale_bits
            if w.per_scale_bits:
                total = total + _scales(w, params, channels) * w.per_scale_bits
        return total

    def to_dict(self) -> dict[str, Any]:
        return {"weight": self.weight.to_dict(), "activation_bits": self.activation_bits}


def _scales(w: WeightFormat, params: np.ndarray, channels: np.ndarray) -> np.ndarray:
    if w.granularity == GROUP:
        return params / w.group_size
    if w.granularity == CHANNEL:
        return channels
    return params * 0 + 1


def effective_bits(fmt: Format, params: float, channels: float = math.nan) -> float:
    """Bits per weight of one layer at ``fmt``, scales included (the formula above)."""
    import numpy as np

    p = np.array([float(params)])
    return float(fmt.weight_bits(p, np.array([float(channels)]))[0] / p[0])


def _int(bits: int, group: int | None, scale: int = 16) -> WeightFormat:
    if group is None:
        return WeightFormat("int", bits, None, CHANNEL, scale_bits=scale)
    return WeightFormat("int", bits, group, GROUP, scale_bits=scale)


def _fp(bits: int, group: int, scale: int, tensor: int = 0) -> WeightFormat:
    return WeightFormat("float", bits, group, GROUP, scale_bits=scale, tensor_scale_bits=tensor)


_PLAIN16 = WeightFormat("float", 16)
# name -> format; sources in docs/formats.md ("Formats")
CATALOG: dict[str, Format] = {
    f.name: f
    for f in (
        Format("bf16", _PLAIN16, 16),
        Format("fp16", _PLAIN16, 16),
        Format("fp8", WeightFormat("float", 8, None, TENSOR, scale_bits=32), 8),
        Format("int8", _int(8, None), 16),
        Format("w8a8", _int(8, None), 8),
        Format("int4_g128", _int(4, 128), 16),
        Format("int4_g64", _int(4, 64), 16),
        Format("int4_g32", _int(4, 32), 16),
        Format("w4a8_g128", _int(4, 128), 8),
        Format("int3_g128", _int(3, 128), 16),
        Format("int2_g64", _int(2, 64), 16),
        Format("mxfp4", _fp(4, 32, 8), 4),
        Format("mxfp6", _fp(6, 32, 8), 6),
        Format("mxfp8", _fp(8, 32, 8), 8),
        Format("nvfp4", _fp(4, 16, 8, tensor=32), 4),
        Format("nvfp4_w4a16", _fp(4, 16, 8, tensor=32), 16),
    )
}


def catalog_formats(names: Iterable[str] | str, source: str = "--formats") -> tuple[Format, ...]:
    """The catalog's formats of ``names`` (comma-separated text or a list), in option order."""
    return pick(names, CATALOG, source)


def pick(
    names: Iterable[str] | str, known: Mapping[str, Format], source: str
) -> tuple[Format, ...]:
    """The formats of ``names`` among ``known`` (the catalog and a file's), in option order."""
    return order(_lookup(_names(names, source), known, source), source)


def order(formats: Iterable[Format], source: str = "formats") -> tuple[Format, ...]:
    """Formats as the options of a problem: cheapest first, each name once."""
    out = tuple(sorted(formats, key=lambda f: f.order_key))
    if len(out) < 2:
        raise InputError(source, "choose at least two formats (one option leaves no choice)")
    if len({f.name for f in out}) != len(out):
        raise InputError(source, "a format name is given twice")
    return out


def _names(names: Iterable[str] | str, source: str) -> list[str]:
    raw = names.split(",") if isinstance(names, str) else list(names)
    out = [str(n).strip() for n in raw if str(n).strip()]
    seen = set()
    for name in out:
        if name in seen:
            raise InputError(source, f"format {name!r} is named twice")
        seen.add(name)
    return out


def _lookup(names: list[str], known: Mapping[str, Format], source: str) -> list[Format]:
    missing = [n for n in names if n not in known]
    if missing:
        raise InputError(
            source,
            f"unknown format {missing[0]!r} (known: {', '.join(known)}; "
            "others come from a formats file)",
        )
    return [known[n] for n in names]


def parse_formats(data: Any, source: str) -> dict[str, Format]:
    """A formats file (``{"formats": {NAME: {"weight": {...}, "activation_bits": 16}}}``) ->
    its formats by name, each checked; a catalog name may be redefined by the file."""
    if not isinstance(data, dict) or not isinstance(data.get("formats"), dict):
        raise InputError(source, "expected an object with a 'formats' object", field="formats")
    out = {}
    for name, raw in data["formats"].items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise InputError(
                source,
                f"format name {str(name)[:40]!r} must be 1-40 letters, digits, '_', '.' or '-'",
                field="formats",
            )
        out[name] = _format(name, raw, source)
    if not out:
        raise InputError(source, "no formats", field="formats")
    return out


def formats_from_dicts(data: Any, source: str) -> tuple[Format, ...]:
    """``Format.to_dict`` values by name (a spec's, a config's) back into formats."""
    return tuple(parse_formats({"formats": data}, source).values())


def _format(name: str, raw: Any, source: str) -> Format:
    where = f"formats.{name}"
    if not isinstance(raw, dict) or not isinstance(raw.get("weight"), dict):
        raise InputError(source, "expected an object with a 'weight' object", field=where)
    unknown = set(raw) - {"weight", "activation_bits", "description"}
    if unknown:
        raise InputError(source, f"unknown key {sorted(unknown)[0]!r}", field=where)
    act = _bits(raw.get("activation_bits", 16), source, f"{where}.activation_bits", low=1)
    return Format(name, _weight(raw["weight"], source, f"{where}.weight"), act)


_WEIGHT_KEYS = {"type", "bits", "group_size", "scale_bits", "zero_bits", "tensor_scale_bits"}


def _weight(raw: dict, source: str, where: str) -> WeightFormat:
    unknown = set(raw) - _WEIGHT_KEYS
    if unknown:
        raise InputError(source, f"unknown key {sorted(unknown)[0]!r}", field=where)
    kind = raw.get("type")
    if kind not in WEIGHT_TYPES:
        raise InputError(
            source, f"must be one of {', '.join(WEIGHT_TYPES)}, not {kind!r}", field=f"{where}.type"
        )
    bits = _bits(raw.get("bits"), source, f"{where}.bits", low=1)
    scale = _bits(raw.get("scale_bits", 0), source, f"{where}.scale_bits", top=MAX_SCALE_BITS)
    zero = _bits(raw.get("zero_bits", 0), source, f"{where}.zero_bits", top=MAX_SCALE_BITS)
    tensor = _bits(
        raw.get("tensor_scale_bits", 0), source, f"{where}.tensor_scale_bits", top=MAX_SCALE_BITS
    )
    group = raw.get("group_size")
    if group is None:
        return WeightFormat(kind, bits, None, TENSOR, scale, zero, tensor)
    if group == CHANNEL:
        return WeightFormat(kind, bits, None, CHANNEL, scale, zero, tensor)
    if isinstance(group, bool) or not isinstance(group, int) or group < 1:
        raise InputError(
            source,
            f"must be a whole number of weights per scale or 'channel', not {group!r}",
            field=f"{where}.group_size",
        )
    return WeightFormat(kind, bits, group, GROUP, scale, zero, tensor)


def _bits(value: Any, source: str, where: str, *, low: int = 0, top: int = MAX_BITS) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= top:
        raise InputError(source, f"must be a whole number from {low} to {top}, not {value!r}",
                         field=where)  # fmt: skip
    return value


def parse_search_spaces(data: Any, source: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``{"search_spaces": {PATTERN: [FORMAT, ...]}}`` (or the inner mapping) -> (pattern,
    formats) pairs in file order; a layer takes the formats of the first pattern it matches."""
    raw = data.get("search_spaces", data) if isinstance(data, dict) else data
    if not isinstance(raw, dict) or not raw:
        raise InputError(source, "expected a mapping of layer pattern to formats",
                         field="search_spaces")  # fmt: skip
    out = []
    for pattern, names in raw.items():
        where = f"search_spaces.{pattern}"
        if not isinstance(pattern, str) or not pattern:
            raise InputError(source, "a pattern must be non-empty text", field="search_spaces")
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise InputError(source, "must be a list of format names", field=where)
        out.append((pattern, tuple(names)))
    return tuple(out)
