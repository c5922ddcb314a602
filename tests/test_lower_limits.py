"""Lower limits (``at_least``) and bands: written, read, solved (by hand, against brute force,
at a floor equal to an allocation's own use), explained when they cannot be met, exported."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from support import REPO
from test_formats import FOUR, LAYERS, LOSSES, check_against_brute_force

import mpq_core as mc
from mpq_core.model.formats import catalog_formats

# --- written and read ------------------------------------------------------------------------


def test_a_lower_limit_is_written_and_read_back_in_every_form():
    limit = mc.parse_limit_flag("mean_wbits@late >= 4.2")
    assert (limit.resource, limit.group, limit.lower, limit.text) == (
        "mean_wbits",
        "late",
        True,
        "4.2",
    )
    assert limit.flag() == "mean_wbits@late>=4.2"
    assert limit.label() == "mean_wbits@late >= 4.2"
    assert limit.to_dict() == {"resource": "mean_wbits", "at_least": "4.2", "group": "late"}
    assert mc.parse_limit_flag(limit.flag()) == limit
    assert mc.Limit("bpw", at_least="0.5r") == mc.parse_limit_flag("bpw>=0.5r")
    assert mc.Limit("bpw", at_least="5") != mc.Limit("bpw", "5")  # the sign is part of it
    assert not mc.parse_limit_flag("bops>=0.5x").is_budget  # a floor is not the slider
    assert limit.with_value("6").flag() == "mean_wbits@late>=6"  # sweeps keep the sign


def test_a_band_in_a_constraints_file_is_two_limits():
    data = {"limits": [{"resource": "bpw", "at_least": "4.2", "at_most": 5.4}]}
    constraints = mc.parse_constraints(data, "c.json")
    assert [limit.flag() for limit in constraints.limits] == ["bpw>=4.2", "bpw<=5.4"]
    again = mc.parse_constraints(constraints.to_dict(), "again.json")
    assert again == constraints


def test_a_link_carries_a_lower_limit():
    spec = mc.Spec(
        constraints=mc.Constraints(
            limits=(mc.Limit.budget(0.5), mc.parse_limit_flag("mean_wbits>=6"))
        )
    )
    query = spec.to_query()
    assert query["limit"] == ["mean_wbits>=6"]
    again, notes = mc.Spec.from_query(query)
    assert notes == [] and again == spec


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"resource": "bpw", "at_least": "abc"},
         "c.json: field 'limits[0].at_least': expected a number, a number with x (times the "
         "all-top-width value) or with r (from cheapest to dearest), got 'abc'"),
        ({"resource": "bpw", "at_least": -1},
         "c.json: field 'limits[0].at_least': must be a finite number >= 0, got -1"),
        ({"resource": "bpw"},
         "c.json: field 'limits[0].at_most': missing (give at_most, at_least or both)"),
        ({"resource": "bpw", "at_leats": 4},
         "c.json: field 'limits[0]': unknown key 'at_leats' (expected resource, at_most, "
         "at_least, group)"),
    ],
)  # fmt: skip
def test_a_bad_lower_limit_names_the_file_and_field(record, message):
    with pytest.raises(mc.InputError) as info:
        mc.parse_constraints({"limits": [record]}, "c.json")
    assert str(info.value) == message


def test_a_bad_flag_says_both_signs():
    with pytest.raises(mc.InputError) as info:
        mc.parse_limit_flag("bpw=>4")
    assert str(info.value) == (
        "--limit: expected RESOURCE[@GROUP]<=VALUE or >=VALUE (like mean_wbits<=4.08, "
        "bops<=0.3x or bpw>=4.2), got 'bpw=>4'"
    )


# --- solved by hand ----------------------------------------------------------------------------


@pytest.fixture
def problem(tmp_path):
    (tmp_path / "flops.json").write_text(json.dumps(LAYERS))
    (tmp_path / "sens.json").write_text(json.dumps(LOSSES))
    spec = mc.Spec(formats=catalog_formats(FOUR))
    return mc.load_problem(tmp_path / "flops.json", tmp_path / "sens.json", spec=spec)


def _limits(*texts):
    return [mc.parse_limit_flag(t) for t in texts]


def test_hand_solved_band_of_bops_under_a_bpw_cap(problem):
    # Options (bits, gain) as in test_formats: a 16896/0, 18464/.1, 32800/.25, 65536/.3;
    # b 33792/0, 36896/.02, 65568/.09, 131072/.1; c 8448/0, 9248/.2, 16416/.48, 32768/.5.
    # BOPs per MAC: int4_g128 64, nvfp4 16, fp8 64, bf16 256; MACs a 1000, b 4000, c 2000;
    # all bf16: 1,792,000, so bops >= 0.3x needs 537,600. Without bf16 a layer spends at most
    # 64 per MAC (448,000 in all): some layer must be bf16. bpw <= 6 allows 86,016 bits:
    # a or b at bf16 is over it; c bf16 with a int4 and b int4 is 83,456 bits (gain .5), with
    # a nvfp4 85,024 (gain .6, 784,000 BOPs), with b nvfp4 86,560 (over); a fp8 is over.
    for solve in (mc.solve_exact, mc.solve_greedy):
        found = solve(problem, limits=_limits("bpw<=6", "bops>=0.3x"))
        assert found.feasible and found.choice.tolist() == [1, 0, 3]
        assert found.objective == pytest.approx(0.6)
    assert mc.solve_exact(problem, limits=_limits("bpw<=6", "bops>=0.3x")).status == "optimal"
    # the optimum without the floor (a fp8, b int4, c fp8: gain .73) spends 448,000 BOPs
    assert mc.solve_exact(problem, limits=_limits("bpw<=6")).choice.tolist() == [2, 0, 2]


def test_a_floor_equal_to_an_allocation_s_use_is_met_by_it(problem):
    # [1, 0, 3] spends 784,000 BOPs (0.000784 GBOPs) and 85,024 bits over 14,336 weights
    mean = 85024 / 14336
    for texts in (("bpw<=6", "bops>=0.000784"), ("bpw<=6", f"bpw>={mean!r}", "bops>=0.3x")):
        exact = mc.solve_exact(problem, limits=_limits(*texts))
        assert exact.status == "optimal" and exact.choice.tolist() == [1, 0, 3], texts
    # one bit more than that allocation's mean, and the band holds nothing better: c bf16
    # with a int4 and b int4 is 83,456 bits, under the floor
    above = math.nextafter(mean, math.inf)
    found = mc.solve_exact(problem, limits=_limits("bpw<=6", f"bpw>={above!r}", "bops>=0.3x"))
    assert found.status == "infeasible"


def test_a_floor_out_of_reach_is_explained(problem):
    for solve in (mc.solve_exact, mc.solve_greedy):
        found = solve(problem, limits=_limits("bpw>=17"))
        assert found.status == "infeasible"
        assert found.message == (
            "bpw >= 17 cannot be met: with every layer at its greatest use it is 16 bits "
            "(every layer at bf16) against a limit of 17 bits"
        )


def test_a_band_that_conflicts_is_named(problem):
    exact = mc.solve_exact(problem, limits=_limits("bpw>=6", "bpw<=5"))
    assert exact.status == "infeasible"
    assert (
        exact.message == "the limits bpw >= 6 and bpw <= 5 conflict: no allocation meets them all"
    )
    greedy = mc.solve_greedy(problem, limits=_limits("bpw>=6", "bpw<=5"))
    assert greedy.status == "unknown"  # the greedy does not claim what it cannot prove
    assert "the exact solver tells whether any allocation meets every limit" in greedy.message


def test_the_exported_config_records_the_floor_and_meets_it(problem, tmp_path):
    solution = mc.solve_exact(problem, limits=_limits("bpw<=6", "bops>=0.3x"))
    config = mc.export_config(solution)
    (floor,) = [x for x in config["metadata"]["limits"] if "at_least" in x]
    assert floor["at_least"] == "0.3x" and floor["resource"] == "bops"
    assert floor["cap"] == 0.3 * 1_792_000 / 1e9  # the floor, in GBOPs
    # re-costed from the file alone: MACs x weight bits x activation bits per layer
    macs = {name: layer["macs"] for name, layer in LAYERS["layers"].items()}
    spent = sum(macs[n] * e["wbit"] * e["abit"] for n, e in config["quantization_config"].items())
    assert spent == 784_000 >= 0.3 * 1_792_000


# --- against brute force -----------------------------------------------------------------------


def _random_problem(tmp_path, seed: int):
    rng = np.random.default_rng(seed)
    names = [FOUR.split(","), ["int2_g64", "int3_g128", "int4_g32", "mxfp4", "int8", "bf16"], None]
    chosen = names[seed % 3]
    layers = {
        f"l{i}": {
            "macs": int(rng.integers(1, 10**6)),
            "params": int(rng.choice([256, 1024, 4096, 65536])),
            "out_channels": 16,
        }
        for i in range(int(rng.integers(3, 6)))
    }
    if chosen is None:  # a ladder of widths (4/8/16)
        losses = {name: float(rng.uniform(0, 1)) for name in layers}
        spec = mc.Spec()
    else:
        losses = {
            name: {f: float(rng.uniform(0, 1)) for f in chosen if f != "bf16"} for name in layers
        }
        spec = mc.Spec(formats=catalog_formats(chosen))
    (tmp_path / "f.json").write_text(json.dumps(layers))
    (tmp_path / "s.json").write_text(json.dumps(losses))
    return mc.load_problem(tmp_path / "f.json", tmp_path / "s.json", spec=spec), rng


@pytest.mark.parametrize("seed", range(24))
def test_exact_equals_brute_force_with_floors_and_bands(tmp_path, seed):
    problem, rng = _random_problem(tmp_path, seed)
    w = "mean_wbits" if problem.formats is None else "bpw"
    # a floor equal to one allocation's own mean
    some = np.asarray([int(rng.choice(np.flatnonzero(row))) for row in problem.allowed])
    mean = math.fsum(problem.resource(w)[np.arange(problem.n_layers), some].tolist()) / math.fsum(
        problem.params.tolist()
    )
    limit_sets = [
        [f"{w}>={rng.uniform(3, 9):.3f}", f"bops<={rng.uniform(0.2, 0.9):.2f}x"],
        [f"{w}>={rng.uniform(3, 6):.2f}", f"{w}<={rng.uniform(5, 9):.2f}"],  # a band
        [f"bops>={rng.uniform(0.1, 0.6):.2f}x", f"wbits<={rng.uniform(0.3, 0.8):.2f}x"],
        [f"{w}>={mean!r}", f"bops<={rng.uniform(0.3, 0.9):.2f}x"],
        [f"{w}>={rng.uniform(3, 12):.2f}"],
    ]
    for texts in limit_sets:  # the greedy is a heuristic: it may say "unknown"
        check_against_brute_force(problem, texts, greedy_may_abstain=True)


def test_the_floor_arithmetic_is_the_mean_s_own_test(problem):
    """A floor on a mean is met exactly when the float mean of the allocation is at least it,
    for floors on either side of an allocation's mean."""
    params = math.fsum(problem.params.tolist())
    bits = problem.resource("bpw")
    for combo in itertools.product(range(4), repeat=3):
        choice = np.asarray(combo)
        total = math.fsum(bits[np.arange(3), choice].tolist())
        mean = total / params
        for floor in (mean, math.nextafter(mean, 0), math.nextafter(mean, math.inf)):
            (bound,) = mc.resolve_limits(problem, [mc.Limit("bpw", at_least=repr(floor))])
            assert bound.fits(choice) == (total / params >= floor), (combo, floor)


# --- the command line ------------------------------------------------------------------------


def test_the_command_line_takes_a_floor(tmp_path):
    run = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "--optimize_mixed_precision",
         "--limit", "mean_wbits>=9", "--limit", "bops<=0.5x", "--solver", "exact",
         "--output_dir", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, stdin=subprocess.DEVNULL, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Limit mean_wbits >= 9: floor 9 bits, use " in run.stdout
    (path,) = (tmp_path / "mixed_precision").glob(
        "quantization_config_mean_wbitsge9_bops0.5x*.json"
    )
    config = json.loads(path.read_text())
    assert config["metadata"]["limits"][0]["at_least"] == "9"
    assert config["metadata"]["limits"][0]["use"] >= 9
    # re-costed from the file and the sample's parameter counts
    layers = mc.load_inputs(*mc.sample_inputs()).layers
    params = dict(zip(layers.names, layers.params.tolist(), strict=True))
    bits = math.fsum(params[n] * w for n, w in config["bit_allocation"].items())
    assert bits / math.fsum(params.values()) >= 9


# --- against an independent MILP, at sizes brute force cannot reach --------------------------


def _milp_objective(problem, bounds, slack: float) -> float | None:
    """SciPy's HiGHS on the same problem, every cap moved by ``slack`` of itself (and every
    floor the other way): ``slack`` < 0 tightens, > 0 loosens; None when it finds nothing."""
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    n, k = problem.values.shape
    rows = [sparse.kron(sparse.eye(n), np.ones((1, k)))]
    low, high = [np.ones(n)], [np.ones(n)]
    for b in bounds:
        rows.append(sparse.csr_array(b.values.ravel()[None, :] / max(b.cap, 1e-300)))
        if b.lower:
            low.append([1 - slack]), high.append([np.inf])
        else:
            low.append([-np.inf]), high.append([1 + slack])
    result = milp(
        -problem.values.ravel(),
        integrality=np.ones(n * k),
        bounds=Bounds(0, problem.allowed.ravel().astype(float)),
        constraints=LinearConstraint(
            sparse.vstack(rows), np.concatenate(low), np.concatenate(high)
        ),
        options={"mip_rel_gap": 0, "time_limit": 120},
    )
    if result.x is None:
        return None
    choice = result.x.reshape(n, k).argmax(axis=1)
    if slack < 0 and not all(b.fits(choice) for b in bounds):
        return None  # HiGHS's tolerance: not an allocation to compare with
    return problem.objective_of(choice)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_exact_is_sandwiched_by_an_independent_milp_with_floors_and_search_spaces(tmp_path, seed):
    """60-150 layers of formats, a search space, a band on bpw, a cap on BOPs and a floor on
    the MLP layers' bpw that binds (0.25 bits above what the caps alone give them): mpq's proven optimum is at least HiGHS's answer with every limit
    tightened by 1e-9 and at most its answer with every limit loosened by 1e-9."""
    rng = np.random.default_rng(100 + seed)
    names = ["int2_g64", "int3_g128", "int4_g128", "nvfp4", "fp8", "int8", "bf16"]
    n = int(rng.integers(60, 150))
    layers = {
        f"block{i // 6}.{'attn' if i % 3 == 0 else 'mlp'}{i}": {
            "macs": int(rng.integers(10**4, 10**8)),
            "params": int(rng.choice([4096, 65536, 262144, 1048576])),
            "out_channels": 64,
        }
        for i in range(n)
    }
    losses = {
        name: {f: float(rng.uniform(0, 1) * (9 - j)) for j, f in enumerate(names[:-1])}
        for name in layers
    }
    (tmp_path / "f.json").write_text(json.dumps(layers))
    (tmp_path / "s.json").write_text(json.dumps(losses))
    spec = mc.Spec(
        formats=catalog_formats(names),
        search_spaces=(("*attn*", ("fp8", "int8", "bf16")), ("*", tuple(names))),
        constraints=mc.Constraints(groups=(mc.Group("mlp", ("*mlp*",)),)),
    )
    problem = mc.load_problem(tmp_path / "f.json", tmp_path / "s.json", spec=spec)
    caps = [f"bpw<={rng.uniform(5.5, 7):.2f}", f"bops<={rng.uniform(0.3, 0.5):.2f}x"]
    # a floor that binds: more bits for the MLP layers than the optimum under the caps gives
    alone = mc.solve_exact(problem, limits=_limits(*caps))
    (mlp,) = mc.resolve_limits(problem, [mc.Limit("bpw", at_least="0", group="mlp")])
    floor = mlp.use_of(alone.choice) / mlp.scale + 0.25
    texts = [f"bpw>={rng.uniform(4, 5.5):.2f}", *caps, f"bpw@mlp>={floor!r}"]
    limits = _limits(*texts)
    bounds = mc.resolve_limits(problem, limits)
    exact = mc.solve_exact(problem, limits=limits, time_limit=60)
    loose = _milp_objective(problem, bounds, 1e-9)
    if loose is None:
        assert exact.status == "infeasible", texts
        return
    assert exact.status == "optimal", (texts, exact.message)
    assert all(b.fits(exact.choice) for b in bounds)
    tight = _milp_objective(problem, bounds, -1e-9)
    tolerance = 1e-9 * problem.value_scale
    if tight is not None:
        assert exact.objective >= tight - tolerance, texts
    assert exact.objective <= loose + tolerance, texts
