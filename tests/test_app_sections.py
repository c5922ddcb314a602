"""The sidebar's sections through AppTest (``ui.sections``): closed on a first run, so their
widgets are not made; opened, they draw them; closed again, they drop them and nothing in
force changes (pins, limits, groups live in the settings, not in the widgets). An uploaded
file keeps its uploader drawn; the open state is kept across pages."""

from __future__ import annotations

import json
import math

import pytest
from app_runs import MAIN, PAGES, load_sample, no_failure, open_sections, run_app, upload
from app_views import app_charts, app_metrics, shown
from streamlit.testing.v1 import AppTest
from support import REPO

import mpq_core as mc
from mpq_app.ui import sections

SD14 = json.loads((REPO / mc.SAMPLES["sd14"].flops).read_text())["layers"]
UPLOADERS = ("constraints_upload", "upload_formats", "upload_resources")
# what each section draws on the SD 1.4 sample (editors by key prefix; "about" the file name)
DRAWS = {
    sections.ABOUT: {"about"},
    sections.PINS: {"pin_4", "pin_8", "pin_16"},
    sections.LIMITS: {"limits_editor"},
    sections.CONSTRAINTS: {
        "groups_editor",
        "tie_pick",
        "tie_add",
        "tie_fused_box",
        "constraints_upload",
        "download_constraints",
        "upload_formats",
        "upload_resources",
    },
}
EXPANDERS = {  # each expander section's label on the SD 1.4 sample
    sections.ABOUT: "About this file",
    sections.PINS: "Pinned layers",
    sections.CONSTRAINTS: "Groups, ties and files",
}


def _close(at: AppTest, *keys: str) -> AppTest:
    for key in keys:
        at.session_state[key] = False
    return at.run()


def _drawn(at: AppTest) -> set[str]:
    """The widgets of the sidebar's sections that the run drew (see ``DRAWS``)."""
    side = at.sidebar
    keys = {w.key or "" for kind in ("multiselect", "checkbox", "button") for w in side.get(kind)}
    keys |= {w.key or "" for kind in ("file_uploader", "download_button") for w in side.get(kind)}
    out = {k for k in keys if k.startswith(("pin_", "untie_"))}
    out |= keys & {"tie_pick", "tie_add", "tie_fused_box", "download_constraints", *UPLOADERS}
    out |= {d.key.rsplit("_", 1)[0] for d in side.dataframe if "_editor_" in (d.key or "")}
    if any(c.value.startswith("File: ") for c in side.caption):
        out.add("about")
    return out


def _expanders(at: AppTest) -> dict[str, bool]:
    """Each sidebar expander's label: whether it is drawn open."""
    return {e.label: e.proto.expanded for e in at.sidebar.expander}


def _in_force(at: AppTest) -> list[str]:
    """The caption of the limits in force, its no-break spaces read as spaces."""
    captions = [c.value for c in at.sidebar.caption if c.value.startswith("In force: ")]
    return [caption.replace("\u00a0", " ") for caption in captions]


def _edit_limits(at: AppTest, edits: dict) -> AppTest:
    """Edit the limits table as the browser sends an edit (``edited_rows``, ``added_rows``,
    ``deleted_rows``) and run."""
    (editor,) = [d for d in at.sidebar.dataframe if d.key.startswith("limits_editor_")]
    at.session_state[editor.key] = {"edited_rows": {}, "added_rows": [], "deleted_rows": []} | edits
    return at.run()


def test_the_first_run_draws_no_section_s_widgets_and_shows_the_limits_in_force():
    at = run_app()
    no_failure(at)
    assert _drawn(at) == set()
    assert not [m for m in at.multiselect if (m.key or "").startswith("pin_")]  # nor on the page
    assert not [d for d in at.dataframe if "_editor_" in (d.key or "")]
    assert not at.sidebar.get("file_uploader")  # a sample: no data uploaders either
    assert _expanders(at) == {label: False for label in EXPANDERS.values()}
    toggle = at.toggle(key=sections.LIMITS)
    assert toggle.label == "Edit the limits" and toggle.value is False
    assert _in_force(at) == ["In force: `bops <= 0.5x`"]


@pytest.mark.parametrize("key", list(DRAWS))
def test_a_section_draws_its_widgets_while_open_and_changes_nothing_in_force(key):
    at = run_app()
    before = (dict(at.query_params), app_metrics(at), _in_force(at))
    open_sections(at, key)
    no_failure(at)
    assert _drawn(at) == DRAWS[key]
    if key in EXPANDERS:
        assert _expanders(at)[EXPANDERS[key]] is True
    assert (dict(at.query_params), app_metrics(at), _in_force(at)) == before
    _close(at, key)
    no_failure(at)
    assert _drawn(at) == set()
    assert _expanders(at) == {label: False for label in EXPANDERS.values()}
    assert (dict(at.query_params), app_metrics(at), _in_force(at)) == before


def test_a_pin_made_in_its_box_stays_in_force_with_the_section_closed():
    at = open_sections(run_app(), sections.PINS)
    at.multiselect(key="pin_16").set_value(["conv_in"]).run()
    no_failure(at)
    pinned = load_sample(pins=(("conv_in", 16),))
    solution = mc.solve(pinned, 0.5)
    assert solution.wbits[pinned.names.index("conv_in")] == 16
    drawn = app_metrics(at)
    assert drawn["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"
    _close(at, sections.PINS)
    no_failure(at)
    assert not {"pin_4", "pin_8", "pin_16"} & _drawn(at)
    assert at.query_params["pin16"] == "conv_in"
    assert at.session_state["spec"].pins == (mc.Pin("conv_in", (16,)),)
    assert app_metrics(at) == drawn
    (marks,) = [t for t in app_charts(at)["heatmap"]["data"] if t.get("name") == "pinned"]
    assert len(marks["x"]) == 1
    at.slider(key="budget").set_value(0.4).run()  # a run with the boxes closed keeps the pin
    no_failure(at)
    assert at.query_params["pin16"] == "conv_in"
    solution = mc.solve(pinned, 0.4)
    assert app_metrics(at)["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"
    open_sections(at, sections.PINS)  # the boxes start again from the settings
    assert at.multiselect(key="pin_16").value == ["conv_in"]
    assert at.multiselect(key="pin_4").value == at.multiselect(key="pin_8").value == []


def test_pins_of_a_link_are_in_force_closed_and_fill_the_boxes_when_opened():
    at = run_app({"pin8": ["conv_in", "conv_out"]})
    no_failure(at)
    assert _drawn(at) == set()
    problem = load_sample(pins=(("conv_in", 8), ("conv_out", 8)))
    solution = mc.solve(problem, 0.5)
    assert app_metrics(at)["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"
    open_sections(at, sections.PINS)
    assert at.multiselect(key="pin_8").value == ["conv_in", "conv_out"]
    assert at.query_params["pin8"] == ["conv_in", "conv_out"]


def test_a_limit_edited_in_the_table_stays_in_force_with_the_table_hidden():
    at = run_app()
    at.toggle(key=sections.LIMITS).set_value(True).run()
    assert _drawn(at) == {"limits_editor"}
    _edit_limits(
        at,
        {
            "edited_rows": {0: {"value": "0.4x"}},
            "added_rows": [{"limit": "mean_wbits", "value": "6"}],
        },
    )
    no_failure(at)
    limits = [mc.Limit("bops", "0.4x"), mc.Limit("mean_wbits", "6")]
    solution = mc.solve(load_sample(), limits=limits)
    in_force = "In force: `bops <= 0.4x` · `mean_wbits <= 6`"
    assert [limit.label() for limit in limits] == ["bops <= 0.4x", "mean_wbits <= 6"]
    assert _in_force(at) == [in_force]
    assert at.query_params["budget"] == "0.4" and at.query_params["limit"] == "mean_wbits<=6"
    drawn = app_metrics(at)
    assert drawn["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"
    at.toggle(key=sections.LIMITS).set_value(False).run()
    no_failure(at)
    assert _drawn(at) == set()
    assert _in_force(at) == [in_force]
    assert at.session_state["spec"].limits == tuple(limits)
    assert at.query_params["budget"] == "0.4" and at.query_params["limit"] == "mean_wbits<=6"
    assert app_metrics(at) == drawn
    at.slider(key="limit_slider_1").set_value(5.0).run()  # the limit's slider, table hidden
    no_failure(at)
    assert _in_force(at) == ["In force: `bops <= 0.4x` · `mean_wbits <= 5`"]
    at.toggle(key=sections.LIMITS).set_value(True).run()  # the table starts from the settings
    (editor,) = [d for d in at.sidebar.dataframe if d.key.startswith("limits_editor_")]
    assert editor.value.values.tolist() == [["bops", "0.4x"], ["mean_wbits", "5"]]


def test_groups_in_use_open_their_section_and_stay_in_force_when_it_is_closed():
    query = {"budget": "0.4", "limit": "mean_wbits@late<=6", "group": "late:up_blocks.3.*"}
    at = run_app(query)
    no_failure(at)
    assert _expanders(at)["Groups, ties and files"] is True  # open: a group is in use
    assert "groups_editor" in _drawn(at)
    (groups,) = [d for d in at.sidebar.dataframe if d.key.startswith("groups_editor_")]
    assert groups.value.values.tolist() == [["late", "up_blocks.3.*"]]
    drawn = app_metrics(at)
    _close(at, sections.CONSTRAINTS)
    no_failure(at)
    assert _drawn(at) == set()
    assert _expanders(at)["Groups, ties and files"] is False  # the user's choice, not the default
    assert at.query_params["group"] == "late:up_blocks.3.*"
    assert at.query_params["limit"] == "mean_wbits@late<=6"
    assert _in_force(at) == ["In force: `bops <= 0.4x` · `mean_wbits@late <= 6`"]
    assert app_metrics(at) == drawn
    at.slider(key="budget").set_value(0.5).run()  # and it stays closed
    assert _drawn(at) == set() and at.query_params["group"] == "late:up_blocks.3.*"


def test_tie_fused_stays_in_force_with_its_section_closed():
    at = open_sections(run_app({"source": "minilm"}), sections.CONSTRAINTS)
    at.sidebar.checkbox(key="tie_fused_box").check().run()
    no_failure(at)
    drawn = app_metrics(at)
    _close(at, sections.CONSTRAINTS)
    no_failure(at)
    assert "tie_fused_box" not in _drawn(at)
    assert at.query_params["tie_fused"] == "1" and at.session_state["spec"].tie_fused
    assert app_metrics(at) == drawn
    problem = mc.load_problem(*mc.sample_inputs("minilm"), spec=mc.Spec(tie_fused=True))
    assert drawn["Final cost"] == f"{mc.solve(problem, 0.5).cost / mc.GIGA:,.1f} GBOPs"
    open_sections(at, sections.CONSTRAINTS)
    assert at.sidebar.checkbox(key="tie_fused_box").value is True


# --- files held by the constraints section -----------------------------------------------------


def _latency() -> tuple[str, bytes]:
    """A latency table for the SD 1.4 sample at 4/8/16 bits."""
    table = {n: {"4": 1.0 + i % 3, "8": 2.0 + i % 3, "16": 4.0} for i, n in enumerate(SD14)}
    return "lat.json", json.dumps({"resources": {"lat": table}, "units": {"lat": "ms"}}).encode()


def _lat_use(config: dict) -> tuple[float, float, float]:
    """The latency of a downloaded config's allocation, and the table's lowest and highest."""
    table = json.loads(_latency()[1])["resources"]["lat"]
    use = math.fsum(table[n][str(q["wbit"])] for n, q in config["quantization_config"].items())
    low = math.fsum(row["4"] for row in table.values())
    return use, low, math.fsum(row["16"] for row in table.values())


def _kept(at: AppTest, uploaders: set[str], also: frozenset[str] = frozenset()) -> None:
    """The section is drawn closed with its contents (besides ``also``, other sections'):
    ``uploaders`` hold their files."""
    assert _expanders(at)["Groups, ties and files"] is False
    assert _drawn(at) == DRAWS[sections.CONSTRAINTS] | also
    for key in UPLOADERS:
        held = at.file_uploader(key=key).value
        assert (held is not None) == (key in uploaders), key


def test_an_uploaded_resources_file_stays_in_use_with_its_section_closed(stored_files):
    at = open_sections(run_app(), sections.CONSTRAINTS)
    at.file_uploader(key="upload_resources").upload(*_latency()).run()
    no_failure(at)
    _close(at, sections.CONSTRAINTS)
    no_failure(at)
    _kept(at, {"upload_resources"})
    # a limit on the file's resource, typed into the limits table with the section closed
    at.toggle(key=sections.LIMITS).set_value(True).run()
    _edit_limits(at, {"edited_rows": {0: {"limit": "lat", "value": "0.3r"}}})
    no_failure(at)
    assert _in_force(at) == ["In force: `lat <= 0.3r`"]
    (name,) = [n for n in stored_files if n.startswith("quantization_config_lat0.3r")]
    use, low, high = _lat_use(json.loads(stored_files[name]))
    assert use <= low + 0.3 * (high - low) + 1e-9
    _kept(at, {"upload_resources"}, also=DRAWS[sections.LIMITS])


def test_an_uploaded_constraints_file_keeps_its_uploader_and_clearing_it_lets_it_go():
    content = {
        "groups": {"late": ["up_blocks.3.*"]},
        "limits": [
            {"resource": "bops", "at_most": "0.4x"},
            {"resource": "mean_wbits", "group": "late", "at_most": "6"},
        ],
    }
    at = open_sections(run_app(), sections.CONSTRAINTS)
    upload = at.file_uploader(key="constraints_upload")
    upload.upload("late.json", json.dumps(content).encode()).run()
    no_failure(at)
    in_force = ["In force: `bops <= 0.4x` · `mean_wbits@late <= 6`"]
    assert _in_force(at) == in_force
    drawn = app_metrics(at)
    _close(at, sections.CONSTRAINTS)
    no_failure(at)
    _kept(at, {"constraints_upload"})
    assert at.query_params["limit"] == "mean_wbits@late<=6"
    assert _in_force(at) == in_force and app_metrics(at) == drawn
    at.slider(key="budget").set_value(0.5).run()  # not applied again: the slider's 0.5 stays
    no_failure(at)
    assert _in_force(at) == ["In force: `bops <= 0.5x` · `mean_wbits@late <= 6`"]
    _kept(at, {"constraints_upload"})
    at.file_uploader(key="constraints_upload").clear().run()
    no_failure(at)
    assert _drawn(at) == set()  # closed, and nothing to hold: not drawn
    assert _in_force(at) == ["In force: `bops <= 0.5x` · `mean_wbits@late <= 6`"]
    assert at.query_params["group"] == "late:up_blocks.3.*"


def test_an_uploaded_formats_file_stays_in_use_with_its_section_closed():
    """The per-format sample as an uploaded pair, with a format only a formats file defines
    (``test_app_formats``): offered and chosen while the section is closed."""
    flops, sens = mc.sample_inputs("minilm_formats")
    data = json.loads(sens.content)
    for row in data["sensitivity"].values():
        row["w4g128z"] = row["int4_g128"]
    losses = ("losses.json", json.dumps(data).encode())
    at = run_app({"source": "upload"})
    upload(at, ("flops.json", flops.content), losses)
    assert "w4g128z" not in at.pills(key="formats").options
    own = {"formats": {"w4g128z": {"weight": {"type": "int", "bits": 4, "group_size": 128,
                                              "scale_bits": 16, "zero_bits": 4}}}}  # fmt: skip
    open_sections(at, sections.CONSTRAINTS)
    at.file_uploader(key="upload_formats").upload("own.json", json.dumps(own).encode()).run()
    no_failure(at)
    _close(at, sections.CONSTRAINTS)
    no_failure(at)
    label = "Groups, ties, search spaces and files"
    assert _expanders(at)[label] is False
    assert {"upload_formats", "spaces_editor"} <= _drawn(at)
    assert at.file_uploader(key="upload_formats").value is not None
    assert at.file_uploader(key="constraints_upload").value is None
    assert "w4g128z" in at.pills(key="formats").options
    at.pills(key="formats").set_value(["w4g128z", "fp8", "bf16"]).run()
    no_failure(at)
    assert at.query_params["formats"] == "w4g128z,fp8,bf16"
    formats = mc.model.formats.pick(
        ["w4g128z", "fp8", "bf16"],
        mc.model.formats.CATALOG | mc.model.formats.parse_formats(own, "own.json"),
        "formats",
    )
    inputs = mc.load_inputs(mc.InputFile("flops.json", flops.content), mc.InputFile(*losses))
    solution = mc.solve(mc.build_problem(inputs, mc.Spec(formats=formats)), 0.5)
    assert app_metrics(at)["Effective bits"] == f"{solution.effective_bits():.2f} bits"
    assert _expanders(at)[label] is False and "upload_formats" in _drawn(at)


# --- across pages ------------------------------------------------------------------------------


def test_the_open_sections_stay_open_on_every_page_and_the_closed_ones_closed():
    at = open_sections(run_app(), sections.PINS, sections.LIMITS, sections.CONSTRAINTS)
    opened = DRAWS[sections.PINS] | DRAWS[sections.LIMITS] | DRAWS[sections.CONSTRAINTS]
    assert _drawn(at) == opened
    for page in [*list(PAGES)[1:], MAIN]:
        at.switch_page(page).run()
        no_failure(at)
        assert _drawn(at) == opened, page  # "About this file" stays closed
        assert _expanders(at) == {
            "About this file": False,
            "Pinned layers": True,
            "Groups, ties and files": True,
        }, page
        assert at.toggle(key=sections.LIMITS).value is True, page
    _close(at, sections.PINS, sections.LIMITS, sections.CONSTRAINTS)
    at.switch_page("app_pages/2_Layers.py").run()
    no_failure(at)
    assert _drawn(at) == set()
    assert shown(at.title[0].value) == PAGES["app_pages/2_Layers.py"][0]
