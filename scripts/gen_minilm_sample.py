#!/usr/bin/env python3
"""Regenerate the measured sample ``sample_data/minilm_l6/`` with the mpq_torch command line.

Runs, each as its own process, and prints the wall time of each phase:

    python -m mpq_torch profile minilm --output DIR/flops_analysis.json
    python -m mpq_torch sensitivity minilm --output_dir DIR
    python -m mpq_torch validate minilm --flops_file DIR/flops_analysis.json \\
        --sensitivity_file DIR/sensitivity_mse.json --output DIR/validation.csv

and keeps validate's summary in DIR/validation_summary.txt. Everything is measured on all
sentences of ``sample_data/minilm_l6/sentences.txt`` with the defaults (seed 0, 2 threads, widths
4/8/16). Needs ``pip install -r requirements-torch.txt``; nothing is downloaded.

Usage: python scripts/gen_minilm_sample.py [--output_dir DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO_ROOT / "sample_data" / "minilm_l6"


def run_phase(name: str, args: list[str], env: dict[str, str]) -> str:
    """``python -m mpq_torch ARGS`` from the repository, timed; its standard output."""
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
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    flops, losses = out / "flops_analysis.json", out / "sensitivity_mse.json"
    run_phase("profile", ["profile", "minilm", "--output", str(flops)], env)
    run_phase("sensitivity", ["sensitivity", "minilm", "--output_dir", str(out)], env)
    summary = run_phase(
        "validate",
        [
            "validate",
            "minilm",
            "--flops_file",
            str(flops),
            "--sensitivity_file",
            str(losses),
            "--output",
            str(out / "validation.csv"),
        ],
        env,
    )
    (out / "validation_summary.txt").write_text(summary, encoding="utf-8")
    print(summary, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
