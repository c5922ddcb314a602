"""Engine speed, measured in one run: medians of repeated calls and ratios to the targets.

    python benchmarks/bench_core.py              # full run (a few minutes on 2 cores)
    python benchmarks/bench_core.py --quick      # fewer repeats, smaller "large" cases
    python benchmarks/bench_core.py --baseline bb924b4   # also time that git revision

Targets (2-core machine, issue "Constraints beyond one BOPs budget" and before):
- greedy at 314 layers <= 5 ms, >= 20x faster than the literal reference; >= 200x at 2,000;
- one limit at 100,000 layers: greedy <= 2 x the time to read its two JSON inputs;
  exact <= 10 s; neither slower than before (``--baseline``: the same random files solved by
  an earlier revision, in a subprocess, in the same run);
- two limits (BOPs + mean weight bits), 3 widths: exact at 794 layers <= 1 s, at 20,000
  layers <= 20 s; greedy at 100,000 layers <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from factory import make_problem  # noqa: E402
from reference_greedy import reference_greedy  # noqa: E402

import mpq_core as m  # noqa: E402


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def row(label: str, seconds: float, target: float | None = None, note: str = "") -> None:
    verdict = ""
    if target is not None:
        verdict = f"target {target * 1e3:9.1f} ms  ratio {seconds / target:5.2f} " + (
            "ok" if seconds <= target else "MISSED"
        )
    print(f"{label:<52} {seconds * 1e3:10.2f} ms  {verdict} {note}".rstrip())


def ratio_row(label: str, value: float, target: float, higher_is_better: bool) -> None:
    ok = value >= target if higher_is_better else value <= target
    bound = ">=" if higher_is_better else "<="
    print(f"{label:<52} {value:10.2f} x   target {bound} {target:g}x  {'ok' if ok else 'MISSED'}")


def scalar_files(folder: Path, n: int, seed: int) -> tuple[Path, Path]:
    """A random one-limit instance as the two JSON files a user would give."""
    rng = np.random.default_rng(seed)
    names = [f"layer{i}" for i in range(n)]
    macs = rng.integers(1, 10**9, n).tolist()
    scores = rng.random(n).round(6).tolist()
    flops = folder / f"flops_{n}.json"
    sens = folder / f"sens_{n}.json"
    flops.write_text(
        json.dumps({"layers": {k: {"macs": v} for k, v in zip(names, macs, strict=True)}})
    )
    sens.write_text(json.dumps({"sensitivity": dict(zip(names, scores, strict=True))}))
    return flops, sens


def two_limit_problem(n: int, seed: int):
    """Three widths (2/4/8), per-bit losses, parameter counts: BOPs and mean weight bits."""
    rng = np.random.default_rng(seed)
    macs = rng.integers(1, 10**9, n).tolist()
    params = rng.integers(1_000, 10**7, n).tolist()
    high, mid = rng.random(n) * 10 + 5, rng.random(n) * 5
    sens = [{"2": float(a), "4": float(b), "8": 0.0} for a, b in zip(high, mid, strict=True)]
    return make_problem(macs, sens, params=params)


TWO_LIMITS = [m.Limit("bops", "0.3x"), m.Limit("mean_wbits", "4.5")]

_BASELINE = """
import json, statistics, sys, time
sys.path.insert(0, {src!r})
import mpq_core as m
p = m.load_problem({flops!r}, {sens!r})
budget = p.budget_for(0.5)
out = {{}}
for name, fn in (("greedy", m.solve_greedy), ("exact", m.solve_exact)):
    times = []
    for _ in range({repeats}):
        start = time.perf_counter(); fn(p, budget=budget); times.append(time.perf_counter() - start)
    out[name] = statistics.median(times)
print(json.dumps(out))
"""


def baseline_times(rev: str, flops: Path, sens: Path, repeats: int, tmp: Path) -> dict:
    """Median greedy/exact times of an earlier revision on the same files (a subprocess)."""
    src = tmp / f"baseline_{rev}"
    src.mkdir()
    archive = subprocess.run(
        ["git", "archive", rev, "mpq_core"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    code = _BASELINE.format(src=str(src), flops=str(flops), sens=str(sens), repeats=repeats)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--baseline", metavar="REV", help="git revision to time on the same files")
    args = parser.parse_args()
    reps = 5 if args.quick else 15
    one_budget(args, reps)
    large(args, reps)
    two_limits(args)


def one_budget(args: argparse.Namespace, reps: int) -> None:
    """The original problem on the bundled sample, and on 2,000 random layers."""
    print("== one BOPs budget (the original problem)")
    sample = m.load_problem(*m.sample_inputs("sd14"))
    flops = sample.macs.tolist()
    scores = sample.sensitivity.tolist()
    budget = sample.budget_for(0.5)
    greedy = median_time(lambda: m.solve_greedy(sample, budget=budget), reps)
    literal = median_time(lambda: reference_greedy(flops, scores, budget), 3)
    same = (
        m.solve_greedy(sample, budget=budget).wbits.tolist()
        == reference_greedy(flops, scores, budget)[0]
    )
    row("greedy, SD 1.4 sample (314 layers)", greedy, 0.005)
    row("literal reference, 314 layers", literal)
    ratio_row(f"  speed-up over it (same allocation: {same})", literal / greedy, 20, True)
    row("101-point greedy sweep, 314 layers", median_time(lambda: m.sweep_budgets(sample), 3), 0.3)
    row("exact at 0.5, 314 layers", median_time(lambda: m.solve(sample, 0.5, "exact"), reps), 0.1)
    row(
        "101-point exact sweep, 314 layers",
        median_time(lambda: m.sweep_budgets(sample, solvers=("exact",)), 3),
    )
    if not args.quick:
        rng = np.random.default_rng(1)
        macs = rng.integers(1, 10**9, 2000).tolist()
        sc = rng.random(2000).round(6).tolist()
        p2k = make_problem(macs, sc)
        b2k = p2k.budget_for(0.5)
        g2k = median_time(lambda: m.solve_greedy(p2k, budget=b2k), reps)
        lit2k = median_time(lambda: reference_greedy(macs, sc, b2k), 1)
        row("greedy, random 2,000 layers", g2k)
        row("literal reference, 2,000 layers", lit2k)
        ratio_row("  speed-up over it", lit2k / g2k, 200, True)


def large(args: argparse.Namespace, reps: int) -> None:
    """One limit at 100,000 layers: reading, greedy, exact (and a baseline revision's)."""
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        n = 20_000 if args.quick else 100_000
        f_path, s_path = scalar_files(tmp, n, 2)
        read = median_time(lambda: m.load_inputs(f_path, s_path), 3)
        big = m.load_problem(f_path, s_path)
        bbig = big.budget_for(0.5)
        g = median_time(lambda: m.solve_greedy(big, budget=bbig), 5)
        result = {}

        def run_exact():
            result["s"] = m.solve_exact(big, budget=bbig)

        e = median_time(run_exact, 3)
        row(f"read both JSON inputs, {n:,} layers", read)
        row(f"greedy, {n:,} layers", g, 2.0)
        ratio_row("  greedy / reading its inputs", g / read, 2.0, False)
        row(f"exact, {n:,} layers", e, 10.0, f"({result['s'].message})")
        if args.baseline:
            before = baseline_times(args.baseline, f_path, s_path, 3, tmp)
            ratio_row(f"  greedy now / at {args.baseline}", g / before["greedy"], 1.0, False)
            ratio_row(f"  exact now / at {args.baseline}", e / before["exact"], 1.0, False)
            print(
                f"{'':<52} (at {args.baseline}: greedy {before['greedy'] * 1e3:.1f} ms, "
                f"exact {before['exact'] * 1e3:.1f} ms)"
            )


def two_limits(args: argparse.Namespace) -> None:
    """bops and mean_wbits limits on 3 widths: exact at 794 and 20,000 layers, greedy at 100,000."""
    print("== two limits: bops <= 0.3x and mean_wbits <= 4.5, widths 2/4/8")
    for n, target in ((794, 1.0), (20_000, 20.0)):
        p = two_limit_problem(n, 3)
        out = {}

        def run_two(p=p, out=out):
            out["s"] = m.solve(p, solver="exact", limits=TWO_LIMITS)

        t = median_time(run_two, 3 if n < 10_000 else 1)
        row(f"exact, {n:,} layers", t, target, f"({out['s'].message})")
    p = two_limit_problem(20_000 if args.quick else 100_000, 4)
    t = median_time(lambda: m.solve(p, solver="greedy", limits=TWO_LIMITS), 3)
    row(f"greedy, {p.n_layers:,} layers", t, 2.0)


if __name__ == "__main__":
    main()
