"""Every page starts here: page config, state, sidebar, data and problem; returns a View."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from mpq_core import InputError, Problem, Solution, greedy_gap, solve

from . import state
from .data import DataFiles, ProblemSettings, cached_problem, cached_sweep, sweep_solvers
from .render import page_style
from .sidebar import LoadedData, Settings, sidebar


@dataclass(frozen=True)
class View:
    """What a page works on: the settings, the data and the problem built from them."""

    settings: Settings
    data: LoadedData
    problem_settings: ProblemSettings  # the settings actually used (a bad ladder falls back)
    problem: Problem

    @property
    def files(self) -> DataFiles:
        return self.data.files

    @property
    def solver(self) -> str:
        return self.settings.solver

    @property
    def multiplier(self) -> float:
        return state.current_multiplier()

    def solve(self, multiplier: float | None = None, solver: str | None = None) -> Solution:
        m = self.multiplier if multiplier is None else multiplier
        return solve(self.problem, m, solver or self.solver)

    def sweep(self, solvers: tuple[str, ...] | None = None) -> pd.DataFrame:
        """The cached sweep (greedy, plus exact when chosen) over 0.00..1.00."""
        chosen = sweep_solvers(self.solver) if solvers is None else solvers
        return cached_sweep(self.files, self.problem_settings, chosen)

    def gap_at(self, exact: Solution, greedy: Solution | None = None) -> pd.Series:
        """Greedy, exact and their gap at ``exact``'s budget, shaped like a solver_gap row."""
        if greedy is None:
            greedy = self.solve(exact.multiplier, "greedy")
        gap, pct = greedy_gap(exact, greedy)
        return pd.Series(
            {
                "multiplier": exact.multiplier,
                "feasible": exact.feasible,
                "greedy_objective": greedy.objective,
                "exact_objective": exact.objective,
                "lp_bound": math.nan if exact.upper_bound is None else exact.upper_bound,
                "gap": gap,
                "gap_pct": pct,
            }
        )


PAGES = {
    "Budget explorer": ("dashboard.py", ":material/tune:"),
    "Compare budgets": ("pages/1_Compare_budgets.py", ":material/compare_arrows:"),
    "Layers": ("pages/2_Layers.py", ":material/table_rows:"),
    "Greedy vs optimal": ("pages/3_Greedy_vs_optimal.py", ":material/balance:"),
    "Data": ("pages/4_Data.py", ":material/dataset:"),
    "Validate": ("pages/5_Validate.py", ":material/fact_check:"),
}


def navigation() -> None:
    """Links to every page under their titles (the built-in list would call the entry page
    "dashboard"; .streamlit/config.toml hides it)."""
    with st.sidebar:
        for label, (path, icon) in PAGES.items():
            st.page_link(path, label=label, icon=icon)
        st.divider()


def start_page(title: str) -> View:
    """Configure the page, restore the shared state, render the sidebar, build the problem."""
    icon = PAGES.get(title, ("", ":material/tune:"))[1]
    st.set_page_config(page_title=f"{title} · mpq", page_icon=icon, layout="wide")
    page_style()
    navigation()
    state.keep_widget_state()
    state.seed_from_url()
    state.seed_defaults()

    settings, data = sidebar()
    for message in data.errors:
        st.error(message, icon=":material/error:")
    for note in data.notes:
        st.caption(note)
    for note in state.url_notes():
        st.warning(f"Ignored a link parameter: {note}", icon=":material/link_off:")

    wanted = settings.problem_settings()
    try:
        problem = cached_problem(data.files, wanted)
        used = wanted
    except InputError as err:
        st.error(f"{err}. Using the file's own ladder without pins.", icon=":material/error:")
        used = ProblemSettings((), settings.abit_rule, settings.discount, ())
        problem = cached_problem(data.files, used)
    state.write_url()
    return View(settings, data, used, problem)
