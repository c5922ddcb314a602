"""The dashboard's tables (AppTest): the constraints tables show the setup in force (after a
constraints file, after a setup that was set back), fit the sidebar; the Compare table keeps
MACs in an 800 px window; the Layers table follows the heatmap's order."""

from __future__ import annotations

import json
import re

from app_runs import no_failure, open_sections, run_app
from app_views import app_charts
from streamlit.testing.v1 import AppTest

import mpq_core as mc
from mpq_app.ui import sections

# Measured in Chromium (Streamlit 1.67, the sidebar at its default 300 px): the limits table
# is 238 px wide, 32 px of it the row handles of an editable table; at 800 px the Compare table
# is 758 px wide (the sidebar collapsed) and an unconfigured width column about 50 px. Header
# text is at most 6.5 px a letter ("at most": 44 px), plus 30 px of padding and edit mark.
LIMITS_TABLE_PX, ROW_HANDLES_PX = 238, 32
COMPARE_TABLE_PX, WIDTH_COLUMN_PX = 758, 50
HEADER_CHAR_PX, HEADER_EXTRA_PX = 6.5, 30


def _app(query: dict | None = None) -> AppTest:
    return run_app(query, timeout=90)


_ok = no_failure


def _editor(at: AppTest, name: str):
    (editor,) = [d for d in at.sidebar.dataframe if d.key.startswith(f"{name}_editor_")]
    return editor


def _columns(table) -> dict[str, dict]:
    return {k: v for k, v in json.loads(table.proto.columns).items() if not v.get("hidden")}


def test_an_uploaded_constraints_file_shows_in_the_tables_of_the_same_run():
    """Regression: after a constraints file the page enforced its limit and group while the
    tables still showed the previous setup (until the next interaction)."""
    at = open_sections(_app(), sections.LIMITS, sections.CONSTRAINTS)
    content = {
        "groups": {"late": ["up_blocks.3.*"]},
        "limits": [
            {"resource": "bops", "at_most": "0.4x"},
            {"resource": "mean_wbits", "group": "late", "at_most": "6"},
        ],
    }
    at.file_uploader(key="constraints_upload").upload(
        "late.json", json.dumps(content).encode()
    ).run()
    _ok(at)
    assert _editor(at, "groups").value.values.tolist() == [["late", "up_blocks.3.*"]]
    assert len(_editor(at, "limits").value) == 2
    assert at.slider(key="budget").value == 0.4  # and what is in force is the same
    assert at.query_params["limit"] == "mean_wbits@late<=6"


def test_a_limit_set_back_is_what_the_table_shows():
    """A limit that cannot be resolved is set back to the last good one; the table shows
    the limit in force in the same run, not the one that was refused."""
    at = open_sections(_app({"budget": "0.5", "limit": "mean_wbits<=6"}), sections.LIMITS)
    _ok(at)
    spec = at.session_state["spec"]  # the settings: their limits are the table's rows
    at.session_state["spec"] = spec.with_limits((spec.limits[0], mc.Limit("speed", "1")))
    at.run()
    assert not at.exception
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]
    assert errors == [
        "limits: unknown resource 'speed' (known: bops, wbits, mean_wbits; others come from a "
        "resources file). The last working limits stay in force."
    ]
    shown = _editor(at, "limits").value
    assert len(shown) == 2 and "speed" not in shown.to_string()


def test_the_limits_table_fits_the_sidebar_with_its_headers_in_full():
    """Regression: at 1440 px the headers read "resourc" and the form "× a…" (four columns
    in the narrow sidebar, inside an expander)."""
    query = {"budget": "0.4", "limit": "mean_wbits@late<=6", "group": "late:up_blocks.3.*"}
    at = open_sections(_app(query), sections.LIMITS)
    _ok(at)
    table = _editor(at, "limits")
    columns = _columns(table)
    assert all(isinstance(c.get("width"), int) for c in columns.values())  # sized on purpose
    assert sum(c["width"] for c in columns.values()) + ROW_HANDLES_PX <= LIMITS_TABLE_PX
    for column in columns.values():
        assert len(column["label"]) * HEADER_CHAR_PX + HEADER_EXTRA_PX <= column["width"]
    assert table.value.values.tolist() == [["bops", "0.4x"], ["mean_wbits@late", "6"]]
    assert "Constraints" in [h.value for h in at.sidebar.subheader]  # not in an expander
    groups = _columns(_editor(at, "groups"))  # two columns sharing the table's width
    assert list(groups) == ["name", "patterns"]
    assert not any("width" in c for c in groups.values())


def test_the_compare_table_keeps_macs_within_an_800_px_window():
    """Regression: at 800 px the table of layers whose width differs lost its MACs column
    (the name, block and type came first)."""
    at = _app()
    at.switch_page("app_pages/1_Compare_budgets.py").run()
    _ok(at)
    (table,) = at.main.dataframe  # the layers whose width differs between the budgets
    columns = _columns(table)
    order = list(table.proto.column_order) or list(table.value.columns)
    assert order[:5] == ["layer", "0.30", "0.50", "0.70", "macs"]  # the three budgets, MACs

    def width(column: str) -> int:
        return columns.get(column, {}).get("width", WIDTH_COLUMN_PX)

    assert sum(width(c) for c in order[:5]) <= COMPARE_TABLE_PX
    assert sum(width(c) for c in order) <= COMPARE_TABLE_PX  # type and block too


def test_the_layers_table_lists_the_layers_in_the_heatmap_order():
    at = _app()
    heat = app_charts(at)["heatmap"]["data"][0]
    drawn = [n for row in heat["customdata"] for n in row if n is not None]
    at.switch_page("app_pages/2_Layers.py").run()
    _ok(at)
    assert at.main.dataframe[0].value["layer"].tolist() == drawn
    assert drawn[:3] == ["conv_in", "time_embedding.linear_1", "time_embedding.linear_2"]
