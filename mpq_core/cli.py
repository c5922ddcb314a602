"""Phase 3 from the shell: mixed-precision bit allocation under a BOPs budget.

    python main.py --optimize_mixed_precision \\
      --flops_file results/flops_analysis/flops_analysis_unet.json \\
      --sensitivity_file results/sensitivity_analysis/sensitivity_100_prompts.json \\
      --budget_multiplier 0.5

Argument parsing and printing only: every figure comes from ``mpq_core`` (the same functions
as the dashboard), the report text from ``mpq_core.text_report``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import mpq_core as mpq
from mpq_core import text_report
from mpq_core.export import CONFIG_DIR
from mpq_core.loading import read_json
from mpq_core.report import DEFAULT_FORMATS, REPORT_FORMATS, write_view_report

PROG = "main.py"
DEFAULT_FLOPS = "results/flops_analysis/flops_analysis_unet.json"
DEFAULT_SENSITIVITY = "results/sensitivity_analysis/sensitivity_100_prompts.json"
DEFAULT_MULTIPLIER = 0.5
SWEEP_FILE = "budget_sweep.csv"

EXIT_OK = 0
EXIT_WRITE = 1
EXIT_USAGE = 2
EXIT_INFEASIBLE = 3

EPILOG = f"""\
output:
  The report goes to stdout. With --json, stdout carries only the JSON summary (the
  export's metadata plus the distribution) and the report goes to stderr; --quiet drops the
  report (notices such as synthetic sensitivity and the saved path are still shown).
  stdout holds JSON only on success: with exit code 3 it is empty.
  Configs are written atomically to <output_dir>/{CONFIG_DIR}/quantization_config_<m>.json,
  sweeps to <output_dir>/{CONFIG_DIR}/{SWEEP_FILE}. --report DIR writes DIR/report.html (all
  charts, settings and headline figures; no browser needed) and DIR/<chart>.png|svg (rendered
  with the system Chromium through kaleido).

inputs:
  When --flops_file / --sensitivity_file are not given and their default paths do not exist,
  the bundled SD 1.4 sample is used instead (and a note says so). A path given explicitly
  must exist.

exit codes:
  0  success
  1  an output file could not be written (or chart images could not be rendered)
  2  bad input or bad flags (one line on stderr naming the file, field and layer;
     nothing is written)
  3  the budget is below the minimum cost (one line naming the smallest feasible
     multiplier; nothing is written)
"""


class UsageError(Exception):
    """A bad flag or flag combination; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so errors stay one line."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message)


def _multiplier(text: str) -> float:
    try:
        return mpq.check_multiplier(text)
    except mpq.InputError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas (like 4,8,16), got {text!r}"
        ) from None


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [f for f in chosen if f not in REPORT_FORMATS]
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(
            f"expected formats from {','.join(REPORT_FORMATS)} separated by commas, got {text!r}"
        )
    return chosen


def _pin(text: str) -> tuple[str, tuple[int, ...]]:
    name, sep, bits = text.rpartition("=")
    if not sep or not name.strip() or not bits.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=BITS (like conv_in=16), got {text!r}")
    try:
        widths = tuple(int(part) for part in bits.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"BITS must be a width or widths separated by commas (like 16 or 8,16), got {text!r}"
        ) from None
    return name.strip(), widths


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Phase 3: choose a weight bit-width per layer within a BOPs budget "
        "(budget = multiplier x cost with every layer at the top width).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--optimize_mixed_precision",
        action="store_true",
        required=True,
        help="run Phase 3 optimization (required)",
    )
    parser.add_argument(
        "--flops_file",
        metavar="PATH",
        help=f"Phase 1 JSON (default {DEFAULT_FLOPS}, else the bundled sample)",
    )
    parser.add_argument(
        "--sensitivity_file",
        metavar="PATH",
        help=f"Phase 2 JSON (default {DEFAULT_SENSITIVITY}, else the bundled sample)",
    )
    parser.add_argument(
        "--budget_multiplier",
        type=_multiplier,
        metavar="M",
        help=f"budget as a fraction of the all-top-width cost, 0.0 to 1.0 "
        f"(default {DEFAULT_MULTIPLIER})",
    )
    parser.add_argument(
        "--output_dir", default="results", metavar="DIR", help="output directory (default results)"
    )
    parser.add_argument("--no_save", action="store_true", help="don't write any file")
    parser.add_argument("--quiet", action="store_true", help="suppress the detailed report")
    parser.add_argument(
        "--solver",
        choices=tuple(mpq.SOLVERS),
        default="greedy",
        help="greedy bang-for-buck (the reference) or the exact optimum; exact also prints "
        "the LP bound and the greedy's gap (default greedy)",
    )
    parser.add_argument(
        "--act_bits",
        choices=mpq.ABIT_RULES,
        default="plus4",
        help="activation width: plus4 = min(wbit + 4, 16), match = wbit (default plus4)",
    )
    parser.add_argument(
        "--upgrade_discount",
        type=float,
        metavar="D",
        default=0.2,
        help="scalar scores: gain of each step above the first, as a factor (default 0.2)",
    )
    parser.add_argument(
        "--bits",
        type=_widths,
        metavar="W,W,...",
        help="width ladder, e.g. 4,8,16 (default 4,8,16, or the widths of a per-bit file)",
    )
    parser.add_argument(
        "--pin",
        type=_pin,
        action="append",
        default=[],
        metavar="NAME=BITS",
        help="restrict a layer to a width or a set (conv_in=16, conv_out=8,16); repeatable; "
        "overrides --pin_file for the same layer",
    )
    parser.add_argument(
        "--pin_file", metavar="F", help="JSON object: layer name -> width or list of widths"
    )
    parser.add_argument(
        "--on_mismatch",
        choices=("error", "intersect"),
        default="error",
        help="layers present in only one file: reject (error) or drop them (intersect)",
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help=f"solve every multiplier 0.00..1.00 (step 0.01), print a table every 0.05 and write "
        f"{CONFIG_DIR}/{SWEEP_FILE}; with --solver exact, both solvers and the gap",
    )
    parser.add_argument(
        "--report",
        metavar="DIR",
        help="also write a report of this budget into DIR: report.html (self-contained) and "
        "each chart as an image",
    )
    parser.add_argument(
        "--report_formats",
        type=_formats,
        metavar="F,F",
        default=DEFAULT_FORMATS,
        help=f"what --report writes, from {','.join(REPORT_FORMATS)} "
        f"(default {','.join(DEFAULT_FORMATS)})",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON summary on stdout (the report then goes to stderr)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_combinations(args)
    except UsageError as exc:
        return _fail(f"{exc} (see {PROG} --help)", EXIT_USAGE)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        return _run(args)
    except mpq.InputError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        return _fail(f"cannot write{where}: {exc.strerror or exc}", EXIT_WRITE)


def _check_combinations(args: argparse.Namespace) -> None:
    if args.sweep and args.budget_multiplier is not None:
        raise UsageError("--budget_multiplier does not apply to --sweep (it solves 0.00..1.00)")
    if args.sweep and args.report:
        raise UsageError("--report is for one budget; with --sweep, the CSV holds every budget")
    if args.sweep and args.json:
        raise UsageError(
            "--json is for one budget; with --sweep, the CSV is the machine-readable form"
        )


def _run(args: argparse.Namespace) -> int:
    flops, sensitivity, fallback_note = _resolve_inputs(args.flops_file, args.sensitivity_file)
    pins, pin_sources = _collect_pins(args.pin, args.pin_file)
    inputs = mpq.load_inputs(flops, sensitivity, on_mismatch=args.on_mismatch)
    problem = _build_problem(inputs, args, pins, pin_sources)

    # Everything below runs on validated input; failures above print exactly one line.
    report = sys.stderr if args.json else sys.stdout
    if args.sweep:
        return _run_sweep(problem, args, report, fallback_note)

    multiplier = DEFAULT_MULTIPLIER if args.budget_multiplier is None else args.budget_multiplier
    solution = mpq.solve(problem, multiplier, args.solver)
    if not solution.feasible:
        return _fail(f"infeasible budget: {solution.message}", EXIT_INFEASIBLE)
    greedy = mpq.solve(problem, multiplier, "greedy") if args.solver != "greedy" else None
    config_file = None if args.no_save else str(mpq.save_config(solution, args.output_dir))
    report_files = _write_report(problem, solution, greedy, args) if args.report else []

    _print_notices(problem, fallback_note, report)
    if not args.quiet:
        _print_lines(text_report.report_lines(solution, greedy), report)
    if config_file is not None:
        print(f"Config saved to: {config_file}", file=report)
    if report_files:
        print(f"Report saved to: {report_files[0].parent} ({len(report_files)} files)", file=report)
    if args.json:
        summary = text_report.json_summary(solution, config_file, greedy)
        print(json.dumps(summary, indent=2, allow_nan=False))
    return EXIT_OK


def _run_sweep(
    problem: mpq.Problem, args: argparse.Namespace, report: TextIO, fallback_note: str | None
) -> int:
    solvers = ("greedy",) if args.solver == "greedy" else ("greedy", args.solver)
    sweep = mpq.sweep_budgets(problem, solvers=solvers)
    csv_file = None
    if not args.no_save:
        path = Path(args.output_dir) / CONFIG_DIR / SWEEP_FILE
        csv_file = str(mpq.write_text_atomic(path, sweep.to_csv(index=False, lineterminator="\n")))
    _print_notices(problem, fallback_note, report)
    if not args.quiet:
        _print_lines(text_report.sweep_lines(sweep, problem, solvers), report)
    if csv_file is not None:
        print(f"Sweep saved to: {csv_file}", file=report)
    return EXIT_OK


def _write_report(
    problem: mpq.Problem, solution: mpq.Solution, greedy: mpq.Solution | None, args
) -> list[Path]:
    """The report of this budget: the same charts as the dashboard's main page."""
    solvers = ("greedy",) if args.solver == "greedy" else ("greedy", args.solver)
    sweep = mpq.sweep_budgets(problem, solvers=solvers)
    try:
        return write_view_report(
            problem, solution, sweep, args.report, formats=args.report_formats, greedy=greedy
        )
    except RuntimeError as exc:  # image rendering: no Chromium, or kaleido failed
        raise OSError(f"report images for {args.report}: {exc}") from exc


def _resolve_inputs(
    flops_file: str | None, sensitivity_file: str | None
) -> tuple[str | mpq.InputFile, str | mpq.InputFile, str | None]:
    """Explicit paths as given; a default path that does not exist -> the bundled sample."""
    chosen: list[str | mpq.InputFile] = []
    missing: list[str] = []
    sample: tuple[mpq.InputFile, mpq.InputFile] | None = None
    for index, (given, default) in enumerate(
        ((flops_file, DEFAULT_FLOPS), (sensitivity_file, DEFAULT_SENSITIVITY))
    ):
        if given is not None:
            chosen.append(given)
        elif Path(default).exists():
            chosen.append(default)
        else:
            sample = sample or mpq.sample_inputs("sd14")
            bundled = sample[index]
            chosen.append(bundled)
            missing.append(f"{default} -> {bundled.name}")
    note = None
    if missing:
        note = (
            f"note: default input not found, using the bundled SD 1.4 sample: {'; '.join(missing)}"
        )
    return chosen[0], chosen[1], note


def _collect_pins(
    cli_pins: list[tuple[str, tuple[int, ...]]], pin_file: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Pins from --pin_file, then --pin (which wins); and where each pin came from."""
    pins: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if pin_file is not None:
        label, _, data = read_json(pin_file)
        if not isinstance(data, dict):
            raise mpq.InputError(
                label, "expected a JSON object of layer name -> width or list of widths"
            )
        for name, spec in data.items():
            is_width = isinstance(spec, int) and not isinstance(spec, bool)
            if not is_width and not isinstance(spec, list):
                raise mpq.InputError(
                    label,
                    f"expected a width or a list of widths, got {json.dumps(spec)[:40]}",
                    field="pins",
                    layer=name,
                )
            pins[name] = spec
            sources[name] = label
    seen: set[str] = set()
    for name, widths in cli_pins:
        if name in seen:
            raise mpq.InputError("--pin", "layer pinned twice", layer=name)
        seen.add(name)
        pins[name] = list(widths)
        sources[name] = "--pin"
    return pins, sources


def _build_problem(
    inputs: mpq.Inputs, args: argparse.Namespace, pins: dict[str, Any], sources: dict[str, str]
) -> mpq.Problem:
    try:
        return mpq.build_problem(
            inputs,
            bits=args.bits,
            abit_rule=args.act_bits,
            upgrade_discount=args.upgrade_discount,
            pins=pins,
        )
    except mpq.InputError as exc:
        if exc.source == "pins" and exc.layer in sources:  # name where the bad pin came from
            raise mpq.InputError(
                sources[exc.layer], exc.problem, field="pins", layer=exc.layer
            ) from exc
        if exc.source in ("bits", "upgrade_discount"):
            raise mpq.InputError(f"--{exc.source}", exc.problem) from exc
        raise


def _print_notices(problem: mpq.Problem, fallback_note: str | None, stream: TextIO) -> None:
    """Lines shown even with --quiet: sample fallback, dropped layers, synthetic scores."""
    notices = [fallback_note, *(f"warning: {w}" for w in problem.inputs.warnings)]
    notices.append(text_report.synthetic_notice(problem.inputs))
    _print_lines([line for line in notices if line], stream)


def _print_lines(lines: Sequence[str], stream: TextIO) -> None:
    for line in lines:
        print(line, file=stream)


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def console() -> None:
    """Entry point of the ``mpq`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
