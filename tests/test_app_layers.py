"""The Layers page through AppTest: pins, search, columns; and the layer tables of the other
pages."""

from __future__ import annotations

import json

import pyarrow as pa
from app_runs import MAIN, load_sample, no_failure, open_sections, run_app
from app_views import shown

import mpq_core as mc
from mpq_app.ui import sections


def test_layers_page_lists_pins_and_unpins_them_all():
    at = open_sections(run_app(), sections.PINS)  # open on every page
    at.multiselect(key="pin_8").set_value(["conv_in", "conv_out"]).run()
    at.switch_page("app_pages/2_Layers.py").run()
    no_failure(at)
    table = at.main.dataframe[0].value
    assert sorted(table.loc[table["pinned"], "layer"]) == ["conv_in", "conv_out"]
    assert set(table.loc[table["pinned"], "wbit"]) == {8}
    at.button(key="layers_unpin_all").click().run()
    no_failure(at)
    assert not at.main.dataframe[0].value["pinned"].any()
    assert at.multiselect(key="pin_8").value == []


def test_layers_page_fits_its_columns_and_shows_gains_on_request():
    """Regression: the table was wider than the page (BOPs share and type cut off)."""
    at = run_app()
    at.switch_page("app_pages/2_Layers.py").run()
    no_failure(at)
    table = at.main.dataframe[0]
    shown = list(table.proto.column_order)
    assert shown == ["layer", "wbit", "abit", "pinned", "type", "macs", "bops_share", "sensitivity"]
    widths = {
        name: spec.get("width")
        for name, spec in json.loads(table.proto.columns).items()
        if name in shown
    }
    assert all(isinstance(w, int) for w in widths.values()), widths
    # the shown columns plus the selection column fit a 1400 px window beside the sidebar
    assert sum(widths.values()) + 40 <= 1000
    at.toggle(key="layer_gains").set_value(True).run()
    no_failure(at)
    assert list(at.main.dataframe[0].proto.column_order) == [*shown, "eff_4_8", "eff_8_16"]
    at.switch_page(MAIN).run()
    at.switch_page("app_pages/2_Layers.py").run()
    assert at.toggle(key="layer_gains").value is True  # kept across pages


def test_layers_page_search_filters_rows():
    at = run_app()
    at.switch_page("app_pages/2_Layers.py").run()
    at.text_input(key="layer_search").input("ATTN2.TO_K").run()
    no_failure(at)
    layers = at.main.dataframe[0].value["layer"].tolist()
    assert layers and all("attn2.to_k" in name for name in layers)
    assert len(layers) == sum("attn2.to_k" in n for n in load_sample().names)


def test_pin_widths_come_from_the_ladder_in_use_on_every_page():
    """Regression: with the per-bit sample and a 2/4/8/16 ladder (rejected: no width 2) the
    Layers page still offered "2 bits"."""
    at = open_sections(run_app(), sections.PINS)
    at.radio(key="source").set_value("sd14_per_bit").run()
    at.pills(key="ladder").set_value([2, 4, 8, 16]).run()
    assert any("Using 4/8/16 instead" in shown(e.value) for e in at.error)
    pin_boxes = {m.key for m in at.sidebar.multiselect if m.key.startswith("pin_")}
    assert pin_boxes == {"pin_4", "pin_8", "pin_16"}
    assert at.query_params["ladder"] == "4,8,16"
    at.switch_page("app_pages/2_Layers.py").run()
    assert not at.exception
    (widths,) = [b for b in at.get("button_group") if b.key == "layers_pin_width"]
    assert widths.options == ["4 bits", "8 bits", "16 bits"]
    assert {m.key for m in at.sidebar.multiselect if m.key.startswith("pin_")} == {
        "pin_4",
        "pin_8",
        "pin_16",
    }


def test_bulk_pinning_is_one_labelled_action_on_the_layers_page():
    at = open_sections(run_app(), sections.PINS)
    at.switch_page("app_pages/2_Layers.py").run()
    assert "layers_pin_matches" not in {b.key for b in at.button}  # no search, no bulk action
    at.text_input(key="layer_search").input("attn1.to_q").run()
    matches = [n for n in load_sample().names if "attn1.to_q" in n]
    button = at.button(key="layers_pin_matches")
    assert shown(button.label) == f"Pin all {len(matches)} matches of 'attn1.to_q' to 16 bits"
    button.click().run()
    no_failure(at)
    assert at.multiselect(key="pin_16").value == matches
    table = at.main.dataframe[0].value
    assert table.loc[table["pinned"], "layer"].tolist() == matches


def test_tables_draw_the_layer_column_as_normal_text_and_tiny_shares_as_below_001():
    at = run_app()
    at.switch_page("app_pages/2_Layers.py").run()
    table = at.main.dataframe[0]
    columns = json.loads(table.proto.columns)
    assert not columns["layer"].get("pinned")  # a pinned column is drawn light grey
    assert "format" not in columns["bops_share"]  # the Styler's text is shown
    shown = pa.ipc.open_stream(table.proto.arrow_data.styler.display_values).read_all()
    shares = dict(zip(shown["layer"].to_pylist(), shown["bops_share"].to_pylist(), strict=True))
    solution = mc.solve(load_sample(), 0.5)
    row = mc.layer_table(solution).set_index("layer")["bops_share"]
    tiny = row[(row > 0) & (row < 1e-4)].index
    assert len(tiny) and all(shares[name] == "<0.01%" for name in tiny)
    assert shares["conv_in"] == f"{row['conv_in'] * 100:.2f}%"
    for page in ("app_pages/1_Compare_budgets.py", "app_pages/3_Greedy_vs_optimal.py"):
        at.switch_page(page).run()
        (changes,) = at.main.dataframe
        assert not json.loads(changes.proto.columns)["layer"].get("pinned")
