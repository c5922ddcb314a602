"""A large model's heatmap: layers folded into (module kind, block) cells, one block opened, and
the synthetic 100,000-layer MoE it is made for."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from factory import make_problem

import mpq_core as mc
from mpq_core.charts.module_map import (
    MAX_LAYER_CELLS,
    block_detail_spec,
    cell_means,
    heatmap_spec,
    module_map_spec,
)
from mpq_core.io.synthetic import moe_files
from mpq_core.model.blocks import module_kind, module_map
from mpq_core.solving.solution import Solution

NAMES = (
    "model.layers.0.self_attn.q_proj",
    "model.layers.0.mlp.experts.0.up_proj",
    "model.layers.0.mlp.experts.1.up_proj",
    "model.layers.1.self_attn.q_proj",
    "model.layers.1.mlp.experts.0.up_proj",
    "model.layers.1.mlp.experts.1.up_proj",
    "model.layers.1.mlp.experts.2.up_proj",
    "lm_head",
)
PARAMS = (100.0, 10.0, 30.0, 100.0, 10.0, 20.0, 70.0, 50.0)


def _problem():
    return make_problem([1e6] * len(NAMES), [1.0] * len(NAMES), names=NAMES, params=PARAMS)


def _at(problem, choice) -> Solution:
    """A feasible solution with this choice (any budget the choice fits)."""
    solution = mc.solve_greedy(problem, multiplier=1.0)
    return Solution(
        problem=problem,
        solver="greedy",
        status="feasible",
        multiplier=1.0,
        budget=solution.budget,
        choice=np.asarray(choice, dtype=np.intp),
        cost=problem.cost_of(np.asarray(choice)),
        objective=problem.objective_of(np.asarray(choice)),
        message="",
        bounds=solution.bounds,
    )


def test_a_kind_is_the_name_in_its_block_with_numbers_as_stars():
    assert module_kind("model.layers.3.mlp.experts.12.down_proj", "model.layers.3") == (
        "mlp.experts.*.down_proj"
    )
    assert module_kind("model.layers.3.self_attn.q_proj", "model.layers.3") == "self_attn.q_proj"
    assert module_kind("lm_head", "lm_head") == "lm_head"


def test_the_map_of_a_small_moe_by_hand():
    grid = module_map(NAMES)
    assert grid.blocks == ("model.layers.0", "model.layers.1", "lm_head")
    assert grid.kinds == ("self_attn.q_proj", "mlp.experts.*.up_proj", "lm_head")
    assert grid.block.tolist() == [0, 0, 0, 1, 1, 1, 1, 2]
    assert grid.kind.tolist() == [0, 1, 1, 0, 1, 1, 1, 2]
    assert grid.position.tolist() == [0, 0, 1, 0, 0, 1, 2, 0]
    assert grid.counts().tolist() == [[1, 1, 0], [2, 3, 0], [0, 0, 1]]


def test_cell_means_are_parameter_weighted_bits_by_hand():
    problem = _problem()  # ladder 4/8/16
    solution = _at(problem, [2, 0, 1, 1, 0, 0, 2, 1])
    means = cell_means(solution)
    # layers.0 experts: (10 x 4 + 30 x 8) / 40 = 7; layers.1 experts: (10x4 + 20x4 + 70x16) / 100
    want = [[16.0, 8.0, None], [7.0, 12.4, None], [None, None, 8.0]]
    got = [[None if math.isnan(v) else v for v in row] for row in means.tolist()]
    for row, wanted in zip(got, want, strict=True):
        assert row == pytest.approx(wanted)


def test_the_map_s_cells_hover_and_mix_match_a_count_by_hand():
    problem = _problem()
    solution = _at(problem, [2, 0, 1, 1, 0, 0, 2, 1])
    spec = module_map_spec(solution)
    (trace,) = spec["data"]
    assert trace["y"] == ["self_attn.q_proj", "mlp.experts.*.up_proj", "lm_head"]
    assert trace["z"][1] == [7.0, 12.4, None]
    # layers at 4/8/16 bits, per cell
    assert trace["text"][1] == ["1/1/0", "2/0/1", "0/0/0"]
    assert trace["customdata"][1][1] == ["model.layers.1", "mlp.experts.*.up_proj", 3]
    assert spec["layout"]["xaxis"]["ticktext"] == ["0", "1", "lm_head"]
    assert spec["layout"]["xaxis"]["title"]["text"] == "block (model.layers.N)"


def test_an_infeasible_map_keeps_its_frame_and_says_why():
    problem = _problem()
    solution = mc.solve_greedy(problem, multiplier=0.01)
    assert not solution.feasible
    spec = module_map_spec(solution)
    assert all(v is None for row in spec["data"][0]["z"] for v in row)
    (notice,) = spec["layout"]["annotations"]
    assert "Infeasible budget" in notice["text"]


def test_a_block_opened_shows_each_of_its_layers_once_with_its_option():
    problem = _problem()
    solution = _at(problem, [2, 0, 1, 1, 0, 0, 2, 1])
    spec = block_detail_spec(solution, "model.layers.1")
    trace = spec["data"][0]
    cells = {
        name: (z, text)
        for zs, names, texts in zip(trace["z"], trace["customdata"], trace["text"], strict=True)
        for z, name, text in zip(zs, names, texts, strict=True)
        if name is not None
    }
    assert cells == {
        "model.layers.1.self_attn.q_proj": (1, "8-bit"),
        "model.layers.1.mlp.experts.0.up_proj": (0, "4-bit"),
        "model.layers.1.mlp.experts.1.up_proj": (0, "4-bit"),
        "model.layers.1.mlp.experts.2.up_proj": (2, "16-bit"),
    }
    assert spec["layout"]["title"]["text"].startswith("Block model.layers.1: 4 layers")
    with pytest.raises(ValueError, match=re.escape("no block 'model.layers.9'")):
        block_detail_spec(solution, "model.layers.9")


def _layers(n: int):
    names = [f"model.layers.{i // 10}.mlp.experts.{i % 10}.down_proj" for i in range(n)]
    return make_problem([1e6] * n, [1.0 + i % 7 for i in range(n)], names=names, params=[64] * n)


def test_the_heatmap_folds_the_layers_only_above_the_layer_cells():
    small = mc.solve_greedy(_layers(MAX_LAYER_CELLS), multiplier=0.5)
    large = mc.solve_greedy(_layers(MAX_LAYER_CELLS + 1), multiplier=0.5)
    assert heatmap_spec(small)["data"][0]["name"] == "layers"
    assert heatmap_spec(large)["data"][0]["name"] == "cells"
    assert heatmap_spec(large)["data"][0]["y"] == ["mlp.experts.*.down_proj"]


def test_the_synthetic_moe_has_100_000_distinct_layers_and_is_made_the_same_twice():
    flops, sens = moe_files()
    assert moe_files() == (flops, sens)
    problem = mc.load_problem(flops, sens)
    assert problem.n_layers == 100_000
    assert len(set(problem.names)) == 100_000
    grid = problem.module_map()
    assert len(grid.blocks) == 100
    assert grid.kinds[:4] == ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                              "self_attn.o_proj")  # fmt: skip
    assert grid.counts()[4:].tolist() == [[332] * 100] * 3  # every expert of one projection
