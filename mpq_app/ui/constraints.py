"""The Constraints section: limits (a table, and one slider each), groups, ties and their file.

The limits, groups and ties in use are the settings' ``Spec.constraints`` (``ui.settings``);
every edit here writes them through ``ui.settings.set_spec``. The first limit, when it is the
BOPs budget over every layer as a multiple of the all-top-width cost (the original budget), is
the budget of the slider and the exact box (``ui.budget``), kept to 6 decimals and from 0 to 1;
every other limit has a slider on the Budget explorer. The table edits the limits; a slider edits
one value and re-keys the table so that it shows the new value. Every change is checked
against the loaded problem (``resolve_limits``): a setup that cannot be resolved is reported
with ``st.error`` and the last good one stays in force, and the page is drawn again at once so
that the tables show it. An uploaded constraints file is applied before the tables are drawn,
so they always show the setup in force. Callbacks only set state.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from functools import lru_cache

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
from mpq_core.model.formats import Format, parse_search_spaces
from mpq_core.model.fused import fused_ties
from mpq_core.model.problem import search_space_options
from mpq_core.report.display import bits_size, gbops

from . import sections, settings
from .budget import clear_note
from .data import MAX_NAME_CHOICES, slider_range
from .search_spaces import search_spaces_editor
from .text import option_noun, plain, shorten

GOOD = "_constraints_good"  # the last constraints that resolved
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
    "to the dearest allocation. 4.08: in the resource's own unit (bits for mean_wbits). "
    "At most by default; >=4.2 is a lower limit (at least), and a band is two rows."
)
LIMITS_HELP = (
    "Limits the allocation must meet, written as on the command line: 0.5x (× the "
    "all-top-width cost), 0.5r (cheapest→dearest) or a value in the resource's unit. "
    "A first row bops …x is the budget slider."
)
NBSP = "\u00a0"
TIE_PICK = "tie_pick"
UPLOAD = "constraints_upload"
RESOURCES_UPLOAD = "upload_resources"
_UPLOADERS = (UPLOAD, settings.FORMATS_UPLOAD, RESOURCES_UPLOAD)
_APPLIED = "_constraints_applied"  # the uploaded constraints file last applied
_PENDING = "_constraints_errors"  # why the last run restored the setup (shown after the redraw)


def current_constraints() -> Constraints:
    return settings.current().constraints


def current_limits() -> tuple[Limit, ...]:
    """The limits in use (never none: the budget alone by default)."""
    return settings.current().limits


def _budget_alone() -> tuple[Limit, ...]:
    """The budget as the only limit, at the budget in use (else the default)."""
    return (settings.budget_limit(settings.multiplier()),)


def _bounded(limits: tuple[Limit, ...]) -> tuple[Limit, ...]:
    """At most ``MAX_ROWS`` limits (the budget alone when none); a first limit that is the
    budget kept to 6 decimals and, outside 0 to 1, at the budget in use."""
    limits = limits[:MAX_ROWS] or _budget_alone()
    first = limits[0]
    if not first.is_budget:
        return limits
    value = first.multiplier if 0 <= first.multiplier <= 1 else settings.multiplier()
    return (settings.budget_limit(value), *limits[1:])


def _use(constraints: Constraints, *, refresh: bool = True) -> None:
    """Put ``constraints`` in force (limits bounded); ``refresh`` re-keys the tables so that
    they show them. A changed budget drops the exact box's last note."""
    before = settings.current()
    limits = _bounded(constraints.limits)
    settings.set_spec(replace(before, constraints=replace(constraints, limits=limits)))
    if settings.budget_of(settings.current()) != settings.budget_of(before):
        clear_note()
    if refresh:
        _bump()


def apply_constraints(constraints: Constraints) -> None:
    """Set the limits, groups and ties from a constraints file, a sample or a link
    (callback-safe)."""
    _use(constraints)
    if settings.budget_of(settings.current()) is not None:  # the budget was set anew
        clear_note()


def _bump() -> None:
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1


def remember_good() -> None:
    st.session_state[GOOD] = current_constraints()


def restore_good() -> None:
    """Back to the last constraints that resolved, the budget where it is now."""
    good = st.session_state.get(GOOD) or Constraints(limits=_budget_alone())
    limits = good.limits
    if limits and limits[0].is_budget:
        limits = (settings.budget_limit(settings.multiplier()), *limits[1:])
    _use(replace(good, limits=limits))


# --- the sidebar section ---------------------------------------------------------------------


def constraints_section(
    names: tuple[str, ...], resources: tuple[str, ...], formats: tuple[Format, ...] | None
) -> list[str]:
    """Limits table, groups, ties, search spaces (with ``formats``) and the constraints file;
    returns the errors to show (plain) when an edit could not be used (the last good setup
    then stays)."""
    errors = _apply_uploaded_file(names, formats)  # before the tables: they show what is in force
    st.subheader("Constraints")
    if sections.lazy_toggle("Edit the limits", sections.LIMITS, help=LIMITS_HELP):
        errors += _limits_table(resources)  # the sidebar's whole width: no expander around it
    # a limit never breaks across lines (no-break spaces); the line breaks between limits
    in_force = " · ".join(f"`{limit.label().replace(' ', NBSP)}`" for limit in current_limits())
    st.caption(f"In force: {in_force}")
    spec = settings.current()
    groups = bool(spec.constraints.groups or spec.constraints.ties or spec.search_spaces)
    title = "Groups, ties, search spaces and files" if formats else "Groups, ties and files"
    box = sections.lazy_expander(
        title, sections.CONSTRAINTS, icon=":material/rule:", expanded=groups, keep=_holds_a_file()
    )
    if box is None:
        return errors
    with box:
        errors += _groups_editor(names)
        _ties_editor(names, option_noun(formats))
        if formats:
            key = f"spaces_editor_{st.session_state.get(VERSION, 0)}"
            errors += search_spaces_editor(names, formats, key)
        _constraints_file()
        st.file_uploader(
            "Formats file (JSON or YAML)",
            type=["json", "yaml", "yml"],
            key=settings.FORMATS_UPLOAD,
            help="Formats of one's own, offered beside the catalog's when the sensitivity file "
            'gives them a loss: {"formats": {"w4g128z": {"weight": {"type": "int", "bits": 4, '
            '"group_size": 128, "scale_bits": 16, "zero_bits": 4}, "activation_bits": 16}}}',
        )
        st.file_uploader(
            "Resources file (JSON)",
            type=["json"],
            key=RESOURCES_UPLOAD,
            help="Per-layer, per-width values a limit can cap, e.g. a latency table: "
            '{"resources": {"latency_ms": {"conv1": {"4": 0.21, "8": 0.36}, ...}}}',
        )
    return errors


def _holds_a_file() -> bool:
    """Whether one of the section's uploaders holds a file: it must stay drawn (a file lives
    in its uploader), even with the section closed."""
    return any(st.session_state.get(key) is not None for key in _UPLOADERS)


def _limits_table(resources: tuple[str, ...]) -> list[str]:
    """The limits as the command line writes them (``mean_wbits@content`` at most ``4.08``);
    an edit that cannot be read leaves the limits in force as they are."""
    constraints = current_constraints()
    current = current_limits()
    cells = [_cells(limit) for limit in current]
    shown = dict(zip(cells, current, strict=True))  # rows left as they are keep their value
    frame = pd.DataFrame(cells, columns=["limit", "value"])
    edited = st.data_editor(
        frame,
        key=f"limits_editor_{st.session_state.get(VERSION, 0)}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config=_limit_columns(resources, [g.name for g in constraints.groups]),
    )
    try:
        new = tuple(
            shown.get(cells) or _limit_of_cells(*cells)
            for cells in edited.itertuples(index=False, name=None)
            if all(isinstance(v, str) and v.strip() for v in cells)  # else still being filled in
        )
    except InputError as err:
        return [f"{err}. The limits in force stay."]
    if len(new) > MAX_ROWS:
        return [f"At most {MAX_ROWS} limits; the rows beyond are not used."]
    if new != current:  # the table's own edit: it keeps its key (and what is being typed)
        _use(replace(constraints, limits=new), refresh=False)
    return []


def _cells(limit: Limit) -> tuple[str, str]:
    """A limit as the table shows it: ``resource[@group]`` and ``value[x|r]`` (6 digits),
    ``>=value`` for a lower limit."""
    return limit.target, ">=" * limit.lower + f"{limit.multiplier:.6g}" + limit.form.suffix


def _limit_of_cells(target: str, value: str) -> Limit:
    """A row typed into the table, read as the command line reads ``--limit``: at most, or
    at least when the value starts with ``>=``."""
    text = value.strip()
    sign = text[:2] if text[:2] in ("<=", ">=") else "<="
    return parse_limit_flag(f"{target.strip()}{sign}{text.removeprefix(sign)}", "limits table")


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
        "value": st.column_config.TextColumn(
            "value", required=True, default="0.5x", width=AT_MOST_PX,
            validate=r"^\s*([<>]=)?\s*[0-9.]+([eE][-+]?[0-9]+)?\s*[xr]?\s*$", help=AT_MOST_HELP,
        ),
    }  # fmt: skip


def _groups_editor(names: tuple[str, ...]) -> list[str]:
    st.markdown("**Groups** · a layer belongs to the first group whose pattern matches it")
    constraints = current_constraints()
    frame = pd.DataFrame(
        [{"name": g.name, "patterns": " ".join(g.patterns)} for g in constraints.groups],
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
    groups = tuple(
        Group(str(record["name"]).strip(), tuple(str(record["patterns"]).split()))
        for record in edited.to_dict("records")
        if record.get("name") and record.get("patterns")
    )
    if groups != constraints.groups:
        _use(replace(constraints, groups=groups), refresh=False)
    members = group_members(names, groups)
    if groups:
        counts = " · ".join(f"{plain(g)}: {len(m)}" for g, m in members.items() if g)
        st.caption(f"{counts} · in no group: {len(members.get('', []))}")
        with st.popover("Members", icon=":material/list:"):
            for group, layers in members.items():
                st.markdown(f"**{plain(group or 'in no group')}** ({len(layers)})")
                st.text("\n".join(shorten(n, word=60) for n in layers[:200]) or "none")
    return []


def group_members(names: tuple[str, ...], groups: tuple[Group, ...]) -> dict[str, list[str]]:
    """Group name -> its layers (first matching group wins); "" -> layers in no group."""
    import fnmatch

    out: dict[str, list[str]] = {g.name: [] for g in groups}
    out[""] = []
    for name in names:
        for g in groups:
            if any(fnmatch.fnmatchcase(name, p) for p in g.patterns):
                out[g.name].append(name)
                break
        else:
            out[""].append(name)
    return out


@lru_cache(maxsize=4)
def _fused(names: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The fused sets of these names (found once per list: a second at 100,000 layers)."""
    return fused_ties(names)


def _ties_editor(names: tuple[str, ...], option: str) -> None:
    """``option``: what a tie makes the same (``width``, or ``format`` with formats)."""
    st.markdown(f"**Ties** · layers that must take the same {option}")
    for i, tie in enumerate(current_constraints().ties):
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.caption(plain(", ".join(shorten(n, word=40) for n in tie)))
        right.button("✕", key=f"untie_{i}", on_click=_untie, args=(i,), help="Remove this tie")
    fused = _fused(names)
    st.checkbox(
        f"Tie fused layers ({len(fused)} sets here)",
        help="The layers inference kernels run as one matmul, found by name: q/k/v "
        "projections (q_proj.., query.., to_q..) and gate/up (gate_proj/up_proj, w1/w3). vLLM "
        "and TensorRT-LLM need each set in one format (the command line's --tie_fused).",
        disabled=not fused and not settings.current().tie_fused,
        **settings.bind("tie_fused_box"),
    )
    if len(names) > MAX_NAME_CHOICES:  # a box listing every name would be megabytes a run
        st.caption(f"{len(names):,} layers: tie them with a constraints file's ties.")
        return
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
    picked = tuple(st.session_state.get(TIE_PICK, []))
    if len(picked) >= 2:
        constraints = current_constraints()
        _use(replace(constraints, ties=(*constraints.ties, picked)), refresh=False)
        st.session_state[TIE_PICK] = []


def _untie(index: int) -> None:
    constraints = current_constraints()
    ties = constraints.ties[:index] + constraints.ties[index + 1 :]
    _use(replace(constraints, ties=ties), refresh=False)


def _apply_uploaded_file(names: tuple[str, ...], formats: tuple[Format, ...] | None) -> list[str]:
    """Apply a newly uploaded constraints file (once per upload), before anything is drawn:
    its limits, groups and ties, and its search spaces (checked against the formats in use)."""
    upload = st.session_state.get(UPLOAD)
    if upload is None:
        return []
    digest = (upload.name, upload.size, upload.file_id)
    if st.session_state.get(_APPLIED) == digest:
        return []
    st.session_state[_APPLIED] = digest
    try:
        data = decode(upload.getvalue(), upload.name)
        constraints = parse_constraints(data, upload.name)
        spaces = _file_spaces(data, upload.name, names, formats)
    except InputError as err:
        return [f"{err}. The current constraints stay in force."]
    apply_constraints(constraints)
    if spaces is not None:
        settings.update(search_spaces=spaces)
    return []


def _file_spaces(
    data: dict, name: str, names: tuple[str, ...], formats: tuple[Format, ...] | None
) -> tuple | None:
    """A constraints file's search spaces, checked as the engine checks them (None when the
    file has none)."""
    if "search_spaces" not in data:
        return None
    if not formats:
        raise InputError(name, "search spaces choose among formats: this data has none",
                         field="search_spaces")  # fmt: skip
    spaces = parse_search_spaces(data["search_spaces"], name)
    try:
        search_space_options(spaces, formats, names)
    except InputError as err:
        raise InputError(name, err.problem, field=err.field) from None
    return spaces


def _constraints_file() -> None:
    """Upload a constraints file (JSON, the CLI's --constraints) or download the current one."""
    st.file_uploader(
        "Constraints file (JSON)", type=["json"], key=UPLOAD,
        help="The same file the command line reads with --constraints.",
    )  # fmt: skip
    spaces = settings.current().search_spaces
    written = current_constraints().to_dict() | (
        {"search_spaces": {p: list(chosen) for p, chosen in spaces}} if spaces else {}
    )
    st.download_button(
        "Download constraints (JSON)",
        data=json.dumps(written, indent=2) + "\n",
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
        failed = current_limits()
        restore_good()
        if current_limits() == failed:  # the last good limits fail too (other data)
            _use(replace(current_constraints(), limits=_budget_alone()))
        st.session_state[_PENDING] = [f"{err}. The last working limits stay in force."]
        st.rerun()
    return constraints, st.session_state.pop(_PENDING, [])


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
    for i, limit in enumerate(current_limits()):
        if i == 0 and limit.is_budget:
            continue
        low, high, step = slider_range(problem, limit)
        scope = "" if limit.group is None else f" of {limit.group}"
        floor = " at least" if limit.lower else ""
        label = f"{limit.resource}{scope}{floor} ({FORMS[limit.form]})"
        key = f"limit_slider_{i}"
        value = float(np.clip(limit.multiplier, low, high)) if high > low else low
        st.session_state[key] = value
        with st.container(key=f"limit_row_{i}"):
            left, right = st.columns([4, 1], vertical_alignment="bottom")
            left.slider(  # resource and group names are letters, digits, _ . - only
                label, min_value=low, max_value=max(high, low + step), step=step,
                key=key, on_change=_from_slider, args=(i,),
                format="%.2f" if limit.form != "abs" else "%.4g",
            )  # fmt: skip
            st.session_state[f"limit_text_{i}"] = f"{limit.multiplier:.6g}"
            right.text_input("Exact value", key=f"limit_text_{i}", on_change=_from_text, args=(i,))
        st.caption(plain(f"{limit.label()}: {meaning(problem, limit)}"))


def _set_value(index: int, value: float) -> None:
    limits = list(current_limits())
    if 0 <= index < len(limits):
        limits[index] = replace(limits[index], number=float(value))
        _use(replace(current_constraints(), limits=tuple(limits)))


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
