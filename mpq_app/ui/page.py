"""Every page runs inside ``page(title)``: page config, state, sidebar, data and problem, and a
guard that turns any unexpected error into one short message (details go to the server log).

    with app_page("Layers") as view:
        ...  # the page body
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from types import TracebackType

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from mpq_core import InputError, Limit, Problem, Solution, SolverGap, Spec, solve_spec
from mpq_core.errors import Stopped

from . import constraints, preload, settings, state
from .background import SweepJob
from .data import (
    DataFiles,
    budget_limit,
    cached_problem,
    cached_sweep,
    exact_sweep_job,
    sweep_key,
    sweep_solvers,
)
from .render import page_style
from .sidebar import LoadedData, Settings, remember_good, sidebar
from .text import plain

_LOG = logging.getLogger("mpq.app")


@dataclass(frozen=True)
class Route:
    """Where a page lives: its file (relative to dashboard.py, which routes), its URL path
    ("" is the app's root: ``/?budget=0.4``) and its icons. The tab icon is an emoji: a
    Material tab icon makes the browser fetch it from an external host (Material icons inside
    the page come with Streamlit's own font)."""

    path: str
    url_path: str
    tab_icon: str
    nav_icon: str


# title: route, in the order of the sidebar's list; dashboard.py declares the pages from it.
# A URL path is the file's name without its number and stays fixed: shared links keep working.
PAGES = {
    "Budget explorer": Route("app_pages/0_Budget_explorer.py", "", "🎚️", ":material/tune:"),
    "Compare budgets": Route(
        "app_pages/1_Compare_budgets.py", "Compare_budgets", "↔️", ":material/compare_arrows:"
    ),
    "Layers": Route("app_pages/2_Layers.py", "Layers", "📋", ":material/table_rows:"),
    "Greedy vs optimal": Route(
        "app_pages/3_Greedy_vs_optimal.py", "Greedy_vs_optimal", "⚖️", ":material/balance:"
    ),
    "Data": Route("app_pages/4_Data.py", "Data", "🗂️", ":material/dataset:"),
    "Validate": Route("app_pages/5_Validate.py", "Validate", "✅", ":material/fact_check:"),
}
NARROW_PX = 1100  # below this width the sidebar starts collapsed

# Streamlit's "auto" sidebar collapses only below 768 px, which leaves 800-1100 px screens with
# a third of their width taken by the sidebar. On a first visit at such a width (no sidebar
# choice stored by Streamlit yet) this collapses it once, with Streamlit's own button, so the
# choice is stored like a click and a user who opens it again keeps it open.
_COLLAPSE_ON_NARROW_SCREENS = f"""
<script>
(() => {{
  const stored = Object.keys(window.localStorage || {{}})
    .some((key) => key.startsWith("stSidebarCollapsed-"));
  if (stored || window.innerWidth >= {NARROW_PX}) return;
  let tries = 0;
  const collapse = () => {{
    const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    const open = document.querySelector('[data-testid="stSidebar"][data-collapsed="false"]');
    if (button && open) {{ button.click(); return; }}
    if (++tries < 50) window.setTimeout(collapse, 100);
  }};
  collapse();
}})();
</script>
"""


@dataclass(frozen=True)
class View:
    """What a page works on: the settings in use (the spec of ``ui.settings`` as the loaded
    data takes it), the data and the problem built from them."""

    settings: Settings
    data: LoadedData
    problem: Problem

    @property
    def files(self) -> DataFiles:
        return self.data.files

    @property
    def spec(self) -> Spec:
        """The spec in use: cost model, pins, groups, ties, limits (the first may be the
        budget of the slider)."""
        return self.settings.spec

    @property
    def solver(self) -> str:
        return self.spec.solver

    @property
    def multiplier(self) -> float:
        """The budget's multiplier (the default one when the first limit is not the budget)."""
        return settings.multiplier(self.spec)

    @property
    def has_budget(self) -> bool:
        """The first limit is the BOPs budget of the slider (``bops <= m x``)."""
        return self.spec.limits[0].is_budget

    @property
    def budget_only(self) -> bool:
        """The slider's BOPs budget is the only limit (the original problem)."""
        return self.has_budget and len(self.spec.limits) == 1

    def spec_at(self, multiplier: float | None = None, solver: str | None = None) -> Spec:
        """The spec at another budget (the other limits held) or with another solver (for
        sweeps, compared setups and the other solver's answer)."""
        spec = self.spec if solver is None else replace(self.spec, solver=solver)
        if multiplier is None or not self.has_budget:
            return spec
        return spec.with_limits((budget_limit(multiplier), *spec.limits[1:]))

    def at(self, multiplier: float) -> View:
        """This view at another budget: a rerun of the budget's fragment moves the budget
        in the settings without drawing the page, whose view it was given, again."""
        return replace(self, settings=replace(self.settings, spec=self.spec_at(multiplier)))

    def with_limits(self, limits: tuple[Limit, ...]) -> View:
        """This view under other limits: a rerun of the limit's fragment moves its value in
        the settings without drawing the page again."""
        return replace(self, settings=replace(self.settings, spec=self.spec.with_limits(limits)))

    def solve(self, multiplier: float | None = None, solver: str | None = None) -> Solution:
        return solve_spec(self.problem, self.spec_at(multiplier, solver))

    def sweep(self, solvers: tuple[str, ...] | None = None) -> pd.DataFrame:
        """The cached sweep of the first limit over its slider's values, the other limits held
        (greedy, plus exact when chosen and the budget is the only limit)."""
        if solvers is None:
            # with several limits every exact point is a MILP: the curves use the greedy, and
            # the exact sweep is made only where it is the subject (Greedy vs optimal)
            one = len(self.spec.limits) == 1
            solvers = sweep_solvers(self.solver) if one else ("greedy",)
        return cached_sweep(self.files, sweep_key(self.spec), solvers)

    def exact_job(self) -> SweepJob | None:
        """The background job of this view's exact sweep (a large problem with the exact
        solver and one limit), None when its sweep is made in the page run."""
        if self.solver != "exact" or len(self.spec.limits) > 1:
            return None
        return exact_sweep_job(self.files, sweep_key(self.spec), sweep_solvers(self.solver))

    def gap_at(self, exact: Solution, greedy: Solution | None = None) -> SolverGap:
        """Greedy, exact and their gap at ``exact``'s budget."""
        if greedy is None:
            greedy = self.solve(exact.multiplier, "greedy")
        return SolverGap.of(exact, greedy)


def navigation() -> None:
    """Links to every page, with Material icons (dashboard.py hides Streamlit's own list,
    whose icons would be the pages' tab icons)."""
    with st.sidebar:
        for label, route in PAGES.items():
            st.page_link(route.path, label=label, icon=route.nav_icon)
        st.divider()


def configure_page(title: str) -> None:
    icon = PAGES.get(title, PAGES["Budget explorer"]).tab_icon
    st.set_page_config(
        page_title=f"{title} · mpq",
        page_icon=icon,
        layout="wide",
        initial_sidebar_state="auto",
    )
    page_style()
    st.html(_COLLAPSE_ON_NARROW_SCREENS, unsafe_allow_javascript=True)
    preload.page_modules()
    navigation()


def start_page(title: str) -> View:
    """Restore the shared state, render the sidebar, build the problem of the settings in use."""
    state.keep_widget_state()
    state.seed_from_url()
    state.seed_defaults()

    settings, data, problems = sidebar()
    for message in data.errors:
        st.error(plain(message), icon=":material/error:")
    for note in data.notes:
        st.info(plain(note), icon=":material/info:")
    for message in problems:
        st.error(plain(message), icon=":material/error:")
    for note in state.url_notes():
        st.warning(plain(f"Ignored a link parameter: {note}"), icon=":material/link_off:")

    try:
        problem = cached_problem(data.files, settings.spec)
    except InputError as err:
        # a group, tie or pin that these files cannot take: back to the last working setup
        st.error(plain(f"{err}. The last working groups and ties stay in force."),
                 icon=":material/error:")  # fmt: skip
        constraints.restore_good()
        spec = replace(settings.spec, constraints=constraints.current_constraints())
        try:
            problem = cached_problem(data.files, spec)
        except InputError:
            spec = replace(spec, pins=(), constraints=replace(spec.constraints, groups=(), ties=()))
            problem = cached_problem(data.files, spec)
        settings = replace(settings, spec=spec)
    checked, errors = constraints.checked(problem, settings.spec.constraints)
    for message in errors:
        st.error(plain(message), icon=":material/error:")
    settings = replace(settings, spec=replace(settings.spec, constraints=checked))
    state.write_url(settings)
    return View(settings, data, problem)


class app_page:  # lower case: it reads as a statement, ``with app_page("Layers") as view:``
    """Configure and start a page; catch whatever the page body raises.

    Streamlit's own control flow (``st.stop``, ``st.rerun``, page switches) derives from
    BaseException and passes through. When the body finishes, its data becomes the data to
    fall back on (a file that parses but breaks a page never does).
    """

    def __init__(self, title: str):
        self.title = title
        self.view: View | None = None

    def __enter__(self) -> View:
        configure_page(self.title)
        try:
            self.view = start_page(self.title)
        except Exception as err:
            _unexpected(self.title, err)
            st.stop()
        return self.view

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        trace: TracebackType | None,
    ) -> bool:
        if err is None or isinstance(err, StopException):
            if self.view is not None:
                remember_good(self.view.data)
                constraints.remember_good()
            return False
        if isinstance(err, Stopped):  # the browser went away mid-sweep: nobody to tell
            _LOG.info("page %r stopped: its session closed", self.title)
            return True
        if isinstance(err, Exception):
            _unexpected(self.title, err)
            return True
        return False


def _unexpected(title: str, err: Exception) -> None:
    """One short message on the page; the traceback only in the server log."""
    _LOG.error("page %r failed", title, exc_info=err)
    st.error(
        f"This page stopped on an unexpected error ({type(err).__name__}). Changing a setting "
        "or reloading may help; the details are in the server log.",
        icon=":material/error:",
    )
