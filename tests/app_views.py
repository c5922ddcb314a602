"""What an AppTest run of a page draws: ``st.plotly_chart`` figures and the live views of the
Budget explorer (``ui.live``), unpacked as the browser unpacks them; what its cards, charts
and texts show."""

from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

import mpq_core as mc
from mpq_app.ui import live

_CARD_VIEWS = (live.CARDS, live.WEIGHTS)


def live_views(at: AppTest) -> dict[str, dict]:
    """What each live view (the Budget explorer's cards and charts) draws while the slider
    stands where the server put it; empty when the page draws no live views."""
    elements = {el.key: el for el in at.get("bidi_component")}
    states = [elements.get(f"live_state_{name}") for name in (live.BUDGET.name, live.LIMIT)]
    state = next((s for s in states if s is not None), None)
    if state is None:
        return {}
    return {
        key: live.shown(el.proto.bytes, state.proto.bytes)
        for key, el in elements.items()
        if key in live.live_views_all()
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


def card_notes(at: AppTest) -> dict[str, tuple[str, str]]:
    """Each card's muted second line (a grey note) and its description."""
    notes = {m.label: (m.delta, m.proto.delta_description) for m in at.metric}
    return notes | {
        c["label"]: (c["note"], c["note_description"])
        for c in live_cards(at) + live_cards(at, live.WEIGHTS)
    }


def card_rows(at: AppTest) -> list[int]:
    """Cards per row of the live headline cards (the page lays them out in rows this long)."""
    cards = live_views(at).get(live.CARDS)
    if not cards:
        return []
    count, size = len(cards["cards"]), cards["per_row"]
    return [min(size, count - start) for start in range(0, count, size)]


def unused_gbops(at: AppTest) -> float:
    """The unused budget (GBOPs) as the budget-use chart draws it."""
    bars = {t["name"]: t for t in app_charts(at)["budget_use"]["data"]}
    return bars["unused"]["x"][0]


def expected_unused(solution: mc.Solution) -> float:
    """The unused budget (GBOPs) the budget-use chart should draw for ``solution``."""
    return (solution.budget - solution.cost) / mc.GIGA


def heatmap_widths(at: AppTest, problem: mc.Problem) -> dict[str, int]:
    """{layer: width} as drawn in the heatmap (option index -> width of the ladder)."""
    heat = app_charts(at)["heatmap"]["data"][0]
    out = {}
    for names, zs in zip(heat["customdata"], heat["z"], strict=True):
        for name, z in zip(names, zs, strict=True):
            if name is not None:
                out[name] = problem.widths[int(z)]
    return out


CODE_SPAN = re.compile(r"(`+)( ?)(.+?)\2\1(?!`)")


def shown(markdown: str) -> str:
    """What a reader sees of a Markdown body whose outside text was made plain (escaped, and
    words that could become links put in code spans)."""
    out, last = [], 0
    for span in CODE_SPAN.finditer(markdown):
        out.append(re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown[last : span.start()]))
        out.append(span.group(3))
        last = span.end()
    out.append(re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown[last:]))
    return "".join(out)


def sidebar_text(at: AppTest) -> str:
    """The sidebar's Markdown texts as a reader sees them."""
    return " ".join(shown(m.value) for m in at.sidebar.markdown)
