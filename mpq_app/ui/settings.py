"""The settings the user chose: one frozen ``Spec`` in ``st.session_state["spec"]`` and the one
function that writes it.

Every change goes through :func:`set_spec` (or :func:`update`, its ``dataclasses.replace``
form): the widgets' callbacks, a link on the first run, a bundled sample, the Constraints
section, the budget slider and its exact box. Widgets do not own these values: each is set
from the spec just before it is drawn (:func:`show` for the widgets of one field, ``ui.budget``
for the slider and the exact box, ``ui.pins`` for the pin boxes) and its callback proposes a
change (:func:`from_widget`). What the pages use is the spec checked against the loaded data
(``ui.sidebar``: a ladder the data cannot fill falls back, pins of other layers are left out).

The budget is the first limit when that is ``bops <= m x`` over every layer
(``Limit.is_budget``); its value is kept to ``MULTIPLIER_DECIMALS`` decimals. Nothing here
imports another ``ui`` module but ``ui.text`` (no import circle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import streamlit as st

from mpq_core import DEFAULT_WIDTHS, Constraints, InputError, Limit, Spec
from mpq_core.model.formats import CATALOG, pick
from mpq_core.model.spec import DEFAULT_MULTIPLIER

from .text import MULTIPLIER_DECIMALS

SPEC = "spec"
DEFAULT_SPEC = Spec(
    ladder=tuple(DEFAULT_WIDTHS),
    constraints=Constraints(limits=(Limit.budget(DEFAULT_MULTIPLIER),)),
)
_REFUSED = "_settings_refused"  # why the last widget change was not used (plain text)
OWN_FORMATS = "_own_formats"  # the uploaded formats file's formats by name (ui.options)
FORMATS_UPLOAD = "upload_formats"  # the formats file's uploader (the Constraints section)


def current() -> Spec:
    """The settings chosen (the defaults until something is set)."""
    return st.session_state.get(SPEC, DEFAULT_SPEC)


def set_spec(spec: Spec) -> None:
    """The one writer of the settings."""
    st.session_state[SPEC] = spec


def update(**changes: object) -> None:
    """Change some fields of the settings (``dataclasses.replace``; raises InputError for a
    value the Spec refuses, leaving the settings as they were)."""
    set_spec(replace(current(), **changes))


# --- the budget ----------------------------------------------------------------------------


def budget_of(spec: Spec) -> float | None:
    """The budget's multiplier when the first limit is the budget, else None."""
    limits = spec.limits
    return limits[0].multiplier if limits[0].is_budget else None


def multiplier(spec: Spec | None = None) -> float:
    """The budget in use (the default when the first limit is not the budget)."""
    value = budget_of(current() if spec is None else spec)
    return DEFAULT_MULTIPLIER if value is None else value


def at_budget(spec: Spec, value: float) -> Spec:
    """``spec`` with the budget at ``value`` (6 decimals); unchanged when its first limit is
    not the budget."""
    limits = spec.limits
    if not limits[0].is_budget:
        return spec
    return spec.with_limits((budget_limit(value), *limits[1:]))


def budget_limit(value: float) -> Limit:
    """``bops <= m x`` with m kept to 6 decimals (the budget as the app keeps it)."""
    return Limit.budget(round(float(value), MULTIPLIER_DECIMALS))


# --- widgets that show one field -------------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    """A widget that shows one field of the spec: its value from the spec, and the change
    its value proposes."""

    shown: Callable[[Spec], object]
    changes: Callable[[object], dict[str, object]]


def _ladder_changes(value: object) -> dict[str, object]:
    widths = tuple(sorted(int(w) for w in value or ()))  # type: ignore[union-attr]
    return {"ladder": widths or None, "formats": None, "search_spaces": ()}  # none: the data's


def _formats_changes(value: object) -> dict[str, object]:
    """The formats named, from the catalog and the uploaded formats file (none chosen: every
    format the data gives a loss for)."""
    names = [str(name) for name in value or ()]  # type: ignore[union-attr]
    known = CATALOG | (st.session_state.get(OWN_FORMATS) or {})
    formats = pick(names, known, "formats") if names else None
    return {"formats": formats, "ladder": None} | ({} if names else {"search_spaces": ()})


BINDINGS: dict[str, Binding] = {  # widget key -> the field it shows
    "solver": Binding(lambda spec: spec.solver, lambda v: {"solver": v}),
    "abit_rule": Binding(lambda spec: spec.abit_rule, lambda v: {"abit_rule": v}),
    "discount": Binding(
        lambda spec: spec.upgrade_discount,
        lambda v: {"upgrade_discount": round(float(v), 4)},  # type: ignore[arg-type]
    ),
    "sense": Binding(
        lambda spec: spec.sense or "file", lambda v: {"sense": None if v == "file" else v}
    ),
    "ladder": Binding(lambda spec: list(spec.ladder or ()), _ladder_changes),
    "formats": Binding(lambda spec: [f.name for f in spec.formats or ()], _formats_changes),
    "tie_fused_box": Binding(lambda spec: spec.tie_fused, lambda v: {"tie_fused": bool(v)}),
}


def show(key: str) -> None:
    """Set widget ``key`` from the spec (call it just before the widget is drawn)."""
    st.session_state[key] = BINDINGS[key].shown(current())


def bind(key: str) -> dict[str, object]:
    """The keyword arguments of the widget ``key`` that shows one field: its key, set from
    the spec now, and the callback that writes the spec."""
    show(key)
    return {"key": key, "on_change": from_widget, "args": (key,)}


def changed(spec: Spec, key: str, value: object) -> Spec:
    """``spec`` with what widget ``key`` showing ``value`` proposes."""
    return replace(spec, **BINDINGS[key].changes(value))


def from_widget(key: str) -> None:
    """Callback of widget ``key``: its value becomes the field's; a value the Spec refuses
    leaves the settings as they were and says why once."""
    try:
        set_spec(changed(current(), key, st.session_state[key]))
    except InputError as err:
        st.session_state[_REFUSED] = f"Not used: {err}."


def refused() -> list[str]:
    """Why the last widget change was not used (plain text, shown once)."""
    note = st.session_state.pop(_REFUSED, None)
    return [] if note is None else [note]
