"""The one error type for bad input: its message names the file, the field and the layer."""

from __future__ import annotations


class InputError(ValueError):
    """A user-supplied file or setting is unusable.

    ``str(err)`` reads ``<source>: field '<field>', layer '<layer>': <problem>`` with the
    field and layer parts present only when known.
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
            where.append(f"field '{field}'")
        if layer is not None:
            where.append(f"layer '{layer}'")
        prefix = f"{source}: " + (", ".join(where) + ": " if where else "")
        super().__init__(prefix + problem)
