"""Report export: the current view as one self-contained HTML file and each chart as an image.

The HTML report embeds plotly.js, every chart, the settings and the headline figures; writing it
needs no browser. PNG/SVG/PDF images come from :mod:`mpq_core.charts.images` (kaleido and a
local Chromium, checked first so that a missing or broken one fails at once, in one line).
Image files carry the budget in their names (``heatmap_m0.25.png``).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import plotly.io as pio
from plotly.offline import get_plotlyjs

from ..charts.images import (
    IMAGE_FORMATS,
    PNG_SCALE,
    ImageExportError,
    ImageRenderer,
    check_formats,
    figure_images,
    image_options,
    image_stem,
)
from ..io.export import write_bytes_atomic, write_text_atomic
from ..solving.solution import Solution, greedy_gap
from .display import bits_size, gap_percent, gbops, mean_bits, objective_value, percent
from .formats import DEFAULT_FORMATS, REPORT_FORMATS

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from ..model.problem import Problem

__all__ = [
    "DEFAULT_FORMATS",
    "IMAGE_FORMATS",
    "PNG_SCALE",
    "REPORT_FILENAME",
    "REPORT_FORMATS",
    "ImageExportError",
    "ImageRenderer",
    "build_report_figures",
    "chart_config",
    "figure_images",
    "gbops",
    "headline_figures",
    "report_html",
    "report_settings",
    "view_report_html",
    "write_report",
    "write_view_report",
]
REPORT_FILENAME = "report.html"

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 1200px; padding: 0 1.5rem; color: #1f2430; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #dde1e8;
     padding-bottom: 0.3rem; }
p.meta { color: #5b6270; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { text-align: left; padding: 0.25rem 1.2rem 0.25rem 0; border-bottom: 1px solid #eef0f4;
         vertical-align: top; }
th { font-weight: 600; color: #3a4150; }
section.chart { margin: 1rem 0 2rem; }
"""


def headline_figures(solution: Solution, *, greedy: Solution | None = None) -> dict[str, str]:
    """The app's headline metrics as text, e.g. ``{"Final cost": "51,359.9 GBOPs", ...}``.

    ``greedy`` (the greedy solution of the same budget) adds "Greedy gap" to an exact solution.
    "Mean weight bits" is the params-weighted mean (the W4.08 of papers, what the
    ``mean_wbits`` limit caps), as in the app and the command line.
    """
    figures = {
        "Status": solution.status,
        "Budget": gbops(solution.budget),
        "Final cost": gbops(solution.cost),
        "Utilization": percent(solution.utilization),
        "Objective": f"{objective_value(solution.objective)} "
        f"({percent(solution.objective_share)} of the maximum)",
        "Upgrades": f"{solution.num_upgrades:,}",
        **weight_figures(solution),
    }
    if greedy is not None and solution.solver != "greedy":
        gap, pct = greedy_gap(solution, greedy)
        figures["Greedy gap"] = f"{gap:,.4g} ({gap_percent(pct)})"
    if solution.upper_bound is not None:
        figures["LP upper bound"] = f"{solution.upper_bound:,.6g}"
    labels = solution.problem.option_labels
    for name, share in zip(labels, solution.width_shares(), strict=True):
        figures[f"{name} layers"] = f"{share.layers:,} ({percent(share.bops_share, 2)} of the cost)"
    if not solution.feasible:
        figures["Message"] = solution.message
    return figures


def weight_figures(solution: Solution) -> dict[str, str]:
    """The params-weighted mean weight width, overall and per group, and the weight memory."""
    mean = solution.param_mean_wbits()
    if math.isnan(mean):
        return {"Mean weight bits": "n/a (the Phase 1 file gives no parameter counts)"}
    if solution.problem.formats is not None:
        return {
            "Effective bits per weight": f"{solution.effective_bits():.4f} (scales included; "
            f"nominal {mean:.2f})",
            "Weight memory": f"{bits_size(solution.stored_weight_bits())} (scales included)",
        }
    figures = {"Mean weight bits": f"{mean_bits(mean)} (params-weighted)"}
    for group in solution.problem.groups:
        figures[f"Mean weight bits of {group.name}"] = mean_bits(
            solution.param_mean_wbits(group.name)
        )
    figures["Weight memory"] = bits_size(solution.weight_bits())
    return figures


def report_settings(solution: Solution) -> dict[str, str]:
    """The settings that produced ``solution``: inputs (with hashes), solver and cost model."""
    problem = solution.problem
    inputs = problem.inputs
    sens = inputs.sensitivity
    pins = ", ".join(f"{name}: {'/'.join(map(str, w))}" for name, w in problem.pins) or "none"
    return {
        "Budget multiplier": f"{solution.multiplier:.2f}",
        "Solver": solution.solver,
        "Layer file": f"{inputs.layers.source} (sha256 {inputs.layers.sha256[:12]})",
        "Sensitivity file": f"{sens.source} (sha256 {sens.sha256[:12]})",
        "Sensitivity": f"{sens.kind}{', synthetic' if sens.synthetic else ''}",
        "Layers": f"{problem.n_layers:,}",
        **_options(problem),
        "Upgrade discount": f"{problem.upgrade_discount:g}",
        "Pinned layers": pins,
        "Limits": "; ".join(bound.limit.label() for bound in solution.bounds) or "none",
        f"All-{problem.option_labels[-1]} cost": gbops(problem.max_cost),
        "All-lowest cost": gbops(problem.min_cost),
    }


def _options(problem) -> dict[str, str]:
    """The ladder and its activation rule, or the formats (which carry their activations)."""
    if problem.formats is not None:
        return {"Formats": "/".join(fmt.name for fmt in problem.formats)}
    return {
        "Weight-width ladder": "/".join(map(str, problem.widths)),
        "Activation-bit rule": problem.abit_rule,
    }


def chart_config(fig: go.Figure, key: str = "chart") -> dict[str, object]:
    """plotly.js config for a chart on a page: the camera button saves the same PNG as every
    other export path (print size, :data:`PNG_SCALE`, the figure's file name)."""
    options = image_options(fig, "png") | {"filename": image_stem(key, fig)}
    return {
        "displaylogo": False,
        "toImageButtonOptions": options,
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }


def report_html(
    figures: Mapping[str, go.Figure],
    summary: Mapping[str, object],
    *,
    settings: Mapping[str, object] | None = None,
    title: str = "Mixed-precision allocation report",
) -> str:
    """One self-contained HTML page: plotly.js inline, the headline figures, settings, charts.

    ``figures`` maps a short key (``heatmap``, ``slack`` ...) to a figure; ``summary`` holds the
    headline figures (label -> value), ``settings`` the inputs and options that produced them.
    """
    _check_keys(figures)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head>",
        "<body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">Generated {stamp} by mpq.</p>',
        "<h2>Headline figures</h2>",
        _table(summary, "summary"),
    ]
    if settings:
        parts += ["<h2>Settings</h2>", _table(settings, "settings")]
    parts.append("<h2>Charts</h2>")
    for key, fig in figures.items():
        chart = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{key}",
            config=chart_config(fig, key),
        )
        parts.append(f'<section class="chart" id="section-{key}">{chart}</section>')
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def write_report(
    figures: Mapping[str, go.Figure],
    summary: Mapping[str, object],
    out_dir: str | Path,
    *,
    formats: Sequence[str] = DEFAULT_FORMATS,
    settings: Mapping[str, object] | None = None,
    title: str = "Mixed-precision allocation report",
    scale: float = PNG_SCALE,
) -> list[Path]:
    """Write ``report.html`` and one image per figure and format (``heatmap_m0.25.png``) into
    ``out_dir``; return the paths.

    The images are rendered first, so a missing or broken browser fails before any file is
    written; files are written atomically (temporary file, then rename).
    """
    _check_keys(figures)
    fmts = check_formats(formats, REPORT_FORMATS)
    images = figure_images(figures, [f for f in fmts if f != "html"], scale=scale)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "html" in fmts:
        text = report_html(figures, summary, settings=settings, title=title)
        written.append(write_text_atomic(folder / REPORT_FILENAME, text))
    for name, data in images.items():
        written.append(write_bytes_atomic(folder / name, data))
    return written


def build_report_figures(
    problem: Problem, solution: Solution, sweep: pd.DataFrame
) -> dict[str, go.Figure]:
    """The main view's charts, keyed as in the app; plus the solver gap when both solvers ran,
    the use of every limit when there are several, and the widths per group when the
    constraints define groups.

    ``sweep`` is a :func:`~mpq_core.sweep_budgets` table of ``problem`` (for the budget curve
    and the slack chart and, with both solvers, the gap chart).
    """
    from .. import charts
    from ..solving.sweep import solver_gap

    if solution.problem is not problem:
        raise ValueError("the solution was not computed for this problem")
    figures = {
        "heatmap": charts.plot_heatmap(solution),
        "distribution": charts.plot_distribution(solution),
        "budget_use": charts.plot_budget_use(solution),
        "budget_curve": charts.plot_budget_curve(sweep, solution),
        "slack": charts.plot_slack(sweep, solution),
    }
    if {"greedy", "exact"} <= set(sweep["solver"]):
        figures["solver_gap"] = charts.plot_solver_gap(solver_gap(sweep), solution)
    if len(solution.bounds) > 1:
        figures["limits_use"] = charts.plot_limits_use(solution)
    if problem.groups:
        figures["groups"] = charts.plot_distribution_by_group(solution)
    return figures


def view_report_html(
    problem: Problem,
    solution: Solution,
    sweep: pd.DataFrame,
    *,
    greedy: Solution | None = None,
) -> str:
    """The HTML report of one view (what the app offers for download)."""
    return report_html(
        build_report_figures(problem, solution, sweep),
        headline_figures(solution, greedy=greedy),
        settings=report_settings(solution),
        title=_view_title(solution),
    )


def write_view_report(
    problem: Problem,
    solution: Solution,
    sweep: pd.DataFrame,
    out_dir: str | Path,
    *,
    formats: Sequence[str] = DEFAULT_FORMATS,
    greedy: Solution | None = None,
) -> list[Path]:
    """Write the report of one view (HTML and chart images) into ``out_dir`` (the CLI's)."""
    return write_report(
        build_report_figures(problem, solution, sweep),
        headline_figures(solution, greedy=greedy),
        out_dir,
        formats=formats,
        settings=report_settings(solution),
        title=_view_title(solution),
    )


def _view_title(solution: Solution) -> str:
    return f"Mixed-precision allocation at budget multiplier {solution.multiplier:.2f}"


def _table(rows: Mapping[str, object], css_class: str) -> str:
    cells = "\n".join(
        f"<tr><th>{html.escape(str(label))}</th><td>{html.escape(_text(value))}</td></tr>"
        for label, value in rows.items()
    )
    return f'<table class="{css_class}">\n{cells}\n</table>'


def _text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:,.6g}"
    return str(value)


def _check_keys(figures: Mapping[str, object]) -> None:
    for key in figures:
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValueError(
                f"figure key {key!r} is not a plain name (letters, digits, '_' and '-'); "
                "it names the chart's image file"
            )
