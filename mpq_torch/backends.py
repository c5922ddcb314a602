"""Quantization backends of Phases 2 and 4: who fake-quantizes a layer at a width or in a format.

- ``rtn`` (the default): mpq's own round-to-nearest, :mod:`mpq_torch.quantize` for widths and
  :mod:`mpq_torch.formats_quant` for formats; its output files are what they always were.
- ``compressed_tensors``: compressed-tensors' own scale and fake-quantization functions, each
  format configured as the compressed-tensors export writes it (:mod:`mpq_torch.ct_quant`), so
  that Phase 2 measures what Phase 4 deploys. Output files say ``"backend"`` in their metadata.

Both take the same arguments; a format or layer a backend cannot quantize is an InputError
before anything runs (:meth:`Backend.check_all`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from mpq_core import InputError

if TYPE_CHECKING:  # torch is imported when a backend runs, so the CLI's --help stays light
    from torch import nn

    Apply = Callable[[nn.Module, Mapping[str, Any], str], AbstractContextManager[None]]
    Check = Callable[[nn.Module, str, Any], None]

RTN = "rtn"
COMPRESSED_TENSORS = "compressed_tensors"
NAMES = (RTN, COMPRESSED_TENSORS)
DEFAULT = RTN
_LIBRARY = {COMPRESSED_TENSORS: ("compressed_tensors", "compressed-tensors")}


@dataclass(frozen=True)
class Backend:
    """A backend's name, how it applies widths and formats to a model for a ``with`` block,
    how it checks a (layer, width or format) pair without running, and the library versions it
    adds to a file's metadata."""

    name: str
    quantized: Apply  # allocation: layer -> width
    formatted: Apply  # allocation: layer -> Format
    check_width: Check
    check_format: Check
    versions: tuple[tuple[str, str], ...] = ()

    @property
    def metadata(self) -> dict[str, str]:
        """What output files record: nothing for ``rtn`` (their bytes stay as they were)."""
        return {} if self.name == RTN else {"backend": self.name}

    def check_all(self, model: nn.Module, layers: Sequence[str], options: Sequence[Any]) -> None:
        """Every (layer, width or format) pair can be quantized; else the first InputError."""
        check = self.check_width if all(isinstance(o, int) for o in options) else self.check_format
        for layer in layers:
            for option in options:
                check(model, layer, option)


def _rtn_quantized(
    model: nn.Module, allocation: Mapping[str, Any], source: str = "allocation"
) -> AbstractContextManager[None]:
    from .quantize import quantized

    return quantized(model, allocation, source)


def _rtn_formatted(
    model: nn.Module, allocation: Mapping[str, Any], source: str = "allocation"
) -> AbstractContextManager[None]:
    from .formats_quant import formatted

    return formatted(model, allocation, source)


def _rtn_width(model: nn.Module, layer: str, width: Any) -> None:
    """rtn checks widths when it applies them."""


def _rtn_format(model: nn.Module, layer: str, fmt: Any) -> None:
    from .formats_quant import emulation

    emulation(fmt)


RTN_BACKEND = Backend(RTN, _rtn_quantized, _rtn_formatted, _rtn_width, _rtn_format)


def backend_lines(name: str) -> list[str]:
    """The line a summary adds for a backend other than ``rtn`` (none for rtn)."""
    return [] if name == RTN else [f"backend: {name}"]


def get_backend(name: str = DEFAULT) -> Backend:
    """The backend called ``name``; a missing library is an InputError naming the pip
    command."""
    if name == RTN:
        return RTN_BACKEND
    if name not in _LIBRARY:
        raise InputError("--backend", f"unknown backend {name!r} (choose from {', '.join(NAMES)})")
    module = _library_module(name)
    package, _ = _LIBRARY[name]
    version = str(importlib.import_module(package).__version__)
    versions = ((package, version),)
    return Backend(
        name, module.quantized, module.formatted, module.check_width, module.check_format, versions
    )


def _library_module(name: str) -> ModuleType:
    package, distribution = _LIBRARY[name]
    try:
        importlib.import_module(package)
    except ImportError as exc:
        raise InputError(
            "--backend",
            f"{name} needs {distribution}, which is not importable ({exc}): "
            f"{install_hint(distribution)}",
        ) from None
    return importlib.import_module(".ct_quant", __package__)


def install_hint(distribution: str) -> str:
    """How to install a Phase 4 library: the clone's requirements file where there is one
    (torch pinned), else the package's extra."""
    from mpq_core.io.samples import REPO_ROOT

    if (REPO_ROOT / "requirements-phase4.txt").is_file():
        return (
            "pip install -c <(printf 'torch==2.13.0\\ntransformers==5.24.0\\n') "
            "-r requirements-phase4.txt"
        )
    return f'pip install "mpq[phase4]" (or pip install {distribution})'
