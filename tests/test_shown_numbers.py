"""Issue 19, items 15 and 17: one infeasibility threshold, from one function, on every surface
(the app's caption, the charts, the messages, the command line), written with the digits that
keep it on the right side of the boundary; figures of a tiny model in a unit that reads; limits
shown with six significant digits while the files keep every digit."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from app_runs import ENTRY
from app_views import app_charts
from factory import make_problem, sample
from streamlit.testing.v1 import AppTest
from support import REPO

import mpq_core as mc
from mpq_core import charts
from mpq_core.report import text as text_report

OPT = "--optimize_mixed_precision"
SD14 = mc.SAMPLES["sd14"]
HAWQ = REPO / "sample_data/hawq_v3_resnet18"


def _hawq() -> mc.Problem:
    return mc.load_problem(HAWQ / "flops.json", HAWQ / "sensitivity.json")


# --- item 15: the threshold -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "files", "text", "exact"),
    [
        (sample, (SD14.flops_path, SD14.sensitivity_path), "0.125", True),
        # 4/8 ladder, plus4 activations: 4 x 8 / (8 x 12) = 1/3, rounded up, never to 0.333333
        (_hawq, (HAWQ / "flops.json", HAWQ / "sensitivity.json"), "0.333334", False),
    ],
    ids=["sd14", "hawq_resnet18"],
)
def test_one_threshold_in_charts_messages_and_the_command_line(run, problem, files, text, exact):
    """Regression: the caption said "below 0.13 are infeasible", the charts m < 0.125, and the
    command line solved 0.125 as feasible."""
    problem = problem()
    threshold = mc.feasibility_threshold(problem)
    assert (threshold.text, threshold.exact) == (text, exact)
    assert threshold.multiplier == float(text)
    below = mc.solve(problem, 0.05)
    # the charts: the shaded strip and the notice of an infeasible budget
    curve = charts.plot_budget_curve(mc.sweep_budgets(problem, [0.5, 1.0]), below)
    (strip,) = [a for a in curve.layout.annotations if a.name == "infeasible"]
    assert strip.text == f"infeasible<br>m < {text}"
    assert {s.x1 for s in curve.layout.shapes if s.name == "infeasible"} == {float(text)}
    (notice,) = charts.plot_distribution(below).layout.annotations[-1:]
    assert f"The smallest feasible multiplier is {text}." in notice.text.replace("<br>", " ")
    # the messages: the solver's and the sweep table's
    assert f"the smallest feasible multiplier is {text}" in below.message
    assert f"smallest feasible multiplier {text}" in "\n".join(
        text_report.sweep_lines(mc.sweep_budgets(problem, [0.5]), problem, ["greedy"])
    )
    # the command line: the threshold itself solves, one unit of its last decimal below not
    flops, sens = (str(f) for f in files)
    code, _, err = run(OPT, "--flops_file", flops, "--sensitivity_file", sens,
                       "--budget_multiplier", text, "--no_save", "--quiet")  # fmt: skip
    assert code == 0, err
    just_below = f"{float(text) - 1e-6:.6f}"
    code, _, err = run(OPT, "--flops_file", flops, "--sensitivity_file", sens,
                       "--budget_multiplier", just_below, "--no_save")  # fmt: skip
    assert code == 3
    assert f"the smallest feasible multiplier is {text}" in err


def test_the_caption_and_the_charts_of_the_app_name_the_threshold_the_cli_solves(run):
    """The number the app's caption gives, read off the page, is the one its charts shade up
    to, and the command line solves exactly it but not one unit of its last decimal below."""
    at = AppTest.from_file(str(REPO / ENTRY), default_timeout=60).run()
    assert not at.exception
    found = [re.search(r"below \*\*([0-9.]+)\*\* are infeasible", c.value) for c in at.caption]
    (caption,) = [m.group(1) for m in found if m]
    strips = [
        a["text"]
        for key in ("budget_curve", "slack")
        for a in app_charts(at)[key]["layout"]["annotations"]
        if a.get("name") == "infeasible"
    ]
    assert strips == [f"infeasible<br>m < {caption}"] * 2
    assert caption == mc.feasibility_threshold(sample()).text == "0.125"
    code, _, err = run(OPT, "--budget_multiplier", caption, "--no_save", "--quiet")
    assert code == 0, err
    code, _, err = run(OPT, "--budget_multiplier", f"{float(caption) - 1e-6:.6f}", "--no_save")
    assert code == 3 and f"multiplier is {caption} " in err


def test_the_threshold_of_a_ratio_on_the_grid_is_that_ratio():
    # one layer of 100 MACs, 4/8/16 bits, plus4: 3,200 of 25,600 BOPs at the lowest width
    problem = make_problem([100], [1.0])
    threshold = mc.feasibility_threshold(problem)
    assert (threshold.multiplier, threshold.text, threshold.exact) == (0.125, "0.125", True)
    assert mc.solve(problem, 0.125).feasible and not mc.solve(problem, 0.124999).feasible
    # pinned to the top width: nothing below 1 fits
    pinned = make_problem([100, 50], [1.0, 0.5], pins={"layer0": 16, "layer1": 16})
    assert mc.feasibility_threshold(pinned).text == "1.00"


def test_a_tiny_models_infeasible_message_reads_in_its_own_units():
    """Regression: "budget 0.00 GBOPs is below the minimum cost 0.00 GBOPs ... by 0.00 GBOPs"."""
    problem = make_problem([100], [1.0])  # 3,200 BOPs at 4 bits, 25,600 at 16
    assert mc.solve(problem, 0.1).message == (
        "budget 2.56 KBOPs is below the minimum cost 3.20 KBOPs (all layers at their lowest "
        "width) by 640.00 BOPs; the smallest feasible multiplier is 0.125 (0.13 on the 0.01 "
        "grid)"
    )
    big = sample()  # the sample keeps its GBOPs
    assert mc.solve(big, 0.1).message == (
        "budget 10,281.90 GBOPs is below the minimum cost 12,852.38 GBOPs (all layers at their "
        "lowest width) by 2,570.48 GBOPs; the smallest feasible multiplier is 0.125 (0.13 on the "
        "0.01 grid)"
    )


def test_a_threshold_with_more_decimals_says_it_is_rounded_up():
    message = mc.solve(_hawq(), 0.2).message
    assert message.endswith(
        "the smallest feasible multiplier is 0.333334 (to 6 decimals; 0.34 on the 0.01 grid)"
    )


# --- item 17: limits with the digits that matter ----------------------------------------------


def test_limits_show_six_significant_digits_and_the_files_keep_every_digit(run, workdir):
    """Regression: ``mean_wbits@content <= 3.363527239150508`` in the command line's report."""
    d = REPO / "sample_data/mixdq_sdxl_turbo"
    code, out, err = run(
        OPT, "--flops_file", str(d / "flops.json"), "--sensitivity_file",
        str(d / "sensitivity.yaml"), "--bits", "2,4,8", "--name_prefix", "model.",
        "--pin_file", str(d / "pins_quality_4_8.json"), "--constraints",
        str(d / "constraints_w4.08.json"), "--output_dir", "out",
    )  # fmt: skip
    assert code == 0, err
    limits = [line for line in out.splitlines() if line.startswith("Limit ")]
    assert [line.split(":")[0] for line in limits] == [
        "Limit mean_wbits@content <= 3.36353",
        "Limit mean_wbits@quality <= 5.73116",
    ]
    assert "3.363527239150508" not in out and "5.731163702345259" not in out
    (config,) = Path("out").rglob("quantization_config_*.json")
    written = json.loads(config.read_text())["metadata"]["limits"]
    assert [limit["at_most"] for limit in written] == ["3.363527239150508", "5.731163702345259"]


def test_a_limit_label_rounds_only_what_it_shows():
    assert mc.Limit("mean_wbits", "3.363527239150508", "content").label() == (
        "mean_wbits@content <= 3.36353"
    )
    assert mc.Limit("bops", "0.5x").label() == "bops <= 0.5x"
    assert mc.Limit("t4_latency", "0.123456789r").label() == "t4_latency <= 0.123457r"
    assert mc.Limit("wbits", "123456789").label() == "wbits <= 123456789"
    assert mc.Limit("mean_wbits", "4.08").text == "4.08"
    limit = mc.Limit("mean_wbits", "3.363527239150508")
    assert limit.to_dict()["at_most"] == "3.363527239150508"  # what files and links keep
    fig = charts.plot_limits_use(mc.solve(sample(), limits=[mc.Limit("bops", "0.5x"), limit]))
    texts = [html.unescape(a.text) for a in fig.layout.annotations]
    assert any("mean_wbits <= 3.36353" in t for t in texts) and not any(
        "3.363527" in t for t in texts
    )
