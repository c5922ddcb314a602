"""The dashboard under load: many sessions moving the budget slider at once.

    python benchmarks/bench_load.py [--sessions 15] [--period 0.3] [--seconds 30] [--solver greedy]

Starts the app on a free local port, opens ``--sessions`` websocket sessions the way a browser
does (Streamlit's own protocol: a ``rerun_script`` message with the slider's new value, and for
a slider inside a fragment the fragment's id), and in each one commits a new budget every
``--period`` seconds for ``--seconds`` seconds: by default ``--period`` after the answer to
its last move (a user who watches the charts), with ``--mode open`` every ``--period`` whatever
happens (a held arrow key). The server does all the work a browser's commit asks of it; no
browser draws anything, so this measures the server alone.

Prints, over all sessions: the moves sent and answered per second, and the time from a move
to the end of the rerun that shows it (median and 90th percentile). A move overtaken by the
next one before its rerun ended counts as superseded (its session shows the later value), as
a browser would. The server is stopped by its own process id at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import time
from dataclasses import dataclass, field

from local_app import AppNotStarted, start_app, stop_app

SLIDER_KEY = "budget"
FINISHED = {0, 3}  # a whole run, or a fragment's run, ended normally


@dataclass
class Session:
    """One simulated browser tab: its slider's id and fragment, moves in flight, results."""

    slider: str = ""
    fragment: str = ""
    page: str = ""
    pending: list[float] = field(default_factory=list)  # send times of unanswered moves
    latencies: list[float] = field(default_factory=list)
    superseded: int = 0
    sent: int = 0
    failed: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)


def rerun(session: Session, query: str, value: float | None):
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    state = msg.rerun_script
    state.query_string = query
    state.page_script_hash = session.page
    if value is not None:
        widget = state.widget_states.widgets.add()
        widget.id = session.slider
        widget.double_array_value.data.append(value)
        if session.fragment:
            state.fragment_id = session.fragment
    return msg.SerializeToString()


async def read(ws, session: Session) -> None:
    """Every message of the session: note the slider, answer moves as their reruns end."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async for raw in ws:
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            session.page = msg.new_session.page_script_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            if element.WhichOneof("type") == "slider" and element.slider.id.endswith(
                "-" + SLIDER_KEY
            ):
                session.slider = element.slider.id
                session.fragment = msg.delta.fragment_id
        elif kind == "script_finished":
            if msg.script_finished in FINISHED:
                now = time.perf_counter()
                if session.pending:
                    session.latencies.append(now - session.pending[-1])
                    session.superseded += len(session.pending) - 1
                    session.pending.clear()
                session.idle.set()
            elif msg.script_finished != 2:  # 2: stopped for the next move
                session.failed += 1
                session.pending.clear()
                session.idle.set()


async def run_session(url: str, query: str, args, rng: random.Random, start: float) -> Session:
    import websockets

    session = Session()
    async with websockets.connect(url, subprotocols=["streamlit"], max_size=None) as ws:
        reader = asyncio.create_task(read(ws, session))
        await ws.send(rerun(session, query, None))
        await asyncio.wait_for(session.idle.wait(), 120)  # the first render
        if not session.slider:
            raise SystemExit("no budget slider on the page")
        await asyncio.sleep(max(start - time.perf_counter(), 0))
        end = start + args.seconds
        tick = start + rng.random() * args.period  # the sessions' moves spread over a period
        while tick < end:
            await asyncio.sleep(max(tick - time.perf_counter(), 0))
            value = rng.randrange(1, 101) / 100
            session.pending.append(time.perf_counter())
            session.sent += 1
            session.idle.clear()
            await ws.send(rerun(session, query, value))
            if args.mode == "closed":  # the user waits for the view, then moves again
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(session.idle.wait(), 60)
                tick = time.perf_counter() + args.period
            else:
                tick += args.period
        with contextlib.suppress(TimeoutError):  # the last move's answer
            await asyncio.wait_for(session.idle.wait(), 60)
        reader.cancel()
    return session


async def load(args, app_url: str) -> tuple[list[Session], float]:
    url = app_url.replace("http://", "ws://", 1) + "/_stcore/stream"
    query = f"solver={args.solver}" if args.solver != "greedy" else ""
    start = time.perf_counter() + 5 + 0.2 * args.sessions  # every first render done by then
    rngs = [random.Random(seed) for seed in range(args.sessions)]
    sessions = await asyncio.gather(*(run_session(url, query, args, rng, start) for rng in rngs))
    return list(sessions), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=15)
    parser.add_argument("--period", type=float, default=0.3, help="seconds between moves")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each session moves")
    parser.add_argument("--solver", choices=("greedy", "exact"), default="greedy")
    parser.add_argument(
        "--mode",
        choices=("closed", "open"),
        default="closed",
        help="closed: each session waits for its move's answer, then --period, then moves "
        "again (a user watching the charts); open: a move every --period whatever happens",
    )
    args = parser.parse_args()

    try:
        server, url = start_app()
    except AppNotStarted as err:
        raise SystemExit(f"the app did not start: {err}") from None
    try:
        warm = asyncio.run(load(argparse.Namespace(**{**vars(args), "seconds": 0.0}), url))
        del warm  # one pass that only renders: caches filled as after a first visitor
        sessions, elapsed = asyncio.run(load(args, url))
    finally:
        stop_app(server)

    latencies = sorted(t for s in sessions for t in s.latencies)
    sent = sum(s.sent for s in sessions)
    answered = len(latencies)
    print(
        f"{args.sessions} sessions for {args.seconds:g} s, each moving "
        + (
            f"{args.period:g} s after its last move's answer"
            if args.mode == "closed"
            else f"every {args.period:g} s"
        )
        + f", solver {args.solver} (server only: no browser draws)"
    )
    print(f"moves sent                 {sent:6d}   {sent / elapsed:6.2f} /s")
    print(f"moves answered             {answered:6d}   {answered / elapsed:6.2f} /s")
    print(f"moves superseded           {sum(s.superseded for s in sessions):6d}")
    print(f"reruns that failed         {sum(s.failed for s in sessions):6d}")
    if latencies:
        p90 = latencies[min(int(0.9 * len(latencies)), len(latencies) - 1)]
        print(f"move -> rerun ended, p50   {statistics.median(latencies) * 1e3:8.0f} ms")
        print(f"move -> rerun ended, p90   {p90 * 1e3:8.0f} ms")


if __name__ == "__main__":
    main()
