"""``mpq app FLOPS SENSITIVITY``: the dashboard opens on the given pair (as if uploaded, without
the upload's layer cap), a link's own data source still comes first, and a given file broken
after the start is an error naming it, with the bundled sample shown instead."""

from __future__ import annotations

import json
import shutil

import pytest
from app_runs import no_failure, run_app
from app_views import shown
from support import REPO

from mpq_app import FILES_ENV

MINILM = REPO / "sample_data" / "minilm_l6"


@pytest.fixture
def given(tmp_path, monkeypatch):
    """The MiniLM sample's files copied to tmp_path and named as ``mpq app`` names them."""
    paths = []
    for name in ("flops_analysis.json", "sensitivity_mse.json"):
        shutil.copy(MINILM / name, tmp_path / name)
        paths.append(str(tmp_path / name))
    monkeypatch.setenv(FILES_ENV, json.dumps(paths))
    return paths


def _in_use(at) -> list[str]:
    return [shown(m.value) for m in at.sidebar.markdown if m.value.startswith("Using ")]


def test_the_app_opens_on_the_given_files(given, monkeypatch):
    import mpq_app.ui.data

    monkeypatch.setattr(mpq_app.ui.data, "MAX_UPLOAD_LAYERS", 10)  # MiniLM has more layers
    at = run_app()
    no_failure(at)
    assert at.sidebar.radio(key="source").value == "upload"
    assert _in_use(at) == ["Using flops_analysis.json + sensitivity_mse.json (given to mpq app)"]
    assert shown(at.caption[0].value).startswith(
        "flops_analysis.json + sensitivity_mse.json (given to mpq app) · 42 layers · per-bit"
    )
    # Replace: the uploaders, with the given pair in use meanwhile
    at.sidebar.button(key="upload_replace").click().run()
    no_failure(at)
    keep = shown(at.sidebar.button(key="upload_keep").label)
    assert keep == "Keep using flops_analysis.json + sensitivity_mse.json (given to mpq app)"


def test_a_link_s_data_source_comes_first(given):
    at = run_app({"source": "sd14"})
    no_failure(at)
    assert at.sidebar.radio(key="source").value == "sd14"
    assert not _in_use(at)


def test_a_given_file_broken_after_the_start_is_named(given, tmp_path):
    (tmp_path / "sensitivity_mse.json").write_text('{"layers": [')
    at = run_app()
    assert not at.exception
    (error,) = at.error
    expected = "sensitivity_mse.json: not JSON: Expecting value at line 1 column 13"
    assert shown(error.value) == expected
    texts = [shown(e.value) for e in (*at.warning, *at.info, *at.caption, *at.markdown)]
    assert any("Still showing Stable Diffusion 1.4 UNet" in text for text in texts), texts
