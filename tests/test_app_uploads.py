"""Uploads in the dashboard (AppTest): the layer cap of an upload, and resources files that
apply to the data in use (an uploaded pair or a sample) or are refused with a message."""

from __future__ import annotations

import json
import math
import re

import pytest
from app_runs import ENTRY, open_sections
from app_views import app_charts
from streamlit.testing.v1 import AppTest
from support import REPO

import mpq_app.ui.data
import mpq_core as mc
from mpq_app.ui import sections

SD14 = json.loads((REPO / mc.SAMPLES["sd14"].flops).read_text())["layers"]


def _app() -> AppTest:
    return AppTest.from_file(str(REPO / ENTRY), default_timeout=120).run()


def _shown(text: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [_shown(e.value) for e in at.error]


def _pair(count: int, tag: str = "") -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    """A valid pair of ``count`` layers (conv layers with MACs, scalar scores)."""
    names = [f"blocks.{i // 100}.layer_{i}.conv" for i in range(count)]
    flops = {"unit": "MACs", "layers": {n: {"macs": 1e6 * (1 + i % 7)} for i, n in
                                        enumerate(names)}}  # fmt: skip
    sens = {"sensitivity": {n: 0.01 * (1 + i % 5) for i, n in enumerate(names)}}
    return (
        (f"flops{tag}_{count}.json", json.dumps(flops).encode()),
        (f"sens{tag}_{count}.json", json.dumps(sens).encode()),
    )


def _upload(at: AppTest, flops, sens) -> AppTest:
    at.radio(key="source").set_value("upload").run()
    at.file_uploader(key="upload_flops").upload(*flops).run()
    return at.file_uploader(key="upload_sensitivity").upload(*sens).run()


def _drawn_layers(at: AppTest) -> set[str]:
    heat = app_charts(at)["heatmap"]["data"][0]
    return {n for row in heat["customdata"] for n in row if n is not None}


# --- the layer cap -------------------------------------------------------------------------


def test_an_upload_above_the_layer_cap_is_refused_and_the_last_data_stays():
    """Regression: a valid 100,000-layer pair held a server thread for 150 s (every view drew
    every layer on each rerun; they now fold a large model's layers). Above the cap the pair is
    refused at once, by name."""
    cap = 100_000
    flops, sens = _pair(cap + 1)
    at = _upload(_app(), flops, sens)
    assert not at.exception
    assert [_shown(e.value) for e in at.error] == [
        f"flops_{cap + 1}.json: 100,001 layers; the dashboard takes at most 100,000 layers per "
        "file (the command line has no such limit)"
    ]
    assert [_shown(i.value) for i in at.info] == [f"Still showing {mc.SAMPLES['sd14'].title}."]
    assert _drawn_layers(at) == set(SD14)  # the sample, still
    uploaders = {u.key: u for u in at.sidebar.get("file_uploader")}
    assert "At most 100,000 layers" in uploaders["upload_flops"].help
    assert "At most 100,000 layers" in uploaders["upload_sensitivity"].help
    assert cap == mpq_app.ui.data.MAX_UPLOAD_LAYERS


def test_an_upload_at_the_cap_is_used(monkeypatch):
    monkeypatch.setattr(mpq_app.ui.data, "MAX_UPLOAD_LAYERS", 40)
    flops, sens = _pair(40, "_at")
    at = _upload(_app(), flops, sens)
    _ok(at)
    assert len(_drawn_layers(at)) == 40
    at.run()  # the pair drew a whole page: it is named, with a Replace button
    at.button(key="upload_replace").click().run()
    flops, sens = _pair(41, "_over")
    at.file_uploader(key="upload_flops").upload(*flops).run()
    at.file_uploader(key="upload_sensitivity").upload(*sens).run()
    assert [_shown(e.value) for e in at.error] == [
        "flops_over_41.json: 41 layers; the dashboard takes at most 40 layers per file (the "
        "command line has no such limit)"
    ]
    assert len(_drawn_layers(at)) == 40  # the accepted pair stays in use


# --- resources files -----------------------------------------------------------------------


def _latency(names, *, bad: bool = False) -> tuple[str, bytes]:
    """A latency table for ``names`` at 4/8/16 bits (NaN for the first layer when bad)."""
    table = {n: {"4": 1.0 + i % 3, "8": 2.0 + i % 3, "16": 4.0} for i, n in enumerate(names)}
    text = json.dumps({"resources": {"lat": table}, "units": {"lat": "ms"}})
    if bad:
        text = text.replace('"4": 1.0', '"4": NaN', 1)
    return ("lat_bad.json" if bad else "lat.json"), text.encode()


def _constraints(text: str) -> tuple[str, bytes]:
    return "lat_limit.json", json.dumps({"limits": [{"resource": "lat", "at_most": text}]}).encode()


def test_a_resources_file_applies_to_the_uploaded_pair_in_use(stored_files):
    """Regression: with an uploaded pair in use, an uploaded resources file was ignored."""
    flops, sens = _pair(40)
    names = list(json.loads(flops[1])["layers"])
    at = _upload(_app(), flops, sens)
    _ok(at)
    open_sections(at, sections.CONSTRAINTS, sections.LIMITS)
    at.file_uploader(key="upload_resources").upload(*_latency(names)).run()
    at.file_uploader(key="constraints_upload").upload(*_constraints("0.3r")).run()
    _ok(at)
    assert at.sidebar.dataframe[0].value.values.tolist() == [["lat", "0.3r"]]
    (name,) = [n for n in stored_files if n.startswith("quantization_config_lat0.3r")]
    config = json.loads(stored_files[name])
    table = json.loads(_latency(names)[1])["resources"]["lat"]
    use = math.fsum(table[n][str(q["wbit"])] for n, q in config["quantization_config"].items())
    low = math.fsum(row["4"] for row in table.values())
    high = math.fsum(row["16"] for row in table.values())
    assert use <= low + 0.3 * (high - low) + 1e-9


@pytest.mark.parametrize("source", ["upload", "sd14"])
def test_a_resources_file_that_cannot_be_read_is_refused_by_name(source):
    """Regression: a NaN resources file was ignored with an uploaded pair in use, and stopped
    the whole page with a sample."""
    flops, sens = _pair(40)
    at = _upload(_app(), flops, sens) if source == "upload" else _app()
    names = list(json.loads(flops[1])["layers"]) if source == "upload" else list(SD14)
    before = _drawn_layers(at)
    bad = _latency(names, bad=True)
    open_sections(at, sections.CONSTRAINTS)
    at.file_uploader(key="upload_resources").upload(*bad).run()
    assert not at.exception
    with pytest.raises(mc.InputError) as err:
        mc.load_resources(mc.InputFile(*bad))
    assert str(err.value) == f"lat_bad.json: field 'lat.4', layer '{names[0]}': is NaN"
    assert [_shown(e.value) for e in at.error] == [f"{err.value}. The resources file is not used."]
    assert _drawn_layers(at) == before  # the data in use stays, and the page is drawn
    at.file_uploader(key="upload_resources").clear().run()
    _ok(at)
