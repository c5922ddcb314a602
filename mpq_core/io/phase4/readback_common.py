"""What every Phase 4 reader shares: the float marker, the layers a file is read against, the
naming of a format read from a file, and the errors that name the file, the field and the layer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from ...errors import InputError
from ...model.formats import CATALOG, CHANNEL, GROUP, Format, WeightFormat
from .layers import ATTENTION_MATMUL, FLOAT_WIDTH, CannotExpress

# a module left unquantized, in the model's float dtype (the file does not say which)
FLOAT = Format("float", WeightFormat("float", FLOAT_WIDTH), FLOAT_WIDTH)
Express = Callable[[Format], Any]  # an export target's setting of a format (CannotExpress)


def in_float(fmt: Format) -> bool:
    """Left unquantized: float weights of 16 bits or more, no scales, float activations."""
    w = fmt.weight
    return (
        w.type == "float"
        and w.bits >= FLOAT_WIDTH
        and not (w.scale_bits or w.zero_bits or w.tensor_scale_bits)
        and fmt.activation_bits >= FLOAT_WIDTH
    )


@dataclass(frozen=True)
class ReadContext:
    """The file being read and the layers its module names are resolved against."""

    label: str
    names: tuple[str, ...]  # the problem's layer names
    types: tuple[str, ...]  # their Phase 1 types ("" when not known)
    name_prefix: str = ""  # prepended to a layer name to give its module name
    gguf_arch: str | None = None

    def module(self, i: int) -> str:
        return self.name_prefix + self.names[i]

    def kind(self, i: int) -> str:
        """The layer's type; a layer without one is taken to be a Linear (as the exports do)."""
        return self.types[i] or "Linear"

    def weightless(self, i: int) -> bool:
        """No module of its own (an attention matmul): no file can quantize it."""
        return self.types[i] == ATTENTION_MATMUL

    def fail(self, problem: str, field: str | None = None, layer: str | None = None) -> NoReturn:
        raise InputError(self.label, problem, field=field, layer=layer)


def whole(value: Any, ctx: ReadContext, field: str, layer: str | None, low: int, top: int) -> int:
    """A whole number from ``low`` to ``top``, else an InputError naming the field."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= top:
        ctx.fail(f"must be a whole number from {low} to {top}, not {value!r}", field, layer)
    return value


def mapping(value: Any, ctx: ReadContext, field: str, layer: str | None = None) -> dict:
    if not isinstance(value, dict):
        ctx.fail(f"expected an object, not {type(value).__name__}", field, layer)
    return value


def texts(value: Any, ctx: ReadContext, field: str) -> list[str]:
    """A list of names (a single name is taken as a list of one)."""
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        ctx.fail("expected a list of names", field)
    return value


def regex(pattern: str, ctx: ReadContext, field: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as exc:
        ctx.fail(f"{pattern!r} is not a regular expression ({exc})", field)


def described(fmt: Format) -> str:
    """A name from a format's fields: ``int4_g96``, ``int8_ch_asym``, ``fp4_g16_a4``."""
    w = fmt.weight
    layout = {GROUP: f"_g{w.group_size}", CHANNEL: "_ch"}.get(w.granularity, "")
    kind = "int" if w.type == "int" else "fp"
    asym = "_asym" if w.zero_bits else ""
    act = f"_a{fmt.activation_bits}" if fmt.activation_bits < FLOAT_WIDTH else ""
    return f"{kind}{w.bits}{layout}{asym}{act}"


def express_key(express: Express | None, fmt: Format) -> str | None:
    """The target's setting of ``fmt`` as text (None: the target cannot express it)."""
    if express is None:
        return None
    if in_float(fmt):
        return "float"
    try:
        return json.dumps(express(fmt), sort_keys=True, default=repr)
    except CannotExpress:
        return None


def canonical(fmt: Format, express: Express | None = None) -> Format:
    """The catalog format with the same fields, else (``express`` given: a target that states
    every field mpq keeps but the width of float scales) the catalog format the target writes
    the same way, else ``fmt`` named after its fields."""
    if in_float(fmt):
        return FLOAT
    for known in CATALOG.values():
        if (known.weight, known.activation_bits) == (fmt.weight, fmt.activation_bits):
            return known
    key = express_key(express, fmt)
    if key is not None:
        for known in CATALOG.values():
            if not in_float(known) and express_key(express, known) == key:
                return known
    return replace(fmt, name=described(fmt))
