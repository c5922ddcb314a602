"""--tie_fused: the sets of layers inference kernels fuse, found by name (hand-written
examples per model family), tied when asked (the Spec, its link and its dict), and solved as
ties: the exact solver and the greedy give each set one width; the SD 1.4 sample's attention
blocks worked through."""

from __future__ import annotations

import pytest

import mpq_core as mc
from mpq_core.model.fused import fused_split, fused_ties


def test_llama_attention_and_mlp():
    names = [f"model.layers.0.self_attn.{p}_proj" for p in "qkvo"] + [
        f"model.layers.0.mlp.{p}_proj" for p in ("gate", "up", "down")
    ]
    assert fused_ties(names) == (
        ("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj",
         "model.layers.0.self_attn.v_proj"),
        ("model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj"),
    )  # fmt: skip


def test_bert_and_mixtral_experts():
    names = ["enc.0.attention.self.value", "enc.0.attention.self.query", "enc.0.attention.self.key",
             "moe.experts.3.w1", "moe.experts.3.w2", "moe.experts.3.w3", "moe.experts.4.w1"]  # fmt: skip
    assert fused_ties(names) == (
        ("enc.0.attention.self.query", "enc.0.attention.self.key", "enc.0.attention.self.value"),
        ("moe.experts.3.w1", "moe.experts.3.w3"),  # expert 4's w3 is not among the names
    )


def test_diffusers_cross_attention_fuses_only_key_and_value():
    names = [f"up.attn{a}.to_{p}" for a in (1, 2) for p in ("q", "k", "v", "out.0")]
    assert fused_ties(names) == (
        ("up.attn1.to_q", "up.attn1.to_k", "up.attn1.to_v"),
        ("up.attn2.to_k", "up.attn2.to_v"),
    )


def test_one_member_or_other_parents_make_no_set():
    assert fused_ties(["a.q_proj", "b.k_proj", "c.gate_proj", "query", "key"]) == (
        ("query", "key"),
    )


def test_a_split_names_the_members_and_their_options():
    names = ["a.q_proj", "a.k_proj", "a.v_proj", "b.gate_proj", "b.up_proj"]
    chosen = dict.fromkeys(names, "int4")
    assert fused_split(names, chosen) is None
    chosen["b.up_proj"] = "fp8"
    assert fused_split(names, chosen) == (("b.gate_proj", "b.up_proj"), ("int4", "fp8"))


def test_the_spec_link_and_dict_carry_it():
    spec = mc.Spec(tie_fused=True)
    assert spec.to_query() == {"tie_fused": ["1"]}
    assert mc.Spec.from_query({"tie_fused": ["1"]}) == (spec, [])
    assert mc.Spec.from_query({"tie_fused": ["yes"]})[1] == [
        "tie_fused: expected 0 or 1, got 'yes'"
    ]
    assert spec.to_dict()["tie_fused"] is True and "tie_fused" not in mc.Spec().to_dict()
    assert mc.Spec.from_dict(spec.to_dict()) == spec
    with pytest.raises(mc.InputError, match="tie_fused: must be true or false, not 'yes'"):
        mc.Spec.from_dict({"tie_fused": "yes"})


@pytest.mark.parametrize("solver", ["greedy", "exact"])
def test_the_sd14_attention_sets_take_one_width(solver):
    spec = mc.Spec(tie_fused=True, solver=solver)
    problem = mc.load_problem(*mc.sample_inputs(), spec=spec)
    sets = fused_ties(problem.names)
    # 16 transformer blocks, each with a self-attention (q, k, v) and a cross-attention (k, v)
    assert len(sets) == 32 and sorted({len(s) for s in sets}) == [2, 3]
    assert len(problem.ties) == 32
    solution = mc.solve(problem, 0.4)
    assert solution.feasible
    width = dict(zip(problem.names, solution.wbits.tolist(), strict=True))
    for tie in sets:
        assert len({width[name] for name in tie}) == 1, tie
    untied = mc.solve(mc.load_problem(*mc.sample_inputs(), spec=mc.Spec(solver=solver)), 0.4)
    assert solution.objective <= untied.objective + 1e-9  # a tie only removes choices
