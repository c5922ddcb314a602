"""The Validate page through AppTest: bundled results of the measured sample, the current
budget, the metric choice, the formats sample's results by limit, and the how-to when the loaded
data has no results."""

from __future__ import annotations

import csv
import json

import pytest
from app_runs import ENTRY
from streamlit.testing.v1 import AppTest
from support import REPO

import mpq_core as mc
from mpq_core.report.agreement import agreement, read_validation, solver_differences

PAGE = "app_pages/5_Validate.py"
BUNDLED = REPO / "sample_data" / "minilm_l6" / "validation.csv"
FORMATS = REPO / "sample_data" / "minilm_l6_formats" / "validation.csv"


def _validate_page(source: str = "minilm") -> AppTest:
    at = AppTest.from_file(str(REPO / ENTRY), default_timeout=60).run()
    at.radio(key="source").set_value(source).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _charts(at: AppTest) -> dict[str, dict]:
    return {el.key: json.loads(el.proto.spec) for el in at.get("plotly_chart")}


def test_measured_sample_shows_its_bundled_results():
    at = _validate_page()
    results = read_validation(BUNDLED)
    metric = at.selectbox(key="validate_metric").value
    assert metric == results.metrics[0]
    found = agreement(results, metric)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Spearman ρ (predicted vs measured)"] == f"{found.rho:+.3f}"
    assert metrics["Rows (budget × solver)"] == str(len(found.table))
    assert metrics["Budgets where greedy and exact differ"] == str(len(solver_differences(found)))
    charts = _charts(at)
    assert set(charts) == {"validation_budgets", "validation_scatter"}
    assert f"ρ = {found.rho:+.3f}" in charts["validation_scatter"]["layout"]["title"]["text"]
    assert any("bundled with the sample" in c.value for c in at.caption)
    assert "validate_sweep" not in [box.key for box in at.selectbox]  # one sweep: no choice
    # measured data: no synthetic notice
    assert not any("synthetic" in w.value.lower() for w in at.sidebar.warning)


def test_the_current_budget_is_marked():
    at = _validate_page()
    spec = at.session_state["spec"]  # the settings: the budget is their first limit
    at.session_state["spec"] = spec.with_limits((mc.Limit.budget(0.3), *spec.limits[1:]))
    at.run()
    charts = _charts(at)
    lines = charts["validation_budgets"]["layout"]["shapes"]
    assert [line["x0"] for line in lines] == pytest.approx([0.3, 0.3])  # one per panel
    star = charts["validation_scatter"]["data"][-1]
    assert star["name"] == "m = 0.30"
    frame = read_validation(BUNDLED).frame
    metric = at.selectbox(key="validate_metric").value
    rows = frame[(frame["budget"] == 0.3) & (frame["metric"] == metric)]
    assert star["y"] == rows["value"].tolist()


def test_choosing_another_metric_redraws():
    at = _validate_page()
    at.selectbox(key="validate_metric").set_value("mse").run()
    charts = _charts(at)
    title = charts["validation_budgets"]["layout"]["yaxis"]["title"]["text"]
    assert title == "mse (lower is better)"  # the panel's title says "Measured mse"
    panels = [a["text"] for a in charts["validation_budgets"]["layout"]["annotations"]]
    assert "<b>Measured mse</b>" in panels
    found = agreement(read_validation(BUNDLED), "mse")
    assert {m.label: m.value for m in at.metric}["Spearman ρ (predicted vs measured)"] == (
        f"{found.rho:+.3f}"
    )


def test_data_without_results_says_how_to_make_them():
    at = _validate_page("sd14")
    assert not at.get("plotly_chart")
    text = " ".join(m.value for m in at.markdown)
    assert "No measured results for this data yet" in text
    assert "python -m mpq_torch validate" in text
    assert mc.SAMPLES["sd14"].validation is None


def test_an_uploaded_csv_error_is_shown_as_plain_text():
    """Regression (issue 19, item 5): the file's name and a cell of it reached ``st.error``
    as Markdown, so ``[EVIL](http://...)`` showed a live link and ``![IMG](http://...)``
    made every visitor's browser fetch a remote image."""
    at = _validate_page()
    at.file_uploader(key="upload_validation").upload(
        "[EVIL](http://evil.example/f).csv",
        b"budget,solver,metric,value\n0.5,![IMG](http://evil.example/i.png),mse,1\n",
    ).run()
    assert not at.exception, [e.message for e in at.exception]
    assert [e.value for e in at.error] == [
        "`[EVIL](http://evil.example/f).csv:` field \\'solver\\'\\: row 2\\: unknown solver "
        "`'![IMG](http://evil.example/i.png)'` \\(expected greedy or exact\\)"
    ]


def _csv_rows(path, metric: str) -> list[dict[str, str]]:
    """The file's rows of ``metric``, read with the csv module alone."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["metric"] == metric]


def test_formats_sample_shows_its_results_by_limit():
    at = _validate_page("minilm_formats")
    assert mc.SAMPLES["minilm_formats"].validation_path == FORMATS
    metric = at.selectbox(key="validate_metric").value
    # the file sweeps bpw<= and bops<=x; the sample's settings limit bpw (bpw<=5): that sweep
    assert at.selectbox(key="validate_sweep").value == 0
    rows = [row for row in _csv_rows(FORMATS, metric) if row["limit"].startswith("bpw<=")]
    limits = sorted({float(row["limit"].removeprefix("bpw<=")) for row in rows})
    assert len(rows) == 16 and limits == [4.25, 4.5, 5, 5.5, 6, 7, 8, 10]
    found = agreement(read_validation(FORMATS), metric)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Spearman ρ (predicted vs measured)": f"{found.rho:+.3f}",
        "Rows (bpw limit × solver)": str(len(rows)),
        "bpw limits where greedy and exact differ": str(len(solver_differences(found))),
    }
    charts = _charts(at)
    assert set(charts) == {"validation_budgets", "validation_scatter"}
    budgets = charts["validation_budgets"]
    assert budgets["layout"]["xaxis2"]["title"]["text"] == "bpw limit (bits per weight)"
    for trace in budgets["data"]:
        assert trace["x"] == limits  # one point per limit and solver
    lines = budgets["layout"]["shapes"]
    assert [line["x0"] for line in lines] == [5, 5]  # the sample's bpw<=5
    scatter = charts["validation_scatter"]
    assert sum(len(t["x"]) for t in scatter["data"][:-1]) == len(rows)
    assert scatter["data"][-1]["name"] == "bpw ≤ 5"
    assert any("bpw ≤ 5" in c.value for c in at.caption)

    at.selectbox(key="validate_sweep").set_value(1).run()  # the bops<=x sweep
    assert not at.exception, [e.message for e in at.exception]
    budget_rows = [row for row in _csv_rows(FORMATS, metric) if row["limit"].startswith("bops<=")]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows (budget × solver)"] == str(len(budget_rows)) == "4"
    budgets = _charts(at)["validation_budgets"]
    assert budgets["data"][0]["x"] == [0.1, 0.2]
    assert "budget multiplier" in budgets["layout"]["xaxis2"]["title"]["text"]
    assert not budgets["layout"].get("shapes")  # the settings have no BOPs budget
