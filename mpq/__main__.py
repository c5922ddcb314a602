"""``mpq``: ``mpq app [...]`` serves the dashboard (``mpq_app.launch``); anything else is the
engine's command line (``mpq_core.cli``, the same as ``main.py``)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["app"]:
        from mpq_app.launch import main as app

        return app(args[1:])
    from mpq_core.cli import main as engine

    return engine(args, prog="mpq")


def console() -> None:
    """Entry point of the ``mpq`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    console()
