"""The dashboard served as the README says (`python -m mpq app`, run here from a directory
outside the clone) listens on this machine only and asks no other host for anything: the
settings beside mpq_app/dashboard.py apply whatever the working directory.

The server runs under a Python audit hook that writes down every socket bind and connect
(``sys.addaudithook``: the ``socket.bind`` and ``socket.connect`` events, which every Python
networking library raises). Regression: with no ``server.address``, Streamlit bound every
interface (``:::8501``) and asked a web service for the machine's external IP at start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest
from support import REPO

from benchmarks.local_app import free_port, healthy

pytestmark = pytest.mark.slow

LOOPBACK = ("127.", "::1", "localhost")

# Runs Streamlit's own command line in this interpreter with the hook installed.
_SERVE = textwrap.dedent(
    """
    import json, sys

    log = open(sys.argv[1], "a", buffering=1)

    def hook(event, args):
        if event in ("socket.bind", "socket.connect"):
            address = args[1]
            if isinstance(address, tuple):
                address = address[0]
            log.write(json.dumps([event, str(address)]) + "\\n")

    sys.addaudithook(hook)
    import runpy

    sys.argv = ["mpq", "app", "--port", sys.argv[2]]
    runpy.run_module("mpq", run_name="__main__")
    """
)


def _serve_and_load(tmp_path):
    """Start the server with the app's own config (no address flag), load the page
    and the health check, stop it; return the recorded events and the server's output."""
    events = tmp_path / "sockets.jsonl"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(events), str(port)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while not healthy(url):
            assert process.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server did not start in 90 s"
            time.sleep(0.2)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    recorded = [json.loads(line) for line in events.read_text().splitlines()]
    return recorded, output.decode("utf-8", "replace")


def test_the_server_listens_on_this_machine_only_and_calls_no_other_host(tmp_path):
    events, output = _serve_and_load(tmp_path)
    binds = [address for event, address in events if event == "socket.bind"]
    connects = [address for event, address in events if event == "socket.connect"]
    assert binds, events  # the hook saw the server's own socket
    assert all(address.startswith(LOOPBACK) for address in binds), binds
    assert all(address.startswith(LOOPBACK) for address in connects), connects
    assert "External URL" not in output and "external IP" not in output, output
    assert "Network URL" not in output, output


def test_usage_statistics_are_off():
    import tomllib

    config = tomllib.loads((REPO / "mpq_app/.streamlit/config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["address"] == "localhost"
