"""What reaches the page through AppTest when something goes wrong or is hostile: one short
message for an error, and link parameters, file contents and names as plain text."""

from __future__ import annotations

import json
import re

from app_runs import MAIN, PAGES, no_failure, run_app, upload
from app_views import CODE_SPAN, shown
from streamlit.testing.v1 import AppTest
from support import REPO


def test_an_unexpected_error_becomes_one_short_message_on_every_page(monkeypatch):
    """No exception (with its server paths) reaches the page."""
    import mpq_app.ui.compare
    import mpq_app.ui.page

    def broken(*args, **kwargs):
        raise RuntimeError("/srv/app/secret.py line 12: boom")

    monkeypatch.setattr(mpq_app.ui.page, "solve_spec", broken)
    monkeypatch.setattr(mpq_app.ui.page, "cached_sweep", broken)
    monkeypatch.setattr(mpq_app.ui.compare, "solve_setups", broken)  # cached: above its cache
    for page in PAGES:
        at = run_app()
        if page != MAIN:
            at.switch_page(page).run()
        assert not at.exception, page
        for error in at.error:
            assert "secret" not in error.value and "/srv" not in error.value
        # the Data page solves nothing; Validate solves only when the sample has measurements
        if page not in ("app_pages/4_Data.py", "app_pages/5_Validate.py"):
            assert any("unexpected error (RuntimeError)" in e.value for e in at.error), page


def test_an_error_in_the_budget_fragment_is_the_page_s_error(monkeypatch):
    """The controls and downloads rerun as a fragment; in a whole-page run an error there
    still reaches the page's guard (one short message, no data kept as the fallback)."""
    import mpq_app.ui.export

    def broken(*args, **kwargs):
        raise RuntimeError("/srv/app/secret.py line 12: boom")

    monkeypatch.setattr(mpq_app.ui.export, "downloads", broken)
    at = run_app()
    assert not at.exception
    (error,) = at.error
    assert "unexpected error (RuntimeError)" in error.value
    assert "secret" not in error.value


def test_errors_show_no_details_in_the_browser():
    """Streamlit's own error box must not show tracebacks: "none", not false (= stacktrace)."""
    import tomllib

    config = tomllib.loads((REPO / "mpq_app" / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_a_huge_layer_name_gives_a_short_message():
    name = "layer_" + "x" * 300_000
    flops = ("long_flops.json", json.dumps({"layers": {name: {"macs": 1e9}}}).encode())
    sens = ("long_sens.json", json.dumps({"sensitivity": {"other": 0.5}}).encode())
    at = run_app()
    at.radio(key="source").set_value("upload").run()
    upload(at, flops, sens)
    assert not at.exception
    assert at.error
    for element in [*at.error, *at.info, *at.warning, *at.caption, *at.markdown]:
        assert len(element.value) < 3000, element.value[:200]
    # the name is cut in its middle, with its length: "layer_xxx…xxx (300,009 characters)"
    assert any(
        re.search(r"layer_x+…x+'?:? \(300,0\d\d characters\)", shown(e.value)) for e in at.error
    )


HOSTILE = {
    "link": "[Click to re-login](https://phish.example/login)",
    "image": "![x](http://127.0.0.1:9/track.png)",
}


def _markdown_bodies(at: AppTest) -> list[str]:
    """Every body Streamlit reads as Markdown: texts, captions, alerts, labels, tooltips."""
    bodies = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success"):
        bodies += [el.value for el in at.get(kind)]
    for widget in [*at.button, *at.get("download_button"), *at.multiselect, *at.text_input]:
        bodies += [widget.label, getattr(widget.proto, "help", "")]
    return bodies


def _assert_no_live_markup(at: AppTest) -> None:
    for body in _markdown_bodies(at):
        outside_code = CODE_SPAN.sub("", body)  # code spans are never links
        assert not re.search(r"(?<!\\)\]\(", outside_code), body  # no [text](url), ![x](url)
        assert not re.search(r"://|www\.", outside_code), body  # nothing to autolink


def test_link_parameters_are_shown_as_plain_text():
    """Regression: ?solver=[Click](https://...) rendered a live link in the warning box."""
    at = run_app(
        {
            "solver": HOSTILE["link"],
            "rule": HOSTILE["image"],
            HOSTILE["link"]: "1",
            "pin16": [HOSTILE["image"], "conv_in"],
        }
    )
    assert not at.exception
    _assert_no_live_markup(at)
    warnings = " ".join(shown(w.value) for w in at.warning)
    assert HOSTILE["link"] in warnings and HOSTILE["image"] in warnings
    dropped = " ".join(shown(c.value) for c in at.sidebar.caption)
    assert HOSTILE["image"] in dropped  # the pin name, as typed


def test_file_contents_and_names_are_shown_as_plain_text():
    names = [HOSTILE["link"], '=HYPERLINK("http://x.example")', "conv_*in*"]
    flops = {
        "model": HOSTILE["image"],
        "layers": {name: {"macs": 1e9 * (i + 1)} for i, name in enumerate(names)},
    }
    sens = {
        "metadata": {"synthetic": True, "rule": HOSTILE["link"], "model": HOSTILE["image"]},
        "sensitivity": {name: 0.1 * (i + 1) for i, name in enumerate(names)},
    }
    at = run_app()
    at.radio(key="source").set_value("upload").run()
    upload(
        at,
        ("[f](http://x.example).json", json.dumps(flops).encode()),
        ("![s](http://x.example).json", json.dumps(sens).encode()),
    )
    no_failure(at)
    for page in PAGES:
        at.switch_page(page).run()
        no_failure(at)
        _assert_no_live_markup(at)
    at.switch_page("app_pages/4_Data.py").run()
    text = " ".join(shown(el.value) for kind in ("markdown", "warning") for el in at.get(kind))
    assert HOSTILE["image"] in text and HOSTILE["link"] in text
