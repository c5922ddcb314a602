"""What each subcommand of ``python -m mpq_torch`` does once its flags are parsed."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from mpq_core import InputError, load_config, write_text_atomic
from mpq_core.io.loading import read_json

from .backends import get_backend
from .cases import ModelCase, load_case
from .formats_sensitivity import format_documents, make_format_run, measure_format_items
from .formats_validate import DEFAULT_LIMITS, formats_summary_lines, validate_formats
from .jsonio import dumps, write_json
from .metrics import run_outputs
from .profiling import ATTENTION, Profile, flops_document, profile_case, with_weight_shapes
from .progress import Progress
from .quantize import split_allocation
from .sensitivity import (
    Shard,
    make_run,
    measure_items,
    merge_shards,
    per_bit_documents,
    shard_document,
)
from .validate import DEFAULT_BUDGETS, evaluate_config, summary_lines, validate

EXIT_OK = 0
DEFAULT_WIDTHS = (4, 8, 16)
DEFAULT_ABIT_RULE = "plus4"


def run(args: argparse.Namespace) -> int:
    return _COMMANDS[args.command](args)


def _profile(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    case = _case(args)
    profile = _run_profile(case, args.model)
    if args.skip_matmuls:
        profile = replace(profile, layers=tuple(r for r in profile.layers if r.type != ATTENTION))
    if args.weight_shapes:
        profile = with_weight_shapes(profile, case.model)
    document = flops_document(case, profile)
    if args.skip_matmuls:
        document["metadata"]["left_out"] = "attention matmuls (--skip_matmuls)"
    path = write_json(args.output, document)
    weights = len(profile.layers) - len(profile.of_type(ATTENTION))
    _say(
        f"{len(profile.layers)} layers ({weights} Conv/Linear, "
        f"{len(profile.of_type(ATTENTION))} attention matmuls), {profile.total_macs:,} MACs "
        f"in {_since(start)}"
    )
    _say(f"wrote {path}")
    return EXIT_OK


def _sensitivity(args: argparse.Namespace) -> int:
    if args.formats is not None:
        return _sensitivity_formats(args)
    start = time.perf_counter()
    shard = Shard.parse(args.shard) if args.shard else None
    backend = get_backend(args.backend)
    case = _case(args)
    profile = _run_profile(case, args.model)
    layers = [r.name for r in profile.layers if not (args.skip_matmuls and r.type == ATTENTION)]
    widths = args.bits or DEFAULT_WIDTHS
    run_ = make_run(case, layers, widths, args.seed, args.threads, backend)
    items = run_.items
    if shard is not None:
        lo, hi = shard.bounds(len(items))
        items = items[lo:hi]
    reference = run_outputs(case)
    label = f"sensitivity {shard.label}" if shard else "sensitivity"
    results = measure_items(
        case, reference, items, progress=not args.no_progress, label=label, backend=backend
    )
    out = Path(args.output_dir)
    if shard is not None:
        path = write_json(
            out / f"shard_{shard.index}_of_{shard.count}.json",
            shard_document(run_, shard, results),
        )
        written = [path]
    else:
        written = [
            write_json(out / name, doc) for name, doc in per_bit_documents(run_, results).items()
        ]
    _say(
        f"measured {len(results)} (layer, width) pair(s) of {len(run_.items)} on "
        f"{case.sample_count} calibration sample(s) in {_since(start)}"
    )
    for path in written:
        _say(f"wrote {path}")
    return EXIT_OK


def _sensitivity_formats(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    backend = get_backend(args.backend)
    case = _case(args)
    profile = _run_profile(case, args.model)
    layers = [r.name for r in profile.layers if r.type != ATTENTION]
    if not layers:
        raise InputError(args.model, "no Conv/Linear layer ran in the forward pass", field="model")
    run_ = make_format_run(case, layers, args.formats, args.seed, args.threads, backend)
    reference = run_outputs(case)
    results = measure_format_items(
        case, reference, run_.items, progress=not args.no_progress, backend=backend
    )
    out = Path(args.output_dir)
    written = [write_json(out / name, doc) for name, doc in format_documents(run_, results).items()]
    _say(
        f"measured {len(results)} (layer, format) pair(s) on {case.sample_count} calibration "
        f"sample(s) in {_since(start)}"
    )
    for path in written:
        _say(f"wrote {path}")
    return EXIT_OK


def _merge(args: argparse.Namespace) -> int:
    shards = []
    for name in args.shards:
        label, _, data = read_json(name)
        shards.append((label, data))
    run_, results = merge_shards(shards)
    out = Path(args.output_dir)
    for name, doc in per_bit_documents(run_, results).items():
        _say(f"wrote {write_json(out / name, doc)}")
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    saved = load_config(args.config)
    backend = get_backend(args.backend)
    case = _case(args)
    split_allocation(case.model, saved.wbits, saved.source)  # bad names fail before any run
    # the float pass, then the quantized one
    with Progress(2 * len(case.batches), "evaluate", enabled=not args.no_progress) as bar:
        reference = run_outputs(case, bar)
        metrics = evaluate_config(case, reference, saved, bar, backend)
    task = case.task_metric.name if case.task_metric else None
    document = {"config": args.config, "count": case.sample_count, **metrics.as_dict(task)}
    document |= backend.metadata
    if args.output:
        _say(f"wrote {write_json(args.output, document)}")
    sys.stdout.write(dumps(document))
    _say(f"evaluated in {_since(start)}")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    if args.formats is not None:
        return _validate_formats(args)
    start = time.perf_counter()
    backend = get_backend(args.backend)
    case = _case(args)
    reference = run_outputs(case)
    result = validate(
        case,
        reference,
        args.flops_file,
        args.sensitivity_file,
        budgets=args.budgets or DEFAULT_BUDGETS,
        solvers=args.solvers,
        bits=args.bits,
        abit_rule=args.act_bits or DEFAULT_ABIT_RULE,
        progress=not args.no_progress,
        backend=backend,
    )
    path = write_text_atomic(args.output, result.csv)
    for line in summary_lines(result):
        print(line)
    _say(f"wrote {path} in {_since(start)}")
    return EXIT_OK


def _validate_formats(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    backend = get_backend(args.backend)
    case = _case(args)
    reference = run_outputs(case)
    result = validate_formats(
        case,
        reference,
        args.flops_file,
        args.sensitivity_file,
        args.formats,
        limits=args.limits or DEFAULT_LIMITS,
        solvers=args.solvers,
        progress=not args.no_progress,
        backend=backend,
    )
    path = write_text_atomic(args.output, result.csv)
    for line in formats_summary_lines(result):
        print(line)
    _say(f"wrote {path} in {_since(start)}")
    return EXIT_OK


_COMMANDS = {
    "profile": _profile,
    "sensitivity": _sensitivity,
    "merge": _merge,
    "evaluate": _evaluate,
    "validate": _validate,
}


def _case(args: argparse.Namespace) -> ModelCase:
    """Threads and seed first, then the model (its random weights or inputs use the seed)."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return load_case(args.model, count=getattr(args, "count", None))


def _run_profile(case: ModelCase, spec: str) -> Profile:
    try:
        profile = profile_case(case)
    except InputError:
        raise
    except Exception as exc:  # the user's model on the user's inputs
        raise InputError(
            spec, f"the forward pass failed: {type(exc).__name__}: {exc}", field="model"
        ) from exc
    if not profile.layers:
        raise InputError(
            spec, "no Conv/Linear layer or attention matmul ran in the forward pass", field="model"
        )
    return profile


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _since(start: float) -> str:
    return f"{time.perf_counter() - start:.1f} s"
