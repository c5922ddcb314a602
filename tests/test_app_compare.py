"""The Compare budgets page through AppTest."""

from __future__ import annotations

import pytest
from app_runs import load_sample, no_failure, run_app
from app_views import app_charts, app_metrics, shown

import mpq_app.ui.compare
import mpq_core as mc


def test_compare_page_shows_each_budget_and_the_layers_that_differ():
    problem = load_sample()
    at = run_app()
    at.switch_page("app_pages/1_Compare_budgets.py").run()
    no_failure(at)
    metrics = app_metrics(at)
    for m in (0.3, 0.5, 0.7):
        assert metrics[f"m = {m:.2f}"] == f"{mc.solve(problem, m).cost / mc.GIGA:,.1f} GBOPs"
    assert {"heatmap_m = 0.30", "heatmap_m = 0.50", "heatmap_m = 0.70"} <= set(app_charts(at))
    changes = at.main.dataframe[0].value
    widths = {m: mc.solve(problem, m).wbits for m in (0.3, 0.5, 0.7)}
    differs = [
        name for i, name in enumerate(problem.names) if len({int(widths[m][i]) for m in widths}) > 1
    ]
    assert changes["layer"].tolist() == differs
    at.multiselect(key="compare").set_value([0.5]).run()
    assert any("at least two" in i.value for i in at.info)


def test_compare_page_says_which_budget_is_infeasible_on_every_chart():
    at = run_app()
    at.switch_page("app_pages/1_Compare_budgets.py").run()
    at.multiselect(key="compare").set_value([0.05, 0.5]).run()
    no_failure(at)
    charts = app_charts(at)
    heat = charts["heatmap_m = 0.05"]
    assert all(z is None for row in heat["data"][0]["z"] for z in row)  # no fallback drawn
    notes = [a["text"] for a in heat["layout"]["annotations"] if a.get("name") == "infeasible"]
    assert notes and notes[0].startswith("<b>Infeasible budget (m = 0.05)</b>")
    assert heat["layout"]["title"]["text"] == "m = 0.05 (infeasible)"
    bars = charts["compare_distribution"]["data"][0]
    assert bars["x"] == ["m = 0.05 (infeasible)", "m = 0.50"]
    assert bars["y"][0] is None
    assert charts["heatmap_m = 0.50"]["layout"]["title"]["text"].startswith("m = 0.50 · ")


def test_compare_starts_from_the_current_budget_and_keeps_the_choice_in_the_link():
    at = run_app()
    at.text_input(key="budget_text").input("0.83").run()
    at.switch_page("app_pages/1_Compare_budgets.py").run()
    no_failure(at)
    assert at.multiselect(key="compare").value == [0.43, 0.63, 0.83]  # 1.03 is beyond 1
    assert "compare" not in at.query_params  # not chosen yet: it follows the budget
    at.multiselect(key="compare").set_value([0.2, 0.45]).run()
    no_failure(at)
    assert at.query_params["compare"] == "0.2,0.45"
    again = run_app(dict(at.query_params))
    again.switch_page("app_pages/1_Compare_budgets.py").run()
    assert again.multiselect(key="compare").value == [0.2, 0.45]
    assert set(app_metrics(again)) == {"m = 0.20", "m = 0.45"}


@pytest.fixture
def solves(monkeypatch) -> list[str]:
    """Every solve the Compare page asks the core for, by its limits (``bops<=0.3x``), the
    page's cache emptied first: what another test solved is not this test's."""
    calls: list[str] = []
    original = mpq_app.ui.compare.solve_spec

    def counting(problem, spec, *args, **kwargs):
        calls.append(" ".join(limit.flag() for limit in spec.limits))
        return original(problem, spec, *args, **kwargs)

    monkeypatch.setattr(mpq_app.ui.compare, "solve_spec", counting)
    mpq_app.ui.compare._solved.clear()
    return calls


def test_compare_page_solves_each_budget_once_not_on_every_rerun(solves):
    """Regression (issue 20): the page solved its two to four budgets again on every rerun."""
    at = run_app()
    at.switch_page("app_pages/1_Compare_budgets.py").run()
    no_failure(at)
    budgets = ["bops<=0.3x", "bops<=0.5x", "bops<=0.7x"]
    assert sorted(solves) == budgets
    shown = app_metrics(at)
    at.run()
    at.run()  # two reruns: nothing solved again, the same cards
    no_failure(at)
    assert sorted(solves) == budgets
    assert app_metrics(at) == shown
    at.multiselect(key="compare").set_value([0.3, 0.5, 0.9]).run()
    assert sorted(solves) == [*budgets, "bops<=0.9x"]  # only the added budget
    assert (
        app_metrics(at)["m = 0.90"] == f"{mc.solve(load_sample(), 0.9).cost / mc.GIGA:,.1f} GBOPs"
    )


def test_compare_page_solves_each_value_of_another_limit_once(solves):
    """The same with two limits, comparing values of the second one."""
    at = run_app({"budget": "0.5", "limit": "mean_wbits<=6"})
    at.switch_page("app_pages/1_Compare_budgets.py").run()
    solves.clear()
    at.selectbox(key="compare_vary").set_value(1).run()
    no_failure(at)
    values = at.multiselect(key="compare_values_1").value
    assert sorted(solves) == [f"bops<=0.5x mean_wbits<={v:g}" for v in sorted(values)]
    assert len(values) >= 2
    at.run()
    at.run()  # two reruns: nothing solved again
    no_failure(at)
    assert len(solves) == len(values)


def test_compare_with_a_file_shows_the_layers_that_differ(tmp_path):
    """An mpq config of the 0.4 budget against the page's allocation (0.5): the layers whose
    width differs, counted independently, and both objectives; a broken file is one error."""
    problem = mc.load_problem(*mc.sample_inputs())
    ours, theirs = mc.solve(problem, 0.5), mc.solve(problem, 0.4)
    path = mc.save_config(theirs, tmp_path)
    differ = int((ours.wbits != theirs.wbits).sum())
    assert differ > 0
    at = run_app()
    at.switch_page("app_pages/1_Compare_budgets.py").run()
    at.file_uploader(key="compare_file").upload(path.name, path.read_bytes()).run()
    no_failure(at)
    assert f"Compared with {path.name} (config): {differ} of 314 layers differ" in [
        shown(c.value) for c in at.caption
    ]
    tables = {tuple(d.value.columns): d.value for d in at.dataframe}
    layers = tables[("layer", "mpq", "file")]
    assert len(layers) == differ
    for row in layers.itertuples():
        i = problem.names.index(row.layer)
        assert (row.mpq, row.file) == (str(ours.wbits[i]), str(theirs.wbits[i]))
    totals = tables[("measure", "mpq", "file")]
    assert totals.iloc[0].tolist() == ["objective", ours.objective, theirs.objective]
    assert totals.iloc[1].tolist()[1:] == [ours.cost / mc.GIGA, theirs.cost / mc.GIGA]
    at.file_uploader(key="compare_file").upload("broken.json", b"{").run()
    assert not at.exception
    assert [shown(e.value) for e in at.error] == [
        "broken.json: not JSON: Expecting property name enclosed in double quotes at line 1 "
        "column 2"
    ]
