"""Live views: the headline cards and the charts that follow a slider while it moves.

What runs where, and what is sent when:

- **server, once per data, settings and solver** (cached): the solution at every step of the
  slider, its headline cards (``render.headline_items``) and its figures
  (``mpq_core.charts.live.view_specs``: the spec functions of the exported images), packed per
  view with each distinct value written once (``pack_states``) and gzip-compressed;
- **browser**: one component per view keeps every step's state and draws the one the slider
  shows at each movement of the thumb, before anything goes to the server (the ES modules of
  ``ui/live_js``, joined per component by ``ui/js_bundle.py``; ``unpack`` and ``nearest``
  there are the twins of ``unpack_state`` and :func:`_nearest`, checked by ``tests/js``).
  Plotly.js comes from the plotly package, sent once per session (no CDN). While the page is
  idle it prepares a picture of each chart at every step (Plotly's own drawing of the step,
  copied): a drag shows the pictures, and on release the charts draw the step themselves
  (``pictures.js``);
- **server, per committed value**: only the page's fragment reruns (the controls, the
  downloads and a small state element: the value in use and, for a value between two steps,
  that value's own states). The views' elements are not rebuilt, and an unchanged element is
  sent as a reference to what the browser already holds.

A :class:`LiveGroup` is the views that follow one slider; another slider brings its own group
(its key, its steps, its views' states) and reuses all of this.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.offline import get_plotlyjs
from streamlit.components.v2 import component

from mpq_core import DEFAULT_MULTIPLIERS, BudgetSweep, Solution, Spec
from mpq_core.charts.live import (
    GROUPS_CHART,
    LIMIT_CHARTS,
    VIEW_CHARTS,
    default_template,
    pack_states,
    unpack_state,
    view_steps,
)
from mpq_core.charts.module_map import MAX_LAYER_CELLS, block_detail_spec
from mpq_core.errors import Stopped
from mpq_core.report.html import chart_config

from . import data
from .data import HASHED, DataFiles, cached_live_sweep, sweep_key, sweep_solvers
from .js_bundle import LIVE_JS, bundle
from .render import Metric, headline_items, row_length, weight_items

if TYPE_CHECKING:
    from .page import View

_LOG = logging.getLogger("mpq.app")
_COMPRESSION = 6
SAME_STEP = 1e-9  # a value this close to a step is that step
CARDS = "cards"
WEIGHTS = "weights"  # the weight cards: mean weight bits, weight memory, per group


@dataclass(frozen=True)
class LiveGroup:
    """The views that follow one slider: a name, the slider's widget key, its steps.

    Another slider is another group: its views' data from :func:`pack_view` (one state per
    step, the other sliders held), mounted with :func:`mount` under names of their own, and its
    state from :func:`mount_state` after each run.
    """

    name: str
    slider: str
    steps: tuple[float, ...]

    def step_of(self, value: float) -> int | None:
        """The index of the step ``value`` is on, or None between two steps."""
        for index, step in enumerate(self.steps):
            if abs(step - value) <= SAME_STEP:
                return index
        return None


BUDGET = LiveGroup("budget", "budget", DEFAULT_MULTIPLIERS)
BUDGET_VIEWS = (CARDS, WEIGHTS, *VIEW_CHARTS)  # and GROUPS_CHART when there are groups
LIMIT = "limit"  # the group of the one limit's slider when that limit is not the budget
LIMIT_SLIDER = "limit_slider_0"  # ... its widget key (ui.constraints.limit_controls)
LIMIT_VIEWS = (CARDS, WEIGHTS, *LIMIT_CHARTS)  # no BOPs budget: no budget charts


def group_of(view: View) -> LiveGroup:
    """The slider of the first limit: the budget's, or another limit's (its steps are its
    slider's, :func:`ui.data.sweep_values`)."""
    if view.has_budget:
        return BUDGET
    return LiveGroup(LIMIT, LIMIT_SLIDER, data.sweep_values(view.problem, view.spec))


def groups_of(view: View) -> tuple[LiveGroup, ...]:
    """One group per slider, in the order of the limits: the first limit's (:func:`group_of`),
    then each further limit's (``limit_<i>``, its slider ``limit_slider_<i>``)."""
    further = (
        LiveGroup(
            f"{LIMIT}_{i}", f"limit_slider_{i}", data.sweep_values(view.problem, view.spec, i)
        )
        for i in range(1, len(view.spec.limits))
    )
    return (group_of(view), *further)


def group_views(view: View, index: int) -> tuple[str, ...]:
    """The views that follow slider ``index``: with several limits the use of every limit too;
    the budget's curves only the budget's slider (at another slider's steps the curve itself
    would change: it is drawn again when that slider is released)."""
    several = len(view.spec.limits) > 1
    if index == 0 and view.has_budget:
        views = BUDGET_VIEWS + (("limits_use",) if several else ())
    else:
        views = LIMIT_VIEWS + (("budget_use",) if view.has_budget else ())
    return views + ((GROUPS_CHART,) if view.problem.groups else ())


def live_views_all() -> tuple[str, ...]:
    """The name of every live view any page may mount."""
    return tuple(dict.fromkeys((*BUDGET_VIEWS, *LIMIT_VIEWS, GROUPS_CHART, DETAIL)))


def live_views(view: View) -> tuple[str, ...]:
    """The live views of the Budget explorer for this problem and these limits."""
    names: dict[str, None] = {}
    for index in range(len(view.spec.limits)):
        names.update(dict.fromkeys(group_views(view, index)))
    return tuple(names)


# Each component's script is its entry module in ui/live_js joined with what it imports
# (ui/js_bundle.py), built here from the files themselves.
_view = component(
    "mpq_live_view",
    js=bundle("view.js"),
    css=(LIVE_JS / "view.css").read_text(encoding="utf-8"),
    isolate_styles=False,  # Plotly.js styles its charts from the page's head
)
_state = component("mpq_live_state", js=bundle("state.js"), isolate_styles=False)
_library = component("mpq_plotly", js=bundle("plotly.js"), isolate_styles=False)

# The library and state elements draw nothing: no row, no gap.
_HIDDEN = "<style>.st-key-live_plotly, [class*='st-key-live_state_'] { display: none; }</style>"


# --- mounting ------------------------------------------------------------------------------


def plotly_library() -> None:
    """Plotly.js for the live charts (sent once per session; later runs send a reference)."""
    st.html(_HIDDEN)
    _library(key="live_plotly", data=_plotly_js())


def mount(name: str, tables: Mapping[str, bytes]) -> None:
    """One live view (a chart, or the headline cards) with its steps' states; the states name
    the group (and so the slider) it follows.

    The widget key is the view's name, so the page's layout rules (``.st-key-<name>``) apply.
    """
    _view(key=name, data=tables[name])


def mount_state(group: LiveGroup, value: float, override: Mapping[str, str] | None) -> None:
    """The value in use for ``group`` and where its slider stands; ``override`` holds each
    view's packed state for a value between two steps (None on a step)."""
    head = {
        "group": group.name,
        "slider": group.slider,
        "value": value,
        "slider_value": float(st.session_state.get(group.slider, value)),
    }
    states = "null"
    if override is not None:
        states = "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in override.items()) + "}"
    text = json.dumps(head, separators=(",", ":"))[:-1] + f',"override":{states}}}'
    _state(key=f"live_state_{group.name}", data=_gzip(text))


# --- the Budget explorer -------------------------------------------------------------------


def applies(view: View) -> bool:
    """Whether the Budget explorer's views follow the sliders live: for a problem of at most
    ``data.LIVE_MAX_LAYERS`` layers (``data.LIVE_MAX_LAYERS_SEVERAL`` with several limits:
    each slider has its own steps, solved again when another slider is committed). Larger
    problems would make them slow to build and to send; those pages are drawn by the server
    at each committed value."""
    several = len(view.spec.limits) > 1
    most = data.LIVE_MAX_LAYERS_SEVERAL if several else data.LIVE_MAX_LAYERS
    return view.problem.n_layers <= most


def live_tables(view: View) -> dict[str, bytes]:
    """Every live view of the Budget explorer at every step of each slider, the others held
    (cached per data, spec without the values of the sliders it follows, and solver)."""
    keys = tuple(sweep_key(view.spec, i) for i in range(len(view.spec.limits)))
    return _live_tables(view.files, keys, _view=view)


def _swept(view: View, index: int = 0) -> BudgetSweep:
    """Slider ``index``'s sweep with every allocation, the other limits held (for the first,
    the one the page's curves come from)."""
    key = sweep_key(view.spec, index)
    swept = cached_live_sweep(view.files, key, _step_solvers(view), index)
    if swept.multipliers != groups_of(view)[index].steps:
        raise ValueError("the limit's sweep is not on the slider's steps")
    return swept


def _step_solvers(view: View) -> tuple[str, ...]:
    """The solvers of the steps: with one limit those of the page; with several, or above
    ``MAX_LAYER_CELLS`` layers, the greedy alone (each exact step would be a MILP, for every
    step of every slider, again at each committed value; at 100,000 layers seconds each):
    the page's own answer is then the state of the values in use (:func:`live_state`)."""
    if len(view.spec.limits) == 1 and not large(view):
        return sweep_solvers(view.solver)
    return ("greedy",)


def large(view: View) -> bool:
    """Whether the heatmap folds the layers into module kinds and blocks (and a block opens
    on demand, :func:`block_detail`)."""
    return view.problem.n_layers > MAX_LAYER_CELLS


def steps_solver(view: View) -> str:
    """The solver whose allocations the views show while a slider moves."""
    return _step_solvers(view)[-1]


@st.cache_data(show_spinner="Preparing the live view…", max_entries=8, hash_funcs=HASHED)
def _live_tables(files: DataFiles, keys: tuple[Spec, ...], _view: View) -> dict[str, bytes]:
    groups = groups_of(_view)
    parts: dict[str, list[tuple[LiveGroup, list[dict]]]] = {}
    for index, group in enumerate(groups):
        swept = _swept(_view, index)
        names = group_views(_view, index)
        solutions = swept.solutions[steps_solver(_view)]
        greedy = swept.solutions["greedy"]
        steps = step_states(_view, swept.table, solutions, greedy, _charts(names))
        for name in names:
            parts.setdefault(name, []).append((group, [step[name] for step in steps]))
    if len(groups) == 1:
        return {name: pack_view(found[0][0], name, found[0][1]) for name, found in parts.items()}
    return {name: pack_views(name, found) for name, found in parts.items()}


def _charts(names: Sequence[str]) -> tuple[str, ...]:
    """The charts among a group's views (the cards and the groups chart come by themselves)."""
    return tuple(name for name in names if name not in (CARDS, WEIGHTS, GROUPS_CHART))


def live_tables_cache_clear() -> None:
    _live_tables.clear()
    _detail_table.clear()


def live_state(view: View, solution: Solution) -> None:
    """The state element of each slider's group: the value in use, and the views' own states
    when it lies between two slider steps (a value typed into the exact box or from a link),
    or when the sweep's allocation at that step is not the one this solve gave (an equally
    good optimum, one the sweep's shared time limit left unproven, or the exact solver's
    answer where the steps are the greedy's): the page then shows exactly what the downloads
    hold. Those states are made once, for every group that needs them."""
    own: dict[str, str] | None = None
    for index, group in enumerate(groups_of(view)):
        budget = index == 0 and view.has_budget
        value = solution.multiplier if budget else view.spec.limits[index].multiplier
        override = None
        step = group.step_of(value)
        stepped = _swept(view, index).solutions.get(view.solver)
        if step is None or stepped is None or not _same(stepped[step], solution):
            if own is None:
                own = _own_states(view, solution)
            names = group_views(view, index) + ((DETAIL,) if index == 0 and DETAIL in own else ())
            override = {name: own[name] for name in names}
        mount_state(group, value, override)


def _own_states(view: View, solution: Solution) -> dict[str, str]:
    """Every live view's packed state of ``solution`` (the open block's too)."""
    names = live_views(view)
    (states,) = step_states(view, view.sweep(), [solution], charts=_charts(names))
    own = {name: pack_states([states[name]]) for name in names}
    block = open_block(view)
    if block is not None:
        own[DETAIL] = pack_states(_detail_states([solution], block))
    return own


def _same(a: Solution, b: Solution) -> bool:
    return a.status == b.status and np.array_equal(a.choice, b.choice)


def step_states(
    view: View,
    sweep: pd.DataFrame,
    solutions: Sequence[Solution],
    greedy: Sequence[Solution] | None = None,
    charts: Sequence[str] | None = None,
) -> list[dict[str, dict]]:
    """What each view of the Budget explorer shows at each of ``solutions``: the headline
    cards, and each chart's figure with the config of its camera button (as
    ``st.plotly_chart`` gets it). ``greedy`` holds the greedy's solutions at the same values
    (for the gap of exact ones; solved here when not given); ``charts`` the charts to draw
    (by default those of the first limit's slider)."""
    frames: dict[str, go.Figure] = {}
    out = []
    if charts is None:  # no view: greedy steps of a BOPs budget (scripts/gen_js_fixtures.py)
        charts = VIEW_CHARTS if view is None else _charts(group_views(view, 0))
    specs_at = view_steps(sweep, solutions, charts)
    for k, (solution, specs) in enumerate(zip(solutions, specs_at, strict=True)):
        gap = None
        if solution.solver == "exact":
            gap = view.gap_at(solution, None if greedy is None else greedy[k])
        items = headline_items(solution, gap)
        states: dict[str, dict] = {
            CARDS: _cards(items),
            WEIGHTS: _cards(weight_items(solution)),
        }
        for name, spec in specs.items():
            config = _config(frames, name, spec["layout"])
            states[name] = {"data": spec["data"], "layout": spec["layout"], "config": config}
        out.append(states)
    return out


def _cards(items: Sequence[Metric]) -> dict[str, Any]:
    return {"cards": [asdict(item) for item in items], "per_row": row_length(len(items))}


def _config(frames: dict[str, go.Figure], name: str, layout: Mapping[str, Any]) -> dict:
    """``chart_config`` of a figure with this layout: it reads only the print size and the
    file name, so one small figure per chart carries them (a figure per step would cost more
    than the step's own figures)."""
    frame = frames.setdefault(name, go.Figure())
    frame.layout.width = layout["width"]
    frame.layout.height = layout["height"]
    frame.layout.meta = layout["meta"]
    return chart_config(frame, name)


# --- one block of a large model, opened -------------------------------------------------------

DETAIL = "block_detail"
DETAIL_KEY = "open_block"  # the widget: which block is open


def open_block(view: View) -> str | None:
    """The block whose layers the page shows (a large model), else None."""
    if not large(view):
        return None
    block = st.session_state.get(DETAIL_KEY)
    return block if block in view.problem.module_map().blocks else None


def block_detail(view: View) -> None:
    """A block picker under the heatmap and, once a block is picked, its layers at every step
    of the slider (a live view like the others)."""
    block = pick_block(view)
    if block is not None:
        _view(key=DETAIL, data=_detail_table(view.files, sweep_key(view.spec), block, _view=view))


def pick_block(view: View) -> str | None:
    """The block picker; the block it holds (None: none is open)."""
    blocks = view.problem.module_map().blocks
    st.selectbox(
        "Open a block",
        blocks,
        index=None,
        key=DETAIL_KEY,
        placeholder="one block's layers, each expert in its own cell",
        help="The heatmap above folds each block's layers of one kind (every expert of one "
        "projection) into one cell; a block opened here shows each of its layers.",
    )
    return open_block(view)


@st.cache_data(show_spinner="Opening the block…", max_entries=8, hash_funcs=HASHED)
def _detail_table(files: DataFiles, key: Spec, block: str, _view: View) -> bytes:
    solutions = _swept(_view).solutions[steps_solver(_view)]
    return pack_view(group_of(_view), DETAIL, _detail_states(solutions, block))


def _detail_states(solutions: Sequence[Solution], block: str) -> list[dict[str, Any]]:
    """Block ``block``'s figure at each of ``solutions`` (the template and the camera
    button's small figure made once for all, as :func:`step_states` makes them)."""
    template = default_template()
    frames: dict[str, go.Figure] = {}
    out = []
    for solution in solutions:
        spec = block_detail_spec(solution, block)
        layout = {**spec["layout"], "template": template}
        config = _config(frames, DETAIL, layout)
        out.append({"data": spec["data"], "layout": layout, "config": config})
    return out


# --- reading what a view shows (tests, AppTest) ----------------------------------------------


def decode(data: bytes) -> dict[str, Any]:
    """A view's or a state's data, parsed."""
    return json.loads(gzip.decompress(data))


def shown(view_data: bytes, state_data: bytes) -> dict[str, Any]:
    """The state a view draws while the slider stands where the server put it: the server's
    own state for a value between two steps, else the step of the slider."""
    spec, server = decode(view_data), decode(state_data)
    if "groups" in spec:  # a view of several sliders: its part for this state's group
        part = next(g for g in spec["groups"] if g["group"] == server["group"])
        spec = {"kind": spec["kind"], "chart": spec["chart"], **part}
    override = server.get("override")
    if override is not None:
        return unpack_state(override[spec["chart"]], 0)
    index = _nearest(spec["grid"], server["slider_value"])
    return unpack_state(spec["table"], index)


def _nearest(steps: Sequence[float], value: float) -> int:
    """The index of the step nearest ``value`` (the lower one when two are as near): the
    step a view draws. Twin of ``nearest`` in ui/live_js/steps.js; node's tests (tests/js)
    check it against this function's answers (scripts/gen_js_fixtures.py writes them)."""
    return min(range(len(steps)), key=lambda i: (abs(steps[i] - value), i))


# --- helpers -------------------------------------------------------------------------------


def pack_view(group: LiveGroup, name: str, states: Sequence[Mapping[str, Any]]) -> bytes:
    """The data of view ``name`` of ``group``: its state at each of the group's steps (a
    figure ``{"data", "layout", "config"}``, or ``{"cards", "per_row"}`` for cards), packed
    and gzipped, with what the browser needs to follow the group's slider."""
    head = {"kind": _kind(states), "group": group.name, "slider": group.slider, "chart": name}
    return _gzip(_with_table({**head, "grid": list(group.steps)}, states))


def pack_views(name: str, parts: Sequence[tuple[LiveGroup, Sequence[Mapping[str, Any]]]]) -> bytes:
    """The data of view ``name`` when it follows several sliders: for each group it follows,
    its state at each of that group's steps (as :func:`pack_view` packs one). The browser
    shows the group whose slider moved last (``ui/live_js/view.js``)."""
    groups = ",".join(
        _with_table({"group": g.name, "slider": g.slider, "grid": list(g.steps)}, states)
        for g, states in parts
    )
    head = json.dumps({"kind": _kind(parts[0][1]), "chart": name}, separators=(",", ":"))
    return _gzip(head[:-1] + f',"groups":[{groups}]}}')


def _kind(states: Sequence[Mapping[str, Any]]) -> str:
    return "cards" if "cards" in states[0] else "plotly"


def _with_table(head: Mapping[str, Any], states: Sequence[Mapping[str, Any]]) -> str:
    """``head`` as compact JSON with ``"table"``: ``states`` packed (written once, as text)."""
    return json.dumps(head, separators=(",", ":"))[:-1] + f',"table":{pack_states(states)}}}'


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), _COMPRESSION, mtime=0)


@st.cache_resource(show_spinner=False)
def _plotly_js() -> bytes:
    return _gzip(get_plotlyjs())


# --- the page's fragment (the controls and what depends on the committed value) -----------

_WHOLE_PAGE = "_live_whole_page"
_FRAGMENT_ERROR = "_live_fragment_error"


@contextmanager
def whole_page_run() -> Iterator[None]:
    """Call the page's fragment inside this in a whole-page run: an error in the fragment
    (which Streamlit would show by itself) goes on to the page's own guard, which shows one
    short message and keeps the data from becoming the data to fall back on."""
    st.session_state[_WHOLE_PAGE] = True
    try:
        yield
    finally:
        st.session_state.pop(_WHOLE_PAGE, None)
    error = st.session_state.pop(_FRAGMENT_ERROR, None)
    if error is not None:
        raise error


def fragment_rerun() -> bool:
    """Whether this is a fragment's own rerun (not a whole-page run, see
    :func:`whole_page_run`)."""
    return not st.session_state.get(_WHOLE_PAGE)


@contextmanager
def fragment_guard(title: str) -> Iterator[None]:
    """A fragment's own rerun runs outside its page's guard: the same one short message for
    an unexpected error (details in the server log). In a whole-page run the error is handed
    to :func:`whole_page_run`."""
    try:
        yield
    except Exception as err:
        if not fragment_rerun():
            st.session_state[_FRAGMENT_ERROR] = err
            return
        if isinstance(err, Stopped):  # the browser went away mid-sweep: nobody to tell
            _LOG.info("page %r stopped: its session closed", title)
            return
        _LOG.error("page %r failed", title, exc_info=err)
        st.error(
            f"This page stopped on an unexpected error ({type(err).__name__}). Changing a "
            "setting or reloading may help; the details are in the server log.",
            icon=":material/error:",
        )
