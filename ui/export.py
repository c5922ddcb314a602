"""The Export section: config, layer table, HTML report and chart images of the current view.

The report and the images are built only when their button is clicked (``data`` is a callable),
so a slider rerun costs nothing here. The callables run outside the script run, in a worker
thread: they close over plain values (problem, solution, sweep), never over session state.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from mpq_core import (
    Problem,
    Solution,
    config_filename,
    config_json,
    export_config,
    layers_csv,
    solve,
)
from mpq_core.report import build_report_figures, figure_images, view_report_html

IMAGE_FORMATS = ("png", "svg")
INSTALL_HINT = "apt-get install chromium"


def report_filename(multiplier: float) -> str:
    return f"mpq_report_{multiplier:.2f}.html"


def images_filename(multiplier: float) -> str:
    return f"mpq_charts_{multiplier:.2f}.zip"


def report_builder(problem: Problem, solution: Solution, sweep: pd.DataFrame) -> Callable[[], str]:
    """A callable that returns the view's self-contained HTML report (what the CLI writes)."""

    def build() -> str:
        greedy = None
        if solution.solver != "greedy":  # the report's "Greedy gap" needs the greedy result
            greedy = solve(problem, solution.multiplier, "greedy")
        return view_report_html(problem, solution, sweep, greedy=greedy)

    return build


def images_builder(
    problem: Problem, solution: Solution, sweep: pd.DataFrame
) -> Callable[[], bytes]:
    """A callable that renders every chart as PNG and SVG (one kaleido server) into a ZIP."""

    def build() -> bytes:
        images = figure_images(build_report_figures(problem, solution, sweep), IMAGE_FORMATS)
        return zip_images(images)

    return build


def zip_images(images: dict[tuple[str, str], bytes]) -> bytes:
    """``{(key, fmt): bytes}`` as a ZIP of ``<key>.<fmt>`` files (PNGs stored, SVGs deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for (key, fmt), data in images.items():
            method = zipfile.ZIP_STORED if fmt == "png" else zipfile.ZIP_DEFLATED
            archive.writestr(f"{key}.{fmt}", data, compress_type=method)
    return buffer.getvalue()


def chromium_path() -> str | None:
    """The Chrome/Chromium that kaleido would start (``BROWSER_PATH`` first), if it exists."""
    from choreographer.browsers.chromium import Chromium

    path = Chromium.find_browser(skip_local=False)
    return path if path and Path(path).is_file() else None


def downloads(problem: Problem, solution: Solution, sweep: pd.DataFrame) -> None:
    """Two rows: the data files (config, layers) and the figures (report, chart images).

    Everything is off at an infeasible budget (there is no allocation to export).
    """
    ok = solution.feasible
    m = solution.multiplier
    name = config_filename(m)
    first, second, note = st.columns([1, 1, 1.15], vertical_alignment="center")
    first.download_button(
        "Download config (JSON)",
        data=config_json(export_config(solution)) if ok else "",
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
        data=layers_csv(solution) if ok else "",
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

    first, second, note = st.columns([1, 1, 1.15], vertical_alignment="center")
    first.download_button(
        "Download report (HTML)",
        data=report_builder(problem, solution, sweep) if ok else "",
        file_name=report_filename(m),
        mime="text/html",
        key="download_report",
        disabled=not ok,
        on_click="ignore",
        icon=":material/description:",
        width="stretch",
    )
    browser = chromium_path()
    if browser is None:
        second.caption(
            f"Chart images (PNG, SVG) need Chromium, not found here: `{INSTALL_HINT}` "
            "(Debian/Ubuntu), or set `BROWSER_PATH`."
        )
    else:
        second.download_button(
            "Download charts (ZIP of PNG + SVG)",
            data=images_builder(problem, solution, sweep) if ok else b"",
            file_name=images_filename(m),
            mime="application/zip",
            key="download_images",
            disabled=not ok,
            on_click="ignore",
            icon=":material/image:",
            width="stretch",
        )
    if ok:
        images = "; images are rendered at print size when you click." if browser else "."
        note.caption(f"Every chart of this view with the settings and headline figures{images}")
