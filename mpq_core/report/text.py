"""Plain-text report of a Phase 3 run, as the original command line printed it (lines, no I/O).

Every figure comes from the engine's objects (Problem, Solution, sweep tables); this module
only formats. ``main.py`` decides where the lines go.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from ..io.export import export_config
from ..io.loading import Inputs
from ..model.problem import GIGA, Problem
from ..solving.solution import Solution, feasibility_threshold, greedy_gap
from ..solving.solvers import SOLVER_LABELS
from ..solving.sweep import solver_gap
from .display import original_gbops
from .uniform import uniform_baselines, uniform_line

RULE = "=" * 70
PROGRESS_EVERY = 50
PINS_SHOWN = 12
SWEEP_TABLE_STEP = 5  # print every 5th row of the 0.01 grid (every 0.05)

BANNERS = {
    "greedy": "GREEDY BANG-FOR-BUCK OPTIMIZATION",
    "exact": "EXACT OPTIMIZATION (MULTIPLE-CHOICE KNAPSACK, LP BOUND)",
}


def utilization_verdict(solution: Solution) -> str:
    """The original's verdict on cost / budget (>95% excellent, 80-95% good, <80% suboptimal)."""
    percent = solution.utilization * 100
    if percent > 95:
        return "Excellent - budget fully utilized"
    if percent >= 80:
        return "Good - some budget left unused"
    if _at_top(solution):
        return "every layer is at its highest allowed width; the budget is more than enough"
    return "Suboptimal - may indicate issue with constraints"


def synthetic_notice(inputs: Inputs) -> str | None:
    """One line when the sensitivity file says it is synthetic, else None."""
    sens = inputs.sensitivity
    if not sens.synthetic:
        return None
    meta = sens.metadata
    made_by = "a documented rule"
    if meta.get("generator"):
        seed = f", seed {meta['seed']}" if meta.get("seed") is not None else ""
        made_by = f"a documented seeded rule ({meta['generator']}{seed})"
    return (
        f"NOTE: sensitivity scores are SYNTHETIC (not measured: made by {made_by}; the full "
        f"rule is in the metadata of {sens.source}); use them to exercise the tool, not as facts "
        "about the model"
    )


def total_upgrades(problem: Problem) -> int:
    """Upgrade steps available over all layers (allowed widths above each layer's lowest)."""
    return int(problem.allowed.sum()) - problem.n_layers


def settings_line(problem: Problem, solver: str) -> str:
    if problem.formats is not None:
        return (
            f"Solver: {SOLVER_LABELS.get(solver, solver)} | formats "
            f"{'/'.join(problem.option_names)} | sensitivity {_kind(problem)}"
        )
    rule = "min(wbit + 4, 16)" if problem.abit_rule == "plus4" else "wbit"
    ladder = "/".join(map(str, problem.widths))
    return (
        f"Solver: {SOLVER_LABELS.get(solver, solver)} | ladder {ladder} | "
        f"abit = {rule} ({problem.abit_rule}) | upgrade discount {problem.upgrade_discount:g} | "
        f"sensitivity {_kind(problem)}"
    )


_PLURAL = {"loss": "losses", "score": "scores"}


def _kind(problem: Problem) -> str:
    kind = problem.inputs.sensitivity.kind.replace("_", "-")
    return kind if problem.sense == "scalar" else f"{kind} {_PLURAL[problem.sense]}"


def progress_lines(solution: Solution, every: int = PROGRESS_EVERY) -> list[str]:
    """``Iteration 50: Cost = ... / ... GBOPs`` every ``every`` greedy upgrades."""
    costs = solution.upgrade_costs
    budget = f"{solution.budget / GIGA:.2f}"
    return [
        f"Iteration {k}: Cost = {costs[k - 1] / GIGA:.2f} / {budget} GBOPs"
        for k in range(every, len(costs) + 1, every)
    ]


def distribution_lines(solution: Solution) -> list[str]:
    """Layers and percentage per width, plus each width's share of the BOPs."""
    n = solution.problem.n_layers
    if solution.problem.formats is not None:
        return format_lines(solution)
    lines = ["Bit-width Distribution:"]
    for share in solution.width_shares():
        lines.append(
            f"{share.width}-bit: {share.layers} layers ({share.layers / n * 100:4.1f}%), "
            f"{share.bops_share * 100:4.1f}% of BOPs"
        )
    return lines


def format_lines(solution: Solution) -> list[str]:
    """Layers and percentage per format, each format's share of the BOPs and its effective
    bits per weight over the layers that take it."""
    problem = solution.problem
    n = problem.n_layers
    bops = solution.layer_bops()
    total = math.fsum(bops.tolist())
    bits = problem.resource("bpw") if not np.isnan(problem.params).any() else None
    lines = ["Format Distribution:"]
    for j, fmt in enumerate(problem.formats):
        mask = solution.choice == j
        share = math.fsum(bops[mask].tolist()) / total if total > 0 else 0.0
        line = f"{fmt.name}: {int(mask.sum())} layers ({mask.sum() / n * 100:4.1f}%), "
        line += f"{share * 100:4.1f}% of BOPs"
        if bits is not None and mask.any():
            mean = math.fsum(bits[mask, j].tolist()) / math.fsum(problem.params[mask].tolist())
            line += f", {mean:.4f} bits per weight"
        lines.append(line)
    return lines


def widths_word(problem: Problem) -> str:
    """What the minimum cost is made of: ``4-bit``, or the cheapest formats."""
    return "at their cheapest format" if problem.formats is not None else problem.option_labels[0]


def report_lines(solution: Solution, greedy: Solution | None = None) -> list[str]:
    """The full report of one feasible solution; ``greedy`` adds the gap line to an exact one.

    With the one BOPs budget of the original command line the lines are the original ones
    (plus the weight line); other limits add a line each."""
    problem = solution.problem
    pins = dict(problem.pins)
    low = (
        f"all {widths_word(problem)}" if not pins else f"lowest allowed widths, {len(pins)} pinned"
    )
    lines = [
        RULE,
        BANNERS.get(solution.solver, f"{solution.solver.upper()} OPTIMIZATION"),
        RULE,
        settings_line(problem, solution.solver),
    ]
    if pins:
        items = [f"{name}={'/'.join(map(str, w))}" for name, w in pins.items()]
        more = f" ... and {len(items) - PINS_SHOWN} more" if len(items) > PINS_SHOWN else ""
        lines.append(f"Pinned layers: {', '.join(items[:PINS_SHOWN])}{more}")
    lines += constraint_lines(problem)
    budgeted = math.isfinite(solution.budget)
    if budgeted:
        lines += [
            f"Budget multiplier: {solution.multiplier:.2f}",
            f"Target budget: {original_gbops(solution.budget)}",
        ]
    lines += [
        f"Min cost ({low}): {original_gbops(problem.min_cost)}",
        f"Max cost (all {problem.option_labels[-1]}): {original_gbops(problem.max_cost)}",
        f"Total possible upgrades: {total_upgrades(problem)}",
    ]
    if solution.solver == "greedy":
        lines.append("Running greedy selection...")
        if budgeted:
            lines += progress_lines(solution)
    else:
        lines.append(f"Running {solution.solver} solver...")
    lines += [
        f"Optimization complete after {solution.num_upgrades} upgrades",
        f"Final cost: {original_gbops(solution.cost)}",
    ]
    if budgeted:
        lines.append(
            f"Budget utilization: {solution.utilization * 100:.1f}% "
            f"({utilization_verdict(solution)})"
        )
    lines += limit_lines(solution)
    lines.append(
        f"Objective ({objective_words(problem)}): {solution.objective:.4f} of "
        f"{problem.max_objective:.4f} reachable ({solution.objective_share * 100:.1f}%)"
    )
    if solution.upper_bound is not None:
        lines.append(bound_line(solution))
    if greedy is not None and greedy.feasible:
        lines.append(greedy_gap_line(solution, greedy))
    lines += distribution_lines(solution)
    lines.append(weight_line(solution))
    uniform = uniform_line(solution)
    if uniform is not None:
        lines.append(uniform)
    lines.append("Mixed-precision optimization completed!")
    return lines


def objective_words(problem: Problem) -> str:
    """What the objective adds up, in words (losses or scores are said, never assumed)."""
    lowest = "the lowest widths" if problem.formats is None else problem.formats[0].name
    if problem.sense == "score":
        return f"score gained over {lowest}, higher is better"
    if problem.sense == "loss":
        return f"loss recovered from {lowest}"
    return "recovered sensitivity"


def bound_line(solution: Solution) -> str:
    """The exact solver's proof: its bound and gap, and the LP relaxation's value."""
    gap = solution.gap or 0.0
    lp = f"; LP relaxation {solution.lp_bound:.4f}" if solution.lp_bound is not None else ""
    if solution.status == "optimal":
        return f"Proven optimal (bound = objective, gap 0){lp}"
    return (
        f"Not proven optimal: upper bound {solution.upper_bound:.6g}, gap {gap:.6g} "
        f"({solution.message}){lp}"
    )


def constraint_lines(problem: Problem) -> list[str]:
    lines = []
    for group in problem.groups:
        lines.append(
            f"Group {group.name}: {len(group.members)} layers ({', '.join(group.patterns)[:80]})"
        )
    for tie in problem.ties:
        names = [problem.names[i] for i in tie.tolist()]
        lines.append(f"Tie: {', '.join(names[:6])}{' ...' if len(names) > 6 else ''}")
    return lines


def limit_lines(solution: Solution) -> list[str]:
    """One line per limit when there is more than the one BOPs budget."""
    uses = solution.limit_uses
    single = len(uses) == 1 and uses[0].limit.resource == "bops" and uses[0].limit.group is None
    if single:
        return []
    lines = []
    for use in uses:
        verdict = "binds" if use.binds else "slack"
        lines.append(
            f"Limit {use.limit.label()}: {'floor' if use.limit.lower else 'cap'} "
            f"{_amount(use.cap, use)}, use {_amount(use.use, use)} "
            f"({use.utilization * 100:.1f}%), {verdict}"
        )
    return lines


def weight_line(solution: Solution) -> str:
    """The one mean weight width shown (params-weighted: the W4.08 of papers, what the
    ``mean_wbits`` limit caps), per group, and the weight memory."""
    mean = solution.param_mean_wbits()
    if math.isnan(mean):
        return "Mean weight bits: unknown (the Phase 1 file gives no parameter counts)"
    if solution.problem.formats is not None:
        mib = solution.stored_weight_bits() / 8 / 2**20
        return (
            f"Effective bits per weight: {solution.effective_bits():.4f} (scales included; "
            f"nominal {mean:.2f}); weight memory {mib:,.2f} MiB"
        )
    mib = solution.weight_bits() / 8 / 2**20
    groups = "".join(
        f"; {g.name} {solution.param_mean_wbits(g.name):.2f}" for g in solution.problem.groups
    )
    return f"Mean weight bits: {mean:.2f} (params-weighted){groups}; weight memory {mib:,.2f} MiB"


def _amount(value: float, use) -> str:
    if use.limit.resource == "bops":
        return f"{value:,.2f} GBOPs"
    return f"{value:,.6g} {use.unit}".rstrip()


def greedy_gap_line(optimum: Solution, greedy: Solution) -> str:
    gap, pct = greedy_gap(optimum, greedy)
    if gap < 0:  # the exact solver starts from the greedy's allocation: cannot happen
        return (
            f"ERROR: the greedy's objective {greedy.objective:.6g} beats the exact solver's "
            f"{optimum.objective:.6g}; this is a bug, please report it"
        )
    return (
        f"Greedy at this budget: objective {greedy.objective:.4f}, "
        f"cost {original_gbops(greedy.cost)}; "
        f"greedy gap {gap:.6f} ({pct:.4f}% of the optimum)"
    )


def json_summary(
    solution: Solution, config_file: str | None, greedy: Solution | None = None
) -> dict[str, Any]:
    """The export's metadata plus the distribution (the ``--json`` output)."""
    n = solution.problem.n_layers
    config = export_config(solution)
    summary: dict[str, Any] = {
        "metadata": config["metadata"],
        "bit_allocation": config["bit_allocation"],
        "distribution": [
            {
                "wbit": int(share.width),
                "layers": share.layers,
                "layers_share": share.layers / n,
                "bops_share": share.bops_share,
            }
            for share in solution.width_shares()
        ],
        "config_file": config_file,
    }
    if solution.problem.formats is not None:
        summary["format_distribution"] = [
            {"format": fmt.name, "layers": int((solution.choice == j).sum())}
            for j, fmt in enumerate(solution.problem.formats)
        ]
    baselines = uniform_baselines(solution)
    if baselines:
        summary["uniform_formats"] = [asdict(b) for b in baselines]
    if greedy is not None and greedy.feasible:
        summary["greedy_objective"] = greedy.objective
        summary["greedy_cost_gbops"] = greedy.cost / GIGA
    return summary


def sweep_lines(
    sweep: pd.DataFrame, problem: Problem, solvers: Sequence[str], step: int = SWEEP_TABLE_STEP
) -> list[str]:
    """A compact table of a budget sweep (every ``step`` hundredths of the multiplier)."""
    shown = sweep[[round(m * 100) % step == 0 for m in sweep["multiplier"]]]
    widths = problem.widths
    lines = [
        RULE,
        f"BUDGET SWEEP ({', '.join(solvers)}), every {step / 100:.2f} of the multiplier",
        RULE,
        settings_line(problem, solvers[-1]),
        f"Max cost (all {problem.option_labels[-1]}): {original_gbops(problem.max_cost)}; "
        f"smallest feasible "
        f"multiplier {feasibility_threshold(problem).text}",
    ]
    if "exact" in solvers:
        gap = solver_gap(shown)
        exact = shown[shown["solver"] == "exact"].set_index("multiplier")
        lines.append(
            f"{'mult':>5} {'exact':>10} {'exact GBOPs':>12} {'util':>6} {'greedy obj':>11} "
            f"{'exact obj':>11} {'LP bound':>11} {'gap %':>8}"
        )
        for row in gap.itertuples(index=False):
            m = row.multiplier
            if not row.feasible:
                lines.append(f"{m:5.2f} {'infeasible':>10}")
                continue
            ex = exact.loc[m]
            lines.append(
                f"{m:5.2f} {ex['status']:>10} {ex['cost_gbops']:12.2f} "
                f"{ex['utilization'] * 100:5.1f}% {row.greedy_objective:11.4f} "
                f"{row.exact_objective:11.4f} {row.lp_bound:11.4f} {row.gap_pct:8.4f}"
            )
        full = solver_gap(sweep)
        worst = full["gap_pct"].max()
        if not math.isnan(worst):
            at = full.loc[full["gap_pct"].idxmax(), "multiplier"]
            lines.append(f"Largest greedy gap on the 0.01 grid: {worst:.4f}% at {at:.2f}")
        return lines
    counts = "".join(f" {str(w) + '-bit':>6}" for w in widths)
    lines.append(
        f"{'mult':>5} {'status':>10} {'cost GBOPs':>12} {'util':>6} {'objective':>11}{counts}"
    )
    for row in shown.to_dict("records"):
        m = row["multiplier"]
        if not row["feasible"]:
            lines.append(f"{m:5.2f} {'infeasible':>10}")
            continue
        layer_counts = "".join(f" {int(row[f'layers_{w}']):6d}" for w in widths)
        lines.append(
            f"{m:5.2f} {row['status']:>10} {row['cost_gbops']:12.2f} "
            f"{row['utilization'] * 100:5.1f}% {row['objective']:11.4f}{layer_counts}"
        )
    return lines


def _at_top(solution: Solution) -> bool:
    """True when no layer has an allowed width above its chosen one."""
    allowed = solution.problem.allowed
    above = allowed & (solution.choice[:, None] < np.arange(allowed.shape[1])[None, :])
    return not above.any()
