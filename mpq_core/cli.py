"""Phase 3 from the shell: choose a weight width per layer within BOPs, size, mean-bit or
latency limits.

    python main.py --optimize_mixed_precision \\
      --flops_file results/flops_analysis/flops_analysis_unet.json \\
      --sensitivity_file results/sensitivity_analysis/sensitivity_100_prompts.json \\
      --budget_multiplier 0.5

Argument parsing and printing only: every figure comes from ``mpq_core`` (the same functions
as the dashboard), the report text from ``mpq_core.report.text``. The engine is imported after
the flags are parsed, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mpq_core import __version__
from mpq_core.errors import InputError
from mpq_core.model.constraints import Constraints, Limit, parse_limit_flag, parse_tie_flag
from mpq_core.model.spec import ABIT_RULES, SENSES, SOLVER_NAMES, Spec, width_of_text
from mpq_core.report.formats import DEFAULT_FORMATS, REPORT_FORMATS

if TYPE_CHECKING:
    import mpq_core as mpq

PROG = "main.py"
DEFAULT_FLOPS = "results/flops_analysis/flops_analysis_unet.json"
DEFAULT_SENSITIVITY = "results/sensitivity_analysis/sensitivity_100_prompts.json"
DEFAULT_MULTIPLIER = 0.5
CONFIG_DIR = "mixed_precision"
SWEEP_FILE = "budget_sweep.csv"
EXPORT_FORMATS = (
    "config",
    "mapping",
    "mapping-json",
    "both",
    "compressed_tensors",
    "torchao",
    "diffusers",
    "gguf",
    "mlx",
    "modelopt",
    "autoround",
)

# the installed command's other use (the mpq package; main.py has no dashboard command)
APP_EPILOG = """
dashboard:
  mpq app [--port N] [--address A] [FLOPS SENSITIVITY] serves the dashboard on this machine,
  on the bundled sample or on the two files (see mpq app --help).
"""

EXIT_OK = 0
EXIT_WRITE = 1
EXIT_USAGE = 2
EXIT_INFEASIBLE = 3

EPILOG = f"""\
limits:
  Without --limit or --constraints the budget is bops <= Mx with M = --budget_multiplier
  (default {DEFAULT_MULTIPLIER}), as originally. With any limit, only --budget_multiplier (if
  given) adds bops <= Mx. A value is 0.5x (times the value with every layer at the top width),
  0.5r (from every layer at its cheapest allowed width to its dearest, as HAWQ-V3 states it)
  or a plain number in the resource's unit: GBOPs for bops, bits for wbits (weight memory) and
  mean_wbits (the params-weighted mean width, the "W4.08" figure), the file's unit for a
  resource of --resources. RESOURCE@GROUP counts only a group's layers (groups come from
  --constraints). RESOURCE>=VALUE is a floor (a band is a floor and a cap). Examples:
  --limit "mean_wbits<=4.08" --limit "bops<=0.3x" --limit "mean_wbits>=3".

output:
  The report goes to stdout. With --json, stdout carries only the JSON summary (the
  export's metadata, the bit allocation and the distribution) and the report goes to stderr;
  --quiet drops the report and the notes (warnings and the saved path are still shown).
  stdout holds JSON only on success: with exit code 3 it is empty.
  Configs are written atomically to <output_dir>/{CONFIG_DIR}/quantization_config_<m>.json
  for the original setting (greedy, default cost model, one BOPs budget); other solvers and
  settings add _<solver>[_<settings hash>], other limits name the file after the limits
  (docs/formats.md). --export_format mapping writes <output_dir>/{CONFIG_DIR}/wbits_<...>.yaml,
  a plain layer: wbit mapping (with --name_prefix); with both, the config is renamed into place
  first and the mapping last, so a mapping is only ever found beside the config of its own
  run. Sweeps go to {CONFIG_DIR}/{SWEEP_FILE}.
  --report DIR writes DIR/report.html (all charts, settings and headline figures; no browser
  needed) and DIR/<chart>.png|svg (rendered with the system Chromium through kaleido).

inputs:
  When --flops_file / --sensitivity_file are not given and their default paths do not exist,
  the bundled SD 1.4 sample is used instead (and a note says so). A path given explicitly
  must exist. Inputs must be regular files of at most MPQ_MAX_INPUT_MB megabytes (default 256).
  A sensitivity file may be JSON or YAML, including MixDQ's layout (name: [v_w1, v_w2, ...],
  read as scores; name the widths with --bits).

exit codes:
  0  success
  1  an output file could not be written (or chart images could not be rendered)
  2  bad input or bad flags (one line on stderr naming the file, field and layer;
     nothing is written)
  3  no allocation meets the limits (one line saying which limits and, for a BOPs budget,
     the smallest feasible multiplier; nothing is written)
"""


class UsageError(Exception):
    """A bad flag or flag combination; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so errors stay one line."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message)


def _multiplier(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number ({text!r})") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0.0 and 1.0, got {text!r}")
    return value + 0.0  # -0 reads as 0


def _widths(text: str) -> tuple[int, ...]:
    widths = tuple(width_of_text(part.strip()) for part in text.split(","))
    if None in widths:  # ASCII digits only: int() would also read "\uff19" (a full-width 9)
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas (like 4,8,16), got {_cut(text)!r}"
        )
    return widths  # type: ignore[return-value]


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
        raise argparse.ArgumentTypeError(
            f"expected NAME=BITS (like conv_in=16), got {_cut(text)!r}"
        )
    try:
        widths = _widths(bits)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"BITS must be a width or widths separated by commas (like 16 or 8,16), "
            f"got {_cut(text)!r}"
        ) from None
    return name.strip(), widths


def _limit(text: str) -> Limit:
    try:
        return parse_limit_flag(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def _tie(text: str) -> tuple[str, ...]:
    try:
        return parse_tie_flag(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds ({text!r})") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"must be seconds in (0, 86400], got {text!r}")
    return value


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description="Phase 3: choose a weight bit-width per layer within a BOPs budget "
        "(budget = multiplier x cost with every layer at the top width) or other limits.",
        epilog=EPILOG + (APP_EPILOG if prog == "mpq" else ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _input_flags(parser)
    _limit_flags(parser)
    _solver_flags(parser)
    _option_flags(parser)
    _output_flags(parser)
    return parser


def _input_flags(parser: argparse.ArgumentParser) -> None:
    """The inputs and what to optimise."""
    parser.add_argument("--version", action="version", version=f"mpq {__version__}")
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
        help=f"Phase 2 JSON or YAML (default {DEFAULT_SENSITIVITY}, else the bundled sample)",
    )


def _limit_flags(parser: argparse.ArgumentParser) -> None:
    """The limits: the budget, --limit, ties, constraints and resources files."""
    parser.add_argument(
        "--budget_multiplier",
        type=_multiplier,
        metavar="M",
        help=f"budget as a fraction of the all-top-width cost, 0.0 to 1.0 "
        f"(default {DEFAULT_MULTIPLIER} when no other limit is given)",
    )
    parser.add_argument(
        "--limit",
        type=_limit,
        action="append",
        default=[],
        metavar="RES[@GROUP]<=V",
        help="a limit: RESOURCE[@GROUP]<=VALUE with VALUE like 0.3x, 0.5r or 4.08 (see "
        "'limits' below), or >=VALUE for a floor; repeatable; adds to --constraints",
    )
    parser.add_argument(
        "--tie",
        type=_tie,
        action="append",
        default=[],
        metavar="A,B[,C]",
        help="layers that must take the same width; repeatable; adds to --constraints",
    )
    parser.add_argument(
        "--tie_fused",
        action="store_true",
        help="tie the layers inference kernels fuse, found by name: q/k/v projections "
        "(q_proj.., query.., to_q..) and gate/up (gate_proj/up_proj, w1/w3); vLLM and "
        "TensorRT-LLM need them in one format (the compressed_tensors, modelopt and "
        "autoround exports refuse an allocation that splits them)",
    )
    parser.add_argument(
        "--constraints",
        metavar="FILE",
        help='JSON with "groups" (name -> names or patterns), "ties" and "limits" '
        "(docs/formats.md)",
    )
    parser.add_argument(
        "--resources",
        metavar="FILE",
        help='JSON {"resources": {NAME: {layer: {width: value}}}}: resources limits can cap, '
        "e.g. a measured latency table (with --formats, keyed by format name)",
    )


def _solver_flags(parser: argparse.ArgumentParser) -> None:
    """Where results go, the solver and the cost model."""
    parser.add_argument(
        "--output_dir", default="results", metavar="DIR", help="output directory (default results)"
    )
    parser.add_argument("--no_save", action="store_true", help="don't write any file")
    parser.add_argument(
        "--quiet", action="store_true", help="suppress the detailed report and the notes"
    )
    parser.add_argument(
        "--solver",
        choices=SOLVER_NAMES,
        default="greedy",
        help="greedy bang-for-buck (the reference) or the exact optimum; exact also prints "
        "its bound and the greedy's gap (default greedy)",
    )
    parser.add_argument(
        "--time_limit",
        type=_seconds,
        metavar="S",
        help="seconds for the exact solver; after it, the best allocation with its bound and "
        "gap (default 20)",
    )
    parser.add_argument(
        "--act_bits",
        choices=ABIT_RULES,
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


def _option_flags(parser: argparse.ArgumentParser) -> None:
    """The options of a layer: widths or formats, pins, the sensitivity's reading."""
    parser.add_argument(
        "--formats",
        metavar="NAME,...",
        help="quantization formats a layer may take instead of widths, e.g. "
        "int4_g128,nvfp4,fp8,bf16 (the catalog is in docs/formats.md; needs per-format "
        "sensitivity)",
    )
    parser.add_argument(
        "--formats_file",
        metavar="F",
        help="JSON/YAML: {formats: {NAME: {weight: {type, bits, group_size, scale_bits}, "
        "activation_bits}}}; its formats are used, or the ones --formats names",
    )
    parser.add_argument(
        "--search_spaces",
        metavar="F",
        help='JSON/YAML: {"search_spaces": {"*.attn*": ["fp8", "bf16"], "*": [...]}}: the '
        "formats a layer may take, by the first pattern it matches",
    )
    parser.add_argument(
        "--sensitivity_sense",
        choices=SENSES,
        help="read a per-bit file as losses (lower is better) or scores (higher is better), "
        'whatever its metadata says (default: its "higher_is_better", else loss)',
    )
    parser.add_argument(
        "--name_prefix",
        default="",
        metavar="P",
        help="prefix of the sensitivity file's layer names (e.g. model.), stripped when read "
        "and added to --export_format mapping",
    )
    parser.add_argument(
        "--gguf_arch",
        default=None,
        metavar="ARCH",
        help="--export_format gguf: the GGUF architecture whose tensor names to use (gguf's "
        "names: llama, bert, qwen2, ...; default: llama for self_attn.q_proj names, bert for "
        "attention.self.query names)",
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


def _output_flags(parser: argparse.ArgumentParser) -> None:
    """What is written: the export format, a sweep, the report, JSON."""
    parser.add_argument(
        "--on_mismatch",
        choices=("error", "intersect"),
        default="error",
        help="layers present in only one file: reject (error) or drop them (intersect)",
    )
    parser.add_argument(
        "--export_format",
        choices=EXPORT_FORMATS,
        default="config",
        help="config (the Phase 4 JSON), mapping (layer: wbit as YAML), mapping-json (the same "
        "as JSON), both (config and the YAML mapping), compressed_tensors (config, an "
        "llm-compressor recipe and a compressed-tensors QuantizationConfig), torchao (config, "
        "a torchao JSON and a snippet that applies it), diffusers (config, the torchao JSON "
        "and a snippet building diffusers' TorchAoConfig for a UNet), gguf (config, a "
        "llama-quantize "
        "--tensor-type-file and its notes), mlx (config and an mlx-lm quantization block), "
        "modelopt (config, a TensorRT-LLM hf_quant_config and a ModelOpt quant_cfg) or "
        "autoround (config and an auto-round layer_config) (default config)",
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help=f"solve every multiplier 0.00..1.00 (step 0.01) of the BOPs budget, or of the first "
        f"limit (its x or r value), print a table every 0.05 and write {CONFIG_DIR}/{SWEEP_FILE}; "
        "with --solver exact, both solvers and the gap",
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
    parser.add_argument(
        "--compare",
        metavar="FILE",
        help="compare the allocation with a file's: a Phase 4 export (any --export_format "
        "target's file, or one in the library's own schema) or an mpq config; prints the "
        "layers that differ and both objectives and limit values (with --json: 'compare')",
    )


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
        _check_combinations(args)
    except UsageError as exc:
        return _fail(f"{exc} (see {prog} --help)", EXIT_USAGE, prog)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        return _run(args, prog)
    except InputError as exc:
        return _fail(str(exc), EXIT_USAGE, prog)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        return _fail(f"cannot write{where}: {exc.strerror or exc}", EXIT_WRITE, prog)


def console() -> None:
    """Entry point of the ``mpq`` console script."""
    sys.exit(main(prog="mpq"))


def _check_combinations(args: argparse.Namespace) -> None:
    if args.sweep and args.budget_multiplier is not None:
        raise UsageError("--budget_multiplier does not apply to --sweep (it solves 0.00..1.00)")
    if args.sweep and args.report:
        raise UsageError("--report is for one budget; with --sweep, the CSV holds every budget")
    if args.sweep and args.json:
        raise UsageError(
            "--json is for one budget; with --sweep, the CSV is the machine-readable form"
        )
    if args.sweep and args.compare:
        raise UsageError("--compare is for one budget; --sweep solves every budget")
    if args.no_save and args.report:
        raise UsageError("--report writes files and --no_save writes none: drop one of them")
    if args.no_save and args.export_format != "config":
        raise UsageError("--export_format writes files and --no_save writes none: drop one")
    if args.bits is not None and (args.formats is not None or args.formats_file is not None):
        raise UsageError("--bits and --formats both choose the options of a layer: drop one")
    if args.search_spaces is not None and args.formats is None and args.formats_file is None:
        raise UsageError("--search_spaces chooses among formats: give --formats too")


def _run(args: argparse.Namespace, prog: str) -> int:
    import mpq_core as mpq
    from mpq_core.io.export import save_exports
    from mpq_core.io.reading import read_data
    from mpq_core.report.text import json_summary, report_lines

    flops, sensitivity, fallback_note = _resolve_inputs(args.flops_file, args.sensitivity_file)
    spec = _spec(args, read_data)
    resources = mpq.load_resources(args.resources) if args.resources else None
    inputs = mpq.load_inputs(
        flops,
        sensitivity,
        on_mismatch=args.on_mismatch,
        ladder=spec.ladder,
        name_prefix=args.name_prefix,
    )
    problem = _build_problem(inputs, spec, resources, args)
    bounds = _bounds(problem, spec, args)  # unknown resources/groups: exit 2

    # Everything below runs on validated input; failures above print exactly one line.
    report = sys.stderr if args.json else sys.stdout
    if args.sweep:
        return _run_sweep(problem, spec, args, report, fallback_note)

    solution = mpq.solve_spec(problem, spec, bounds)
    if not solution.feasible:
        word = "infeasible" if solution.status == "infeasible" else "no allocation found"
        return _fail(f"{word}: {solution.message}", EXIT_INFEASIBLE, prog)
    greedy = mpq.solve_greedy(problem, limits=bounds) if spec.solver != "greedy" else None
    comparison = _compare(args, solution)  # a bad FILE stops here: nothing written
    # the report first: when its images cannot be made, nothing else is written either
    report_files = _write_report(problem, solution, greedy, args) if args.report else []
    saved: list[str] = []
    notes: list[str] = []
    if not args.no_save:
        exports = save_exports(
            solution,
            args.output_dir,
            args.export_format,
            args.name_prefix,
            gguf_arch=args.gguf_arch,
        )
        for result in exports:
            saved.append(str(result.path))
            notes += [f"note: {result.note}"] if result.note else []
    if not args.quiet:
        _print_notices(problem, fallback_note, report)
        _print_lines(report_lines(solution, greedy), report)
    else:
        _print_lines([f"warning: {w}" for w in problem.inputs.warnings], report)
    _print_lines(notes + _comparison_lines(comparison), report)
    for path in saved:
        print(f"{_saved_label(Path(path).name)} saved to: {path}", file=report)
    if report_files:
        print(f"Report saved to: {report_files[0].parent} ({len(report_files)} files)", file=report)
    if args.json:
        config_file = next((p for p in saved if not Path(p).name.startswith("wbits_")), None)
        summary = json_summary(solution, config_file, greedy) | _compare_json(comparison)
        print(json.dumps(summary, indent=2, allow_nan=False))
    return EXIT_OK


def _compare(args: argparse.Namespace, solution: mpq.Solution):
    """The comparison with --compare FILE (None without it)."""
    if args.compare is None:
        return None
    from mpq_core.io.phase4.compare import compare_file

    return compare_file(
        solution, args.compare, name_prefix=args.name_prefix, gguf_arch=args.gguf_arch
    )


def _comparison_lines(comparison) -> list[str]:
    if comparison is None:
        return []
    from mpq_core.io.phase4.compare import comparison_lines

    return comparison_lines(comparison)


def _compare_json(comparison) -> dict[str, Any]:
    return {} if comparison is None else {"compare": comparison.to_dict()}


# what each exported file is, by the start of its name (the config: anything else)
_SAVED_LABELS = {
    "wbits_": "Mapping",
    "llmcompressor_recipe_": "llm-compressor recipe",
    "compressed_tensors_": "compressed-tensors config",
    "torchao_": "torchao config",
    "diffusers_": "diffusers snippet",
    "llamacpp_tensor_types_": "llama.cpp tensor types",
    "llamacpp_notes_": "llama.cpp notes",
    "mlx_quantization_": "MLX quantization block",
    "hf_quant_config_": "TensorRT-LLM hf_quant_config",
    "modelopt_quant_cfg_": "ModelOpt quant_cfg",
    "autoround_layer_config_": "auto-round layer_config",
}


def _saved_label(name: str) -> str:
    if name.startswith("torchao_") and name.endswith(".py"):
        return "torchao snippet"
    return next((v for k, v in _SAVED_LABELS.items() if name.startswith(k)), "Config")


@dataclass(frozen=True)
class _Origins:
    """Where each part of the Spec was written (a flag or a file), recorded while the Spec is
    built, so that an error the engine raises about a field names what the user wrote."""

    fields: Mapping[str, str]  # the engine's name of a field -> the flag or file that set it
    pin_flags: frozenset[str]  # layers pinned by --pin (the others by --pin_file)
    pin_file: str | None
    limits: tuple[tuple[str, str | None], ...]  # per limit of the Spec: (source, field)

    def name(self, exc: InputError) -> InputError:
        """``exc`` naming the flag or file of its field (unchanged when no flag set it)."""
        if exc.source == "pins":
            by_flag = exc.layer in self.pin_flags or not self.pin_file
            where = "--pin" if by_flag else str(self.pin_file)
            return InputError(where, exc.problem, field="pins", layer=exc.layer)
        where = self.fields.get(exc.source)
        if where is None:
            return exc
        if exc.source in _RECORD_FIELDS:  # the file's record or the flag's index
            return InputError(where, exc.problem, field=exc.field, layer=exc.layer)
        return InputError(where, exc.problem)


_CONSTRAINT_FIELDS = ("ties", "constraints", "limits")
_RECORD_FIELDS = (*_CONSTRAINT_FIELDS, "search_spaces")  # errors keep the record's field


def _constraints(args: argparse.Namespace, read_data) -> tuple[Constraints, list]:
    """The constraints file with the --tie, --limit and --budget_multiplier flags added
    (the budget first, then the file's limits, then the flags'), and where each limit came
    from: (source, field) as :func:`_bounds` names it."""
    from mpq_core.model.constraints import parse_constraints

    constraints = Constraints()
    if args.constraints:
        label, _, data = read_data(args.constraints)
        constraints = parse_constraints(data, label)
    in_file = [
        (args.constraints or "limits", f"limits[{i}]") for i in range(len(constraints.limits))
    ]
    limits = [*constraints.limits, *args.limit]
    origins = [*in_file, *[("limits", None)] * len(args.limit)]
    if args.budget_multiplier is not None:
        limits.insert(0, Limit.budget(args.budget_multiplier, "--budget_multiplier", "M"))
        origins.insert(0, ("--budget_multiplier", None))
    elif not limits and not args.sweep:
        limits, origins = [Limit.budget(DEFAULT_MULTIPLIER)], [("limits", None)]
    elif not limits:  # a sweep of the default budget (``spec.limits`` gives it)
        origins = [("limits", None)]
    ties = constraints.ties + tuple(args.tie)
    try:
        return replace(constraints, ties=ties, limits=tuple(limits)), origins
    except InputError as exc:  # the record's count of limits, over every source of them
        raise InputError(_limit_sources(args), exc.problem) from exc


def _limit_sources(args: argparse.Namespace) -> str:
    """``c.json + --limit + --budget_multiplier``: every source of limits given."""
    given = (
        args.constraints,
        "--limit" if args.limit else None,
        "--budget_multiplier" if args.budget_multiplier is not None else None,
    )
    return " + ".join(g for g in given if g)


def _spec(args: argparse.Namespace, read_data) -> Spec:
    """The flags (and the constraints and pin files) as one validated Spec, each value checked
    under the name of the flag or file it came from; ``args.origins`` records those names for
    the errors the engine raises later (:func:`_build_problem`, :func:`_bounds`)."""
    from mpq_core.model.spec import check_discount, check_ladder, check_pins, parse_pin_file

    constraints, limit_origins = _constraints(args, read_data)
    flagged = check_pins(args.pin, "--pin")  # a layer pinned twice, a repeated width
    by_flag = frozenset(pin.layer for pin in flagged)
    pins: dict[str, Any] = {}
    if args.pin_file is not None:
        label, _, data = read_data(args.pin_file)
        pins = parse_pin_file(data, label)
        kept = [(name, w) for name, w in pins.items() if name not in by_flag]
        check_pins(kept, args.pin_file, field="pins")  # --pin overrides the file's layer
    pins.update((pin.layer, list(pin.widths)) for pin in flagged)
    formats = _chosen_formats(args, read_data)
    fields = {"ladder": "--bits", "upgrade_discount": "--upgrade_discount"}
    fields |= {"formats": "--formats" if args.formats is not None else str(args.formats_file)}
    spaces, spaces_source = _search_spaces(args, read_data)
    fields |= {"search_spaces": spaces_source}
    fields |= {"sensitivity_sense": "--sensitivity_sense"}
    fields |= dict.fromkeys(_CONSTRAINT_FIELDS, args.constraints or "--tie/--limit")
    args.origins = _Origins(fields, by_flag, args.pin_file, tuple(limit_origins))
    return Spec(
        ladder=check_ladder(args.bits, "--bits"),
        abit_rule=args.act_bits,
        upgrade_discount=check_discount(args.upgrade_discount, "--upgrade_discount"),
        pins=tuple((name, tuple(w)) for name, w in pins.items()),
        sense=args.sensitivity_sense,
        constraints=constraints,
        solver=args.solver,
        time_limit=args.time_limit or 20.0,
        formats=formats,
        search_spaces=spaces,
        tie_fused=args.tie_fused,
    )


def _search_spaces(args: argparse.Namespace, read_data) -> tuple[tuple, str]:
    """The search spaces of --search_spaces, else of the constraints file's ``search_spaces``
    (both: an error), and the file they came from."""
    from mpq_core.model.formats import parse_search_spaces

    in_constraints = None
    if args.constraints:
        label, _, data = read_data(args.constraints)
        if isinstance(data, dict) and "search_spaces" in data:
            in_constraints = (label, data)
    if in_constraints is not None:
        label, data = in_constraints
        if args.search_spaces is not None:
            raise InputError(label, "--search_spaces gives them too: give them once",
                             field="search_spaces")  # fmt: skip
        if args.formats is None and args.formats_file is None:
            raise InputError(label, "search spaces choose among formats: give --formats too",
                             field="search_spaces")  # fmt: skip
        return parse_search_spaces(data["search_spaces"], label), label
    if args.search_spaces is None:
        return (), "--search_spaces"
    label, _, data = read_data(args.search_spaces)
    return parse_search_spaces(data, label), label


def _chosen_formats(args: argparse.Namespace, read_data) -> tuple | None:
    """The formats of --formats (catalog names, or names of --formats_file), else every
    format of --formats_file, else None (plain widths)."""
    from mpq_core.model.formats import CATALOG, catalog_formats, parse_formats, pick

    if args.formats is None and args.formats_file is None:
        return None
    if args.formats_file is None:
        return catalog_formats(args.formats)
    label, _, data = read_data(args.formats_file)
    own = parse_formats(data, label)
    if args.formats is None:
        return tuple(own.values())
    return pick(args.formats, CATALOG | own, "--formats")


def _build_problem(inputs, spec: Spec, resources, args: argparse.Namespace) -> mpq.Problem:
    import mpq_core as mpq

    try:
        return mpq.build_problem(inputs, spec, resources=resources)
    except InputError as exc:
        named = args.origins.name(exc)
        if named is exc:
            raise
        raise named from exc


def _bounds(problem: mpq.Problem, spec: Spec, args: argparse.Namespace) -> tuple:
    """Every limit resolved; one of the constraints file that cannot be (an unknown resource
    or group, a mean width without parameters) is reported with the file and its record."""
    import mpq_core as mpq

    try:
        return mpq.resolve_limits(problem, spec.limits)
    except InputError as exc:
        if exc.source != "limits":
            raise
        for limit, (source, field) in zip(spec.limits, args.origins.limits, strict=True):
            try:
                mpq.resolve_limits(problem, [limit])
            except InputError as one:
                raise InputError(source, one.problem, field=field) from one
        raise


def _run_sweep(
    problem: mpq.Problem,
    spec: Spec,
    args: argparse.Namespace,
    report: TextIO,
    fallback_note: str | None,
) -> int:
    import mpq_core as mpq
    from mpq_core.report.text import sweep_lines

    solvers = mpq.sweep_solvers(spec.solver)
    if spec.constraints.limits:
        first = spec.constraints.limits[0]
        if first.form == "abs":
            raise InputError(
                "--sweep", f"varies the first limit's x or r value; {first.label()} is absolute"
            )
        sweep = mpq.sweep_limits(problem, spec.constraints.limits, solvers=solvers)
    else:
        sweep = mpq.sweep_budgets(problem, solvers=solvers)
    csv_file = None
    if not args.no_save:
        path = Path(args.output_dir) / CONFIG_DIR / SWEEP_FILE
        csv_file = str(mpq.write_text_atomic(path, sweep.to_csv(index=False, lineterminator="\n")))
    if not args.quiet:
        _print_notices(problem, fallback_note, report)
        _print_lines(sweep_lines(sweep, problem, solvers), report)
    if csv_file is not None:
        print(f"Sweep saved to: {csv_file}", file=report)
    return EXIT_OK


def _write_report(
    problem: mpq.Problem, solution: mpq.Solution, greedy: mpq.Solution | None, args
) -> list[Path]:
    """The report of this budget: the same charts as the dashboard's main page."""
    import mpq_core as mpq
    from mpq_core.report.html import write_view_report

    limits = [b.limit for b in solution.bounds]
    if len(limits) > 1:  # the other limits held; the greedy's curves, as the app draws them
        sweep = mpq.sweep_limits(problem, limits, solvers=("greedy",))
    else:
        sweep = mpq.sweep_budgets(problem, solvers=mpq.sweep_solvers(solution.solver))
    try:
        return write_view_report(
            problem, solution, sweep, args.report, formats=args.report_formats, greedy=greedy
        )
    except RuntimeError as exc:  # image rendering: no Chromium, or kaleido failed
        raise OSError(f"report images for {args.report}: {exc}") from exc


def _resolve_inputs(flops_file: str | None, sensitivity_file: str | None):
    """Explicit paths as given; a default path that does not exist -> the bundled sample."""
    import mpq_core as mpq

    chosen: list[Any] = []
    missing: list[str] = []
    sample = None
    for index, (given, default) in enumerate(
        ((flops_file, DEFAULT_FLOPS), (sensitivity_file, DEFAULT_SENSITIVITY))
    ):
        if given is not None:
            chosen.append(given)
        elif Path(default).exists():
            chosen.append(default)
        else:
            sample = sample or mpq.sample_inputs("sd14")
            chosen.append(sample[index])
            missing.append(f"{default} -> {_where(mpq.sample_paths('sd14')[index])}")
    note = None
    if missing:
        note = (
            f"note: default input not found, using the bundled SD 1.4 sample: {'; '.join(missing)}"
        )
    return chosen[0], chosen[1], note


def _where(path: Path) -> str:
    """A file's path as this user can open it: relative to the working folder when inside it
    (a clone), else absolute (the copy inside an installed package)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _print_notices(problem: mpq.Problem, fallback_note: str | None, stream: TextIO) -> None:
    """Lines shown before the report: sample fallback, dropped layers, synthetic scores."""
    from mpq_core.report.text import synthetic_notice

    notices = [fallback_note, *(f"warning: {w}" for w in problem.inputs.warnings)]
    notices.append(synthetic_notice(problem.inputs))
    _print_lines([line for line in notices if line], stream)


def _print_lines(lines: Sequence[str], stream: TextIO) -> None:
    for line in lines:
        print(line, file=stream)


def _fail(message: str, code: int, prog: str = PROG) -> int:
    print(f"{prog}: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
