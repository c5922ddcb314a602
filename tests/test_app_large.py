"""The Budget explorer on the synthetic 100,000-layer MoE: live views with the heatmap folded
into module kinds x blocks, a block opened, and what is sent for the slider's steps."""

from __future__ import annotations

import pytest
from app_runs import no_failure, run_app
from app_views import live_views

import mpq_core as mc
from mpq_app.ui import live
from mpq_core.charts.module_map import block_detail_spec, module_map_spec

PAYLOAD_LIMIT = 2_000_000  # bytes gzipped of every view's steps of one slider


@pytest.fixture(scope="module")
def large():
    """The page on the large sample, and the engine's own problem of it."""
    at = run_app({"source": "moe_100k"}, timeout=600)
    no_failure(at)
    return at, mc.load_problem(*mc.sample_inputs("moe_100k"))


def _data(at) -> dict[str, bytes]:
    return {el.key: el.proto.bytes for el in at.get("bidi_component")}


def test_every_view_is_live_and_the_heatmap_is_the_engine_s_map_at_the_budget(large):
    at, problem = large
    shown = live_views(at)
    assert {"cards", "heatmap", "distribution", "budget_use", "budget_curve", "slack"} <= set(shown)
    m = at.slider(key="budget").value
    want = module_map_spec(mc.solve_greedy(problem, multiplier=m))
    heatmap = shown["heatmap"]["data"][0]
    assert heatmap["name"] == "cells"
    assert heatmap["z"] == want["data"][0]["z"]
    assert heatmap["text"] == want["data"][0]["text"]
    assert len(live.decode(_data(at)["heatmap"])["grid"]) == 101  # every step of the slider


def test_what_the_views_send_for_the_slider_stays_under_two_megabytes(large):
    at, _ = large
    data = _data(at)
    sizes = {name: len(data[name]) for name in live.live_views_all() if name in data}
    assert sum(sizes.values()) < PAYLOAD_LIMIT, sizes


def test_a_block_opens_and_follows_the_slider(large):
    at, problem = large
    assert live.DETAIL not in _data(at)
    at.selectbox(key=live.DETAIL_KEY).set_value("model.layers.7").run()
    no_failure(at)
    m = at.slider(key="budget").value
    shown = live_views(at)[live.DETAIL]
    want = block_detail_spec(mc.solve_greedy(problem, multiplier=m), "model.layers.7")
    assert shown["data"][0]["z"] == want["data"][0]["z"]
    assert shown["layout"]["title"]["text"] == want["layout"]["title"]["text"]
    at.slider(key="budget").set_value(0.35).run()
    no_failure(at)
    moved = live_views(at)[live.DETAIL]
    want = block_detail_spec(mc.solve_greedy(problem, multiplier=0.35), "model.layers.7")
    assert moved["data"][0]["z"] == want["data"][0]["z"]
