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

and keeps validate's summary in DIR/validation_summary.txt. The per-format sweep (36 Linear
layers x 16 formats = 576 runs) uses the first 32 sentences of
``sample_data/minilm_l6/sentences.txt`` (one batch) to stay within a few minutes; the validation
measures each solved allocation on all 310. Seed 0, 2 threads. Idle OpenMP threads sleep
(``OMP_WAIT_POLICY=PASSIVE`` unless set): on a shared machine, spinning threads slow every run
several times over, and the wait policy does not change a number. Needs
``pip install -r requirements-torch.txt``; nothing is downloaded.

Usage: python scripts/gen_minilm_formats.py [--output_dir DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO_ROOT / "sample_data" / "minilm_l6_formats"
SWEEP_COUNT = 32
# every format of mpq_core's catalog (mpq_core/model/formats.py)
FORMATS = (
    "int2_g64,int3_g128,int4_g128,w4a8_g128,mxfp4,int4_g64,nvfp4,nvfp4_w4a16,int4_g32,"
    "mxfp6,fp8,w8a8,int8,mxfp8,bf16,fp16"
)
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


def _phase(name: str, args: list[str], env: dict[str, str]) -> str:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mpq_torch", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{name} failed with exit code {done.returncode}")
    print(f"{name:<12} {seconds:6.1f} s", flush=True)
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output_dir", type=Path, default=DEFAULT_DIR, metavar="DIR")
    out = parser.parse_args(argv).output_dir
    env = {
        "OMP_WAIT_POLICY": "PASSIVE",
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    flops, losses = out / "flops_analysis.json", out / "sensitivity_formats.json"
    start = time.perf_counter()
    _phase(
        "profile",
        ["profile", "minilm", "--skip_matmuls", "--weight_shapes", "--output", str(flops)],
        env,
    )
    sweep = ["--count", str(SWEEP_COUNT), "--formats", FORMATS, "--output_dir", str(out)]
    _phase("sensitivity", ["sensitivity", "minilm", *sweep, "--no_progress"], env)
    files = ["--flops_file", str(flops), "--sensitivity_file", str(losses)]
    csv = ["--formats", FORMATS, "--output", str(out / "validation.csv"), "--limits", *LIMITS]
    summary = _phase("validate", ["validate", "minilm", *files, *csv, "--no_progress"], env)
    (out / "validation_summary.txt").write_text(summary, encoding="utf-8")
    print(summary, end="")
    print(f"{'total':<12} {time.perf_counter() - start:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
