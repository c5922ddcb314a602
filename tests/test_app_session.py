"""A closed tab stops the long work it started (AppTest, and the check itself)."""

from __future__ import annotations

from types import SimpleNamespace

from app_runs import ENTRY
from streamlit.testing.v1 import AppTest
from support import REPO

import mpq_app.ui.data

GAP_PAGE = "app_pages/3_Greedy_vs_optimal.py"


def test_session_gone_asks_the_runtime_about_this_run(monkeypatch):
    active = {"abc": True}

    class FakeRuntime:
        @staticmethod
        def exists() -> bool:
            return True

        @staticmethod
        def instance():
            return SimpleNamespace(is_active_session=lambda sid: active.get(sid, False))

    monkeypatch.setattr(mpq_app.ui.data, "Runtime", FakeRuntime)
    monkeypatch.setattr(
        mpq_app.ui.data,
        "get_script_run_ctx",
        lambda suppress_warning: SimpleNamespace(session_id="abc"),
    )
    assert mpq_app.ui.data.session_gone() is False
    active["abc"] = False  # the tab closed: its websocket session is no longer active
    assert mpq_app.ui.data.session_gone() is True


def test_outside_a_server_nothing_is_gone():
    assert mpq_app.ui.data.session_gone() is False  # no script run here, no runtime


def _gap_page(monkeypatch, gone) -> AppTest:
    """The main page with a setup no other test uses (a fresh cache key), then the Greedy vs
    optimal page with ``gone`` as the session check."""
    monkeypatch.setattr(mpq_app.ui.data, "session_gone", lambda: False)
    at = AppTest.from_file(str(REPO / ENTRY), default_timeout=60)
    at.query_params["discount"] = "0.37"
    at.run()
    monkeypatch.setattr(mpq_app.ui.data, "session_gone", gone)
    return at.switch_page(GAP_PAGE).run()


def test_a_page_whose_tab_closed_mid_sweep_ends_quietly_and_caches_nothing(monkeypatch):
    """The exact sweep of the Greedy vs optimal page stops at its first check; the page shows
    no error (nobody is there to read it) and the next visitor gets the whole sweep."""
    checks = []

    def gone() -> bool:
        checks.append(1)
        return True

    at = _gap_page(monkeypatch, gone)
    assert checks == [1]
    assert not at.exception and not at.error
    assert "solver_gap" not in {el.key for el in at.get("plotly_chart")}

    at = _gap_page(monkeypatch, lambda: False)
    assert not at.exception and not at.error
    assert "solver_gap" in {el.key for el in at.get("plotly_chart")}
