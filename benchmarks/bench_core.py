"""Engine speed, measured in one run: medians of repeated calls and ratios to the targets.

    python benchmarks/bench_core.py            # full run (about a minute)
    python benchmarks/bench_core.py --quick    # fewer repeats, no 2,000-layer reference

Targets (2-core machine): greedy at 314 layers <= 5 ms and >= 20x faster than the literal
reference; at 2,000 layers >= 200x faster than it; greedy at 100,000 layers <= 2 s;
a 101-point sweep at 314 layers <= 0.3 s; exact at 314 layers <= 0.1 s; exact at
100,000 layers <= 10 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
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


def random_case(n: int, seed: int):
    rng = np.random.default_rng(seed)
    macs = rng.integers(1, 10**9, n).tolist()
    scores = rng.random(n).round(6).tolist()
    return macs, scores, make_problem(macs, scores)


def row(label: str, seconds: float, target: float | None = None, note: str = "") -> None:
    verdict = ""
    if target is not None:
        verdict = f"target {target * 1e3:8.1f} ms  ratio {seconds / target:5.2f} " + (
            "ok" if seconds <= target else "MISSED"
        )
    print(f"{label:<44} {seconds * 1e3:10.2f} ms  {verdict} {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    reps = 5 if args.quick else 21

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
    print(
        f"{'  speed-up over the literal reference':<44} {literal / greedy:10.1f} x   target >= 20x "
        f"{'ok' if literal / greedy >= 20 else 'MISSED'}  (same allocation: {same})"
    )

    sweep = median_time(lambda: m.sweep_budgets(sample), max(3, reps // 4))
    row("101-point greedy sweep, 314 layers", sweep, 0.3)
    exact = median_time(lambda: m.solve(sample, 0.5, "exact"), reps)
    row("exact at 0.5, 314 layers", exact, 0.1)
    exact_sweep = median_time(lambda: m.sweep_budgets(sample, solvers=("exact",)), 3)
    row("101-point exact sweep, 314 layers", exact_sweep)

    if not args.quick:
        macs, sc, p2k = random_case(2000, 1)
        b2k = p2k.budget_for(0.5)
        g2k = median_time(lambda: m.solve_greedy(p2k, budget=b2k), reps)
        lit2k = median_time(lambda: reference_greedy(macs, sc, b2k), 1)
        row("greedy, random 2,000 layers", g2k)
        row("literal reference, 2,000 layers", lit2k)
        print(
            f"{'  speed-up over the literal reference':<44} {lit2k / g2k:10.1f} x   target >= 200x "
            f"{'ok' if lit2k / g2k >= 200 else 'MISSED'}"
        )

    _, _, big = random_case(100_000, 2)
    bbig = big.budget_for(0.5)
    row(
        "greedy, random 100,000 layers",
        median_time(lambda: m.solve_greedy(big, budget=bbig), 3),
        2.0,
    )
    result = {}

    def run_exact():
        result["s"] = m.solve_exact(big, budget=bbig)

    row("exact, random 100,000 layers", median_time(run_exact, 3), 10.0, f"({result['s'].message})")


if __name__ == "__main__":
    main()
