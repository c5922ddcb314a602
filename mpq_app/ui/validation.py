"""The Validate page's adapter: where its results come from (bundled or uploaded), cached."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from mpq_core import SAMPLES, InputError, InputFile, Limit, Spec
from mpq_core.charts.validation import budget_noun, setting_text
from mpq_core.report.agreement import Agreement, ValidationResults, agreement, read_validation

from .data import HASHED, DataFiles, cached_problem
from .text import plain

HOW_TO = """
No measured results for this data yet. Measure them on a CPU with `mpq_torch` (your model as
`module:function` returning the model and example inputs):

```bash
pip install -r requirements-torch.txt
python -m mpq_torch profile my_model:build --output flops.json
python -m mpq_torch sensitivity my_model:build --output_dir sens
python -m mpq_torch validate my_model:build --flops_file flops.json \\
    --sensitivity_file sens/sensitivity_mse.json --output validation.csv
```

Load `flops.json` and `sens/sensitivity_mse.json` as the data source and upload
`validation.csv` here. Any CSV with the columns `budget, solver, metric, value` works (one row per
budget, solver and measured metric; see docs/formats.md), and so does the CSV of
`python -m mpq_torch validate --formats ... --limits ...`, whose `limit` column (`bpw<=5`) takes
the place of `budget`. The bundled MiniLM-L6 samples (widths and formats) come with their own
results.
"""


def difference_columns(limit: Limit) -> dict:
    """The column settings of the table of budgets where greedy and exact differ."""
    return {
        "budget": st.column_config.NumberColumn(
            budget_noun(limit), format="%.2f" if limit.is_budget else "%.4g"
        ),
        "greedy_objective": st.column_config.NumberColumn("greedy objective", format="%.6g"),
        "exact_objective": st.column_config.NumberColumn("exact objective", format="%.6g"),
        "greedy_value": st.column_config.NumberColumn("greedy measured", format="%.6g"),
        "exact_value": st.column_config.NumberColumn("exact measured", format="%.6g"),
        "measured_better": st.column_config.TextColumn("measured better"),
    }


def show_counts(found: Agreement, differences: int) -> None:
    """Spearman's rho, the rows and the budgets where greedy and exact differ, as cards."""
    noun = budget_noun(found.limit)
    plural = "Budgets" if found.limit.is_budget else f"{noun}s"
    left, middle, right = st.columns(3)
    left.metric("Spearman ρ (predicted vs measured)", f"{found.rho:+.3f}", border=True)
    middle.metric(f"Rows ({noun} × solver)", len(found.table), border=True)
    right.metric(f"{plural} where greedy and exact differ", differences, border=True)


def caption(file: ResultsFile, found: Agreement, budget: float | None) -> str:
    """Where the results and the prediction come from, and the setting in use (``m = 0.50``,
    ``bpw ≤ 5``; ``budget``: None when the settings have no limit of the sweep)."""
    origin = "bundled with the sample" if file.bundled else "uploaded"
    predicted = "from the file" if found.predicted_from == "file" else "solved on the loaded data"
    setting = (
        f"the settings have no {budget_noun(found.limit)}"
        if budget is None
        else setting_text(found.limit, budget)
    )
    return plain(f"{file.name} ({origin}) · predicted objective {predicted} · {setting}")


@dataclass(frozen=True)
class ResultsFile:
    """A validation CSV as bytes, with the label used in messages."""

    name: str
    content: bytes
    bundled: bool


def results_file(source: str) -> ResultsFile | None:
    """An uploaded CSV if there is one, else the bundled results of the sample in use."""
    upload = st.file_uploader(
        "Your own Phase 4 results (CSV: budget or limit, solver, metric, value)",
        type=["csv"],
        key="upload_validation",
    )
    if upload is not None:
        return ResultsFile(upload.name, upload.getvalue(), bundled=False)
    sample = SAMPLES.get(source)
    if sample is None or sample.validation_path is None:
        return None
    return ResultsFile(sample.validation, sample.validation_path.read_bytes(), bundled=True)


@st.cache_data(show_spinner=False, max_entries=8)
def cached_results(file: ResultsFile) -> ValidationResults:
    return read_validation(InputFile(file.name, file.content))


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASHED)
def cached_agreement(
    file: ResultsFile, metric: str, sweep: int, files: DataFiles, spec: Spec
) -> Agreement:
    """Predicted vs measured; solved on the loaded data only when the file has no prediction."""
    results = cached_results(file)
    problem = None if results.has_predictions else cached_problem(files, spec)
    return agreement(results, metric, problem, sweep)


def load_agreement(
    file: ResultsFile, metric: str, sweep: int, files: DataFiles, spec: Spec
) -> Agreement | None:
    """The agreement, or None after showing why it cannot be had (a limit the loaded data
    cannot solve, for a file without predictions)."""
    try:
        return cached_agreement(file, metric, sweep, files, spec)
    except InputError as err:
        st.error(plain(err), icon=":material/error:")
        return None


def metric_choice(results: ValidationResults) -> str:
    """The measured metric to show (a value from another file falls back to the first)."""
    if st.session_state.get("validate_metric") not in results.metrics:
        st.session_state.pop("validate_metric", None)
    return st.selectbox("Measured metric", results.metrics, key="validate_metric")


def sweep_choice(results: ValidationResults, limits: tuple[Limit, ...]) -> int:
    """The sweep to show when the file has several (``bpw<=`` and ``bops<=x``): a choice that
    starts at the one the settings in use limit (``limits``)."""
    sweeps = range(len(results.limits))
    if len(sweeps) == 1:
        return 0
    if st.session_state.get("validate_sweep") not in sweeps:
        st.session_state.pop("validate_sweep", None)
    return st.selectbox(
        "Swept limit",
        sweeps,
        index=results.sweep_of(limits),
        format_func=lambda sweep: _sweep_label(results, sweep),
        key="validate_sweep",
    )


def _sweep_label(results: ValidationResults, sweep: int) -> str:
    values = results.frame.loc[results.frame["sweep"] == sweep, "budget"].unique()
    limit = results.limits[sweep]
    shown = ", ".join(format(v, ".2f" if limit.is_budget else ".4g") for v in values)
    return f"{budget_noun(limit)}: {shown}"


def load_results(file: ResultsFile) -> ValidationResults | None:
    try:
        return cached_results(file)
    except InputError as err:
        st.error(plain(err), icon=":material/error:")  # the file's name and cells, as text
        return None
