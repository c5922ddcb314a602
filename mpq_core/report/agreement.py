"""Phase 4 results: measured quality of solved allocations against the predicted objective.

A validation CSV is in long form, one row per (budget, solver, metric):

    budget,solver,cost_gbops,predicted_objective,predicted_loss,metric,value,higher_is_better
    0.50,greedy,19.23,0.0123,0.00021,mse,0.00024,false

or, for a file of format allocations (``mpq_torch validate --formats``), one row per (limit,
solver, metric), the limit as the command line writes it:

    limit,solver,cost_gbops,bpw,predicted_objective,predicted_loss,metric,value,higher_is_better
    bpw<=4.25,greedy,82.90,4.25,0.2364,0.00454,mse,0.00478,false

Required columns: ``budget`` (the multiplier, 0..1) or ``limit`` (exactly one of them),
``solver`` (``greedy`` or ``exact``), ``metric`` (a name) and ``value`` (the measured number).
The rows under one limit at different values (the same resource, group, direction and form:
``bpw<=4.25``, ``bpw<=5``, ...) are a **sweep**; a ``budget`` file is one sweep of
``bops <= budget x``, a ``limit`` file holds one or more (the MiniLM formats sample sweeps
``bpw<=`` and ``bops<=x``). A row's **budget** is its limit's number (the multiplier, or 4.25
for ``bpw<=4.25``): the one name of it here, and the x of a sweep's figures.

Optional: ``predicted_objective`` (the solver's objective for the allocation that was measured;
without it the objective is solved again on the loaded data, under the row's limit),
``cost_gbops``, ``predicted_loss`` (the sum of the per-layer losses of the allocation: what
additivity predicts for the loss metric) and ``higher_is_better`` (``true``/``false``, one value
per metric); other columns (``bpw``) are ignored. The agreement between prediction and
measurement is Spearman's rank correlation over the (budget, solver) rows of one metric and one
sweep.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ..errors import InputError
from ..io.loading import InputFile
from ..model.constraints import Limit, parse_limit_flag
from ..model.problem import GIGA, Problem
from ..solving.solvers import SOLVERS, solve

KEYS = ("budget", "limit")  # where a row was solved: a file has exactly one of these columns
REQUIRED = ("solver", "metric", "value")
OPTIONAL = ("cost_gbops", "predicted_objective", "predicted_loss", "higher_is_better")
COLUMNS = ("budget", "solver", "cost_gbops", "predicted_objective", "predicted_loss", "metric")
COLUMNS = (*COLUMNS, "value", "higher_is_better")
FRAME_COLUMNS = (*COLUMNS, "sweep")  # sweep: the index of the row's limit in ``limits``
_BOOLS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


@dataclass(frozen=True, eq=False)
class ValidationResults:
    """A validated CSV: one row per (sweep, budget, solver, metric); the sweeps in file order,
    the budgets of each ascending."""

    source: str
    frame: pd.DataFrame  # FRAME_COLUMNS; optional ones NaN / None where the file does not say
    limits: tuple[Limit, ...]  # one per sweep, at its first row's budget (a budget file: bops<=Mx)

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.frame["metric"]))

    @property
    def has_predictions(self) -> bool:
        return bool(self.frame["predicted_objective"].notna().all())

    def higher_is_better(self, metric: str) -> bool | None:
        values = self.frame.loc[self.frame["metric"] == metric, "higher_is_better"].dropna()
        return None if values.empty else bool(values.iloc[0])

    def sweep_of(self, limits: Iterable[Limit]) -> int:
        """The first sweep whose limit one of ``limits`` (the settings in use) is at some
        value; the first sweep when none is."""
        for limit in limits:
            for sweep, swept in enumerate(self.limits):
                if _same_but_number(limit, swept):
                    return sweep
        return 0


@dataclass(frozen=True, eq=False)
class Agreement:
    """Predicted objective against one measured metric over the (budget, solver) rows."""

    metric: str
    higher_is_better: bool | None
    table: pd.DataFrame  # budget, solver, predicted_objective, cost_gbops, predicted_loss, value
    rho: float  # Spearman's rank correlation (NaN with fewer than 3 rows or a constant column)
    predicted_from: str  # "file" or "solved"
    limit: Limit  # the sweep's limit (one of ValidationResults.limits)

    @property
    def agreement(self) -> float:
        """rho with the metric's direction applied: +1 = the same order, -1 = the reverse."""
        if self.higher_is_better is False:
            return -self.rho
        return self.rho

    def budget_in(self, limits: Iterable[Limit]) -> float | None:
        """The budget of the first of ``limits`` (the settings in use) that is the sweep's
        limit at some value; None when none is."""
        for limit in limits:
            if _same_but_number(limit, self.limit):
                return limit.multiplier
        return None


def read_validation(source: str | Path | InputFile) -> ValidationResults:
    """Parse and validate a validation CSV; every rejection names the file, column and row."""
    label, content = _read(source)
    key, records = _records(content, label)
    limits: list[Limit] = []
    rows = []
    seen: dict[tuple[int, float, str, str], int] = {}
    direction: dict[str, tuple[bool, int]] = {}
    for line, record in records:
        limit, budget = _limit_of(record, key, label, line)
        row = {**_row(record, budget, label, line), "sweep": _sweep(limits, limit)}
        where = (row["sweep"], round(budget, 9), row["solver"], row["metric"])
        if where in seen:
            shown = budget if key == "budget" else limit.flag()
            raise InputError(
                label,
                f"row {line}: repeats row {seen[where]} ({row['solver']} at {shown}, "
                f"{row['metric']})",
                field="metric",
            )
        seen[where] = line
        _check_direction(direction, row, label, line)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    rank = frame["solver"].map({name: i for i, name in enumerate(SOLVERS)})
    by = ["sweep", "budget", "_rank", "metric"]
    order = frame.assign(_rank=rank).sort_values(by, kind="stable")
    return ValidationResults(label, frame.loc[order.index].reset_index(drop=True), tuple(limits))


def _row(record: dict[str, str], budget: float, label: str, line: int) -> dict:
    """One row of the frame (COLUMNS) from a record of the file."""
    solver = record["solver"].strip()
    if solver not in SOLVERS:
        raise InputError(
            label,
            f"row {line}: unknown solver {solver!r} (expected {' or '.join(SOLVERS)})",
            field="solver",
        )
    metric = record["metric"].strip()
    if not metric:
        raise InputError(label, f"row {line}: empty", field="metric")
    return {
        "budget": budget,
        "solver": solver,
        "cost_gbops": _optional(record, "cost_gbops", label, line),
        "predicted_objective": _optional(record, "predicted_objective", label, line),
        "predicted_loss": _optional(record, "predicted_loss", label, line),
        "metric": metric,
        "value": _number(record["value"], label, "value", line, signed=True),
        "higher_is_better": _flag(record.get("higher_is_better", ""), label, line),
    }


def _check_direction(
    direction: dict[str, tuple[bool, int]], row: dict, label: str, line: int
) -> None:
    """One ``higher_is_better`` per metric: the first row that says it, kept in ``direction``."""
    higher, metric = row["higher_is_better"], row["metric"]
    if higher is None:
        return
    if metric in direction and direction[metric][0] != higher:
        raise InputError(
            label,
            f"row {line}: differs from row {direction[metric][1]} for {metric}",
            field="higher_is_better",
        )
    direction.setdefault(metric, (higher, line))


def _limit_of(record: dict[str, str], key: str, label: str, line: int) -> tuple[Limit, float]:
    """A row's limit and budget: ``bops <= Mx`` and M (0..1) for a ``budget`` file, the
    ``limit`` cell read as the command line reads ``--limit`` and its number for a limit file."""
    if key == "budget":
        budget = _multiplier(record["budget"], label, line)
        return Limit.budget(budget), budget
    try:
        limit = parse_limit_flag(record["limit"].strip(), label)
    except InputError as err:
        raise InputError(label, f"row {line}: {err.problem}", field="limit") from err
    return limit, limit.multiplier


def _sweep(limits: list[Limit], limit: Limit) -> int:
    """The index of ``limit``'s sweep in ``limits``, appended when it starts a new one."""
    for sweep, swept in enumerate(limits):
        if _same_but_number(limit, swept):
            return sweep
    limits.append(limit)
    return len(limits) - 1


def _multiplier(text: str, label: str, line: int) -> float:
    budget = _number(text, label, "budget", line, signed=True)
    if not 0.0 <= budget <= 1.0:
        raise InputError(
            label, f"row {line}: must be between 0 and 1, got {budget}", field="budget"
        )
    return budget


def _same_but_number(limit: Limit, other: Limit) -> bool:
    """The same resource, group, direction and form (``bpw<=5`` and ``bpw<=6``)."""
    return replace(limit, number=other.number) == other


def agreement(
    results: ValidationResults, metric: str, problem: Problem | None = None, sweep: int = 0
) -> Agreement:
    """Predicted objective vs the measured ``metric`` over the rows of ``sweep`` (an index of
    ``results.limits``); solved on ``problem`` when the file carries no prediction."""
    limit = results.limits[sweep]
    frame = results.frame
    rows = frame[(frame["metric"] == metric) & (frame["sweep"] == sweep)]
    if rows.empty:
        within = f" in the sweep of {limit.flag()}" if len(results.limits) > 1 else ""
        raise InputError(results.source, f"no rows for metric {metric!r}{within}", field="metric")
    table = rows[["budget", "solver", "predicted_objective", "cost_gbops", "predicted_loss"]]
    table = table.assign(value=rows["value"]).reset_index(drop=True)
    source = "file"
    if table["predicted_objective"].isna().any():
        if problem is None:
            raise InputError(
                results.source,
                "no predicted objective and no data to solve",
                field="predicted_objective",
            )
        table = _solved(table, problem, results.source, limit)
        source = "solved"
    return Agreement(
        metric=metric,
        higher_is_better=results.higher_is_better(metric),
        table=table,
        rho=spearman(table["predicted_objective"], table["value"]),
        predicted_from=source,
        limit=limit,
    )


def spearman(x: Iterable[float], y: Iterable[float]) -> float:
    """Spearman's rank correlation; NaN when fewer than 3 points or either side is constant."""
    a, b = np.asarray(list(x), dtype=float), np.asarray(list(y), dtype=float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(spearmanr(a, b).statistic)


def solver_differences(found: Agreement) -> pd.DataFrame:
    """Budgets where greedy and exact allocations differ (by cost, objective or measurement):
    budget, both predicted objectives, both measured values, and which measured better."""
    wide = found.table.pivot_table(
        index="budget",
        columns="solver",
        values=["predicted_objective", "cost_gbops", "value"],
        aggfunc="first",
        dropna=False,
    )
    if "greedy" not in wide["value"] or "exact" not in wide["value"]:
        return pd.DataFrame(columns=_DIFF_COLUMNS)
    out = pd.DataFrame(
        {
            "budget": wide.index,
            "greedy_objective": wide[("predicted_objective", "greedy")].to_numpy(),
            "exact_objective": wide[("predicted_objective", "exact")].to_numpy(),
            "greedy_value": wide[("value", "greedy")].to_numpy(),
            "exact_value": wide[("value", "exact")].to_numpy(),
        }
    )
    out = out.dropna(subset=["greedy_value", "exact_value"])
    differs = ~np.isclose(out["greedy_objective"], out["exact_objective"], rtol=1e-9, atol=0)
    differs |= out["greedy_value"].to_numpy() != out["exact_value"].to_numpy()
    out = out[differs].reset_index(drop=True)
    better = _better(found.higher_is_better)
    out["measured_better"] = [
        better(g, e) for g, e in zip(out["greedy_value"], out["exact_value"], strict=True)
    ]
    return out


_DIFF_COLUMNS = [
    "budget",
    "greedy_objective",
    "exact_objective",
    "greedy_value",
    "exact_value",
    "measured_better",
]


def additivity(found: Agreement) -> pd.DataFrame:
    """Measured value / predicted loss per row (the loss metric of a file with
    ``predicted_loss``): 1 means the per-layer losses added up exactly."""
    table = found.table.dropna(subset=["predicted_loss"])
    ratio = table["value"] / table["predicted_loss"].where(table["predicted_loss"] > 0)
    return table.assign(ratio=ratio)[["budget", "solver", "predicted_loss", "value", "ratio"]]


def _better(higher: bool | None) -> Callable[[float, float], str]:
    def pick(greedy: float, exact: float) -> str:
        if higher is None:
            return "unknown direction"
        if greedy == exact:
            return "same"
        return "exact" if (exact > greedy) == higher else "greedy"

    return pick


def _solved(table: pd.DataFrame, problem: Problem, source: str, swept: Limit) -> pd.DataFrame:
    """The objective (and a missing cost) of each row, solved on ``problem`` under the
    sweep's limit at the row's budget."""
    objectives, costs = [], []
    for budget, solver in zip(table["budget"], table["solver"], strict=True):
        limit = replace(swept, number=float(budget))
        try:
            solution = solve(problem, None, solver, limits=(limit,))
        except InputError as err:
            raise InputError(
                source,
                f"no predicted objective, and {limit.flag()} cannot be solved on the loaded "
                f"data ({err.problem})",
                field="predicted_objective",
            ) from err
        objectives.append(solution.objective if solution.feasible else math.nan)
        costs.append(solution.cost / GIGA if solution.feasible else math.nan)
    table = table.assign(predicted_objective=objectives)
    return table.assign(cost_gbops=table["cost_gbops"].fillna(pd.Series(costs)))


def _records(content: bytes, label: str) -> tuple[str, list[tuple[int, dict[str, str]]]]:
    """The key column (``budget`` or ``limit``) and (line number, {column: text}) of every
    non-blank data row; columns lower-cased."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(label, f"not a CSV table: not UTF-8 text ({exc.reason})") from None
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(label, f"not a CSV table ({exc})") from None
    numbered = [(i + 1, row) for i, row in enumerate(lines) if any(cell.strip() for cell in row)]
    if not numbered:
        raise InputError(label, "empty file")
    header = [cell.strip().lower() for cell in numbered[0][1]]
    key = _key(header, label)
    for column in REQUIRED:
        if column not in header:
            raise InputError(label, "missing column", field=column)
    out = []
    for line, row in numbered[1:]:
        if len(row) != len(header):
            raise InputError(label, f"row {line}: {len(row)} fields, the header has {len(header)}")
        out.append((line, dict(zip(header, row, strict=True))))
    if not out:
        raise InputError(label, "no rows")
    return key, out


def _key(header: list[str], label: str) -> str:
    """The one column of ``KEYS`` in ``header``."""
    present = [column for column in KEYS if column in header]
    if not present:
        raise InputError(
            label, "missing column (a validation CSV has budget or limit)", field="budget"
        )
    if len(present) > 1:
        raise InputError(label, "a validation CSV has budget or limit, not both", field="limit")
    return present[0]


def _read(source: str | Path | InputFile) -> tuple[str, bytes]:
    if isinstance(source, InputFile):
        return source.name, source.content
    try:
        return str(source), Path(source).read_bytes()
    except FileNotFoundError:
        raise InputError(str(source), "file not found") from None
    except OSError as exc:
        raise InputError(str(source), f"cannot read file ({exc.strerror or exc})") from exc


def _number(text: str, label: str, column: str, line: int, *, signed: bool = False) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        shown = str(text).strip()[:40]
        raise InputError(label, f"row {line}: not a number ({shown!r})", field=column) from None
    if not math.isfinite(value):
        raise InputError(label, f"row {line}: not a finite number ({text.strip()})", field=column)
    if value < 0 and not signed:
        raise InputError(label, f"row {line}: is negative ({value})", field=column)
    return value


def _optional(record: dict, column: str, label: str, line: int) -> float:
    text = str(record.get(column, "")).strip()
    if not text:
        return math.nan
    return _number(text, label, column, line, signed=True)


def _flag(text: str, label: str, line: int) -> bool | None:
    key = str(text).strip().lower()
    if not key:
        return None
    if key not in _BOOLS:
        raise InputError(
            label,
            f"row {line}: expected true or false, got {text.strip()!r}",
            field="higher_is_better",
        )
    return _BOOLS[key]


def validation_csv(rows: Iterable[dict]) -> str:
    """Rows with the keys of COLUMNS -> CSV text in the documented long form."""
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS))
    frame["higher_is_better"] = frame["higher_is_better"].map(
        lambda v: "" if v is None or v is np.nan else str(bool(v)).lower()
    )
    return frame.to_csv(index=False, lineterminator="\n")
