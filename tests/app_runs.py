"""How the AppTest modules open the dashboard: its pages, the bundled sample, a run (with a
link's query), a sidebar section opened, a check that nothing failed, and an uploaded pair of
files."""

from __future__ import annotations

import json
from functools import cache

from streamlit.testing.v1 import AppTest
from support import REPO

import mpq_core as mc

ENTRY = "mpq_app/dashboard.py"  # the router: AppTest opens the app from it
MAIN = "app_pages/0_Budget_explorer.py"  # the default page, at the app's root
# page (as ``at.switch_page`` names it): its title, its URL path and the charts it must draw
PAGES = {
    MAIN: ("Budget explorer", {"heatmap", "distribution", "budget_use", "budget_curve", "slack"}),
    "app_pages/1_Compare_budgets.py": ("Compare budgets", {"compare_distribution"}),
    "app_pages/2_Layers.py": ("Layers", set()),
    "app_pages/3_Greedy_vs_optimal.py": ("Greedy vs optimal", {"solver_gap"}),
    "app_pages/4_Data.py": ("Data", set()),
    "app_pages/5_Validate.py": ("Validate", set()),  # the SD 1.4 sample has no measured results
}


@cache
def load_sample(**settings) -> mc.Problem:
    """The bundled SD 1.4 sample under ``settings`` (``pins`` as a tuple of pairs)."""
    pins = settings.pop("pins", None)
    return mc.load_problem(*mc.sample_inputs(), pins=dict(pins) if pins else None, **settings)


def run_app(query: dict | None = None, timeout: float = 60) -> AppTest:
    """The Budget explorer after its first run (opened with ``query`` as the link's)."""
    at = AppTest.from_file(str(REPO / ENTRY), default_timeout=timeout)
    if query:
        at.query_params.update(query)
    return at.run()


def open_sections(at: AppTest, *keys: str) -> AppTest:
    """``at`` run again with the sidebar sections ``keys`` open (``ui.sections``: ``PINS``,
    ``LIMITS``, ``CONSTRAINTS``, ``ABOUT``): their widgets are drawn only while open."""
    for key in keys:
        at.session_state[key] = True
    return at.run()


def no_failure(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _subset(path: str, key: str, count: int) -> bytes:
    data = json.loads((REPO / path).read_text())
    data[key] = dict(list(data[key].items())[:count])
    return json.dumps(data).encode()


def upload(at: AppTest, flops: tuple[str, bytes], sens: tuple[str, bytes]) -> AppTest:
    at.file_uploader(key="upload_flops").upload(*flops).run()
    return at.file_uploader(key="upload_sensitivity").upload(*sens).run()


def small_pair() -> tuple[tuple[str, bytes], tuple[str, bytes], mc.Problem]:
    """The sample's first 40 layers as an upload: both files and their problem."""
    flops = ("small_flops.json", _subset(mc.SAMPLES["sd14"].flops, "layers", 40))
    sens = ("small_sens.json", _subset(mc.SAMPLES["sd14"].sensitivity, "sensitivity", 40))
    small = mc.load_problem(mc.InputFile(*flops), mc.InputFile(*sens))
    assert len(small.names) == 40
    return flops, sens, small
