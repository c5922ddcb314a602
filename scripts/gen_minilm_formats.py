#!/usr/bin/env python3
"""Regenerate the measured per-format sample ``sample_data/minilm_l6_formats/``.

Runs, each as its own process, and prints the wall time of each phase:

    python -m mpq_torch profile minilm --skip_matmuls --weight_shapes \\
        --output DIR/flops_analysis.json
    python -m mpq_torch sensitivity minilm --count 32 --formats <every catalog format> \\
        --output_dir DIR
    python -m mpq_torch validate minilm --flops_file DIR/flops_analysis.json \\
        --sensitivity_file DIR/sensitivity_formats.json --formats <the same> \\
        --limits <LIMITS> --output DIR/validation.csv

and keeps validate's summary in DIR/validation_summary.txt. With ``--backend compressed_tensors``
the same sensitivity and validate commands run with that flag (Phase 1 is the same file; the
formats are those compressed-tensors can express, all but ``mxfp6``) and their files are kept
beside the rtn ones, named with the backend: ``sensitivity_formats_compressed_tensors.json``
(``_sqnr``, ``_cosine``), ``validation_compressed_tensors.csv`` and
``validation_summary_compressed_tensors.txt``; it then prints Spearman's rank correlation between
the two backends' losses over every (layer, format) pair both measured, and the largest ratios.
The per-format sweep (36 Linear
layers x 16 formats = 576 runs) uses the first 32 sentences of
``sample_data/minilm_l6/sentences.txt`` (one batch) to stay within a few minutes; the validation
measures each solved allocation on all 310. Seed 0, 2 threads. Idle OpenMP threads sleep
(``OMP_WAIT_POLICY=PASSIVE`` unless set): on a shared machine, spinning threads slow every run
several times over, and the wait policy does not change a number. Needs
``pip install -r requirements-torch.txt``; nothing is downloaded.

Usage: python scripts/gen_minilm_formats.py [--output_dir DIR] [--backend compressed_tensors]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from gen_minilm_sample import REPO_ROOT, run_phase  # this folder: python scripts/<file>.py

DEFAULT_DIR = REPO_ROOT / "sample_data" / "minilm_l6_formats"
SWEEP_COUNT = 32
# every format of mpq_core's catalog (mpq_core/model/formats.py)
FORMATS = (
    "int2_g64,int3_g128,int4_g128,w4a8_g128,mxfp4,int4_g64,nvfp4,nvfp4_w4a16,int4_g32,"
    "mxfp6,fp8,w8a8,int8,mxfp8,bf16,fp16"
)
# formats a backend refuses (compressed-tensors' FP6 is E2M3, mpq's E3M2)
REFUSED = {"compressed_tensors": ("mxfp6",)}
LIMITS = (
    "bpw<=4.25",
    "bpw<=4.5",
    "bpw<=5",
    "bpw<=5.5",
    "bpw<=6",
    "bpw<=7",
    "bpw<=8",
    "bpw<=10",
    "bops<=0.1x",
    "bops<=0.2x",
)


def _env() -> dict[str, str]:
    return {
        "OMP_WAIT_POLICY": "PASSIVE",
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


def _measure(out: Path, flops: Path, formats: str, backend: list[str], env: dict[str, str]) -> str:
    """Sensitivity then validate into ``out``; validate's summary."""
    sweep = ["--count", str(SWEEP_COUNT), "--formats", formats, "--output_dir", str(out)]
    run_phase("sensitivity", ["sensitivity", "minilm", *sweep, *backend, "--no_progress"], env)
    files = ["--flops_file", str(flops), "--sensitivity_file", str(out / LOSSES)]
    csv = ["--formats", formats, "--output", str(out / "validation.csv"), "--limits", *LIMITS]
    validate = ["validate", "minilm", *files, *csv, *backend, "--no_progress"]
    summary = run_phase("validate", validate, env)
    (out / "validation_summary.txt").write_text(summary, encoding="utf-8")
    return summary


LOSSES = "sensitivity_formats.json"
# file written by the commands -> its name beside the rtn files, for a backend B
RENAMED = {
    LOSSES: "sensitivity_formats_{}.json",
    "sensitivity_formats_sqnr.json": "sensitivity_formats_{}_sqnr.json",
    "sensitivity_formats_cosine.json": "sensitivity_formats_{}_cosine.json",
    "validation.csv": "validation_{}.csv",
    "validation_summary.txt": "validation_summary_{}.txt",
}


def _compare(rtn: Path, other: Path) -> None:
    """Spearman's rho of the two backends' losses and the largest ratios, printed."""
    sys.path.insert(0, str(REPO_ROOT))
    from mpq_core.report.agreement import spearman

    first = json.loads(rtn.read_text(encoding="utf-8"))["sensitivity"]
    second = json.loads(other.read_text(encoding="utf-8"))["sensitivity"]
    pairs = [(f"{layer} {fmt}", row[fmt], first[layer][fmt])
             for layer, row in second.items() for fmt in row]  # fmt: skip
    rho = spearman([p[1] for p in pairs], [p[2] for p in pairs])
    print(f"Spearman rho, {other.name} vs {rtn.name}: {rho:+.4f} over {len(pairs)} pairs")
    ratios = sorted(pairs, key=lambda p: -abs(_log_ratio(p[1], p[2])))
    for name, value, base in ratios[:8]:
        print(f"  {name}: {value:.4g} vs {base:.4g} ({value / base:.3g}x)")


def _log_ratio(a: float, b: float) -> float:
    return math.log(a / b) if a > 0 and b > 0 else math.inf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output_dir", type=Path, default=DEFAULT_DIR, metavar="DIR")
    parser.add_argument("--backend", choices=("rtn", "compressed_tensors"), default="rtn")
    args = parser.parse_args(argv)
    out, env = args.output_dir, _env()
    flops = out / "flops_analysis.json"
    start = time.perf_counter()
    if args.backend == "rtn":
        run_phase(
            "profile",
            ["profile", "minilm", "--skip_matmuls", "--weight_shapes", "--output", str(flops)],
            env,
        )
        summary = _measure(out, flops, FORMATS, [], env)
    else:
        refused = REFUSED.get(args.backend, ())
        formats = ",".join(f for f in FORMATS.split(",") if f not in refused)
        with tempfile.TemporaryDirectory() as scratch:
            summary = _measure(Path(scratch), flops, formats, ["--backend", args.backend], env)
            for written, kept in RENAMED.items():
                shutil.move(Path(scratch) / written, out / kept.format(args.backend))
    print(summary, end="")
    print(f"{'total':<12} {time.perf_counter() - start:6.1f} s")
    if args.backend != "rtn":
        _compare(out / LOSSES, out / RENAMED[LOSSES].format(args.backend))
    return 0


if __name__ == "__main__":
    sys.exit(main())
