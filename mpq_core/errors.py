"""The one error type for bad input (its message names the file, the field and the layer),
and the signal that a long computation was asked to stop."""

from __future__ import annotations

MAX_SHOWN = 80  # characters of a name or label shown in a message


class InputError(ValueError):
    """A user-supplied file or setting is unusable.

    ``str(err)`` reads ``<source>: field '<field>', layer '<layer>': <problem>`` with the
    field and layer parts present only when known. Names longer than 80 characters are cut in
    their middle (the full ones stay in ``err.layer`` / ``err.field``), so a message stays one
    short line.
    """

    def __init__(
        self, source: str, problem: str, *, field: str | None = None, layer: str | None = None
    ):
        self.source = source
        self.problem = problem
        self.field = field
        self.layer = layer
        where = []
        if field is not None:
            where.append(f"field '{shorten(field)}'")
        if layer is not None:
            where.append(f"layer '{shorten(layer)}'")
        prefix = f"{shorten(source)}: " + (", ".join(where) + ": " if where else "")
        super().__init__(prefix + problem)


class Stopped(Exception):
    """A sweep's ``stop`` callback said its reader went away; nothing was returned or kept."""


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` cut in its middle when longer than ``limit``: ``start…end (N characters)``."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[: limit * 2 // 3]}…{text[-(limit // 4) :]} ({len(text):,} characters)"
