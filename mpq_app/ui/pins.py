"""Pins as the app shows them: one box of layer names per width (``pin_<width>``), over the
settings' ``Spec.pins`` (a layer listed under several widths may take any of them).

The boxes are set from the spec just before they are drawn (:func:`show`) and their callbacks
write it back through ``ui.settings`` (:func:`from_box`), as do the Layers page's buttons
(:func:`pin_layers`, :func:`unpin_layers`), a bundled sample and a link. Pins to widths that
are not in the ladder in use stay in the spec and come back with those widths.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import streamlit as st

from mpq_core import Pin, Spec

from . import settings

PREFIX = "pin_"


def pin_key(width: int) -> str:
    return f"{PREFIX}{width}"


def width_of_key(key: str) -> int | None:
    """The width of a pin box's key (``pin_16`` -> 16), else None."""
    digits = key[len(PREFIX) :]
    return int(digits) if key.startswith(PREFIX) and digits.isdigit() else None


def pinned_to(pins: Sequence[Pin], width: int) -> list[str]:
    """The layers pinned to ``width`` (among others, perhaps), in the spec's order."""
    return [pin.layer for pin in pins if width in pin.widths]


def with_width(pins: Sequence[Pin], width: int, names: Iterable[str]) -> tuple[Pin, ...]:
    """``pins`` with exactly ``names`` listed under ``width`` (their other widths kept; new
    layers added at the end, in the order given)."""
    chosen = list(dict.fromkeys(names))
    listed = set(chosen)
    out = []
    for pin in pins:
        widths = {w for w in pin.widths if w != width} | ({width} if pin.layer in listed else set())
        if widths:
            out.append(Pin(pin.layer, tuple(sorted(widths))))
    known = {pin.layer for pin in pins}
    return (*out, *(Pin(name, (width,)) for name in chosen if name not in known))


def in_use(spec: Spec, names: Sequence[str], ladder: Sequence[int]) -> tuple[Pin, ...]:
    """The pins that apply to these layers and this ladder, in the layers' order."""
    order = {name: i for i, name in enumerate(names)}
    out = []
    for pin in spec.pins:
        widths = tuple(w for w in pin.widths if w in ladder)
        if pin.layer in order and widths:
            out.append(Pin(pin.layer, widths))
    return tuple(sorted(out, key=lambda pin: order[pin.layer]))


def show(names: Sequence[str], ladder: Sequence[int]) -> list[str]:
    """Set the box of every width of the ladder from the spec (call it just before they are
    drawn); pins of layers not in these files are dropped from those widths. Returns the
    names dropped."""
    known = set(names)
    pins = settings.current().pins
    dropped: list[str] = []
    for width in ladder:
        listed = pinned_to(pins, width)
        dropped += [name for name in listed if name not in known]
        pins = with_width(pins, width, [name for name in listed if name in known])
    if pins != settings.current().pins:
        settings.update(pins=pins)
    for width in ladder:
        st.session_state[pin_key(width)] = pinned_to(pins, width)
    return dropped


def from_box(width: int) -> None:
    """Callback of the box of ``width``: its layers are the ones pinned to that width."""
    names = st.session_state.get(pin_key(width), [])
    settings.update(pins=with_width(settings.current().pins, width, names))


def set_pins(pins: Iterable[Pin]) -> None:
    """Replace every pin with ``pins``."""
    settings.update(pins=tuple(pins))


def pin_layers(names: Iterable[str], width: int) -> None:
    """Pin ``names`` to ``width`` alone (removing them from every other width's list)."""
    chosen = list(dict.fromkeys(names))
    picked = set(chosen)
    kept = [pin for pin in settings.current().pins if pin.layer not in picked]
    set_pins([*kept, *(Pin(name, (width,)) for name in chosen)])


def unpin_layers(names: Iterable[str] | None) -> None:
    """Unpin ``names`` (every layer when None), whatever width they are pinned to."""
    if names is None:
        set_pins(())
        return
    chosen = set(names)
    set_pins(pin for pin in settings.current().pins if pin.layer not in chosen)
