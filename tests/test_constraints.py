"""Limits, groups, ties and scores: hand-solved instances (solutions in the comments), the
three ways of writing a limit, and the constraints and resources files with their messages."""

from __future__ import annotations

import itertools
import math

import pytest
from factory import make_problem

import mpq_core as mc
from mpq_core import InputError, Limit
from mpq_core.io.resources import parse_resources
from mpq_core.model.constraints import Constraints, Group, limit_value, parse_constraints
from mpq_core.model.spec import Spec

SOLVERS = ("greedy", "exact")
_KEYWORD = {"greedy": mc.solve_greedy, "exact": mc.solve_exact}  # budget= form


def spec(**constraints) -> Spec:
    return Spec(constraints=Constraints(**constraints))


# Layers a, b: MACs 1 each, ladder 4/8, plus4 -> costs 32 / 96 each (all-8 cost 192).
# params a 100, b 300; scalar scores a 1, b 2 (a 4->8 step gains its score).
#   a8 b4: mean (800 + 1200) / 400 = 5.0 ; a4 b8: (400 + 2400) / 400 = 7.0 ; both 8: 8.0
# With bops <= 1.0x (everything fits) and mean_wbits <= 5: the optimum is a8 b4, objective 1;
# b's upgrade fits the BOPs limit but not the mean: the mean binds, BOPs does not.
def two_layer(**kw):
    return make_problem([1, 1], [1.0, 2.0], names=["a", "b"], params=[100, 300], bits=[4, 8], **kw)


@pytest.mark.parametrize("solver", SOLVERS)
def test_two_limits_where_the_second_binds(solver):
    p = two_layer()
    s = mc.solve(p, solver=solver, limits=[Limit("bops", "1x"), Limit("mean_wbits", "5")])
    assert s.wbits.tolist() == [8, 4]
    assert s.objective == 1.0
    bops, mean = s.limit_uses
    assert (bops.binds, mean.binds) == (False, True)
    assert mean.use == 5.0 and mean.cap == 5.0 and mean.unit == "bits"
    assert bops.use == pytest.approx(128 / 1e9) and bops.cap == pytest.approx(192 / 1e9)
    assert s.param_mean_wbits() == 5.0


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_group_limit_counts_only_its_group(solver):
    # group "heavy" = b only; mean_wbits@heavy <= 4 keeps b at 4; a is free: a8, objective 1
    p = two_layer(spec=None) if False else make_problem(
        [1, 1], [1.0, 2.0], names=["a", "b"], params=[100, 300], bits=[4, 8],
        spec=Spec(ladder=(4, 8), constraints=Constraints(groups=(Group("heavy", ("b",)),))),
    )  # fmt: skip
    s = mc.solve(p, solver=solver, limits=[Limit("mean_wbits", "4", "heavy")])
    assert s.wbits.tolist() == [8, 4]
    assert s.objective == 1.0
    assert s.param_mean_wbits("heavy") == 4.0
    assert s.param_mean_wbits() == 5.0  # overall: (800 + 1200) / 400


# Three layers, ladder 4/8, plus4. a, b: MACs 1 (32 -> 96, +64), score 1; c: MACs 2
# (64 -> 192, +128), score 1.5. Minimum cost 128; budget 256 leaves room 128.
# Without a tie: a and b go to 8 (+128, gain 2). Tie a = c: a and c together cost +192,
# which does not fit, so a = c = 4 and only b goes to 8: objective 1.
@pytest.mark.parametrize("solver", SOLVERS)
def test_a_tie_changes_the_optimum(solver):
    free = make_problem([1, 1, 2], [1.0, 1.0, 1.5], names=["a", "b", "c"], bits=[4, 8])
    assert _KEYWORD[solver](free, budget=256.0).objective == 2.0
    tied = make_problem(
        [1, 1, 2], [1.0, 1.0, 1.5], names=["a", "b", "c"],
        spec=Spec(ladder=(4, 8), constraints=Constraints(ties=(("a", "c"),))),
    )  # fmt: skip
    s = _KEYWORD[solver](tied, budget=256.0)
    assert s.wbits.tolist() == [4, 8, 4]
    assert s.objective == 1.0
    # room 192: the tie alone fits (gain 2.5). The greedy takes b first (1/64 beats the tie's
    # 2.5/192), after which the tie no longer fits: objective 1. The exact solver finds 2.5.
    bigger = _KEYWORD[solver](tied, budget=320.0)
    want = ([8, 4, 8], 2.5) if solver == "exact" else ([4, 8, 4], 1.0)
    assert (bigger.wbits.tolist(), bigger.objective) == want


# Scores (higher is better): a {4: 10, 8: 30}, b {4: 5, 8: 40}: gains a 20, b 35.
# MACs 1 each: one 4->8 step fits a budget of 64 + 64 = 128 + room 64: b is chosen, 35.
@pytest.mark.parametrize("solver", SOLVERS)
def test_a_score_file_maximises_the_gain_over_the_lowest_width(solver):
    sens = [{"4": 10, "8": 30}, {"4": 5, "8": 40}]
    p = make_problem([1, 1], sens, names=["a", "b"], higher_is_better=True)
    assert p.sense == "score"
    assert p.values.tolist() == [[0.0, 20.0], [0.0, 35.0]]
    s = _KEYWORD[solver](p, budget=128.0)
    assert s.wbits.tolist() == [4, 8] and s.objective == 35.0
    # the same numbers read as losses: upgrading loses (30 > 10): the exact solver keeps 4 bits
    as_loss = make_problem(
        [1, 1], sens, names=["a", "b"], higher_is_better=True, spec=Spec(sense="loss")
    )
    assert as_loss.values.tolist() == [[0.0, -20.0], [0.0, -35.0]]
    assert mc.solve_exact(as_loss, budget=128.0).wbits.tolist() == [4, 4]


# Latency table: a {4: 1, 8: 3}, b {4: 2, 8: 2.5}. Cheapest 3, dearest 5.5:
# 0.5r = 3 + 0.5 x 2.5 = 4.25. a8 b4 = 5 (over), a4 b8 = 3.5 (fits), both 8 = 5.5 (over).
# Scores 1 and 1: the optimum is b at 8, objective 1.
@pytest.mark.parametrize("solver", SOLVERS)
def test_an_r_limit_on_a_table_resource(solver):
    p = make_problem(
        [1, 1], [1.0, 1.0], names=["a", "b"], bits=[4, 8],
        resources={"latency_ms": [{4: 1, 8: 3}, {4: 2, 8: 2.5}]},
    )  # fmt: skip
    (bound,) = mc.resolve_limits(p, [Limit("latency_ms", "0.5r")])
    assert (bound.low, bound.high, bound.cap) == (3.0, 5.5, 4.25)
    s = mc.solve(p, solver=solver, limits=[Limit("latency_ms", "0.5r")])
    assert s.wbits.tolist() == [4, 8] and s.objective == 1.0


def test_limit_forms_resolve_exactly():
    p = two_layer()
    x, r, absolute = mc.resolve_limits(
        p, [Limit("bops", "0.25x"), Limit("wbits", "0.5r"), Limit("bops", "1e-7")]
    )
    assert x.cap == 0.25 * 192  # times the all-top-width BOPs
    assert r.cap == 1600 + 0.5 * (3200 - 1600)  # params x width: 400 x 4 .. 400 x 8 bits
    assert absolute.cap == 100.0  # 1e-7 GBOPs
    assert x.shown_cap == 48 / 1e9 and x.unit == "GBOPs"


@pytest.mark.parametrize(
    ("first", "others"),
    [
        (Limit("bops", "0.25x"), ["0.5x", "1x", "0x", "1e-7", "0.3r"]),
        (Limit("mean_wbits", "5"), ["6.5", "0.5x", "0.25r", "8"]),
        (Limit("mean_wbits", "5", "big"), ["7", "0.5r"]),
        (Limit("latency_ms", "0.5r"), ["0.1r", "1r", "4", "0.9x"]),
    ],
)
def test_a_resolver_sets_only_the_cap_of_a_further_number(first, others):
    """A sweep resolves a resource and group once: every further number of it gives the bound
    resolve_limit gives, field by field."""
    p = make_problem(
        [1, 1], [1.0, 1.0], names=["a", "b"], params=[100, 300],
        resources={"latency_ms": [{4: 1, 8: 3}, {4: 2, 8: 2.5}]},
        spec=Spec(ladder=(4, 8), constraints=Constraints(groups=(Group("big", ("b",)),))),
    )  # fmt: skip
    resolve = mc.LimitResolver(p)
    for limit in [first, *(Limit(first.resource, at, first.group) for at in others)]:
        (direct,) = mc.resolve_limits(p, [limit])
        reused = resolve(limit)
        assert reused is resolve(limit)
        for name in ("cap", "threshold", "scale", "unit", "low", "high", "top"):
            assert getattr(reused, name) == getattr(direct, name), (limit, name)
        assert reused.limit == limit and reused.values is resolve(first).values
    with pytest.raises(ValueError, match="is not a limit on"):
        resolve(first).with_limit(Limit("wbits", "0.5x"))


def test_one_limit_at_one_r_admits_the_dearest_allocation():
    # r = 1 must be exactly the dearest use, whatever rounding low + 1 x (high - low) does
    p = make_problem([0.1, 0.2], [1.0, 1.0], bits=[4, 8],
                     resources={"t": [{4: 0.1, 8: 0.7}, {4: 0.2, 8: 0.3}]})  # fmt: skip
    (bound,) = mc.resolve_limits(p, [Limit("t", "1r")])
    assert bound.cap == math.fsum([0.7, 0.3])
    assert mc.solve_exact(p, limits=[bound]).wbits.tolist() == [8, 8]


def test_conflicting_limits_are_a_result_naming_them():
    # a table where 8 bits is faster than 4: "latency <= cheapest" wants 8, "mean <= 4" wants 4
    p = make_problem(
        [1, 1], [1.0, 1.0], names=["a", "b"], params=[1, 1], bits=[4, 8],
        resources={"lat": [{4: 2, 8: 1}, {4: 2, 8: 1}]},
    )  # fmt: skip
    s = mc.solve(p, solver="exact", limits=[Limit("lat", "0r"), Limit("mean_wbits", "4")])
    assert s.status == "infeasible"
    assert s.message == (
        "the limits lat <= 0r and mean_wbits <= 4 conflict: no allocation meets them all"
    )
    g = mc.solve(p, solver="greedy", limits=[Limit("lat", "0r"), Limit("mean_wbits", "4")])
    assert g.status == "unknown" and "the exact solver tells" in g.message


def test_a_limit_alone_out_of_reach_is_infeasible_with_the_need():
    p = two_layer()
    s = mc.solve(p, solver="greedy", limits=[Limit("mean_wbits", "3")])
    assert s.status == "infeasible"
    assert s.message == (
        "mean_wbits <= 3 cannot be met: with every layer at its least use it is 4 bits "
        "against a limit of 3 bits"
    )


# --- what a user writes, and what is refused -------------------------------------------------


@pytest.mark.parametrize(
    "written, normal",
    [(0.5, "0.5"), ("0.5x", "0.5x"), (" 0.3 X ", "0.3x"), ("0.25r", "0.25r"), ("4.08", "4.08"),
     (4, "4"), ("1e3", "1000")],
)  # fmt: skip
def test_limit_values_accepted(written, normal):
    assert limit_value(written, "f", "v") == normal


@pytest.mark.parametrize(
    "written, message",
    [
        ("half", "f: field 'v': expected a number, a number with x (times the all-top-width value) or with r (from cheapest to dearest), got 'half'"),
        (-1, "f: field 'v': must be a finite number >= 0, got -1"),
        (True, "f: field 'v': not a limit value (True)"),
        ("1e400x", "f: field 'v': is too large ('1e400x')"),
    ],
)  # fmt: skip
def test_limit_values_refused(written, message):
    with pytest.raises(InputError) as err:
        limit_value(written, "f", "v")
    assert str(err.value) == message


def test_constraints_file_round_trip():
    data = {
        "groups": {"content": ["*.attn2.*", "*.ff.*"], "quality": ["*"]},
        "ties": [["layer1.0.conv1", "layer1.0.downsample"]],
        "limits": [
            {"resource": "bops", "at_most": "0.5x"},
            {"resource": "mean_wbits", "group": "quality", "at_most": 5.73},
            {"resource": "latency_ms", "at_most": "0.5r"},
        ],
    }
    parsed = parse_constraints(data, "c.json")
    assert parsed.limits[1] == Limit("mean_wbits", "5.73", "quality")
    assert parse_constraints(parsed.to_dict(), "again") == parsed


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "c.json: expected a JSON object with 'groups', 'ties' and/or 'limits'"),
        ({"limit": []}, "c.json: field 'limit': unknown key (expected groups, ties, limits, search_spaces, metadata): 'limit'"),
        ({"limits": [{"resource": "bops"}]}, "c.json: field 'limits[0].at_most': missing (give at_most, at_least or both)"),
        ({"limits": [{"resource": "bops", "at_most": "x"}]}, "c.json: field 'limits[0].at_most': expected a number, a number with x (times the all-top-width value) or with r (from cheapest to dearest), got 'x'"),
        ({"limits": [{"resource": "bo ps", "at_most": 1}]}, "c.json: field 'limits[0].resource': not a valid name ('bo ps'): letters, digits, _ . - (at most 64)"),
        ({"ties": [["a"]]}, "c.json: field 'ties[0]': a tie needs a list of two or more layer names"),
        ({"groups": {"g": []}}, "c.json: field 'groups.g': must be a non-empty list of names or patterns"),
    ],
)  # fmt: skip
def test_constraints_file_rejections(data, message):
    with pytest.raises(InputError) as err:
        parse_constraints(data, "c.json")
    assert str(err.value) == message


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"limits": [Limit("speed", "1")]}, "limits: unknown resource 'speed' (known: bops, wbits, mean_wbits; others come from a resources file)"),
        ({"limits": [Limit("bops", "1", "nope")]}, "limits: unknown group 'nope' (groups: none defined)"),
    ],
)  # fmt: skip
def test_limits_on_unknown_names(kwargs, message):
    with pytest.raises(InputError) as err:
        mc.resolve_limits(two_layer(), kwargs["limits"])
    assert str(err.value) == message


def test_wbits_without_params_names_the_layer():
    p = make_problem([1, 1], [1.0, 1.0], names=["a", "b"])
    with pytest.raises(InputError) as err:
        mc.resolve_limits(p, [Limit("wbits", "0.5x")])
    assert str(err.value) == (
        "f.json: field 'params', layer 'a': missing; a limit on wbits needs the parameter "
        "count of every layer (2 layer(s) lack it)"
    )


@pytest.mark.parametrize(
    "groups, message",
    [
        ((Group("g", ("zz*",)),), "constraints: field 'groups.g': group catches no layer: its patterns match no layer of the loaded files"),
        ((Group("all", ("*",)), Group("late", ("b",))), "constraints: field 'groups.late': group catches no layer: every layer it matches belongs to an earlier group"),
    ],
)  # fmt: skip
def test_groups_that_catch_nothing(groups, message):
    with pytest.raises(InputError) as err:
        make_problem([1, 1], [1.0, 1.0], names=["a", "b"], spec=spec(groups=groups))
    assert str(err.value) == message


def test_first_matching_group_wins():
    p = make_problem(
        [1, 1, 1], [1.0] * 3, names=["x.attn2.q", "x.ff.net", "y.conv"],
        spec=spec(groups=(Group("content", ("*.attn2.*", "*.ff.*")), Group("quality", ("*",)))),
    )  # fmt: skip
    assert [g.members.tolist() for g in p.groups] == [[0, 1], [2]]
    assert p.group_of().tolist() == ["content", "content", "quality"]


def test_ties_are_checked():
    with pytest.raises(InputError) as err:
        make_problem(
            [1, 1], [1.0, 1.0], names=["conv_in", "b"], spec=spec(ties=(("conv_inn", "b"),))
        )
    assert str(err.value) == (
        "ties: field 'ties[0]', layer 'conv_inn': no such layer in the loaded files "
        "(did you mean 'conv_in'?)"
    )
    pinned = Spec(pins=(("a", (4,)), ("b", (8,))), constraints=Constraints(ties=(("a", "b"),)))
    with pytest.raises(InputError) as err:
        make_problem([1, 1], [1.0, 1.0], names=["a", "b"], spec=pinned)
    assert str(err.value) == "ties: layer 'a': the tied layers share no allowed width: a (4), b (8)"


def test_ties_sharing_a_layer_merge():
    p = make_problem(
        [1] * 4, [1.0] * 4, names=list("abcd"), spec=spec(ties=(("a", "b"), ("b", "c")))
    )
    assert [t.tolist() for t in p.ties] == [[0, 1, 2]]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"resources": {"bops": {"a": {"4": 1}}}}, "r.json: field 'resources.bops': 'bops' is computed from the Phase 1 file; name this resource otherwise"),
        ({"resources": {"lat": {"a": {"4": -1}}}}, "r.json: field 'lat.4', layer 'a': is negative (-1)"),
        ({"resources": {"lat": {"a": {"04": 1, "4": 2}}}}, "r.json: field 'lat', layer 'a': width 4 given twice ('4')"),
        ({"resources": {"lat": {"a": {"4 bits": 1}}}}, "r.json: field 'lat', layer 'a': key '4 bits' is neither a width (a whole number from 1 to 64) nor a format name"),
        ({"resources": {"lat": {"a": {"99": 1}}}}, "r.json: field 'lat', layer 'a': key '99' is neither a width (a whole number from 1 to 64) nor a format name"),
        ({"resources": []}, "r.json: field 'resources': must map resource names to per-layer tables"),
    ],
)  # fmt: skip
def test_resources_file_rejections(data, message):
    with pytest.raises(InputError) as err:
        parse_resources(data, "r.json")
    assert str(err.value) == message


def test_resources_must_cover_every_layer_and_width():
    p = make_problem([1, 1], [1.0, 1.0], names=["a", "b"], bits=[4, 8],
                     resources={"lat": [{4: 1, 8: 2}, {4: 1}]})  # fmt: skip
    with pytest.raises(InputError) as err:
        mc.resolve_limits(p, [Limit("lat", "1")])
    assert str(err.value) == (
        "r.json: field 'lat', layer 'b': no value for width 8 (the ladder is 4/8; this layer "
        "gives 4)"
    )


def test_spec_round_trip():
    s = Spec(
        ladder=(2, 4, 8),
        abit_rule="match",
        pins=(("a", (8,)),),
        sense="score",
        constraints=parse_constraints(
            {
                "groups": {"g": ["a*"]},
                "ties": [["a", "b"]],
                "limits": [{"resource": "mean_wbits", "group": "g", "at_most": "4.08"}],
            },
            "c",
        ),
        solver="exact",
        time_limit=5,
    )
    assert Spec.from_dict(s.to_dict()) == s
    assert s.limits == (Limit("mean_wbits", "4.08", "g"),)
    assert Spec().limits == (Limit("bops", "0.5x"),) and Spec().multiplier == 0.5


# --- the spec in a URL -------------------------------------------------------------------------


def test_spec_url_round_trip():
    s = Spec(
        ladder=(2, 4, 8),
        abit_rule="match",
        upgrade_discount=0.35,
        pins=(("conv_in", (16,)), ("conv_out", (8, 16))),
        sense="score",
        constraints=Constraints(
            groups=(Group("content", ("*.attn2.*", "*.ff.*")), Group("quality", ("*",))),
            ties=(("a", "b", "c"),),
            limits=(Limit("bops", "0.3x"), Limit("mean_wbits", "4.08", "quality")),
        ),
        solver="exact",
    )
    query = mc.spec_to_query(s)
    assert query["budget"] == ["0.3"]
    assert query["limit"] == ["mean_wbits@quality<=4.08"]
    assert query["group"] == ["content:*.attn2.*|*.ff.*", "quality:*"]
    again, notes = mc.spec_from_query(query)
    assert notes == [] and again == s
    assert mc.spec_to_query(Spec()) == {}  # the default budget is implicit


@pytest.mark.parametrize(
    "params, note",
    [
        ({"solver": ["[Click](https://x)"]}, "solver: '[Click](https://x)' is not one of greedy, exact"),
        ({"budget": ["1.5"]}, "budget: must be a number from 0 to 1, got '1.5'"),
        ({"ladder": [",".join(str(i) for i in range(1, 65))]}, "ladder: expected at most 12 whole numbers from 1 to 64, got '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22..."),
        ({"limit": ["speed"]}, "limit: expected RESOURCE[@GROUP]<=VALUE or >=VALUE (like mean_wbits<=4.08, bops<=0.3x or bpw>=4.2), got 'speed'"),
        ({"group": ["nopatterns"]}, "group: expected NAME:PATTERN|PATTERN, got 'nopatterns'"),
        ({"pin999": ["a"]}, "pin999: the width must be from 1 to 64"),
    ],
)  # fmt: skip
def test_spec_url_rejections_are_notes(params, note):
    spec, notes = mc.spec_from_query(params)
    assert spec == Spec()
    assert notes == [note]


# Three layers, widths 4 and 8, scores {4: 0, 8: gain}; two table resources, zero at 4 bits.
#   a: lat 10, mem 1, gain 10;  b: lat 6, mem 5, gain 5.9;  c: lat 5, mem 5, gain 4.9
# Under lat <= 11 alone the LP takes a whole and 1/6 of b (mem 1.83): the mem limit is slack
# in the LP, its multiplier 0. The integer optimum under lat alone is b + c (lat 11, gain
# 10.8, mem 10). With mem <= 10 (equal to that use) it meets mem too: the optimum, 10.8.
# With mem <= 5 it does not: the solve goes on under both limits and finds a alone, 10.
def slack_in_the_lp():
    gains = [10.0, 5.9, 4.9]
    return make_problem(
        [1, 1, 1], [{"4": 0.0, "8": g} for g in gains], names=["a", "b", "c"],
        higher_is_better=True, spec=Spec(ladder=(4, 8)),
        resources={"lat": [{4: 0, 8: 10}, {4: 0, 8: 6}, {4: 0, 8: 5}],
                   "mem": [{4: 0, 8: 1}, {4: 0, 8: 5}, {4: 0, 8: 5}]},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("mem", "wbits", "objective", "settled"),
    [("10", [4, 8, 8], 10.8, True), ("5", [8, 4, 4], 10.0, False)],
)
def test_a_limit_the_lp_leaves_slack_is_first_left_out(monkeypatch, mem, wbits, objective, settled):
    """Several limits, one with a zero multiplier: the optimum under the others is the answer
    when it meets that limit too (brute force over the 8 allocations agrees), and the solve
    goes on under every limit when it does not."""
    import mpq_core.solving.exact as exact_module

    seen = []
    real = exact_module._priced_first

    def spy(*args):
        seen.append(real(*args))
        return seen[-1]

    monkeypatch.setattr(exact_module, "_priced_first", spy)
    solved_under = []
    real_solve = exact_module.ExactSolver._solve_bounds

    def solve_spy(self, bounds, *args):
        solved_under.append([b.limit.label() for b in bounds])
        return real_solve(self, bounds, *args)

    monkeypatch.setattr(exact_module.ExactSolver, "_solve_bounds", solve_spy)
    p = slack_in_the_lp()
    limits = [Limit("lat", "11"), Limit("mem", mem)]
    s = mc.solve(p, solver="exact", limits=limits)
    lat, use, gain = [10, 6, 5], [1, 5, 5], [10.0, 5.9, 4.9]
    best = max(
        math.fsum(g for g, up in zip(gain, combo, strict=True) if up)
        for combo in itertools.product((0, 1), repeat=3)
        if sum(x for x, up in zip(lat, combo, strict=True) if up) <= 11
        and sum(x for x, up in zip(use, combo, strict=True) if up) <= int(mem)
    )
    assert s.status == "optimal" and s.wbits.tolist() == wbits
    assert s.objective == pytest.approx(objective) == pytest.approx(best)
    assert len(seen) == 1 and (seen[0].settled is not None) == settled
    assert solved_under[1] == ["lat <= 11"]  # mem left out, whatever came of it
    if settled:
        assert s.message == (
            "optimal: the optimum under the limits the LP relaxation prices meets every limit"
        )
    assert [b.limit.label() for b in s.bounds] == ["lat <= 11", f"mem <= {mem}"]
