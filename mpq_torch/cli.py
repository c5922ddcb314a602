"""``python -m mpq_torch {profile,sensitivity,merge,evaluate,validate}``: Phases 1, 2 and 4,
for widths or, with ``--formats``, for quantization formats.

Argument parsing and printing only; torch is imported when a command runs, so ``--help`` and
flag errors answer at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import mpq_core as mpq

PROG = "mpq_torch"
EXIT_OK = 0
EXIT_WRITE = 1
EXIT_USAGE = 2

EPILOG = """\
models:
  MODEL is a built-in entry (minilm: all-MiniLM-L6-v2 on the bundled sentences; sd14: the
  Stable Diffusion 1.4 UNet architecture with random weights) or module:function (also
  path/to/file.py:function). The function takes no argument (or a keyword 'count', filled by
  --count) and returns (model, example_inputs) or an mpq_torch.ModelCase; example inputs are a
  tensor, a tuple (positional), a dict (keyword) or an mpq_torch.Call. Without a ModelCase the
  example inputs are also the calibration inputs.

workflow:
  profile -> sensitivity (or sensitivity --shard K/N on N machines, then merge) -> the solver
  (main.py or the dashboard) -> evaluate a config, or validate a whole budget sweep.

formats:
  profile --skip_matmuls --weight_shapes -> sensitivity --formats F,F,... (writes
  sensitivity_formats.json) -> main.py --formats ... -> validate --formats F,F,... --limits
  "bpw<=5" "bpw<=6". Formats are emulated (fake quantization on the CPU); the rules are in
  docs/formats.md ("Measured files").

backends:
  --backend rtn (the default) is mpq's own round-to-nearest emulation; --backend
  compressed_tensors quantizes with compressed-tensors' functions, each format as the
  compressed_tensors export configures it (Linear layers; what the export refuses, such as
  mxfp6 or an attention matmul below 16 bits, is refused). Files then record "backend".

determinism:
  --seed and --threads are set before the model is built; the same command on the same
  machine writes the same bytes (floats to 6 significant digits, no timestamps).

exit codes:
  0  success
  1  an output file could not be written
  2  bad input or bad flags (one line on stderr naming the file, field and layer)
"""


class UsageError(Exception):
    """A bad flag; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message)


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas (like 4,8,16), got {text!r}"
        ) from None
    if len(set(widths)) != len(widths) or any(not 2 <= w <= 32 for w in widths):
        raise argparse.ArgumentTypeError(f"expected distinct widths from 2 to 32, got {text!r}")
    return tuple(sorted(widths))


def _budgets(text: str) -> tuple[float, ...]:
    try:
        return tuple(mpq.check_multiplier(part) for part in text.split(","))
    except mpq.InputError as exc:
        raise argparse.ArgumentTypeError(f"{exc.problem} in {text!r}") from None


def _solvers(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    if not chosen or any(s not in mpq.SOLVERS for s in chosen):
        raise argparse.ArgumentTypeError(
            f"expected solvers from {','.join(mpq.SOLVERS)} separated by commas, got {text!r}"
        )
    return tuple(dict.fromkeys(chosen))


def _formats(text: str) -> tuple:
    from mpq_core.model.formats import catalog_formats

    try:
        return catalog_formats(text)
    except mpq.InputError as exc:
        raise argparse.ArgumentTypeError(f"{exc.problem} in {text!r}") from None


def _formats_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--formats",
        type=_formats,
        metavar="F,F,...",
        help=f"catalog formats (int8,int4_g128,mxfp4,nvfp4,fp8,bf16,...; docs/formats.md) {what}",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _model_options(parser: argparse.ArgumentParser, *, calibration: bool = True) -> None:
    parser.add_argument("model", metavar="MODEL", help="minilm, sd14 or module:function")
    if calibration:
        parser.add_argument(
            "--count",
            type=_positive,
            metavar="N",
            help="calibration samples: passed to the model function as count= (minilm: the "
            "first N sentences; default all 310)",
        )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="torch.manual_seed before the model is built (default 0)",
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=2,
        help="torch threads (default 2; part of what makes a result repeatable)",
    )


def _backend_option(parser: argparse.ArgumentParser) -> None:
    from .backends import DEFAULT, NAMES

    parser.add_argument(
        "--backend",
        choices=NAMES,
        default=DEFAULT,
        help="who fake-quantizes each layer: rtn (mpq's round-to-nearest emulation, the "
        "default) or compressed_tensors (compressed-tensors' own functions, each format as the "
        "compressed_tensors export configures it; needs compressed-tensors; files record "
        '"backend")',
    )


def _progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no_progress", action="store_true", help="no progress line on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Measure a PyTorch model on the CPU: per-layer MACs (Phase 1), per-layer "
        "sensitivity per width or format (Phase 2), and the quality of solved allocations "
        "(Phase 4).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    for add in (_add_profile, _add_sensitivity, _add_merge, _add_evaluate, _add_validate):
        add(sub)
    return parser


def _add_profile(sub: Any) -> None:
    profile = sub.add_parser(
        "profile",
        help="Phase 1: MACs, params, type and shapes of every Conv/Linear and attention matmul",
        description="One forward pass on the example inputs; writes the canonical flops file "
        "(layers in execution order).",
    )
    _model_options(profile, calibration=False)
    profile.add_argument(
        "--output",
        default="flops_analysis.json",
        metavar="PATH",
        help="where to write the flops file (default flops_analysis.json)",
    )
    profile.add_argument(
        "--skip_matmuls",
        action="store_true",
        help="leave attention matmul entries out (the layers sensitivity --formats measures)",
    )
    profile.add_argument(
        "--weight_shapes",
        action="store_true",
        help="add each Conv/Linear layer's weight_shape (per-channel formats count its output "
        "channels)",
    )


def _add_sensitivity(sub: Any) -> None:
    sens = sub.add_parser(
        "sensitivity",
        help="Phase 2: quantize one layer at a time at each width and measure",
        description="For each (layer, width): only that layer quantized (weights symmetric "
        "per-output-channel round-to-nearest; attention matmuls: their operands per tensor), "
        "the calibration inputs run, MSE / SQNR / task metric against the float model. Writes "
        "sensitivity_mse.json (loss form), sensitivity_sqnr.json (score form) and, when the "
        "entry has one, sensitivity_<task>.json.",
    )
    _model_options(sens)
    sens.add_argument(
        "--bits",
        type=_widths,
        metavar="W,W,...",
        help="width ladder (default 4,8,16)",
    )
    _formats_option(
        sens,
        "instead of widths: each Conv/Linear layer alone in each format; writes "
        "sensitivity_formats.json (MSE, loss form), sensitivity_formats_sqnr.json and "
        "sensitivity_formats_<task>.json (attention matmuls are left out)",
    )
    sens.add_argument(
        "--output_dir",
        default="sensitivity",
        metavar="DIR",
        help="where the per-bit files (the per-format files, or the shard file) go (default "
        "sensitivity)",
    )
    sens.add_argument(
        "--shard",
        metavar="K/N",
        help="measure only the K-th of N equal slices of the (layer, width) work and write "
        "DIR/shard_K_of_N.json; join the N files with merge",
    )
    sens.add_argument(
        "--skip_matmuls",
        action="store_true",
        help="leave attention matmul entries out (then pass on_mismatch=intersect to the solver)",
    )
    _backend_option(sens)
    _progress_option(sens)


def _add_merge(sub: Any) -> None:
    merge = sub.add_parser(
        "merge",
        help="join the shard files of one sensitivity run into the per-bit files",
        description="Checks that the files come from the same run (model, layers, widths, "
        "inputs, seed, threads, versions) and cover every shard exactly once.",
    )
    merge.add_argument("shards", nargs="+", metavar="SHARD", help="shard_K_of_N.json files")
    merge.add_argument(
        "--output_dir",
        default="sensitivity",
        metavar="DIR",
        help="where the per-bit files go (default sensitivity)",
    )


def _add_evaluate(sub: Any) -> None:
    evaluate = sub.add_parser(
        "evaluate",
        help="Phase 4: measure one exported config (every layer at its width at once)",
        description="Applies a config written by main.py or the dashboard and prints MSE, "
        "SQNR and the task metric against the float model.",
    )
    _model_options(evaluate)
    evaluate.add_argument(
        "--config", required=True, metavar="PATH", help="quantization_config_<m>.json"
    )
    evaluate.add_argument("--output", metavar="PATH", help="also write the metrics as JSON here")
    _backend_option(evaluate)
    _progress_option(evaluate)


def _add_validate(sub: Any) -> None:
    val = sub.add_parser(
        "validate",
        help="Phase 4: solve, apply and measure a list of budgets with both solvers",
        description="Writes the long-form CSV (budget, solver, cost_gbops, "
        "predicted_objective, predicted_loss, metric, value, higher_is_better) and prints the "
        "rank correlation, the additivity check and where greedy and exact differ.",
    )
    _model_options(val)
    val.add_argument("--flops_file", required=True, metavar="PATH", help="Phase 1 file")
    val.add_argument(
        "--sensitivity_file",
        required=True,
        metavar="PATH",
        help="Phase 2 loss file (sensitivity_mse.json)",
    )
    val.add_argument(
        "--budgets",
        type=_budgets,
        metavar="M,M,...",
        help="budget multipliers (default 0.05,0.10,...,1.00)",
    )
    val.add_argument(
        "--solvers",
        type=_solvers,
        default=("greedy", "exact"),
        metavar="S,S",
        help="solvers to run (default greedy,exact)",
    )
    val.add_argument(
        "--bits",
        type=_widths,
        metavar="W,W,...",
        help="width ladder (default: the widths of the sensitivity file)",
    )
    val.add_argument(
        "--act_bits",
        choices=mpq.ABIT_RULES,
        help="activation width in the cost: plus4 = min(w + 4, 16), match = w (default plus4)",
    )
    _formats_option(
        val,
        "instead of widths: the options are these formats (the sensitivity file is then "
        "sensitivity_formats.json) and --limits replaces --budgets",
    )
    val.add_argument(
        "--limits",
        nargs="+",
        metavar="LIMIT",
        help="with --formats: limits as main.py's --limit, each solved on its own "
        "(default bpw<=4.5 bpw<=5 bpw<=6 bpw<=8)",
    )
    val.add_argument(
        "--output",
        default="validation.csv",
        metavar="PATH",
        help="where to write the CSV (default validation.csv)",
    )
    _backend_option(val)
    _progress_option(val)


def install_hint() -> str:
    """How to install torch and the models: the clone's requirements file where there is one,
    else the package's extra."""
    from mpq_core.io.samples import REPO_ROOT

    if (REPO_ROOT / "requirements-torch.txt").is_file():
        return "pip install -r requirements-torch.txt"
    return 'pip install "mpq[torch]"'


# flags that choose widths or budgets, which --formats replaces
_NOT_WITH_FORMATS = {"sensitivity": ("bits", "shard"), "validate": ("budgets", "bits", "act_bits")}


def _check_formats_flags(args: argparse.Namespace) -> None:
    formats = getattr(args, "formats", None)
    if formats is None:
        if getattr(args, "limits", None):
            raise UsageError("--limits is for --formats; without it give --budgets")
        return
    for name in _NOT_WITH_FORMATS.get(args.command, ()):
        if getattr(args, name) is not None:
            raise UsageError(f"--{name} and --formats cannot be combined")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_formats_flags(args)
    except UsageError as exc:
        return _fail(f"{exc} (see {PROG} --help)", EXIT_USAGE)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        from . import commands
    except ImportError as exc:
        return _fail(
            f"{exc.name or exc} is not installed ({install_hint()})",
            EXIT_USAGE,
        )
    try:
        return commands.run(args)
    except mpq.InputError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        return _fail(f"cannot write{where}: {exc.strerror or exc}", EXIT_WRITE)


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return code
