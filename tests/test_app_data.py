"""The data in use through AppTest: an uploaded pair, a rejected one, and the data a page
falls back on."""

from __future__ import annotations

import json

import pytest
from app_runs import PAGES, load_sample, no_failure, open_sections, run_app, small_pair, upload
from app_views import app_metrics, heatmap_widths, shown, sidebar_text

import mpq_core as mc
from mpq_app.ui import live, sections


def test_bad_upload_shows_the_loader_message_and_keeps_the_previous_data():
    flops, sens, small = small_pair()
    at = run_app()
    at.radio(key="source").set_value("upload").run()
    upload(at, flops, sens)
    no_failure(at)
    assert sorted(heatmap_widths(at, small)) == sorted(small.names)

    at.slider(key="budget").set_value(0.4).run()  # the accepted pair is named, not re-asked
    assert "Using small_flops.json + small_sens.json (uploaded)" in sidebar_text(at)
    at.button(key="upload_replace").click().run()
    bad = ("bad_sens.json", b'{"sensitivity": {"conv_in": "high"}}')
    upload(at, flops, bad)
    with pytest.raises(mc.InputError) as err:
        mc.load_inputs(mc.InputFile(*flops), mc.InputFile(*bad))
    assert not at.exception
    assert [shown(e.value) for e in at.error] == [str(err.value)]
    assert "bad_sens.json" in str(err.value)
    # the previous (good) upload is still what the page shows
    assert sorted(heatmap_widths(at, small)) == sorted(small.names)
    expected = mc.solve(small, 0.4)
    assert app_metrics(at)["Final cost"] == f"{expected.cost / mc.GIGA:,.1f} GBOPs"
    # removing the rejected file leaves the previous upload in use, without an error
    at.file_uploader(key="upload_sensitivity").clear().run()
    no_failure(at)
    assert sorted(heatmap_widths(at, small)) == sorted(small.names)
    at.button(key="upload_keep").click().run()
    assert "Using small_flops.json + small_sens.json (uploaded)" in sidebar_text(at)


def test_uploaded_files_stay_named_after_a_page_switch():
    """Regression: every other page showed empty uploaders and "Upload both files to use
    them" while the uploaded data was still in use."""
    flops, sens, small = small_pair()
    at = run_app()
    at.radio(key="source").set_value("upload").run()
    upload(at, flops, sens)
    for page in list(PAGES)[1:]:
        at.switch_page(page).run()
        no_failure(at)
        assert "Using small_flops.json + small_sens.json (uploaded)" in sidebar_text(at)
        uploaders = {u.key for u in at.sidebar.get("file_uploader")}
        assert not uploaders & {"upload_flops", "upload_sensitivity"}
        assert not any("Upload" in shown(i.value) for i in at.info)
        assert at.button(key="upload_replace").label == "Replace"
    at.switch_page("app_pages/2_Layers.py").run()
    assert sorted(at.main.dataframe[0].value["layer"]) == sorted(small.names)


def test_a_reloaded_upload_link_says_uploads_are_not_kept():
    """Regression: after a reload the URL said source=upload but the sample was shown."""
    at = run_app({"source": "upload"})
    no_failure(at)
    (info,) = at.info
    text = shown(info.value)
    assert "not kept across page reloads" in text
    assert f"Until then the app shows {mc.SAMPLES['sd14'].title}." in text
    data = [u for u in at.sidebar.get("file_uploader") if u.key.startswith("upload_")]
    assert {u.key for u in data} == {"upload_flops", "upload_sensitivity"}
    open_sections(at, sections.CONSTRAINTS)  # the formats and resources files' uploaders
    data = [u for u in at.sidebar.get("file_uploader") if u.key.startswith("upload_")]
    assert {u.key for u in data} == {
        "upload_flops",
        "upload_sensitivity",
        "upload_formats",
        "upload_resources",
    }
    assert sorted(heatmap_widths(at, load_sample())) == sorted(load_sample().names)


def test_a_pair_that_parses_but_builds_no_problem_is_rejected_and_read_once(monkeypatch):
    """Regression: a file that parsed but failed later became the "previous data" (a sticky
    crash), and a rejected upload was parsed again on every rerun."""
    import mpq_app.ui.data

    reads: list[str] = []
    original = mpq_app.ui.data.load_inputs

    def counting(*files, **kwargs):
        reads.append(files[1].name)
        return original(*files, **kwargs)

    monkeypatch.setattr(mpq_app.ui.data, "load_inputs", counting)
    flops = ("two_flops.json", json.dumps({"layers": {"a": {"macs": 1e9}, "b": {"macs": 2e9}}}))
    # per-bit losses where layer b lacks width 4: parses, but no problem can be built
    ragged = {"a": {"4": 0.5, "8": 0.1, "16": 0.0}, "b": {"8": 0.2, "16": 0.0}}
    sens = ("ragged_sens.json", json.dumps({"sensitivity": ragged}))
    at = run_app()
    at.radio(key="source").set_value("upload").run()
    upload(at, (flops[0], flops[1].encode()), (sens[0], sens[1].encode()))
    assert not at.exception
    assert any("per-bit table has no width 4" in shown(e.value) for e in at.error)
    assert sorted(heatmap_widths(at, load_sample())) == sorted(load_sample().names)  # the sample
    for m in (0.3, 0.6, 0.7):  # reruns with the rejected pair still in the uploaders
        at.slider(key="budget").set_value(m).run()
        assert any("per-bit table has no width 4" in shown(e.value) for e in at.error)
    assert reads.count("ragged_sens.json") == 1
    # removing it: the sample again, no error (the rejected pair never became "previous")
    at.file_uploader(key="upload_sensitivity").clear().run()
    no_failure(at)
    assert sorted(heatmap_widths(at, load_sample())) == sorted(load_sample().names)


def test_data_that_breaks_a_page_does_not_become_the_data_to_fall_back_on(monkeypatch):
    import mpq_core.charts.live

    original = mpq_core.charts.live.heatmap_spec  # what the Budget explorer draws with

    def fails_on_small(solution, *args, **kwargs):
        if solution.problem.n_layers == 40:
            raise OverflowError("/srv/secret/path: cannot draw")
        return original(solution, *args, **kwargs)

    monkeypatch.setattr(mpq_core.charts.live, "heatmap_spec", fails_on_small)
    live.live_tables_cache_clear()  # the live views of this pair are drawn again
    flops, sens, _ = small_pair()
    at = run_app()
    at.radio(key="source").set_value("upload").run()
    upload(at, flops, sens)
    assert not at.exception
    (error,) = at.error
    assert "unexpected error (OverflowError)" in error.value
    assert "secret" not in error.value and "/srv" not in error.value
    at.file_uploader(key="upload_flops").clear().run()
    no_failure(at)  # back on the sample, not stuck on the pair that broke the page
    assert sorted(heatmap_widths(at, load_sample())) == sorted(load_sample().names)
