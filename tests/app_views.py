"""What an AppTest run of a page draws: ``st.plotly_chart`` figures and the live views of the
Budget explorer (``ui.live``), unpacked as the browser unpacks them."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from ui import live

_CARD_VIEWS = (live.CARDS, live.WEIGHTS)


def live_views(at: AppTest) -> dict[str, dict]:
    """What each live view (the Budget explorer's cards and charts) draws while the slider
    stands where the server put it; empty when the page draws no live views."""
    elements = {el.key: el for el in at.get("bidi_component")}
    state = elements.get(f"live_state_{live.BUDGET.name}")
    if state is None:
        return {}
    return {
        key: live.shown(el.proto.bytes, state.proto.bytes)
        for key, el in elements.items()
        if key in (*live.BUDGET_VIEWS, live.GROUPS_CHART)
    }


def app_charts(at: AppTest) -> dict[str, dict]:
    """Every chart of the page as a figure dict: ``st.plotly_chart`` ones and live ones."""
    charts = {el.key: json.loads(el.proto.spec) for el in at.get("plotly_chart")}
    for key, shown in live_views(at).items():
        if key not in _CARD_VIEWS:
            charts[key] = {"data": shown["data"], "layout": shown["layout"]}
    return charts


def app_chart_configs(at: AppTest) -> dict[str, dict]:
    """The config (camera button) of every chart of the page."""
    configs = {el.key: json.loads(el.proto.config) for el in at.get("plotly_chart")}
    configs.update({k: v["config"] for k, v in live_views(at).items() if k not in _CARD_VIEWS})
    return configs


def live_cards(at: AppTest, view: str = live.CARDS) -> list[dict]:
    """The cards (label, value, note, ...) of a live cards view: the headline cards, or
    ``live.WEIGHTS``, the weight cards."""
    return live_views(at).get(view, {}).get("cards", [])


def app_metrics(at: AppTest) -> dict[str, str]:
    """Every card's value by label: ``st.metric`` cards and the live ones."""
    cards = live_cards(at) + live_cards(at, live.WEIGHTS)
    return {m.label: m.value for m in at.metric} | {c["label"]: c["value"] for c in cards}
