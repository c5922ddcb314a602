"""Plotly figure builders: pure functions of Problem, Solution and sweep tables (no Streamlit).

One module per figure family: ``allocation`` (heatmap, distribution), ``module_map``
(a large model's heatmap: module kinds by blocks, and one block's layers), ``limits`` (what the
budget is made of), ``budget`` (curves across a sweep), ``solver_gap``, ``compare``,
``tradeoff`` (several limits: their use, and the map of two);
``colors`` and ``layout`` hold what they share. Every builder returns a new ``go.Figure``
assembled as plain dicts (validated once by ``go.Figure``: cheap enough for a live view), with
its print size, a context subtitle and its export file name (see ``layout``). The app, the
reports and the tests all use the same figures.
"""

from __future__ import annotations

from .allocation import (
    plot_bit_heatmap,
    plot_distribution,
    plot_distribution_by_group,
    width_label,
)
from .budget import marginal_gains, plot_budget_curve, plot_slack, solvers_in
from .colors import WIDTH_COLORS, width_color, width_colors
from .compare import budget_label, plot_distribution_compare
from .layout import context_line, file_stem, model_name, multiplier_text, plain
from .limits import plot_budget_use
from .module_map import plot_block_detail, plot_heatmap
from .solver_gap import plot_solver_gap
from .tradeoff import plot_limits_use, plot_tradeoff_map

__all__ = [
    "WIDTH_COLORS",
    "budget_label",
    "context_line",
    "file_stem",
    "marginal_gains",
    "model_name",
    "multiplier_text",
    "plain",
    "plot_bit_heatmap",
    "plot_block_detail",
    "plot_budget_curve",
    "plot_budget_use",
    "plot_distribution",
    "plot_distribution_by_group",
    "plot_distribution_compare",
    "plot_heatmap",
    "plot_limits_use",
    "plot_slack",
    "plot_solver_gap",
    "plot_tradeoff_map",
    "solvers_in",
    "width_color",
    "width_colors",
    "width_label",
]
