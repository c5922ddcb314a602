"""The Constraints section: limits (a table, and one slider each), groups, ties and their file.

The limits in use are rows in ``st.session_state[ROWS]`` (resource, scope, form, value). The
first row, when it is the BOPs budget over every layer as a multiple of the all-top-width cost
(the original budget), takes its value from the budget slider (``state.current_multiplier``);
every other row has a slider on the Budget explorer. The table edits the rows; a slider edits
one value and re-keys the table so that it shows the new value. Every change is checked
against the loaded problem (``resolve_limits``): a setup that cannot be resolved is reported
with ``st.error`` and the last good one stays in force. Callbacks only set state.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from mpq_core import (
    Constraints,
    Group,
    InputError,
    Limit,
    Problem,
    limit_value,
    parse_constraints,
    resolve_limits,
)
from mpq_core.display import bits_size, gbops
from mpq_core.reading import decode

from . import state
from .text import plain, shorten

ROWS = "limit_rows"
GROUP_ROWS = "group_rows"
TIES = "tie_rows"
GOOD = "_constraints_good"  # the last rows, groups and ties that resolved
VERSION = "_constraints_version"
ALL = "all layers"
FORMS = {"x": "× all-top-width", "r": "cheapest→dearest", "abs": "absolute"}
FORM_OF = {label: key for key, label in FORMS.items()}
MAX_ROWS = 8  # limits shown at once (a link or a file may not ask for more)
TIE_PICK = "tie_pick"


@dataclass(frozen=True)
class Row:
    resource: str
    scope: str  # ALL or a group name
    form: str  # "x", "r" or "abs"
    value: float

    def limit(self) -> Limit:
        suffix = "" if self.form == "abs" else self.form
        group = None if self.scope == ALL else self.scope
        value = limit_value(float(self.value), "limits", "value")
        return Limit(self.resource, value + suffix, group)

    @property
    def is_budget(self) -> bool:
        return self.resource == "bops" and self.scope == ALL and self.form == "x"


DEFAULT_ROWS = (Row("bops", ALL, "x", 0.5),)


def seed() -> None:
    st.session_state.setdefault(ROWS, list(DEFAULT_ROWS))
    st.session_state.setdefault(GROUP_ROWS, [])
    st.session_state.setdefault(TIES, [])
    st.session_state.setdefault(VERSION, 0)


def rows() -> list[Row]:
    return list(st.session_state.get(ROWS, DEFAULT_ROWS))


def row_of(limit: Limit) -> Row:
    form = limit.form
    return Row(limit.resource, limit.group or ALL, form, limit.multiplier)


def current_limits() -> tuple[Limit, ...]:
    """The limits in use; the budget row's value is the budget slider's."""
    out = []
    for i, row in enumerate(rows()):
        if i == 0 and row.is_budget:
            row = Row(row.resource, row.scope, row.form, state.current_multiplier())
        out.append(row.limit())
    return tuple(out)


def current_constraints() -> Constraints:
    groups = tuple(
        Group(g["name"], tuple(g["patterns"])) for g in st.session_state.get(GROUP_ROWS, [])
    )
    ties = tuple(tuple(t) for t in st.session_state.get(TIES, []))
    return Constraints(groups=groups, ties=ties, limits=current_limits())


def apply_constraints(constraints: Constraints) -> None:
    """Set the rows, groups and ties from a constraints file or a link (callback-safe)."""
    limits = constraints.limits or tuple(r.limit() for r in DEFAULT_ROWS)
    st.session_state[ROWS] = [row_of(limit) for limit in limits[:MAX_ROWS]]
    st.session_state[GROUP_ROWS] = [
        {"name": g.name, "patterns": list(g.patterns)} for g in constraints.groups
    ]
    st.session_state[TIES] = [list(t) for t in constraints.ties]
    if limits and row_of(limits[0]).is_budget:
        state.set_multiplier(limits[0].multiplier)
    _bump()


def _bump() -> None:
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1


def remember_good() -> None:
    st.session_state[GOOD] = (
        list(rows()),
        list(st.session_state.get(GROUP_ROWS, [])),
        list(st.session_state.get(TIES, [])),
    )


def restore_good() -> None:
    good = st.session_state.get(GOOD)
    if good is None:
        st.session_state[ROWS] = list(DEFAULT_ROWS)
        st.session_state[GROUP_ROWS] = []
        st.session_state[TIES] = []
    else:
        st.session_state[ROWS], st.session_state[GROUP_ROWS], st.session_state[TIES] = (
            list(good[0]),
            list(good[1]),
            list(good[2]),
        )
    _bump()


# --- the sidebar section ---------------------------------------------------------------------


def constraints_section(names: tuple[str, ...], resources: tuple[str, ...]) -> list[str]:
    """Limits table, groups, ties and the constraints file; returns the errors to show (plain)
    when an edit could not be used (the last good setup then stays)."""
    errors: list[str] = []
    with st.expander("Constraints", icon=":material/rule:", expanded=len(rows()) > 1):
        st.caption(
            "Limits the allocation must meet. The first row is the BOPs budget of the slider; "
            "add rows for mean weight bits, weight memory or a resource of an uploaded file."
        )
        errors += _limits_table(resources)
        errors += _groups_editor(names)
        _ties_editor(names)
        errors += _constraints_file()
        st.file_uploader(
            "Resources file (JSON)",
            type=["json"],
            key="upload_resources",
            help="Per-layer, per-width values a limit can cap, e.g. a latency table: "
            '{"resources": {"latency_ms": {"conv1": {"4": 0.21, "8": 0.36}, ...}}}',
        )
    return errors


def _limits_table(resources: tuple[str, ...]) -> list[str]:
    groups = [g["name"] for g in st.session_state.get(GROUP_ROWS, [])]
    shown = []
    for i, row in enumerate(rows()):
        value = state.current_multiplier() if i == 0 and row.is_budget else row.value
        shown.append(
            {"resource": row.resource, "scope": row.scope, "form": FORMS[row.form], "value": value}
        )
    frame = pd.DataFrame(shown, columns=["resource", "scope", "form", "value"])
    edited = st.data_editor(
        frame,
        key=f"limits_editor_{st.session_state.get(VERSION, 0)}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "resource": st.column_config.SelectboxColumn(
                "resource", options=list(resources), required=True, width="small"
            ),
            "scope": st.column_config.SelectboxColumn(
                "scope", options=[ALL, *groups], required=True, default=ALL, width="small"
            ),
            "form": st.column_config.SelectboxColumn(
                "form", options=list(FORMS.values()), required=True, default=FORMS["x"]
            ),
            "value": st.column_config.NumberColumn(
                "value", required=True, min_value=0.0, format="%.6g", default=0.5
            ),
        },
    )
    new_rows = []
    for record in edited.to_dict("records"):
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in record.values()):
            continue  # a row still being filled in
        form = FORM_OF.get(record["form"], "x")
        new_rows.append(
            Row(str(record["resource"]), str(record["scope"]), form, float(record["value"]))
        )
    if len(new_rows) > MAX_ROWS:
        return [f"At most {MAX_ROWS} limits; the rows beyond are not used."]
    if new_rows != rows():
        first = new_rows[0] if new_rows else None
        budget = first is not None and first.is_budget and 0 <= first.value <= 1
        if budget and first.value != state.current_multiplier():
            state.set_multiplier(first.value)
        st.session_state[ROWS] = new_rows or list(DEFAULT_ROWS)
    return []


def _groups_editor(names: tuple[str, ...]) -> list[str]:
    st.markdown("**Groups** · a layer belongs to the first group whose pattern matches it")
    current = st.session_state.get(GROUP_ROWS, [])
    frame = pd.DataFrame(
        [{"name": g["name"], "patterns": " ".join(g["patterns"])} for g in current],
        columns=["name", "patterns"],
    )
    edited = st.data_editor(
        frame,
        key=f"groups_editor_{st.session_state.get(VERSION, 0)}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "name": st.column_config.TextColumn("name", required=True, max_chars=64),
            "patterns": st.column_config.TextColumn(
                "patterns", required=True, help="names or shell patterns (*.ff.*), space-separated"
            ),
        },
    )
    groups = []
    for record in edited.to_dict("records"):
        name, patterns = record.get("name"), record.get("patterns")
        if not name or not patterns:
            continue
        groups.append({"name": str(name).strip(), "patterns": str(patterns).split()})
    if groups != current:
        st.session_state[GROUP_ROWS] = groups
    members = group_members(names, groups)
    if groups:
        counts = " · ".join(f"{plain(g)}: {len(m)}" for g, m in members.items() if g)
        st.caption(f"{counts} · in no group: {len(members.get('', []))}")
        with st.popover("Members", icon=":material/list:"):
            for group, layers in members.items():
                st.markdown(f"**{plain(group or 'in no group')}** ({len(layers)})")
                st.text("\n".join(shorten(n, word=60) for n in layers[:200]) or "none")
    return []


def group_members(names: tuple[str, ...], groups: list[dict]) -> dict[str, list[str]]:
    """Group name -> its layers (first matching group wins); "" -> layers in no group."""
    import fnmatch

    out: dict[str, list[str]] = {g["name"]: [] for g in groups}
    out[""] = []
    for name in names:
        for g in groups:
            if any(fnmatch.fnmatchcase(name, p) for p in g["patterns"]):
                out[g["name"]].append(name)
                break
        else:
            out[""].append(name)
    return out


def _ties_editor(names: tuple[str, ...]) -> None:
    st.markdown("**Ties** · layers that must take the same width")
    ties = st.session_state.get(TIES, [])
    for i, tie in enumerate(ties):
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.caption(plain(", ".join(shorten(n, word=40) for n in tie)))
        right.button("✕", key=f"untie_{i}", on_click=_untie, args=(i,), help="Remove this tie")
    picked = st.multiselect(
        "Layers to tie",
        names,
        key=TIE_PICK,
        placeholder="Pick two or more layers",
        format_func=shorten,
        select_all=False,
    )
    st.button(
        "Tie them",
        key="tie_add",
        disabled=len(picked) < 2,
        on_click=_tie,
        icon=":material/link:",
    )


def _tie() -> None:
    picked = list(st.session_state.get(TIE_PICK, []))
    if len(picked) >= 2:
        st.session_state[TIES] = [*st.session_state.get(TIES, []), picked]
        st.session_state[TIE_PICK] = []


def _untie(index: int) -> None:
    ties = list(st.session_state.get(TIES, []))
    if 0 <= index < len(ties):
        ties.pop(index)
    st.session_state[TIES] = ties


def _constraints_file() -> list[str]:
    """Upload a constraints file (JSON, the CLI's --constraints) or download the current one."""
    upload = st.file_uploader(
        "Constraints file (JSON)", type=["json"], key="constraints_upload",
        help="The same file the command line reads with --constraints.",
    )  # fmt: skip
    errors = []
    if upload is not None:
        digest = (upload.name, upload.size, upload.file_id)
        if st.session_state.get("_constraints_applied") != digest:
            st.session_state["_constraints_applied"] = digest
            try:
                parsed = parse_constraints(decode(upload.getvalue(), upload.name), upload.name)
                apply_constraints(parsed)
            except InputError as err:
                errors.append(f"{err}. The current constraints stay in force.")
    st.download_button(
        "Download constraints (JSON)",
        data=json.dumps(current_constraints().to_dict(), indent=2) + "\n",
        file_name="constraints.json",
        mime="application/json",
        key="download_constraints",
        on_click="ignore",
        icon=":material/download:",
    )
    return errors


# --- checking against the problem, and the sliders --------------------------------------------


def checked(problem: Problem, constraints: Constraints) -> tuple[Constraints, list[str]]:
    """The constraints if they resolve on ``problem``; else the last good ones and why."""
    try:
        resolve_limits(problem, constraints.limits)
    except InputError as err:
        restore_good()
        return current_constraints(), [f"{err}. The last working limits stay in force."]
    return constraints, []


def slider_range(problem: Problem, limit: Limit) -> tuple[float, float, float]:
    """(low, high, step) of a limit's slider: 0..1 for the x and r forms, the resource's
    cheapest..dearest use (in its unit) for an absolute limit."""
    if limit.form != "abs":
        return 0.0, 1.0, 0.01
    (bound,) = resolve_limits(problem, [limit])
    low, high = bound.low / bound.scale, bound.high / bound.scale
    span = high - low if high > low else max(abs(high), 1.0)
    step = _nice_step(span / 100)
    return float(math.floor(low / step) * step), float(math.ceil(high / step) * step), step


def _nice_step(raw: float) -> float:
    """The step of 1, 2 or 5 times a power of ten nearest above ``raw``."""
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def meaning(problem: Problem, limit: Limit) -> str:
    """What a limit's value means in absolute terms, e.g. "4.08 bits = 1.21 GiB of weights"."""
    (bound,) = resolve_limits(problem, [limit])
    cap = bound.shown_cap
    if limit.resource == "bops":
        return f"{gbops(cap * 1e9)}"
    if limit.resource == "mean_wbits":
        return f"{cap:.4g} bits = {bits_size(bound.cap)} of weights"
    if limit.resource == "wbits":
        return f"{bits_size(cap)} of weights"
    return f"{cap:,.4g} {plain(bound.unit)}".rstrip()


def limit_controls(problem: Problem) -> None:
    """A slider and an exact box for every limit but the budget (which has its own)."""
    for i, row in enumerate(rows()):
        if i == 0 and row.is_budget:
            continue
        limit = row.limit()
        low, high, step = slider_range(problem, limit)
        scope = "" if row.scope == ALL else f" of {row.scope}"
        label = f"{row.resource}{scope} ({FORMS[row.form]})"
        key = f"limit_slider_{i}"
        value = float(np.clip(row.value, low, high)) if high > low else low
        st.session_state[key] = value
        with st.container(key=f"limit_row_{i}"):
            left, right = st.columns([4, 1], vertical_alignment="bottom")
            left.slider(  # resource and group names are letters, digits, _ . - only
                label, min_value=low, max_value=max(high, low + step), step=step,
                key=key, on_change=_from_slider, args=(i,),
                format="%.2f" if row.form != "abs" else "%.4g",
            )  # fmt: skip
            st.session_state[f"limit_text_{i}"] = f"{row.value:.6g}"
            right.text_input("Exact value", key=f"limit_text_{i}", on_change=_from_text, args=(i,))
        st.caption(plain(f"{limit.label()}: {meaning(problem, limit)}"))


def _set_value(index: int, value: float) -> None:
    current = rows()
    if 0 <= index < len(current):
        row = current[index]
        current[index] = Row(row.resource, row.scope, row.form, float(value))
        st.session_state[ROWS] = current
        _bump()


def _from_slider(index: int) -> None:
    _set_value(index, float(st.session_state[f"limit_slider_{index}"]))


def _from_text(index: int) -> None:
    text = str(st.session_state.get(f"limit_text_{index}", "")).strip()
    try:
        value = float(text)
    except ValueError:
        return
    if math.isfinite(value) and value >= 0:
        _set_value(index, value)
