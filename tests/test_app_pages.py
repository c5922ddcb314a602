"""Every page through AppTest: each renders, and the state travels with the user, across
page switches and in the link; a link or widget cannot ask for too long a ladder."""

from __future__ import annotations

import pytest
from app_runs import ENTRY, MAIN, PAGES, no_failure, open_sections, run_app
from app_views import app_charts, app_metrics, expected_unused, shown, unused_gbops
from support import REPO

import mpq_core as mc
from mpq_app.ui import sections

# the sidebar's links in order: label and URL path. The paths are the app's URLs and must not
# change: a link shared as /Compare_budgets?budget=0.4 opens its page ("" is the root)
LINKS = [
    ("Budget explorer", ""),
    ("Compare budgets", "Compare_budgets"),
    ("Layers", "Layers"),
    ("Greedy vs optimal", "Greedy_vs_optimal"),
    ("Data", "Data"),
    ("Validate", "Validate"),
]


def _links(at) -> list[tuple[str, str]]:
    return [(link.proto.label, link.proto.page) for link in at.sidebar.get("page_link")]


def test_no_pages_folder_beside_the_entry():
    """A folder named pages/ beside dashboard.py makes Streamlit find the pages itself in a
    server's first run: a link to another page opened first then skips the routing (see
    dashboard.py and the browser test of a new server)."""
    assert not (REPO / ENTRY).with_name("pages").exists()


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders(page):
    at = run_app()
    if page != MAIN:
        at.switch_page(page).run()
    no_failure(at)
    title, charts = PAGES[page]
    assert at.title[0].value == title
    assert charts <= set(app_charts(at))
    assert any("synthetic" in w.value.lower() for w in at.sidebar.warning)
    assert _links(at) == LINKS


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_with_a_floor_and_a_band(page):
    at = run_app({"budget": "0.5", "limit": ["mean_wbits>=6", "mean_wbits<=12"]})
    if page != MAIN:
        at.switch_page(page).run()
    no_failure(at)
    assert at.title[0].value == PAGES[page][0]
    assert at.query_params["limit"] == ["mean_wbits>=6", "mean_wbits<=12"]


def test_query_params_reproduce_the_state():
    query = {
        "budget": "0.42",
        "solver": "exact",
        "rule": "match",
        "discount": "0.35",
        "ladder": "4,8,16",
        "pin16": ["conv_in", "conv_out"],
        "pin4": "mid_block.resnets.0.conv1",
    }
    at = open_sections(run_app(query), sections.PINS)
    no_failure(at)
    assert at.slider(key="budget").value == pytest.approx(0.42)
    assert at.radio(key="solver").value == "exact"
    assert at.radio(key="abit_rule").value == "match"
    assert at.slider(key="discount").value == pytest.approx(0.35)
    assert at.multiselect(key="pin_16").value == ["conv_in", "conv_out"]
    pins = {"conv_in": 16, "conv_out": 16, "mid_block.resnets.0.conv1": 4}
    problem = mc.load_problem(
        *mc.sample_inputs(), abit_rule="match", upgrade_discount=0.35, pins=pins
    )
    solution = mc.solve(problem, 0.42, "exact")
    assert unused_gbops(at) == pytest.approx(expected_unused(solution))
    assert app_metrics(at)["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"

    # the URL the app writes back opens the same view in a new session
    at.slider(key="budget").set_value(0.66).run()
    written = dict(at.query_params)
    assert written["budget"] == "0.66"
    again = run_app(written)
    assert app_metrics(again) == app_metrics(at)
    assert unused_gbops(again) == pytest.approx(unused_gbops(at))


def test_bad_query_params_are_ignored_with_a_note():
    at = run_app({"budget": "2", "solver": "simplex"})
    assert not at.exception
    notes = " ".join(w.value for w in at.warning)
    assert "budget" in notes and "simplex" in notes
    assert at.slider(key="budget").value == 0.5
    assert at.radio(key="solver").value == "greedy"


def test_state_survives_switching_pages():
    at = open_sections(run_app(), sections.PINS)  # open on every page
    at.slider(key="budget").set_value(0.7).run()
    at.radio(key="solver").set_value("exact").run()
    at.multiselect(key="pin_8").set_value(["conv_in"]).run()
    for page in list(PAGES)[1:]:
        at.switch_page(page).run()
        no_failure(at)
        assert at.radio(key="solver").value == "exact"
        assert at.multiselect(key="pin_8").value == ["conv_in"]
        assert at.query_params["budget"] == "0.7"
    at.switch_page(MAIN).run()
    assert at.slider(key="budget").value == pytest.approx(0.7)
    assert at.text_input(key="budget_text").value == "0.70"
    assert at.radio(key="solver").value == "exact"
    assert "Greedy gap" in app_metrics(at)


@pytest.mark.parametrize(
    ("widths", "note"),
    [
        (64, "ladder: expected at most 12 whole numbers from 1 to 64"),  # the engine's bound
        (10, "ladder: the app takes at most 8 widths, got 10"),  # the app's
    ],
)
def test_a_link_cannot_ask_for_a_long_ladder(widths, note):
    """Regression: /?ladder=1,2,...,64&solver=exact kept the server busy for 20 minutes."""
    ladder = ",".join(str(w) for w in range(1, widths + 1))
    at = run_app({"ladder": ladder, "solver": "exact"})
    assert not at.exception
    notes = [shown(w.value) for w in at.warning]
    assert any(note in n for n in notes), notes
    assert at.query_params["ladder"] == "4,8,16"
    assert app_charts(at)["heatmap"]


def test_the_ladder_widget_is_bounded_too():
    at = run_app({"ladder": "1,5,7,9,10,11,12,13"})
    no_failure(at)
    assert at.query_params["ladder"] == "1,5,7,9,10,11,12,13"
    at.pills(key="ladder").set_value([1, 4, 5, 7, 9, 10, 11, 12, 13]).run()
    assert not at.exception
    assert any(
        "at most 8 widths (9 chosen). Using 4/8/16 instead." in shown(e.value) for e in at.error
    )
    assert at.query_params["ladder"] == "4,8,16"
