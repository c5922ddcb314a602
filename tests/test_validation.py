"""mpq_core.report.agreement and its figures: the CSV format, rejections verbatim, rank correlation,
greedy/exact differences, additivity, and the Validate page's figures."""

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
