"""The Constraints section: limits (a table, and one slider each), groups, ties and their file.

The limits in use are rows in ``st.session_state[ROWS]`` (resource, scope, form, value). The
first row, when it is the BOPs budget over every layer as a multiple of the all-top-width cost
(the original budget), takes its value from the budget (``ui.budget``, which the slider sets);
every other row has a slider on the Budget explorer. The table edits the rows; a slider edits
one value and re-keys the table so that it shows the new value. Every change is checked
against the loaded problem (``resolve_limits``): a setup that cannot be resolved is reported
with ``st.error`` and the last good one stays in force, and the page is drawn again at once so
that the tables show it. An uploaded constraints file is applied before the tables are drawn,
so they always show the setup in force. Callbacks only set state.
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
    parse_constraints,
    parse_limit_flag,
    resolve_limits,
)
from mpq_core.io.reading import decode
from mpq_core.model.constraints import Form, parse_value
from mpq_core.report.display import bits_size, gbops

from .budget import current_multiplier, set_multiplier
from .text import plain, shorten

ROWS = "limit_rows"
GROUP_ROWS = "group_rows"
TIES = "tie_rows"
GOOD = "_constraints_good"  # the last rows, groups and ties that resolved
VERSION = "_constraints_version"
ALL = "all layers"
FORMS = {"x": "× all-top-width", "r": "cheapest→dearest", "abs": "absolute"}
MAX_ROWS = 8  # limits shown at once (a link or a file may not ask for more)
# px of the limits table's two columns, edit marks included: "mean_wbits@late" and
# "0.363527x" in full. At the sidebar's default width (300 px) a table outside an expander is
# 238 px wide, 32 px of it row handles: 206 px for these two.
LIMIT_PX, AT_MOST_PX = 124, 82
AT_MOST_HELP = (
    "0.5x: half the cost with every layer at the top width. 0.5r: half way from the cheapest "
    "to the dearest allocation. 4.08: in the resource's own unit (bits for mean_wbits)."
)
TIE_PICK = "tie_pick"
UPLOAD = "constraints_upload"
_APPLIED = "_constraints_applied"  # the uploaded constraints file last applied
_PENDING = "_constraints_errors"  # why the last run restored the setup (shown after the redraw)


@dataclass(frozen=True)
class Row:
    resource: str
    scope: str  # ALL or a group name
    form: str  # "x", "r" or "abs"
    value: float

    def limit(self) -> Limit:
        group = None if self.scope == ALL else self.scope
        number, _ = parse_value(float(self.value), "limits", "value")
        return Limit(self.resource, group=group, number=number, form=Form(self.form))

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
    """The limits in use; a first row that is the budget takes its value from the budget
    (``ui.budget``: the slider's, the exact box's, a link's), whatever the row stored."""
    out = list(st.session_state.get(ROWS, DEFAULT_ROWS))
    if out and out[0].is_budget:
        out[0] = Row(out[0].resource, out[0].scope, out[0].form, current_multiplier())
    return out


def row_of(limit: Limit) -> Row:
    form = limit.form
    return Row(limit.resource, limit.group or ALL, form, limit.multiplier)


def current_limits() -> tuple[Limit, ...]:
    """The limits in use (the budget row's value is the budget's)."""
    return tuple(row.limit() for row in rows())


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
        set_multiplier(limits[0].multiplier)
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
    errors = _apply_uploaded_file()  # before the tables: they show what is in force
    st.subheader("Constraints")
    st.caption(
        "Limits the allocation must meet, written as on the command line: 0.5x (× the "
        "all-top-width cost), 0.5r (cheapest→dearest) or a value in the resource's unit. "
        "A first row bops …x is the budget slider."
    )
    errors += _limits_table(resources)  # the sidebar's whole width: no expander around it
    groups = bool(st.session_state.get(GROUP_ROWS) or st.session_state.get(TIES))
    with st.expander("Groups, ties and files", icon=":material/rule:", expanded=groups):
        errors += _groups_editor(names)
        _ties_editor(names)
        _constraints_file()
        st.file_uploader(
            "Resources file (JSON)",
            type=["json"],
            key="upload_resources",
            help="Per-layer, per-width values a limit can cap, e.g. a latency table: "
            '{"resources": {"latency_ms": {"conv1": {"4": 0.21, "8": 0.36}, ...}}}',
        )
    return errors


def _limits_table(resources: tuple[str, ...]) -> list[str]:
    """The limits as the command line writes them (``mean_wbits@content`` at most ``4.08``);
    an edit that cannot be read leaves the limits in force as they are."""
    groups = [g["name"] for g in st.session_state.get(GROUP_ROWS, [])]
    current = rows()
    cells = [_cells(row) for row in current]
    shown = dict(zip(cells, current, strict=True))  # rows left as they are keep their value
    frame = pd.DataFrame(cells, columns=["limit", "at_most"])
    edited = st.data_editor(
        frame,
        key=f"limits_editor_{st.session_state.get(VERSION, 0)}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config=_limit_columns(resources, groups),
    )
    try:
        new_rows = [
            shown.get(cells) or _row_of_cells(*cells)
            for cells in edited.itertuples(index=False, name=None)
            if all(isinstance(v, str) and v.strip() for v in cells)  # else still being filled in
        ]
    except InputError as err:
        return [f"{err}. The limits in force stay."]
    if len(new_rows) > MAX_ROWS:
        return [f"At most {MAX_ROWS} limits; the rows beyond are not used."]
    if new_rows != rows():
        _use_rows(new_rows)
    return []


def _use_rows(new_rows: list[Row]) -> None:
    """Put the table's rows in force (the default budget when it is empty)."""
    first = new_rows[0] if new_rows else None
    budget = first is not None and first.is_budget and 0 <= first.value <= 1
    if budget and first.value != current_multiplier():
        set_multiplier(first.value)
    st.session_state[ROWS] = new_rows or list(DEFAULT_ROWS)


def _cells(row: Row) -> tuple[str, str]:
    """A row as the table shows it: ``resource[@group]`` and ``value[x|r]`` (6 digits)."""
    target = row.resource if row.scope == ALL else f"{row.resource}@{row.scope}"
    return target, f"{row.value:.6g}" + ("" if row.form == "abs" else row.form)


def _row_of_cells(target: str, at_most: str) -> Row:
    """A row typed into the table, read as the command line reads ``--limit``."""
    return row_of(parse_limit_flag(f"{target.strip()}<={at_most.strip()}", "limits table"))


def _limit_columns(resources: tuple[str, ...], groups: list[str]) -> dict:
    """Two columns that fit the sidebar with their row handles: the limited resource
    (``@group`` for one group) and its cap."""
    targets = [*resources, *(f"{r}@{g}" for g in groups for r in resources)]
    return {
        "limit": st.column_config.SelectboxColumn(
            "limit", options=targets, required=True, width=LIMIT_PX,
            help="bops, wbits (weight memory), mean_wbits or a resource of a resources file; "
            "resource@group limits one group of the Groups table.",
        ),
        "at_most": st.column_config.TextColumn(
            "at most", required=True, default="0.5x", width=AT_MOST_PX,
            validate=r"^\s*[0-9.]+([eE][-+]?[0-9]+)?\s*[xr]?\s*$", help=AT_MOST_HELP,
        ),
    }  # fmt: skip


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


def _apply_uploaded_file() -> list[str]:
    """Apply a newly uploaded constraints file (once per upload), before anything is drawn."""
    upload = st.session_state.get(UPLOAD)
    if upload is None:
        return []
    digest = (upload.name, upload.size, upload.file_id)
    if st.session_state.get(_APPLIED) == digest:
        return []
    st.session_state[_APPLIED] = digest
    try:
        apply_constraints(parse_constraints(decode(upload.getvalue(), upload.name), upload.name))
    except InputError as err:
        return [f"{err}. The current constraints stay in force."]
    return []


def _constraints_file() -> None:
    """Upload a constraints file (JSON, the CLI's --constraints) or download the current one."""
    st.file_uploader(
        "Constraints file (JSON)", type=["json"], key=UPLOAD,
        help="The same file the command line reads with --constraints.",
    )  # fmt: skip
    st.download_button(
        "Download constraints (JSON)",
        data=json.dumps(current_constraints().to_dict(), indent=2) + "\n",
        file_name="constraints.json",
        mime="application/json",
        key="download_constraints",
        on_click="ignore",
        icon=":material/download:",
    )


# --- checking against the problem, and the sliders --------------------------------------------


def checked(problem: Problem, constraints: Constraints) -> tuple[Constraints, list[str]]:
    """The constraints and why the last run set them back, if it did. Constraints that do not
    resolve on ``problem`` are set back to the last good ones (to the budget alone when those
    fail too) and the page is drawn again, so that the tables show what is in force."""
    try:
        resolve_limits(problem, constraints.limits)
    except InputError as err:
        failed = rows()
        restore_good()
        if rows() == failed:  # the last good limits fail too (other data): the budget alone
            st.session_state[ROWS] = list(DEFAULT_ROWS)
            _bump()
        st.session_state[_PENDING] = [f"{err}. The last working limits stay in force."]
        st.rerun()
    return constraints, st.session_state.pop(_PENDING, [])


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
