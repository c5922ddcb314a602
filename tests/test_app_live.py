"""The Budget explorer's live views through AppTest: what the server sends the browser for
every slider step, and when it draws the page itself."""

from __future__ import annotations

import json

import pytest
from app_runs import MAIN, PAGES, load_sample, no_failure, run_app
from app_views import app_charts, app_metrics
from streamlit.testing.v1 import AppTest

import mpq_core as mc
from mpq_app.ui import live
from mpq_core.charts.live import unpack_state


def _live_data(at: AppTest) -> tuple[dict[str, bytes], bytes]:
    """The live views' data and the budget state's data, as sent."""
    elements = {el.key: el.proto.bytes for el in at.get("bidi_component")}
    views = {key: elements[key] for key in live.BUDGET_VIEWS}
    return views, elements[f"live_state_{live.BUDGET.name}"]


def test_a_slider_step_sends_no_view_again_only_a_small_state():
    """Regression (issue 9): each slider step re-sent and redrew all five figures (~150 KB).
    Now the views' data stay the same bytes (Streamlit sends an unchanged element as a
    reference to what the browser holds) and only the state element changes."""
    at = run_app()
    views, state = _live_data(at)
    assert live.decode(state) == {
        "group": "budget",
        "slider": "budget",
        "value": 0.5,
        "slider_value": 0.5,
        "override": None,
    }
    for m in (0.62, 0.05, 0.63):
        at.slider(key="budget").set_value(m).run()
        after, new_state = _live_data(at)
        assert after == views
        assert live.decode(new_state)["value"] == m and live.decode(new_state)["override"] is None
        assert len(new_state) < 200
    # a view knows every step: 101 budgets, the headline cards for each
    spec = live.decode(views[live.CARDS])
    assert spec["grid"] == list(mc.DEFAULT_MULTIPLIERS) and len(spec["table"]["steps"]) == 101


def test_a_budget_between_two_steps_sends_its_own_states():
    problem = load_sample()
    at = run_app()
    at.text_input(key="budget_text").input("0.537").run()
    no_failure(at)
    _, state = _live_data(at)
    server = live.decode(state)
    assert (server["value"], server["slider_value"]) == (0.537, 0.54)
    assert set(server["override"]) == set(live.BUDGET_VIEWS)
    solution = mc.solve(problem, 0.537)
    assert app_charts(at)["heatmap"] == json.loads(mc.charts.plot_bit_heatmap(solution).to_json())
    assert app_metrics(at)["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"


def test_a_step_whose_swept_allocation_differs_sends_the_page_s_own(monkeypatch, request):
    """The live steps come from the sweep; should its allocation at the committed step differ
    from the page's own solve (an equally good optimum, or one left unproven by the sweep's
    time limit), the state carries the page's solution, so what is shown is what downloads."""
    from dataclasses import replace

    problem = load_sample()
    real = live._swept

    def shifted(view, index=0):  # the sweep's step 0.50 holds the allocation of 0.45
        swept = real(view, index)
        greedy = list(swept.solutions["greedy"])
        greedy[50] = mc.solve(view.problem, 0.45)
        return replace(swept, solutions={**swept.solutions, "greedy": tuple(greedy)})

    monkeypatch.setattr(live, "_swept", shifted)
    live.live_tables_cache_clear()  # the views drawn here hold the shifted step:
    request.addfinalizer(live.live_tables_cache_clear)  # no other test may see them
    at = run_app()
    no_failure(at)
    _, state = _live_data(at)
    server = live.decode(state)
    assert server["value"] == 0.5 and set(server["override"]) == set(live.BUDGET_VIEWS)
    solution = mc.solve(problem, 0.5)
    assert app_charts(at)["heatmap"] == json.loads(mc.charts.plot_bit_heatmap(solution).to_json())
    at.slider(key="budget").set_value(0.6).run()  # an untouched step: no override
    assert live.decode(_live_data(at)[1])["override"] is None


def test_a_problem_above_the_live_size_is_drawn_by_the_server(monkeypatch):
    """Above ``LIVE_MAX_LAYERS`` layers the 101 live steps would be slow to build and send:
    the page draws its charts at the committed budget and says so."""
    import mpq_app.ui.data

    monkeypatch.setattr(mpq_app.ui.data, "LIVE_MAX_LAYERS", 100)  # the sample has 314
    at = run_app({"budget": "0.3"})
    no_failure(at)
    assert not at.get("bidi_component") or live.CARDS not in {
        el.key for el in at.get("bidi_component")
    }
    charts = {el.key: json.loads(el.proto.spec) for el in at.get("plotly_chart")}
    assert set(PAGES[MAIN][1]) <= set(charts)
    released = "314 layers: the charts follow the slider when it is released"
    assert any(released in c.value for c in at.caption)
    solution = mc.solve(load_sample(), 0.3)
    assert charts["heatmap"] == json.loads(mc.charts.plot_bit_heatmap(solution).to_json())
    assert app_metrics(at)["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"


def test_weight_cards_and_groups_chart_follow_the_slider_too():
    """Regression: the weight cards and the widths-per-group chart were drawn by the server
    at the committed budget, so while dragging they showed another budget than the rest."""
    from fnmatch import fnmatch

    from mpq_core.model.constraints import parse_constraints

    raw = json.loads(mc.SAMPLES["sd14"].flops_path.read_text())["layers"]
    at = run_app({"group": "content:*.attn2.*|*.ff.*"})
    no_failure(at)
    elements = {el.key: el.proto.bytes for el in at.get("bidi_component")}
    weights = live.decode(elements[live.WEIGHTS])
    chart = live.decode(elements[live.GROUPS_CHART])
    constraints = parse_constraints({"groups": {"content": ["*.attn2.*", "*.ff.*"]}}, "test")
    spec = mc.Spec(constraints=constraints)
    problem = mc.build_problem(mc.load_inputs(*mc.sample_inputs()), spec)
    members = [n for n in problem.names if fnmatch(n, "*.attn2.*") or fnmatch(n, "*.ff.*")]
    for m in (0.0, 0.3, 0.77):
        index = weights["grid"].index(m)
        cards = {c["label"]: c for c in unpack_state(weights["table"], index)["cards"]}
        solution = mc.solve_spec(problem, spec.with_multiplier(m))
        if not solution.feasible:
            assert cards == {}
            continue
        widths = dict(zip(problem.names, solution.wbits.tolist(), strict=True))
        total = sum(raw[n]["params"] for n in widths)
        mean = sum(raw[n]["params"] * w for n, w in widths.items()) / total
        assert cards["Mean weight bits"]["value"] == f"{mean:.2f} bits", m
        assert cards["content"]["note_description"] == f"{len(members)} layers"
        bars = unpack_state(chart["table"], index)["data"]
        in_group = sum(t["y"][0] for t in bars if t.get("xaxis", "x") == "x")
        assert in_group == len(members), m


@pytest.mark.parametrize("solver", ["greedy", "exact"])
def test_every_live_step_is_the_sweep_row_of_its_budget(solver):
    """The browser switches between steps solved once per setting: each is the cached
    sweep's row at that budget (cost, objective, feasibility)."""
    at = run_app()
    if solver == "exact":
        at.radio(key="solver").set_value("exact").run()
    views, _ = _live_data(at)
    spec = live.decode(views[live.CARDS])
    sweep = mc.sweep_budgets(load_sample(), solvers=mc.sweep_solvers(solver))
    rows = sweep[sweep["solver"] == solver].set_index("multiplier")
    for index, m in enumerate(spec["grid"]):
        cards = {c["label"]: c for c in unpack_state(spec["table"], index)["cards"]}
        row = rows.loc[m]
        assert cards["Budget"]["note"] == f"m = {m:.2f}"
        if not row["feasible"]:
            assert cards["Allocation"]["value"] == "Infeasible"
            continue
        assert cards["Final cost"]["value"] == f"{row['cost_gbops']:,.1f} GBOPs", m
        assert cards["Objective"]["value"] == f"{row['objective_share']:.1%}", m
        assert cards["Final cost"]["note_description"] == f"{solver} solver"
