"""Dashboard speed on the SD 1.4 sample, measured with AppTest (script run time of each rerun).

    python benchmarks/bench_app.py [--repeats 7] [--moves 40]

Prints the median of each measure and its ratio to the target (ratio <= 1 meets it):

- first render: a fresh interpreter's first run of the main page (cold caches, first imports of
  the engine and plotly inside the run, as after a server start), one subprocess per repeat;
- slider move: a rerun after moving the budget slider to a budget not seen before (greedy);
- first exact solve: the rerun after switching the solver to exact, with the exact sweep and
  the live views' 101 steps not yet cached (both are computed in that rerun);
- two limits (bops <= 0.4x, mean_wbits <= 6): a rerun after moving the second slider, with
  the greedy and with the exact solver (the budget's sweep holds the second limit, so it is
  recomputed for each new value);
- the trade-off map (21 x 21 greedy cells): the first render that computes it, and a rerun
  that reads it from the cache.

These are server-side script times; ``bench_browser.py`` measures what a user waits for.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "mpq_app" / "dashboard.py")
TARGETS = {  # seconds
    "first_render": 3.0,
    "slider_move": 0.150,
    "first_exact": 1.0,
    "two_limits_greedy": 0.150,
    "two_limits_exact": 1.0,
    "map_first": 3.0,
    "map_cached": 0.150,
}
TWO_LIMITS = {"budget": "0.4", "limit": "mean_wbits<=6"}

_FIRST_RENDER = """
import json, sys, time
sys.path.insert(0, {repo!r})
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=120)
start = time.perf_counter()
at.run()
elapsed = time.perf_counter() - start
assert not at.exception, at.exception
print(json.dumps(elapsed))
"""


def first_render(repeats: int) -> list[float]:
    code = _FIRST_RENDER.format(repo=str(REPO), app=APP)
    times = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
        )
        times.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return times


def _timed_run(at) -> float:
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    assert not at.exception, at.exception
    return elapsed


def slider_moves(moves: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.slider(key="budget").set_value(0.49).run()  # warm up the rerun path once
    budgets = [round(0.15 + 0.85 * ((7 * i) % moves) / moves, 2) for i in range(moves)]
    return _moves(at, "budget", budgets)


def _moves(at, key: str, values: list[float]) -> list[float]:
    """The rerun time after setting slider ``key`` to each new value in turn."""
    times = []
    for value in values:
        if value == at.slider(key=key).value:
            continue
        at.slider(key=key).set_value(value)
        times.append(_timed_run(at))
    return times


def _card_labels(at) -> list[str]:
    """The labels of the live headline cards the page sends (ui.live)."""
    from mpq_app.ui import live

    elements = {el.key: el for el in at.get("bidi_component")}
    state = elements[f"live_state_{live.BUDGET.name}"].proto.bytes
    shown = live.shown(elements[live.CARDS].proto.bytes, state)
    return [card["label"] for card in shown["cards"]]


def first_exact(repeats: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    from mpq_app.ui.data import cached_live_sweep, cached_sweep
    from mpq_app.ui.live import live_tables_cache_clear

    times = []
    for i in range(repeats):
        cached_sweep.clear()  # the exact sweep is computed in the measured rerun
        cached_live_sweep.clear()
        live_tables_cache_clear()  # and so are the live views' steps
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        at.slider(key="budget").set_value(round(0.3 + 0.05 * i, 2)).run()
        at.radio(key="solver").set_value("exact")
        times.append(_timed_run(at))
        assert "Greedy gap" in _card_labels(at)
    return times


def two_limit_moves(moves: int, solver: str) -> list[float]:
    """Reruns after moving the second limit's slider (mean weight bits) with the budget held:
    the sweep of the first limit is recomputed for every new value of the second (it holds
    the others), so this is the cost a user sees per move of a second slider."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update({**TWO_LIMITS, "solver": solver})
    at.run()
    values = [round(5.0 + 6.0 * ((7 * i) % moves) / moves, 2) for i in range(moves)]
    return _moves(at, "limit_slider_1", values)


def map_runs(repeats: int) -> tuple[list[float], list[float]]:
    """The trade-off map (21 x 21, greedy): the first run computes it, a second run with the
    same setting reads it from the cache."""
    from streamlit.testing.v1 import AppTest

    from mpq_app.ui.limits_view import cached_map

    first, cached = [], []
    for _ in range(repeats):
        cached_map.clear()
        at = AppTest.from_file(APP, default_timeout=180)
        at.query_params.update(TWO_LIMITS)
        start = time.perf_counter()
        at.run()
        first.append(time.perf_counter() - start)
        cached.append(_timed_run(at))
    return first, cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--moves", type=int, default=40)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))

    map_first, map_cached = map_runs(max(3, args.repeats // 2))
    results = {
        "first_render": first_render(args.repeats),
        "slider_move": slider_moves(args.moves),
        "first_exact": first_exact(args.repeats),
        "two_limits_greedy": two_limit_moves(args.moves // 2, "greedy"),
        "two_limits_exact": two_limit_moves(max(6, args.moves // 5), "exact"),
        "map_first": map_first,
        "map_cached": map_cached,
    }
    print("AppTest: the server-side script time of each rerun (no browser, no network)")
    print(f"{'measure':<18} {'runs':>5} {'median':>10} {'target':>9} {'ratio':>7}  min .. max")
    for name, times in results.items():
        median = statistics.median(times)
        target = TARGETS[name]
        print(
            f"{name:<18} {len(times):>5} {median * 1000:>8.1f}ms {target * 1000:>7.0f}ms "
            f"{median / target:>7.2f}  {min(times) * 1000:.1f} .. {max(times) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
