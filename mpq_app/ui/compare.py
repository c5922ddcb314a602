"""The Compare page: its setups solved once each (not on every rerun); with several limits,
which limit to vary, and its values; and the current allocation against a file's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from mpq_core import Limit, Problem, Solution, Spec, limit_value, resolve_limits, solve_spec
from mpq_core.errors import InputError
from mpq_core.io.phase4.compare import Comparison, compare_file, comparison_lines
from mpq_core.io.reading import InputFile

from . import state
from .data import HASHED, DataFiles
from .text import plain

if TYPE_CHECKING:
    from .page import View

VALUES = 21  # offered values of a limit: 0..1 by 0.05, or cheapest..dearest in 20 steps


def solve_setups(view: View, specs: Sequence[Spec]) -> list[Solution]:
    """The compared setups (one spec each, the limits' values in it), each solved once per
    data and spec: a rerun of the page, or a setup kept while another is added, solves
    nothing again."""
    return [_solved(view.files, spec, view.problem) for spec in specs]


@st.cache_data(show_spinner=False, max_entries=16)  # each holds its problem: a few MB at most
def _solved(files: DataFiles, spec: Spec, _problem: Problem) -> Solution:
    """``_problem`` is the page's problem of ``files`` under ``spec`` (left out of the key,
    which the files and the spec determine)."""
    return solve_spec(_problem, spec)


def vary_choice(view: View, limits: tuple[Limit, ...]) -> int:
    """Which limit the compared setups differ in (only asked when there is more than one)."""
    if len(limits) < 2:
        return 0
    labels = [limit.label() for limit in limits]
    return st.selectbox(
        "Setups that differ in",
        range(len(limits)),
        format_func=lambda i: plain(labels[i]),
        key="compare_vary",
        help="The other limits are held at their current values.",
    )


def offered(view: View, limit: Limit) -> list[float]:
    if limit.form != "abs":
        return [round(float(v), 2) for v in np.linspace(0, 1, VALUES)]
    (bound,) = resolve_limits(view.problem, [limit])
    low, high = bound.low / bound.scale, bound.high / bound.scale
    return [round(float(v), 4) for v in np.linspace(low, high, VALUES)]


def other_limit(
    view: View, limits: tuple[Limit, ...], index: int
) -> tuple[list[Solution], list[str]]:
    """Two to four values of limit ``index`` (the others held): the solutions and labels."""
    limit = limits[index]
    values = offered(view, limit)
    key = f"compare_values_{index}"
    current = round(limit.multiplier, 4)
    if key not in st.session_state:
        near = sorted(values, key=lambda v: abs(v - current))[1:3]
        st.session_state[key] = sorted({*near, min(values, key=lambda v: abs(v - current))})
    suffix = limit.form if limit.form != "abs" else ""
    chosen = st.multiselect(
        plain(f"Values of {limit.target}"),
        sorted({*values, *st.session_state[key]}),
        key=key,
        max_selections=state.COMPARE_MAX,
        format_func=lambda v: f"{v:g}{suffix}",
        select_all=False,
    )
    if len(chosen) < state.COMPARE_MIN:
        st.info("Pick at least two values to compare.", icon=":material/info:")
        st.stop()
    specs, labels = [], []
    for value in sorted(chosen):
        changed = limit.with_value(limit_value(value, "compare", "value") + suffix)
        specs.append(view.spec.with_limits((*limits[:index], changed, *limits[index + 1 :])))
        labels.append(changed.label())
    return solve_setups(view, specs), labels


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=HASHED)
def _compared(
    files: DataFiles, spec: Spec, name: str, content: bytes, name_prefix: str, _solution: Solution
) -> Comparison | str:
    """The comparison with an uploaded file (or why it cannot be read), read and evaluated
    once per file and settings, not at every rerun of the page; ``_solution`` is the
    settings' allocation (left out of the key, which the files and the spec determine)."""
    try:
        return compare_file(_solution, InputFile(name, content), name_prefix=name_prefix)
    except InputError as err:
        return str(err)


def file_section(view: View) -> None:
    """The current settings' allocation against a file's: a Phase 4 export or a library's own
    file (a published recipe), or an mpq config (``--compare`` on the command line)."""
    st.subheader("Compare with a file")
    upload = st.file_uploader(
        "A Phase 4 file or an mpq config",
        type=["json", "yaml", "yml", "txt"],
        key="compare_file",
        help="An llm-compressor recipe or compressed-tensors config, a torchao JSON, a "
        "llama-quantize tensor-type file, an MLX quantization block, a ModelOpt or auto-round "
        "config (mpq's or the library's own), or an mpq config: compared with the allocation "
        "of the current settings, layer by layer.",
    )
    if upload is None:
        return
    (solution,) = solve_setups(view, [view.spec])
    if not solution.feasible:
        st.info(plain(f"Nothing to compare: {solution.message}"), icon=":material/info:")
        return
    compared = _compared(
        view.files, view.spec, upload.name, upload.getvalue(), view.files.name_prefix, solution
    )
    if isinstance(compared, str):
        st.error(plain(compared), icon=":material/error:")
        return
    st.caption(plain(comparison_lines(compared)[0]))
    rows = [
        {"measure": "objective", "mpq": compared.ours_objective, "file": compared.theirs_objective}
    ] + [
        {"measure": f"{v.label} ({v.unit}, cap {v.cap:g})", "mpq": v.ours, "file": v.theirs}
        for v in compared.limits
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="compare_file_totals")
    over = [v.label for v in compared.limits if not v.theirs_fits]
    if over:
        st.warning(plain(f"The file's allocation is over: {', '.join(over)}."),
                   icon=":material/warning:")  # fmt: skip
    if compared.differences:
        frame = pd.DataFrame(
            [{"layer": d.layer, "mpq": d.ours, "file": d.theirs} for d in compared.differences]
        )
        st.dataframe(frame, hide_index=True, key="compare_file_layers")
    for note in compared.notes:
        st.caption(plain(f"Note: {note}"))
