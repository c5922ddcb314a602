"""mpq_core: mixed-precision bit allocation under a BOPs budget (no Streamlit here)."""

from __future__ import annotations

from .blocks import Block, block_of, group_blocks
from .errors import InputError
from .exact import ExactSolver, solve_exact
from .export import (
    SCHEMA_VERSION,
    SavedConfig,
    config_filename,
    config_json,
    evaluate_config,
    export_config,
    layer_table,
    layers_csv,
    load_config,
    save_config,
    write_bytes_atomic,
    write_text_atomic,
)
from .greedy import solve_greedy
from .loading import InputFile, Inputs, LayerTable, SensitivityTable, load_inputs
from .problem import (
    ABIT_RULES,
    DEFAULT_WIDTHS,
    GIGA,
    Problem,
    abit_for,
    build_problem,
    load_problem,
)
from .samples import SAMPLES, Sample, sample_inputs, sample_paths
from .solution import Solution, greedy_gap, smallest_grid_multiplier, summarize
from .solvers import SOLVER_LABELS, SOLVERS, check_multiplier, solve
from .sweep import DEFAULT_MULTIPLIERS, pareto_front, solver_gap, sweep_budgets

__all__ = [
    "ABIT_RULES",
    "DEFAULT_MULTIPLIERS",
    "DEFAULT_WIDTHS",
    "GIGA",
    "SAMPLES",
    "SCHEMA_VERSION",
    "SOLVERS",
    "SOLVER_LABELS",
    "Block",
    "ExactSolver",
    "InputError",
    "InputFile",
    "Inputs",
    "LayerTable",
    "Problem",
    "Sample",
    "SavedConfig",
    "SensitivityTable",
    "Solution",
    "abit_for",
    "block_of",
    "build_problem",
    "check_multiplier",
    "config_filename",
    "config_json",
    "evaluate_config",
    "export_config",
    "greedy_gap",
    "group_blocks",
    "layer_table",
    "layers_csv",
    "load_config",
    "load_inputs",
    "load_problem",
    "pareto_front",
    "sample_inputs",
    "sample_paths",
    "save_config",
    "smallest_grid_multiplier",
    "solve",
    "solve_exact",
    "solve_greedy",
    "solver_gap",
    "summarize",
    "sweep_budgets",
    "write_bytes_atomic",
    "write_text_atomic",
]
