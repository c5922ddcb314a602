"""mpq_core.report.agreement and its figures: the CSV format (the budget form and the limit form),
rejections verbatim, rank correlation, greedy/exact differences, additivity, and the Validate
page's figures."""

from __future__ import annotations

import json
import math

import pytest

import mpq_core as mc
from mpq_core.charts.validation import plot_validation_budgets, plot_validation_scatter
from mpq_core.report.agreement import (
    additivity,
    agreement,
    read_validation,
    solver_differences,
    spearman,
    validation_csv,
)

HEADER = "budget,solver,metric,value\n"
LIMIT_HEADER = "limit,solver,metric,value\n"


def _file(text: str, name: str = "v.csv") -> mc.InputFile:
    return mc.InputFile(name, text.encode())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("budget,solver,metric\n0.5,greedy,mse\n", "v.csv: field 'value': missing column"),
        (HEADER, "v.csv: no rows"),
        ("", "v.csv: empty file"),
        ("\n\n", "v.csv: empty file"),
        (HEADER + "0.5,greedy,mse,abc\n", "v.csv: field 'value': row 2: not a number ('abc')"),
        (HEADER + "0.5,greedy,mse,inf\n", "v.csv: field 'value': row 2: not a finite number (inf)"),
        (
            HEADER + "1.5,greedy,mse,1\n",
            "v.csv: field 'budget': row 2: must be between 0 and 1, got 1.5",
        ),
        (
            HEADER + "-0.5,greedy,mse,1\n",
            "v.csv: field 'budget': row 2: must be between 0 and 1, got -0.5",
        ),
        (
            HEADER + "0.5,fast,mse,1\n",
            "v.csv: field 'solver': row 2: unknown solver 'fast' (expected greedy or exact)",
        ),
        (HEADER + "0.5,greedy,,1\n", "v.csv: field 'metric': row 2: empty"),
        (
            HEADER + "0.5,greedy,mse,1\n0.50,greedy,mse,2\n",
            "v.csv: field 'metric': row 3: repeats row 2 (greedy at 0.5, mse)",
        ),
        (
            "budget,solver,metric,value,higher_is_better\n0.5,greedy,mse,1,false\n0.6,greedy,mse,2,true\n",
            "v.csv: field 'higher_is_better': row 3: differs from row 2 for mse",
        ),
        (
            "budget,solver,metric,value,higher_is_better\n0.5,greedy,mse,1,maybe\n",
            "v.csv: field 'higher_is_better': row 2: expected true or false, got 'maybe'",
        ),
        (HEADER + "0.5,greedy,mse,1,extra\n", "v.csv: row 2: 5 fields, the header has 4"),
        (HEADER + "\n0.5,greedy,mse\n", "v.csv: row 3: 3 fields, the header has 4"),
        (
            "solver,metric,value\ngreedy,mse,1\n",
            "v.csv: field 'budget': missing column (a validation CSV has budget or limit)",
        ),
        (
            "budget,limit,solver,metric,value\n0.5,bpw<=4,greedy,mse,1\n",
            "v.csv: field 'limit': a validation CSV has budget or limit, not both",
        ),
        (
            LIMIT_HEADER + "bpw=4,greedy,mse,1\n",
            "v.csv: field 'limit': row 2: expected RESOURCE[@GROUP]<=VALUE or >=VALUE (like "
            "mean_wbits<=4.08, bops<=0.3x or bpw>=4.2), got 'bpw=4'",
        ),
        (
            LIMIT_HEADER + "bpw<=4,greedy,mse,1\nbpw<=abc,greedy,mse,1\n",
            "v.csv: field 'limit': row 3: expected a number, a number with x (times the "
            "all-top-width value) or with r (from cheapest to dearest), got 'abc'",
        ),
        (
            LIMIT_HEADER + ",greedy,mse,1\n",
            "v.csv: field 'limit': row 2: expected RESOURCE[@GROUP]<=VALUE or >=VALUE (like "
            "mean_wbits<=4.08, bops<=0.3x or bpw>=4.2), got ''",
        ),
        (  # the same limit written two ways is one
            LIMIT_HEADER + "bpw<=4.25,greedy,mse,1\n bpw <= 4.250 ,greedy,mse,2\n",
            "v.csv: field 'metric': row 3: repeats row 2 (greedy at bpw<=4.25, mse)",
        ),
    ],
)
def test_rejections(text, message):
    with pytest.raises(mc.InputError) as err:
        read_validation(_file(text))
    assert str(err.value) == message


def test_not_utf8():
    with pytest.raises(mc.InputError) as err:
        read_validation(mc.InputFile("v.csv", b"budget,\xff"))
    assert str(err.value) == "v.csv: not a CSV table: not UTF-8 text (invalid start byte)"


def test_missing_file():
    with pytest.raises(mc.InputError, match=r"^nothere.csv: file not found$"):
        read_validation("nothere.csv")


def test_minimal_form_columns_in_any_order_and_case():
    results = read_validation(
        _file("Metric, Value ,Budget,Solver\nmse,0.2,0.7,exact\nmse,0.3,0.5,greedy\n")
    )
    frame = results.frame
    assert list(frame["budget"]) == [0.5, 0.7]  # budgets ascending
    assert results.metrics == ("mse",)
    assert results.higher_is_better("mse") is None
    assert not results.has_predictions


def test_spearman_by_hand():
    # ranks of y: 1, 3, 2, 4 -> sum d^2 = 2 -> rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman([1, 2, 3, 4], [10, 30, 20, 40]) == pytest.approx(0.8)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 2], [1, 2]))  # too few points
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))  # constant side


RESULTS = (
    "budget,solver,cost_gbops,predicted_objective,predicted_loss,metric,value,higher_is_better\n"
    "0.3,greedy,10,1.0,4.0,mse,5.0,false\n"
    "0.3,exact,10,1.2,3.8,mse,4.0,false\n"
    "0.5,greedy,20,2.0,3.0,mse,3.0,false\n"
    "0.5,exact,20,2.0,3.0,mse,3.0,false\n"
    "0.7,greedy,30,3.0,2.0,mse,2.5,false\n"
    "0.7,exact,30,3.1,1.9,mse,2.6,false\n"
)


def test_agreement_differences_and_additivity_by_hand():
    found = agreement(read_validation(_file(RESULTS)), "mse")
    assert found.predicted_from == "file"
    # predicted 1.0 1.2 2.0 2.0 3.0 3.1 against mse 5 4 3 3 2.5 2.6: the order is reversed but
    # for the last pair (3.0 -> 2.5, 3.1 -> 2.6)
    assert found.rho == pytest.approx(-0.9411764705882352)
    assert found.agreement == pytest.approx(0.9411764705882352)  # lower is better
    diffs = solver_differences(found)
    assert list(diffs["budget"]) == [0.3, 0.7]
    assert list(diffs["measured_better"]) == ["exact", "greedy"]
    ratios = additivity(found)
    assert list(ratios["ratio"]) == pytest.approx([5 / 4, 4 / 3.8, 1, 1, 2.5 / 2, 2.6 / 1.9])


def test_without_predictions_the_objective_is_solved_on_the_loaded_data(per_bit_problem):
    text = HEADER + "0.3,greedy,cosine,0.9\n0.5,greedy,cosine,0.95\n0.7,greedy,cosine,0.97\n"
    results = read_validation(_file(text))
    with pytest.raises(mc.InputError, match="no predicted objective and no data to solve"):
        agreement(results, "cosine")
    found = agreement(results, "cosine", per_bit_problem)
    assert found.predicted_from == "solved"
    for budget, objective, cost in zip(
        found.table["budget"],
        found.table["predicted_objective"],
        found.table["cost_gbops"],
        strict=True,
    ):
        solution = mc.solve(per_bit_problem, budget, "greedy")
        assert objective == solution.objective
        assert cost == solution.cost / mc.GIGA
    assert found.rho == pytest.approx(1.0)


def test_csv_writer_round_trip():
    rows = [
        {
            "budget": "0.50",
            "solver": "greedy",
            "cost_gbops": 1.5,
            "predicted_objective": 0.25,
            "predicted_loss": None,
            "metric": "cosine",
            "value": 0.999,
            "higher_is_better": True,
        },
    ]
    text = validation_csv(rows)
    assert text.splitlines() == [
        "budget,solver,cost_gbops,predicted_objective,predicted_loss,metric,value,higher_is_better",
        "0.50,greedy,1.5,0.25,,cosine,0.999,true",
    ]
    results = read_validation(_file(text))
    assert results.higher_is_better("cosine") is True


def test_figures():
    found = agreement(read_validation(_file(RESULTS)), "mse")
    budgets = json.loads(plot_validation_budgets(found, multiplier=0.5).to_json())
    names = [t["name"] for t in budgets["data"]]
    # exact drawn first: the greedy's smaller markers stay visible inside its diamonds
    assert names == [
        "measured (exact)",
        "predicted (exact)",
        "measured (greedy)",
        "predicted (greedy)",
    ]
    assert budgets["data"][2]["y"] == [5.0, 3.0, 2.5]
    assert budgets["data"][1]["yaxis"] == "y2"
    lines = budgets["layout"]["shapes"]  # one per panel
    assert [(line["name"], line["x0"], line["xref"]) for line in lines] == [
        ("current budget", 0.5, "x"),
        ("current budget", 0.5, "x2"),
    ]
    assert "lower is better" in budgets["layout"]["yaxis"]["title"]["text"]

    scatter = json.loads(plot_validation_scatter(found, multiplier=0.52).to_json())
    assert "Spearman ρ = -0.941" in scatter["layout"]["title"]["text"]
    star = scatter["data"][-1]
    assert star["name"] == "m = 0.50"  # the nearest measured budget
    assert star["x"] == [2.0, 2.0] and star["y"] == [3.0, 3.0]
    far = json.loads(plot_validation_scatter(found, multiplier=0.95).to_json())
    assert [t["name"] for t in far["data"]] == ["exact", "greedy"]  # no measured budget near 0.95


# A limit file, by hand. Rows sorted by budget, greedy before exact:
#   bpw<=4: predicted 1.0 / 1.1, mse 7 / 8; bpw<=5: 2.0 / 2.0, 5 / 5; bpw<=6: 3.0 / 2.9, 3 / 2.5
# ranks of predicted p = 1, 2, 3.5, 3.5, 6, 5; of mse q = 5, 6, 3.5, 3.5, 2, 1 (both mean 3.5)
# sum (p - 3.5)(q - 3.5) = -3.75 - 3.75 + 0 + 0 - 3.75 - 3.75 = -15; sum (p - 3.5)^2 = 17 = the
# same for q -> rho = -15 / 17
LIMITS = (
    "limit,solver,cost_gbops,bpw,predicted_objective,predicted_loss,metric,value,higher_is_better\n"
    "bpw<=6,exact,30,5.9,2.9,1.9,mse,2.5,false\n"
    "bpw<=4,greedy,10,4.0,1.0,4.0,mse,7,false\n"
    "bpw<=4,exact,10,3.9,1.1,3.8,mse,8,false\n"
    "bpw<=5,greedy,20,5.0,2.0,3.0,mse,5,false\n"
    "bpw<=5,exact,20,5.0,2.0,3.0,mse,5,false\n"
    "bpw<=6,greedy,30,6.0,3.0,2.0,mse,3,false\n"
)


def test_limit_form_reads_the_limits_number_as_the_budget():
    results = read_validation(_file(LIMITS))
    assert results.limits == (mc.parse_limit_flag("bpw<=6"),)  # the first row's
    frame = results.frame
    assert list(frame["budget"]) == [4, 4, 5, 5, 6, 6]  # ascending
    assert list(frame["solver"]) == ["greedy", "exact"] * 3
    assert list(frame["value"]) == [7, 8, 5, 5, 3, 2.5]
    assert set(frame["sweep"]) == {0}
    assert "bpw" not in frame  # read past, not kept
    assert results.has_predictions
    # the budget form reads as one sweep of bops <= m x
    budgets = read_validation(_file(RESULTS))
    assert budgets.limits == (mc.Limit.budget(0.3),)
    assert budgets.limits[0].is_budget


def test_limit_form_agreement_and_differences_by_hand():
    found = agreement(read_validation(_file(LIMITS)), "mse")
    assert found.limit == mc.parse_limit_flag("bpw<=6")
    assert found.predicted_from == "file"
    assert found.rho == pytest.approx(-15 / 17)
    assert found.agreement == pytest.approx(15 / 17)  # lower is better
    diffs = solver_differences(found)
    assert list(diffs["budget"]) == [4, 6]  # at 5 both chose the same
    assert list(diffs["measured_better"]) == ["greedy", "exact"]  # 7 < 8; 2.5 < 3
    assert list(additivity(found)["ratio"]) == pytest.approx(
        [7 / 4, 8 / 3.8, 5 / 3, 5 / 3, 3 / 2, 2.5 / 1.9]
    )
    # the budget in use: the number of the settings' limit of the same resource and direction
    assert found.budget_in([mc.Limit.budget(0.5), mc.parse_limit_flag("bpw<=5.5")]) == 5.5
    assert found.budget_in([mc.Limit.budget(0.5), mc.parse_limit_flag("bpw>=5.5")]) is None


def test_a_limit_file_with_several_limits_holds_one_sweep_per_limit():
    """Regression: the bundled MiniLM formats results sweep ``bpw<=`` and ``bops<=x`` in one
    file; each sweep is read on its own, the rows of another never enter its agreement."""
    other = (
        "bops<=0.1x,greedy,40,5.3,0.5,2.2,mse,2.2,false\n"
        "bops<=0.2x,greedy,70,7.2,0.9,0.5,mse,0.6,false\n"
        "bops<=0.3x,greedy,90,7.9,1.2,0.4,mse,0.4,false\n"
        "bpw>=4,greedy,10,4.0,1.0,4.0,mse,7,false\n"  # a floor: another sweep
    )
    results = read_validation(_file(LIMITS + other))
    assert results.limits == (
        mc.parse_limit_flag("bpw<=6"),
        mc.parse_limit_flag("bops<=0.1x"),
        mc.parse_limit_flag("bpw>=4"),
    )
    assert [len(results.frame[results.frame["sweep"] == i]) for i in range(3)] == [6, 3, 1]
    assert agreement(results, "mse").rho == pytest.approx(-15 / 17)  # as without the others
    budgets = agreement(results, "mse", sweep=1)
    assert budgets.limit.is_budget
    assert list(budgets.table["budget"]) == [0.1, 0.2, 0.3]
    assert budgets.rho == pytest.approx(-1.0)  # 0.5, 0.9, 1.2 against 2.2, 0.6, 0.4
    # the sweep the settings use, else the first
    assert results.sweep_of([mc.parse_limit_flag("mean_wbits<=4"), mc.Limit.budget(0.5)]) == 1
    assert results.sweep_of([mc.parse_limit_flag("bpw>=4.5")]) == 2
    assert results.sweep_of([mc.parse_limit_flag("wbits<=4")]) == 0
    with pytest.raises(mc.InputError) as err:
        agreement(results, "cosine", sweep=1)
    assert str(err.value) == (
        "v.csv: field 'metric': no rows for metric 'cosine' in the sweep of bops<=0.1x"
    )


def test_a_limit_file_without_predictions_is_solved_under_each_limit(per_bit_problem):
    sample = mc.SAMPLES["minilm_formats"]
    formats = mc.load_problem(*mc.sample_inputs(sample.key), spec=sample.spec().problem_key())
    text = LIMIT_HEADER + (
        "bpw<=4.5,greedy,mse,3\nbpw<=5,greedy,mse,2\nbpw<=6,exact,mse,1\nbpw<=6,greedy,mse,1.5\n"
    )
    results = read_validation(_file(text))
    found = agreement(results, "mse", formats)
    assert found.predicted_from == "solved"
    for budget, solver, objective, cost in found.table[
        ["budget", "solver", "predicted_objective", "cost_gbops"]
    ].itertuples(index=False):
        solution = mc.solve(formats, None, solver, limits=[mc.Limit("bpw", budget)])
        assert solution.feasible
        assert objective == solution.objective
        assert cost == solution.cost / mc.GIGA
    # solved: 4.5 < 5 < 6 greedy < 6 exact (0.00493, 0.00617, 0.00752, 0.00754 of the sample)
    # against mse 3 > 2 > 1.5 > 1: the reverse order
    assert found.rho == pytest.approx(-1.0)
    with pytest.raises(mc.InputError) as err:  # a problem of widths has no bpw
        agreement(results, "mse", per_bit_problem)
    assert str(err.value) == (
        "v.csv: field 'predicted_objective': no predicted objective, and bpw<=4.5 cannot be "
        "solved on the loaded data (unknown resource 'bpw' (known: bops, wbits, mean_wbits; "
        "others come from a resources file))"
    )


def test_limit_figures_put_the_limit_on_x():
    found = agreement(read_validation(_file(LIMITS)), "mse")
    budgets = json.loads(plot_validation_budgets(found, multiplier=5).to_json())
    layout = budgets["layout"]
    assert layout["xaxis2"]["title"]["text"] == "bpw limit (bits per weight)"
    assert "range" not in layout["xaxis2"]  # the multiplier's 0..1 is not this axis
    assert "by bpw limit" in layout["title"]["text"]
    assert layout["title"]["subtitle"]["text"] == "3 measured bpw limits · greedy, exact"
    assert budgets["data"][2]["name"] == "measured (greedy)"
    assert budgets["data"][2]["x"] == [4, 5, 6]
    assert budgets["data"][2]["y"] == [7, 5, 3]
    assert budgets["data"][2]["hovertemplate"].startswith("bpw ≤ %{x:.4~g}<br>mse")
    assert [(line["x0"], line["xref"]) for line in layout["shapes"]] == [(5, "x"), (5, "x2")]

    scatter = json.loads(plot_validation_scatter(found, multiplier=5.4).to_json())
    star = scatter["data"][-1]
    assert star["name"] == "bpw ≤ 5"  # the nearest measured limit (within half a step)
    assert star["y"] == [5, 5]
    assert scatter["data"][0]["customdata"] == [4, 5, 6]
    far = json.loads(plot_validation_scatter(found, multiplier=7).to_json())
    assert [t["name"] for t in far["data"]] == ["exact", "greedy"]
