"""The Export section: config, layer table, HTML report and chart images of the current view.

The report and the images are built only when their button is clicked (``data`` is a callable),
so a slider rerun costs nothing here. The callables run outside the script run, in a worker
thread: they close over plain values, never over session state. The charts ZIP is cached by
what its figures depend on (data files, problem settings, budget, solver), and one shared
Chromium, started in the background when the section first shows, renders every ZIP. With a
missing or broken Chromium the button answers at once with one ``st.error`` line saying what
is missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from mpq_core import (
    Solution,
    Spec,
    config_filename,
    config_json,
    export_config,
    layers_csv,
    solve,
    solve_spec,
)
from mpq_core.charts import multiplier_text
from mpq_core.charts.images import (
    ARCHIVE_FORMATS,
    ImageExportError,
    ImageRenderer,
    check_browser,
    figure_images,
    images_zip,
)
from mpq_core.errors import InputError
from mpq_core.io.export import export_mapping, mapping_filename, mapping_text
from mpq_core.io.phase4 import PHASE4_TARGETS, phase4_archive
from mpq_core.report.html import build_report_figures, view_report_html

from .data import HASHED, DataFiles, cached_problem, cached_sweep, sweep_key, sweep_solvers
from .text import plain

if TYPE_CHECKING:
    from .page import View

IMAGES_LABEL = "Download charts (ZIP of PNG + SVG)"
BROWSER_CHECK_SECONDS = 30  # how long a browser check (found / runs / broken) is trusted


def report_filename(multiplier: float) -> str:
    return f"mpq_report_{multiplier_text(multiplier)}.html"


def images_filename(multiplier: float) -> str:
    return f"mpq_charts_{multiplier_text(multiplier)}.zip"


@st.cache_data(ttl=BROWSER_CHECK_SECONDS, show_spinner=False)
def browser_status(browser_path: str | None, path: str | None) -> tuple[str | None, str | None]:
    """``(browser, None)`` when chart images can be made, ``(None, one-line reason)`` when not.

    The arguments are the ``BROWSER_PATH`` and ``PATH`` the check reads (the cache key).
    """
    try:
        return str(check_browser()), None
    except ImageExportError as exc:
        return None, str(exc)


def _usable(renderer: ImageRenderer) -> bool:
    if renderer.alive():
        return True
    renderer.stop()  # a browser that failed is closed before a new one starts
    return False


@st.cache_resource(show_spinner=False, validate=_usable, on_release=ImageRenderer.stop)
def shared_renderer(browser: str) -> ImageRenderer:
    """One Chromium for every session of this server, started now (in the background)."""
    return ImageRenderer(Path(browser)).start()


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=HASHED)
def chart_zip(files: DataFiles, spec: Spec, browser: str) -> bytes:
    """Every chart of the main view under this spec as PNG and SVG, zipped (cached)."""
    problem = cached_problem(files, spec)
    solution = solve_spec(problem, spec)
    several = len(spec.limits) > 1  # as the page draws it: the greedy's curves then
    solvers = ("greedy",) if several else sweep_solvers(spec.solver)
    sweep = cached_sweep(files, sweep_key(spec), solvers)
    figures = build_report_figures(problem, solution, sweep)
    return images_zip(figure_images(figures, ARCHIVE_FORMATS, renderer=shared_renderer(browser)))


def report_builder(view: View, solution: Solution, sweep: pd.DataFrame) -> Callable[[], str]:
    """A callable that returns the view's self-contained HTML report (what the CLI writes)."""
    problem = view.problem

    def build() -> str:
        greedy = None
        if solution.solver != "greedy":  # the report's "Greedy gap" needs the greedy result
            greedy = solve(problem, solution.multiplier, "greedy")
        return view_report_html(problem, solution, sweep, greedy=greedy)

    return build


def images_builder(view: View, solution: Solution, browser: str) -> Callable[[], bytes]:
    """A callable that returns the charts ZIP of this view (built once per view, then cached)."""
    files, spec = view.files, view.spec_at(solution.multiplier, solution.solver)

    def build() -> bytes:
        return chart_zip(files, spec, browser)

    return build


def downloads(view: View, solution: Solution, sweep: pd.DataFrame) -> None:
    """Two rows: the data files (config, layers) and the figures (report, chart images).

    Everything is off at an infeasible budget (there is no allocation to export).
    """
    _data_row(solution)
    _figures_row(view, solution, sweep)
    _mapping_download(view, solution)
    _phase4_download(view, solution)


LAZY_LAYERS = 10_000  # above this many layers a data file is written when asked for


def _when_asked(solution: Solution, make: Callable[[], str]) -> str | Callable[[], str]:
    """The file's text, or above ``LAZY_LAYERS`` layers the function that writes it on a
    click (seconds at 100,000 layers: every committed value would pay them otherwise)."""
    return make if solution.problem.n_layers > LAZY_LAYERS else make()


def _data_row(solution: Solution) -> None:
    """The config (JSON) and the layer table (CSV), with the config's file name."""
    ok = solution.feasible
    name = config_filename(solution)
    first, second, note = st.columns([1, 1, 1.15], vertical_alignment="center")
    first.download_button(
        "Download config (JSON)",
        data=_when_asked(solution, lambda: config_json(export_config(solution))) if ok else "",
        file_name=name,
        mime="application/json",
        key="download_config",
        disabled=not ok,
        on_click="ignore",
        icon=":material/download:",
        type="primary",
        width="stretch",
    )
    second.download_button(
        "Download layers (CSV)",
        data=_when_asked(solution, lambda: layers_csv(solution)) if ok else "",
        file_name=name.replace("quantization_config_", "layers_").replace(".json", ".csv"),
        mime="text/csv",
        key="download_csv",
        disabled=not ok,
        on_click="ignore",
        icon=":material/table:",
        width="stretch",
    )
    if ok:
        note.caption(f"`{name}`: the file the command line writes for these settings.")
    else:
        note.caption("Nothing to export at an infeasible budget.")


def _figures_row(view: View, solution: Solution, sweep: pd.DataFrame) -> None:
    """The HTML report and the charts ZIP (or why chart images cannot be made here)."""
    ok = solution.feasible
    m = solution.multiplier
    first, second, note = st.columns([1, 1, 1.15], vertical_alignment="center")
    first.download_button(
        "Download report (HTML)",
        data=report_builder(view, solution, sweep) if ok else "",
        file_name=report_filename(m),
        mime="text/html",
        key="download_report",
        disabled=not ok,
        on_click="ignore",
        icon=":material/description:",
        width="stretch",
    )
    browser, problem = browser_status(os.environ.get("BROWSER_PATH"), os.environ.get("PATH"))
    asked = False
    if browser is not None:
        shared_renderer(browser)  # warm: the browser starts while the user reads the page
        second.download_button(
            IMAGES_LABEL,
            data=images_builder(view, solution, browser) if ok else b"",
            file_name=images_filename(m),
            mime="application/zip",
            key="download_images",
            disabled=not ok,
            on_click="ignore",
            icon=":material/image:",
            width="stretch",
        )
    else:  # the same button, answered at once with what is missing
        asked = second.button(
            IMAGES_LABEL,
            key="images_unavailable",
            disabled=not ok,
            icon=":material/image:",
            width="stretch",
        )
    if ok:
        images = (
            "; images at print size, named by budget."
            if browser
            else "; chart images need a working Chromium, not found here."
        )
        note.caption(f"Every chart of this view with the settings and headline figures{images}")
    if asked:
        st.error(problem, icon=":material/hide_image:")


def _mapping_download(view: View, solution: Solution) -> None:
    """The plain ``layer: wbit`` mapping (YAML), with the name prefix, as MixDQ's loader reads
    it (the CLI's ``--export_format mapping``)."""
    if not solution.feasible:
        return
    prefix = view.files.name_prefix  # the prefix the data was read with (a sample's own)
    left, note = st.columns([1, 2.15], vertical_alignment="center")
    left.download_button(
        "Download mapping (YAML)",
        data=_when_asked(solution, lambda: mapping_text(export_mapping(solution, prefix))),
        file_name=mapping_filename(solution),
        mime="application/yaml",
        key="download_mapping",
        on_click="ignore",
        icon=":material/data_object:",
        width="stretch",
    )
    shown = f" with the prefix {prefix}" if prefix else ""
    note.caption(plain(f"One line per layer, layer: wbit{shown} (what MixDQ's loader reads)."))


# the libraries of --export_format's Phase 4 targets, as the app names them
PHASE4_LABELS = {
    "compressed_tensors": "llm-compressor / compressed-tensors",
    "torchao": "torchao",
    "diffusers": "diffusers (torchao, UNets)",
    "gguf": "llama.cpp (GGUF)",
    "mlx": "MLX (mlx-lm)",
    "modelopt": "ModelOpt / TensorRT-LLM",
    "autoround": "auto-round",
}


@st.cache_data(show_spinner=False, max_entries=16)
def phase4_zip(
    spec: Spec, choice: bytes, target: str, name_prefix: str, _solution: Solution
) -> tuple[str, bytes] | str:
    """The ZIP of ``target``'s files for this allocation (its settings and every layer's
    option are the key), or why the target cannot take it: built once per allocation and
    target, not at every rerun (about 0.2-1.9 s at 10,000 layers)."""
    try:
        return phase4_archive(_solution, target, name_prefix)
    except InputError as err:
        return str(err)


def _phase4_download(view: View, solution: Solution) -> None:
    """The allocation in a quantization library's files (a ZIP with the config), once a
    library is chosen; an allocation the library cannot take says why instead."""
    if not solution.feasible:
        return
    left, middle, note = st.columns([1, 1, 1.15], vertical_alignment="center")
    target = left.selectbox(
        "Phase 4 library",
        PHASE4_TARGETS,
        index=None,
        format_func=PHASE4_LABELS.get,
        key="phase4_target",
        placeholder="Phase 4 library...",
        label_visibility="collapsed",
    )
    if target is None:
        note.caption("Choose a library for its own files (--export_format on the command line).")
        return
    spec = view.spec_at(solution.multiplier, solution.solver)
    built = phase4_zip(spec, solution.choice.tobytes(), target, view.files.name_prefix, solution)
    if isinstance(built, str):
        middle.button("Download (ZIP)", key="download_phase4_refused", disabled=True,
                      icon=":material/block:", width="stretch")  # fmt: skip
        note.caption(plain(f"Not exported: {built}"))
        return
    name, data = built
    middle.download_button(
        "Download (ZIP)",
        data=data,
        file_name=name,
        mime="application/zip",
        key="download_phase4",
        on_click="ignore",
        icon=":material/deployed_code:",
        width="stretch",
    )
    note.caption(plain(f"The config and the files of --export_format {target}, in {name}."))
