"""``mpq app [--port N] [--address A] [FLOPS SENSITIVITY]``: serve the dashboard on this machine,
opened on the bundled sample or on the given pair of files.

The files are read once here, so that a broken file is one line naming it (exit 2) before any
server starts; the app then opens on them as if they had been uploaded (without the upload
size cap: they are the user's own). They reach the app through ``FILES_ENV``. Streamlit runs in
this process, with the settings of ``.streamlit/config.toml`` beside ``dashboard.py``
(localhost only, no usage statistics); ``--address`` serves other machines on purpose.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mpq_core.errors import InputError
from mpq_core.io.loading_sensitivity import NEEDS_LADDER

from . import DASHBOARD, FILES_ENV

DEFAULT_PORT = 8501
EXIT_USAGE = 2
PROG = "mpq app"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} [-h] [--port N] [--address A] [FLOPS SENSITIVITY]",
        description="Serve the dashboard on this machine (http://localhost:PORT), opened on "
        "the bundled SD 1.4 sample or on FLOPS and SENSITIVITY.",
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FLOPS SENSITIVITY",
        help="a Phase 1 file (MACs/FLOPs per layer, JSON) and a Phase 2 file (sensitivity, "
        "JSON or YAML), opened as the data in use",
    )
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument(
        "--address",
        default=None,
        help="the address to listen on (default localhost: this machine only; 0.0.0.0 "
        "serves every machine that can reach this one)",
    )
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)")
    return port


def checked_files(paths: list[str]) -> list[str]:
    """The pair's absolute paths once both read as a problem (raises InputError naming the
    file, the field and the layer, as the command line does)."""
    from mpq_core import build_problem, load_inputs

    absolute = [str(Path(p).expanduser().absolute()) for p in paths]
    try:
        build_problem(load_inputs(*absolute))
    except InputError as err:
        if NEEDS_LADDER not in err.problem:  # MixDQ's layout: the app asks for the ladder
            raise
    return absolute


def streamlit_argv(port: int, address: str | None) -> list[str]:
    """Streamlit's own command line for the dashboard."""
    argv = ["streamlit", "run", str(DASHBOARD), "--server.port", str(port)]
    if address is not None:
        argv += ["--server.address", address]
    return argv


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if len(args.files) not in (0, 2):
        parser.error(f"give two files (FLOPS SENSITIVITY) or none, not {len(args.files)}")
    if args.files:
        try:
            os.environ[FILES_ENV] = json.dumps(checked_files(args.files))
        except InputError as err:
            print(f"{PROG}: error: {err}", file=sys.stderr)
            return EXIT_USAGE
    else:
        os.environ.pop(FILES_ENV, None)
    from streamlit.web import cli

    sys.argv = streamlit_argv(args.port, args.address)
    try:
        cli.main()
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 0
    return 0
