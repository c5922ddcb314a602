"""``mpq app`` from the installed wheel (a fresh venv, run outside the repository) serves the
dashboard on a loopback port, and Chromium draws the Budget explorer's charts on the bundled
sample."""

from __future__ import annotations

import os

import pytest
from browser_page import ERRORS, IDLE, SCREENSHOTS, WAIT_MS, Page, expect

from benchmarks.local_app import AppNotStarted, running_app

PLOTS = ".js-plotly-plot .main-svg"


@pytest.fixture(scope="module")
def installed_app_url(installed_wheel, tmp_path_factory):
    """``mpq app --port N`` run by the wheel's console script in a directory of its own."""
    log = tmp_path_factory.mktemp("installed_app") / "mpq-app.log"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MPQ_APP_FILES")}

    def command(port: int) -> list[str]:
        return [str(installed_wheel.mpq), "app", "--port", str(port)]

    try:
        with running_app(log, command=command, cwd=installed_wheel.elsewhere, env=env) as url:
            yield url
    except AppNotStarted as err:
        pytest.fail(str(err))


def test_mpq_app_from_the_wheel_draws_the_explorer(page: Page, installed_app_url):
    page.goto(installed_app_url)
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
        arg=5,
        timeout=WAIT_MS,
    )
    expect(page.locator(IDLE)).to_have_count(1)
    expect(page.get_by_role("heading", name="Budget explorer")).to_be_visible()
    assert page.locator(PLOTS).count() >= 5
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "installed_app_explorer.png"), full_page=False)
