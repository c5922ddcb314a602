"""The Validate page's adapter: where its results come from (bundled or uploaded), cached."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from mpq_core import SAMPLES, InputError, InputFile, Spec
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
budget, solver and measured metric; see docs/formats.md). The bundled MiniLM-L6 sample comes with
its own results.
"""


DIFFERENCE_COLUMNS = {
    "budget": st.column_config.NumberColumn("budget", format="%.2f"),
    "greedy_objective": st.column_config.NumberColumn("greedy objective", format="%.6g"),
    "exact_objective": st.column_config.NumberColumn("exact objective", format="%.6g"),
    "greedy_value": st.column_config.NumberColumn("greedy measured", format="%.6g"),
    "exact_value": st.column_config.NumberColumn("exact measured", format="%.6g"),
    "measured_better": st.column_config.TextColumn("measured better"),
}


@dataclass(frozen=True)
class ResultsFile:
    """A validation CSV as bytes, with the label used in messages."""

    name: str
    content: bytes
    bundled: bool


def results_file(source: str) -> ResultsFile | None:
    """An uploaded CSV if there is one, else the bundled results of the sample in use."""
    upload = st.file_uploader(
        "Your own Phase 4 results (CSV: budget, solver, metric, value)",
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
def cached_agreement(file: ResultsFile, metric: str, files: DataFiles, spec: Spec) -> Agreement:
    """Predicted vs measured; solved on the loaded data only when the file has no prediction."""
    results = cached_results(file)
    problem = None if results.has_predictions else cached_problem(files, spec)
    return agreement(results, metric, problem)


def metric_choice(results: ValidationResults) -> str:
    """The measured metric to show (a value from another file falls back to the first)."""
    if st.session_state.get("validate_metric") not in results.metrics:
        st.session_state.pop("validate_metric", None)
    return st.selectbox("Measured metric", results.metrics, key="validate_metric")


def load_results(file: ResultsFile) -> ValidationResults | None:
    try:
        return cached_results(file)
    except InputError as err:
        st.error(plain(err), icon=":material/error:")  # the file's name and cells, as text
        return None
