"""mpq_core: mixed-precision bit allocation under BOPs, size, mean-bit or latency limits.

No Streamlit here. Names are imported on first use (PEP 562), so ``import mpq_core`` and the
command line's ``--help`` stay fast: pandas, scipy and plotly load only when needed.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"
from typing import Any

_EXPORTS = {
    "model.arithmetic": ("ExactValues", "exact_values"),
    "model.blocks": ("Block", "block_of", "group_blocks"),
    "model.constraints": (
        "BUILTIN_RESOURCES",
        "Constraints",
        "Group",
        "Limit",
        "limit_value",
        "parse_constraints",
        "parse_limit_flag",
        "parse_tie_flag",
    ),
    "report.differences": ("width_changes",),
    "report.display": ("bits_size", "gap_percent", "gbops", "percent"),
    "errors": ("InputError", "Stopped"),
    "solving.exact": ("ExactSolver", "solve_exact"),
    "io.export": (
        "SCHEMA_VERSION",
        "SavedConfig",
        "config_filename",
        "config_json",
        "evaluate_config",
        "export_config",
        "export_mapping",
        "layer_table",
        "layers_csv",
        "load_config",
        "mapping_text",
        "save_config",
        "write_bytes_atomic",
        "write_text_atomic",
    ),
    "solving.greedy": ("solve_greedy",),
    "model.limits": ("Bound", "LimitResolver", "resolve_limits"),
    "io.loading": ("Inputs", "LayerTable", "SensitivityTable", "load_inputs"),
    "model.problem": (
        "DEFAULT_WIDTHS",
        "GIGA",
        "Problem",
        "abit_for",
        "build_problem",
        "load_problem",
    ),
    "io.reading": ("InputFile", "read_data"),
    "io.resources": ("ResourceTable", "load_resources", "parse_resources"),
    "io.samples": ("SAMPLES", "Sample", "sample_inputs", "sample_paths"),
    "solving.solution": (
        "LimitUse",
        "Solution",
        "WidthShare",
        "greedy_gap",
        "SolverGap",
        "Threshold",
        "feasibility_threshold",
        "smallest_grid_multiplier",
        "summarize",
    ),
    "solving.solvers": (
        "SOLVERS",
        "SOLVER_LABELS",
        "check_multiplier",
        "solve",
        "solve_spec",
        "sweep_solvers",
    ),
    "model.spec": ("ABIT_RULES", "DEFAULT_LADDER", "Pin", "Spec", "parse_pin_file"),
    "model.spec_url": ("spec_from_query", "spec_to_query"),
    "solving.sweep": (
        "BudgetSweep",
        "DEFAULT_MULTIPLIERS",
        "pareto_front",
        "solve_budgets",
        "solve_sweep",
        "solver_gap",
        "sweep_budgets",
        "sweep_grid",
        "sweep_limits",
    ),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'mpq_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
