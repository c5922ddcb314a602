"""Quantization formats: the effective-bits formula, the catalog, formats files, per-format
sensitivity, the bpw and weight_bytes resources, and solving with formats (hand-solved and
brute force), export round trip and the command line."""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest

import mpq_core as mc
from mpq_core.io.export import SCHEMA_VERSION, WIDTHS_SCHEMA_VERSION, evaluate_config, load_config
from mpq_core.model.formats import CATALOG, catalog_formats, effective_bits, parse_formats

P = 4096 * 4096  # a 4096 x 4096 linear layer
C = 4096


# --- the formula and the catalog, by hand ---------------------------------------------------

# name: (hand-computed effective bits of a 4096x4096 layer, activation bits)
HAND = {
    "bf16": (16, 16),
    "fp16": (16, 16),
    "fp8": (8 + Fraction(32, P), 8),  # one FP32 scale per tensor
    "int8": (8 + Fraction(16 * C, P), 16),  # an FP16 scale per output channel
    "w8a8": (8 + Fraction(16 * C, P), 8),
    "int4_g128": (4 + Fraction(16, 128), 16),  # 4.125: the W4A16 figure
    "int4_g64": (4 + Fraction(16, 64), 16),
    "int4_g32": (4 + Fraction(16, 32), 16),
    "w4a8_g128": (4 + Fraction(16, 128), 8),
    "int3_g128": (3 + Fraction(16, 128), 16),
    "int2_g64": (2 + Fraction(16, 64), 16),
    "mxfp4": (4 + Fraction(8, 32), 4),  # 4.25: an E8M0 scale per 32
    "mxfp6": (6 + Fraction(8, 32), 6),
    "mxfp8": (8 + Fraction(8, 32), 8),
    "nvfp4": (4 + Fraction(8, 16) + Fraction(32, P), 4),  # 4.5 "and a little more"
    "nvfp4_w4a16": (4 + Fraction(8, 16) + Fraction(32, P), 16),
}


def test_the_catalog_is_the_hand_computed_one():
    assert set(CATALOG) == set(HAND)
    for name, (bits, act) in HAND.items():
        fmt = CATALOG[name]
        assert effective_bits(fmt, P, C) == pytest.approx(float(bits), rel=1e-15), name
        assert fmt.activation_bits == act, name


def test_per_tensor_terms_vanish_as_the_layer_grows():
    nvfp4 = CATALOG["nvfp4"]
    assert effective_bits(nvfp4, 16) == 4.5 + 2  # a 16-weight tensor: 32 bits / 16
    assert effective_bits(nvfp4, 2**40) == pytest.approx(4.5)


def test_options_are_ordered_cheapest_first():
    chosen = catalog_formats("bf16,fp8,nvfp4,int4_g128")
    assert [f.name for f in chosen] == ["int4_g128", "nvfp4", "fp8", "bf16"]


def test_formats_file_and_its_errors():
    found = parse_formats(
        {"formats": {"w4g128": {"weight": {"type": "int", "bits": 4, "group_size": 128,
                                           "scale_bits": 16, "zero_bits": 4}}}},
        "f.json",
    )  # fmt: skip
    assert effective_bits(found["w4g128"], 1024) == 4 + 20 / 128
    assert found["w4g128"].activation_bits == 16
    cases = [
        ({"formats": {"x": {"weight": {"type": "int8", "bits": 8}}}},
         "f.json: field 'formats.x.weight.type': must be one of int, float, not 'int8'"),
        ({"formats": {"x": {"weight": {"type": "int", "bits": 0}}}},
         "f.json: field 'formats.x.weight.bits': must be a whole number from 1 to 32, not 0"),
        ({"formats": {"x": {"weight": {"type": "int", "bits": 4, "group_size": 0}}}},
         "f.json: field 'formats.x.weight.group_size': must be a whole number of weights per "
         "scale or 'channel', not 0"),
        ({"formats": {"x": {"weight": {"type": "int", "bits": 4, "scales": 1}}}},
         "f.json: field 'formats.x.weight': unknown key 'scales'"),
        ({"formats": {"a b": {"weight": {"type": "int", "bits": 4}}}},
         "f.json: field 'formats': format name 'a b' must be 1-40 letters, digits, '_', '.' "
         "or '-'"),
        ({"format": {}}, "f.json: field 'formats': expected an object with a 'formats' object"),
    ]  # fmt: skip
    for data, message in cases:
        with pytest.raises(mc.InputError) as info:
            parse_formats(data, "f.json")
        assert str(info.value) == message


def test_format_choice_errors():
    with pytest.raises(mc.InputError) as info:
        catalog_formats("int4_g128,int4_g128")
    assert str(info.value) == "--formats: format 'int4_g128' is named twice"
    with pytest.raises(mc.InputError) as info:
        catalog_formats("fp8")
    assert "choose at least two formats" in str(info.value)
    with pytest.raises(mc.InputError) as info:
        mc.Spec(ladder=(4, 8), formats=catalog_formats("fp8,bf16"))
    assert str(info.value) == "formats: the ladder and formats both choose the options"


# --- a small instance, solved by hand --------------------------------------------------------

LAYERS = {
    "layers": {
        "a": {"macs": 1000, "params": 4096, "out_channels": 64},
        "b": {"macs": 4000, "params": 8192, "weight_shape": [128, 64]},
        "c": {"macs": 2000, "params": 2048, "type": "Conv2d", "output_shape": [1, 32, 8, 8]},
    }
}
LOSSES = {
    "a": {"int4_g128": 0.30, "nvfp4": 0.20, "fp8": 0.05},
    "b": {"int4_g128": 0.10, "nvfp4": 0.08, "fp8": 0.01},
    "c": {"int4_g128": 0.50, "nvfp4": 0.30, "fp8": 0.02},
}
FOUR = "int4_g128,nvfp4,fp8,bf16"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "flops.json").write_text(json.dumps(LAYERS))
    (tmp_path / "sens.json").write_text(json.dumps(LOSSES))
    return tmp_path / "flops.json", tmp_path / "sens.json"


def problem_of(files, names=FOUR, **spec):
    return mc.load_problem(*files, spec=mc.Spec(formats=catalog_formats(names), **spec))


def test_channels_are_read_from_every_layout(files):
    problem = problem_of(files)
    assert problem.inputs.layers.out_channels.tolist() == [64, 128, 32]


def test_resources_by_hand(files):
    problem = problem_of(files)
    assert problem.option_names == ("int4_g128", "nvfp4", "fp8", "bf16")
    assert problem.widths == (4, 4, 8, 16) and problem.abits == (16, 4, 8, 16)
    # layer a (4096 weights): int4_g128 4096*4 + 32 scales*16; nvfp4 4096*4 + 256*8 + 32;
    # fp8 4096*8 + 32; bf16 4096*16
    assert problem.resource("bpw")[0].tolist() == [16896, 18464, 32800, 65536]
    assert problem.resource("weight_bytes")[0].tolist() == [2112, 2308, 4100, 8192]
    assert problem.costs[1].tolist() == [4000 * 64, 4000 * 16, 4000 * 64, 4000 * 256]
    # values: the loss recovered from int4_g128; bf16's loss is 0 (the reference)
    assert problem.values[2].tolist() == pytest.approx([0, 0.2, 0.48, 0.5])


def test_hand_solved_bpw_limit(files):
    # bpw <= 6 over 14,336 weights: a sum of at most 86,016 bits. Options (bits, gain):
    # a: 16896/0, 18464/.1, 32800/.25, 65536/.3; b: 33792/0, 36896/.02, 65568/.09, 131072/.1;
    # c: 8448/0, 9248/.2, 16416/.48, 32768/.5. Best: a fp8, b int4_g128, c fp8 = 83,008 bits,
    # gain .73 (a fp8 + b nvfp4 + c fp8 = 86,112 is over; c bf16 instead of fp8 gains .02 for
    # 16,352 more bits, which only fits with a and b at int4: gain .5).
    problem = problem_of(files)
    exact = mc.solve_exact(problem, limits=[mc.parse_limit_flag("bpw<=6")])
    assert exact.status == "optimal"
    assert exact.choice.tolist() == [2, 0, 2]
    assert exact.objective == pytest.approx(0.73)
    assert exact.effective_bits() == 83008 / 14336
    greedy = mc.solve_greedy(problem, limits=[mc.parse_limit_flag("bpw<=6")])
    assert greedy.feasible and greedy.objective <= exact.objective + 1e-12


def test_a_per_channel_format_without_channels_names_the_layer(tmp_path):
    flops = {"a": {"macs": 10, "params": 64}, "b": {"macs": 10, "params": 64}}
    sens = {"a": {"int8": 0.1, "int4_g32": 0.2}, "b": {"int8": 0.1, "int4_g32": 0.3}}
    (tmp_path / "f.json").write_text(json.dumps(flops))
    (tmp_path / "s.json").write_text(json.dumps(sens))
    problem = mc.load_problem(
        tmp_path / "f.json", tmp_path / "s.json",
        spec=mc.Spec(formats=catalog_formats("int8,int4_g32")),
    )  # fmt: skip
    with pytest.raises(mc.InputError) as info:
        problem.resource("bpw")
    assert str(info.value) == (
        f"{tmp_path / 'f.json'}: field 'out_channels', layer 'a': missing; format 'int8' has a "
        "scale per output channel, which needs the layer's output channels (out_channels, "
        "weight_shape or output_shape)"
    )


def test_per_format_sensitivity_errors(files, tmp_path):
    flops, _ = files
    bad = {"a": {"int4_g128": 0.1, "4": 0.2}, "b": {"int4_g128": 0.1}, "c": {"int4_g128": 0.1}}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(mc.InputError) as info:
        mc.load_inputs(flops, tmp_path / "bad.json")
    assert "layer 'a': mixes a width ('4') with format names" in str(info.value)
    mixed = {"a": {"int4_g128": 0.1}, "b": {"4": 0.1}, "c": {"int4_g128": 0.1}}
    (tmp_path / "mixed.json").write_text(json.dumps(mixed))
    with pytest.raises(mc.InputError) as info:
        mc.load_inputs(flops, tmp_path / "mixed.json")  # a width key anywhere: per-bit
    assert "layer 'a': width key 'int4_g128' is not a whole number from 1 to 64" in str(info.value)
    with pytest.raises(mc.InputError) as info:
        problem_of(files, "int4_g128,mxfp4")
    assert str(info.value).endswith(
        "layer 'a': has no value for format 'mxfp4' (3 layer(s) lack it; the file gives "
        "int4_g128, nvfp4, fp8)"
    )
    with pytest.raises(mc.InputError) as info:
        mc.load_problem(*files)
    assert "gives a loss per format: choose the formats to allocate" in str(info.value)


# --- brute force -------------------------------------------------------------------------------


def brute_force(problem, bounds):
    best, best_choice = -math.inf, None
    k = problem.values.shape[1]
    for combo in itertools.product(range(k), repeat=problem.n_layers):
        choice = np.asarray(combo)
        if not problem.allowed[np.arange(problem.n_layers), choice].all():
            continue
        if all(b.fits(choice) for b in bounds):
            value = problem.objective_of(choice)
            if value > best:
                best, best_choice = value, choice
    return best, best_choice


def random_files(tmp_path, rng, n, names):
    layers = {
        f"l{i}": {
            "macs": int(rng.integers(1, 10**6)),
            "params": int(rng.choice([256, 1024, 4096, 65536])),
            "out_channels": int(rng.choice([16, 64])),
        }
        for i in range(n)
    }
    losses = {
        name: {f: float(rng.uniform(0, 1)) for f in names if f not in ("bf16", "fp16")}
        for name in layers
    }
    (tmp_path / "f.json").write_text(json.dumps(layers))
    (tmp_path / "s.json").write_text(json.dumps(losses))
    return tmp_path / "f.json", tmp_path / "s.json"


FORMAT_SETS = [
    ["int4_g128", "nvfp4", "fp8", "bf16"],
    ["int2_g64", "int3_g128", "int4_g32", "mxfp4", "int8", "bf16"],
    ["nvfp4", "w4a8_g128", "mxfp6", "w8a8", "fp16"],
]


@pytest.mark.parametrize("seed", range(12))
def test_exact_equals_brute_force_with_formats(tmp_path, seed):
    rng = np.random.default_rng(seed)
    names = FORMAT_SETS[seed % len(FORMAT_SETS)]
    files = random_files(tmp_path, rng, int(rng.integers(3, 6)), names)
    problem = mc.load_problem(*files, spec=mc.Spec(formats=catalog_formats(names)))
    k = len(names)
    some = rng.integers(0, k, problem.n_layers)
    bpw_at = problem.resource("bpw")[np.arange(problem.n_layers), some]
    mean = math.fsum(bpw_at.tolist()) / math.fsum(problem.params.tolist())
    limit_sets = [
        [f"bpw<={rng.uniform(3, 9):.3f}"],
        [f"bpw<={mean!r}"],  # the limit equal to an allocation's effective bits
        [f"bpw<={rng.uniform(4, 10):.2f}", f"bops<={rng.uniform(0.2, 0.8):.2f}x"],
        [f"weight_bytes<={rng.uniform(0.3, 0.8):.2f}x"],
    ]
    for texts in limit_sets:
        check_against_brute_force(problem, texts)


def check_against_brute_force(problem, texts, *, brute=None, greedy_may_abstain=False):
    """Under the limits ``texts``: the exact solver's answer is ``brute``'s (brute force by
    default; or both find none); the greedy's meets every limit and is no better. The greedy
    must answer whenever an allocation exists, unless ``greedy_may_abstain`` (then it may say
    "unknown"). Returns both solutions."""
    limits = [mc.parse_limit_flag(t) for t in texts]
    bounds = mc.resolve_limits(problem, limits)
    best, _ = (brute or brute_force)(problem, bounds)
    exact = mc.solve_exact(problem, limits=limits)
    greedy = mc.solve_greedy(problem, limits=limits)
    if best == -math.inf:
        assert exact.status == "infeasible", texts
        assert not greedy.feasible, texts
        return exact, greedy
    assert exact.status == "optimal", texts
    assert exact.objective == pytest.approx(best, abs=1e-9), texts
    assert all(b.fits(exact.choice) for b in bounds), texts
    if greedy_may_abstain and not greedy.feasible:
        assert greedy.status == "unknown", texts
        return exact, greedy
    assert greedy.feasible and all(b.fits(greedy.choice) for b in bounds), texts
    assert greedy.objective <= exact.objective + 1e-9, texts
    return exact, greedy


def test_the_equal_limit_is_met_by_that_allocation(files):
    problem = problem_of(files)
    choice = np.array([1, 2, 0])
    bits = problem.resource("bpw")[np.arange(3), choice]
    mean = math.fsum(bits.tolist()) / math.fsum(problem.params.tolist())
    exact = mc.solve_exact(problem, limits=[mc.parse_limit_flag(f"bpw<={mean!r}")])
    assert exact.status == "optimal"
    assert exact.effective_bits() <= mean


# --- export, round trip ----------------------------------------------------------------------


def test_config_records_formats_and_round_trips(files, tmp_path):
    problem = problem_of(files)
    solution = mc.solve_exact(problem, limits=[mc.parse_limit_flag("bpw<=6")])
    config = mc.export_config(solution)
    meta = config["metadata"]
    assert meta["schema_version"] == SCHEMA_VERSION == 3
    assert config["quantization_config"]["a"] == {"wbit": 8, "abit": 8, "format": "fp8"}
    assert config["quantization_config"]["b"] == {"wbit": 4, "abit": 16, "format": "int4_g128"}
    assert meta["formats"]["nvfp4"] == {
        "weight": {"type": "float", "bits": 4, "group_size": 16, "scale_bits": 8,
                   "tensor_scale_bits": 32},
        "activation_bits": 4,
    }  # fmt: skip
    assert meta["effective_bits"] == 83008 / 14336
    assert meta["weight_bytes"] == 83008 / 8
    path = mc.save_config(solution, tmp_path / "out")
    saved = load_config(path)
    assert saved.formats == {"a": "fp8", "b": "int4_g128", "c": "fp8"}
    again = evaluate_config(problem, saved)  # re-costed independently from the file
    assert again.choice.tolist() == solution.choice.tolist()
    assert again.status == "feasible"
    assert again.objective == solution.objective
    # an independent re-costing of the file: weights and scales per layer, by hand
    weights = {"a": 4096, "b": 8192, "c": 2048}
    bits = {"fp8": lambda p: p * 8 + 32, "int4_g128": lambda p: p * 4 + p / 128 * 16}
    total = sum(bits[e["format"]](weights[n]) for n, e in config["quantization_config"].items())
    assert total / sum(weights.values()) <= 6


def test_a_config_of_widths_keeps_its_schema(files):
    solution = mc.solve(mc.load_problem(*mc.sample_inputs()), 0.5)
    assert mc.export_config(solution)["metadata"]["schema_version"] == WIDTHS_SCHEMA_VERSION == 2
    assert "format" not in next(iter(mc.export_config(solution)["quantization_config"].values()))


def test_a_saved_format_that_is_not_offered_is_named(files, tmp_path):
    problem = problem_of(files)
    solution = mc.solve_exact(problem, limits=[mc.parse_limit_flag("bpw<=6")])
    config = mc.export_config(solution)
    config["quantization_config"]["c"]["format"] = "mxfp4"
    (tmp_path / "c.json").write_text(json.dumps(config))
    with pytest.raises(mc.InputError) as info:
        evaluate_config(problem, load_config(tmp_path / "c.json"))
    assert str(info.value) == (
        f"{tmp_path / 'c.json'}: field 'quantization_config.format', layer 'c': format 'mxfp4' "
        "is not one of int4_g128, nvfp4, fp8, bf16"
    )


@pytest.mark.parametrize("seed", range(6))
def test_exact_equals_brute_force_with_search_spaces_and_ties(tmp_path, seed):
    rng = np.random.default_rng(100 + seed)
    names = FORMAT_SETS[seed % len(FORMAT_SETS)]
    files = random_files(tmp_path, rng, 5, names)
    spaces = (
        ("l0", (names[-1],)),  # a fixed layer, counted in every limit
        ("l1", tuple(rng.choice(names, 2, replace=False).tolist())),
    )
    ties = (("l2", "l3"),)
    spec = mc.Spec(
        formats=catalog_formats(names),
        search_spaces=spaces,
        constraints=mc.Constraints(ties=ties),
    )
    problem = mc.load_problem(*files, spec=spec)
    assert problem.allowed[0].sum() == 1
    for texts in ([f"bpw<={rng.uniform(4, 12):.2f}"], ["bpw<=9", "bops<=0.5x"]):
        exact, greedy = check_against_brute_force(
            problem, texts, brute=brute_force_tied, greedy_may_abstain=True
        )
        assert not exact.feasible or exact.choice[2] == exact.choice[3]
        if greedy.feasible:
            assert greedy.choice[2] == greedy.choice[3]
            assert problem.allowed[np.arange(5), greedy.choice].all()


def brute_force_tied(problem, bounds):
    best = -math.inf
    for value_choice in itertools.product(range(problem.values.shape[1]), repeat=4):
        choice = np.asarray([*value_choice[:3], value_choice[2], value_choice[3]])
        if not problem.allowed[np.arange(5), choice].all():
            continue
        if all(b.fits(choice) for b in bounds):
            best = max(best, problem.objective_of(choice))
    return best, None


def test_a_link_carries_the_formats_and_search_spaces():
    spec = mc.Spec(
        formats=catalog_formats("bf16,nvfp4,int4_g128"),
        search_spaces=(("*.attn*", ("bf16",)), ("*", ("nvfp4", "int4_g128"))),
        constraints=mc.Constraints(limits=(mc.parse_limit_flag("bpw<=5.4"),)),
    )
    query = spec.to_query()
    assert query["formats"] == ["int4_g128,nvfp4,bf16"]
    assert query["space"] == ["*.attn*:bf16", "*:nvfp4|int4_g128"]
    again, notes = mc.Spec.from_query(query)
    assert notes == [] and again == spec
    # over a base with a ladder, the formats replace it; a link with both keeps the base
    based, notes = mc.Spec.from_query(query, mc.Spec(ladder=(4, 8)))
    assert notes == [] and based.formats == spec.formats and based.ladder is None
    kept, notes = mc.Spec.from_query({**query, "ladder": ["4,8"]})
    assert kept == mc.Spec() and notes == [
        "formats: the ladder and formats both choose the options"
    ]
    _, notes = mc.Spec.from_query({"formats": ["int4_g128,fp9"]})
    assert notes[0].startswith("formats: unknown format 'fp9'")


def test_the_greedy_of_formats_by_hand(files):
    """bpw <= 6 (a sum of at most 86,016 bits). Each layer starts at its least-bits format
    (int4_g128: 16,896 + 33,792 + 8,448 = 59,136 bits). Hull steps, gain per bit of the cap:
    c int4->nvfp4 .2/800, a int4->nvfp4 .1/1568, c nvfp4->fp8 .28/7168, a nvfp4->fp8
    .15/14336, b int4->nvfp4 .02/3104, b nvfp4->fp8 .07/28672, a fp8->bf16 .05/32736,
    c fp8->bf16 .02/16352, b fp8->bf16 .01/65504. Taken while they fit: c, a, c, a
    (59,136 + 800 + 1,568 + 7,168 + 14,336 = 83,008); b int4->nvfp4 (+3,104: 86,112) does
    not fit and ends b; a fp8->bf16 and c fp8->bf16 do not fit either.
    Result a fp8, b int4_g128, c fp8: 0.73, here also the optimum."""
    problem = problem_of(files)
    greedy = mc.solve_greedy(problem, limits=[mc.parse_limit_flag("bpw<=6")])
    assert greedy.choice.tolist() == [2, 0, 2]
    assert greedy.upgrade_layers.tolist() == [2, 0, 2, 0]
    assert greedy.upgrade_options.tolist() == [1, 1, 2, 2]
    assert greedy.objective == pytest.approx(0.73)


# --- resources keyed by format ---------------------------------------------------------------

LATENCY = {  # ms per layer and format (made up, solved by hand below)
    "a": {"int4_g128": 1, "nvfp4": 1, "fp8": 2, "bf16": 4},
    "b": {"int4_g128": 2, "nvfp4": 2, "fp8": 3, "bf16": 6},
    "c": {"int4_g128": 1, "nvfp4": 1, "fp8": 2, "bf16": 3},
}


def test_a_resource_keyed_by_format_solved_by_hand(files):
    """Gains over int4_g128: a .10/.25/.30, b .02/.09/.10, c .20/.48/.50 (nvfp4/fp8/bf16).
    nvfp4 costs what int4_g128 does, so the start is all nvfp4 (4 ms, .32); 3 ms more buy fp8
    everywhere (.82) against c at bf16 and a at fp8 (.77): the optimum meets the limit
    exactly."""
    table = mc.parse_resources(
        {"resources": {"latency_ms": LATENCY}, "units": {"latency_ms": "ms"}}, "lat.json"
    )
    problem = mc.load_problem(*files, spec=mc.Spec(formats=catalog_formats(FOUR)), resources=table)
    limits = [mc.parse_limit_flag("latency_ms<=7")]
    exact = mc.solve_exact(problem, limits=limits)
    assert exact.status == "optimal"
    assert [problem.option_names[j] for j in exact.choice] == ["fp8", "fp8", "fp8"]
    assert exact.objective == pytest.approx(0.82)
    bounds = mc.resolve_limits(problem, limits)
    assert bounds[0].cap == 7 and brute_force(problem, bounds)[0] == pytest.approx(0.82)
    greedy = mc.solve_greedy(problem, limits=limits)
    assert greedy.feasible and greedy.objective <= exact.objective + 1e-12
    assert problem.unit_of("latency_ms") == "ms"


@pytest.mark.parametrize("seed", range(6))
def test_exact_equals_brute_force_with_a_resource_keyed_by_format(tmp_path, seed):
    rng = np.random.default_rng(100 + seed)
    names = FORMAT_SETS[seed % len(FORMAT_SETS)]
    files = random_files(tmp_path, rng, int(rng.integers(3, 6)), names)
    layers = json.loads(files[0].read_text())
    latency = {n: {f: float(rng.integers(1, 9)) for f in names} for n in layers}
    table = mc.parse_resources({"latency": latency}, "lat.json")
    problem = mc.load_problem(*files, spec=mc.Spec(formats=catalog_formats(names)), resources=table)
    cheapest = problem.resource("latency").min(axis=1).sum()
    for texts in (
        [f"latency<={cheapest + rng.integers(0, 8)}"],
        [f"latency<={cheapest + 3}", f"bpw<={rng.uniform(4, 10):.2f}"],
        [f"latency<={cheapest}"],  # every layer at its cheapest: met exactly
    ):
        limits = [mc.parse_limit_flag(t) for t in texts]
        best, _ = brute_force(problem, mc.resolve_limits(problem, limits))
        exact = mc.solve_exact(problem, limits=limits)
        if best == -math.inf:
            assert exact.status == "infeasible", texts
            continue
        assert exact.status == "optimal" and exact.objective == pytest.approx(best, abs=1e-9)


def test_resources_keyed_the_wrong_way_are_refused(files):
    formats = mc.Spec(formats=catalog_formats(FOUR))
    by_width = mc.parse_resources({"lat": {n: {"4": 1, "8": 2} for n in "abc"}}, "w.json")
    problem = mc.load_problem(*files, spec=formats, resources=by_width)
    with pytest.raises(mc.InputError) as info:
        problem.resource("lat")
    assert str(info.value) == (
        "w.json: rows are keyed by width; with formats, key each row by format name "
        '({"int4_g128": 0.12, ...})'
    )
    short = {n: dict(LATENCY[n]) for n in "abc"}
    del short["b"]["bf16"]
    problem = mc.load_problem(
        *files, spec=formats, resources=mc.parse_resources({"lat": short}, "s.json")
    )
    with pytest.raises(mc.InputError) as info:
        problem.resource("lat")
    assert str(info.value) == (
        "s.json: field 'lat', layer 'b': no value for format 'bf16' (the formats are "
        "int4_g128/nvfp4/fp8/bf16; this layer gives fp8/int4_g128/nvfp4)"
    )
    with pytest.raises(mc.InputError) as info:
        mc.parse_resources({"lat": {"a": {"fp8": 1}, "b": {"8": 2}}}, "m.json")
    assert str(info.value) == (
        "m.json: field 'lat', layer 'b': keyed by width (8) where the first row is keyed by "
        "format name: key every row the same way"
    )


def test_a_resource_keyed_by_format_is_refused_for_widths():
    table = mc.parse_resources({"lat": {"conv_in": {"fp8": 1}}}, "f.json")
    problem = mc.load_problem(*mc.sample_inputs(), resources=table)
    with pytest.raises(mc.InputError) as info:
        problem.resource("lat")
    assert str(info.value) == (
        "f.json: rows are keyed by format name; they apply to a problem of formats (--formats)"
    )


@pytest.mark.parametrize("seed", range(6))
def test_exact_equals_brute_force_with_pins(tmp_path, seed):
    """Pins name weight bits: a layer keeps the formats of those bits (with its search space)."""
    rng = np.random.default_rng(200 + seed)
    names = FORMAT_SETS[seed % len(FORMAT_SETS)]
    files = random_files(tmp_path, rng, int(rng.integers(3, 6)), names)
    formats = catalog_formats(names)
    layers = list(json.loads(files[0].read_text()))
    bits = sorted({f.bits for f in formats})
    pins = ((layers[0], (int(rng.choice(bits)),)), (layers[1], tuple(bits[-2:])))
    problem = mc.load_problem(*files, spec=mc.Spec(formats=formats, pins=pins))
    for layer, allowed_bits in pins:
        row = problem.allowed[layers.index(layer)]
        assert [f.name for f, ok in zip(formats, row, strict=True) if ok] == [
            f.name for f in formats if f.bits in allowed_bits
        ]
    for text in (f"bpw<={rng.uniform(3, 12):.2f}", f"bops<={rng.uniform(0.2, 0.9):.2f}x"):
        limits = [mc.parse_limit_flag(text)]
        best, _ = brute_force(problem, mc.resolve_limits(problem, limits))
        exact = mc.solve_exact(problem, limits=limits)
        greedy = mc.solve_greedy(problem, limits=limits)
        if best == -math.inf:
            assert exact.status == "infeasible" and not greedy.feasible, text
            continue
        assert exact.status == "optimal" and exact.objective == pytest.approx(best, abs=1e-9)
        assert greedy.feasible and problem.allowed[np.arange(problem.n_layers), greedy.choice].all()


def test_the_greedy_fills_what_its_walk_leaves(files):
    """Layer a's hull from int4_g128 goes straight to fp8 (gain .25 for 2 ms; nvfp4's .10 for
    1 ms lies under it), which a 1.5 ms limit cannot take: the walk leaves a at int4_g128,
    and the fill gives it nvfp4, the exact optimum (b and c cost nothing: bf16)."""
    latency = {
        "a": {"int4_g128": 0, "nvfp4": 1, "fp8": 2, "bf16": 3},
        "b": dict.fromkeys(FOUR.split(","), 0),
        "c": dict.fromkeys(FOUR.split(","), 0),
    }
    table = mc.parse_resources({"latency": latency}, "lat.json")
    problem = mc.load_problem(*files, spec=mc.Spec(formats=catalog_formats(FOUR)), resources=table)
    limits = [mc.parse_limit_flag("latency<=1.5")]
    greedy = mc.solve_greedy(problem, limits=limits)
    names = [problem.option_names[j] for j in greedy.choice]
    assert names == ["nvfp4", "bf16", "bf16"]
    assert greedy.objective == pytest.approx(mc.solve_exact(problem, limits=limits).objective)
    assert greedy.message == "1 steps applied"  # b and c start at bf16: it costs no more


def test_single_format_baselines_by_hand(files):
    # bpw <= 6 allows 86,016 bits (test_hand_solved_bpw_limit): every layer at int4_g128 takes
    # 59,136 (gain 0), at nvfp4 64,608 (gain .1 + .02 + .2 = .32); fp8 114,784 and bf16 are
    # over. The optimum (.73) recovers (.73 - .32) / .32 = 128.1% more than nvfp4 alone.
    from mpq_core.report.uniform import uniform_baselines, uniform_line

    exact = mc.solve_exact(problem_of(files), limits=[mc.parse_limit_flag("bpw<=6")])
    baselines = uniform_baselines(exact)
    assert [(b.name, b.meets_limits) for b in baselines] == [
        ("int4_g128", True), ("nvfp4", True), ("fp8", False), ("bf16", False),
    ]  # fmt: skip
    assert baselines[1].objective == pytest.approx(0.32)
    assert uniform_line(exact) == (
        "Best single format within the limits: nvfp4 (objective 0.3200); this allocation "
        "recovers 128.1% more"
    )
    from mpq_core.report.text import json_summary

    summary = json_summary(exact, None)
    assert [u["name"] for u in summary["uniform_formats"]] == ["int4_g128", "nvfp4", "fp8", "bf16"]
    # a ladder has no such line (the original report stays as it was)
    ladder = mc.solve(mc.load_problem(*mc.sample_inputs()), 0.5)
    assert uniform_line(ladder) is None


def test_charts_of_formats_give_each_format_its_own_colour_and_name(files):
    from mpq_core.charts.allocation import bit_heatmap_spec, distribution_spec
    from mpq_core.charts.colors import FORMAT_COLORS, option_colors
    from mpq_core.charts.limits import budget_use_spec

    assert len(set(FORMAT_COLORS.values())) == len(FORMAT_COLORS) == len(CATALOG)
    problem = problem_of(files)
    solution = mc.solve_exact(problem, limits=[mc.parse_limit_flag("bpw<=6")])
    colors = [FORMAT_COLORS[n] for n in ("int4_g128", "nvfp4", "fp8", "bf16")]
    assert option_colors(problem) == colors
    heat = bit_heatmap_spec(solution)
    assert heat["layout"]["title"]["text"].startswith("Format per layer, by block")
    scale = heat["data"][0]["colorscale"]
    assert [scale[2 * j][1] for j in range(4)] == colors  # option j is drawn in its colour
    swatches = [t["name"] for t in heat["data"][1:5]]
    assert swatches == ["int4_g128 (W4 · A16)", "nvfp4 (W4 · A4)", "fp8 (W8 · A8)",
                        "bf16 (W16 · A16)"]  # fmt: skip
    assert "int4_g128/nvfp4/fp8/bf16" in heat["layout"]["title"]["subtitle"]["text"]
    dist = distribution_spec(solution)
    assert dist["layout"]["title"]["text"].startswith("Format distribution")
    assert dist["data"][0]["x"] == ["int4_g128", "nvfp4", "fp8", "bf16"]
    assert dist["data"][0]["marker"]["color"] == colors
    assert dist["data"][0]["y"] == [1, 0, 2, 0]  # a fp8, b int4_g128, c fp8
    names = [t.get("name") for t in budget_use_spec(solution)["data"]]
    assert "all-bf16 cost" in names


def test_a_format_of_one_s_own_gets_a_colour_no_other_format_of_the_set_has(files, tmp_path):
    own = {"formats": {"w4g128": {"weight": {"type": "int", "bits": 4, "group_size": 128,
                                             "scale_bits": 16}, "activation_bits": 16}}}  # fmt: skip
    from mpq_core.charts.colors import option_colors, width_color

    formats = (*parse_formats(own, "own.json").values(), *catalog_formats("int4_g128,bf16"))
    flops, _ = files
    losses = {n: {"w4g128": 0.3, "int4_g128": 0.2} for n in "abc"}
    (tmp_path / "own_sens.json").write_text(json.dumps(losses))
    problem = mc.load_problem(flops, tmp_path / "own_sens.json", spec=mc.Spec(formats=formats))
    colors = option_colors(problem)
    assert len(set(colors)) == len(colors) == 3
    assert width_color(4) in colors  # int4_g128's, the 4-bit colour; w4g128 takes a spare


def test_the_html_report_figures_of_formats(files):
    from mpq_core.report.html import headline_figures, report_settings

    solution = mc.solve_exact(problem_of(files), limits=[mc.parse_limit_flag("bpw<=6")])
    head = headline_figures(solution)
    # a fp8, b int4_g128, c fp8: 83,008 bits over 14,336 weights, nominal (8*4096 + 4*8192 +
    # 8*2048) / 14336 = 5.714; 83,008 bits = 10,376 bytes = 0.0099 MiB
    assert head["Effective bits per weight"] == "5.7902 (scales included; nominal 5.71)"
    assert head["Weight memory"] == "0.01 MiB (scales included)"
    assert [k for k in head if k.endswith(" layers")] == [
        "int4_g128 layers", "nvfp4 layers", "fp8 layers", "bf16 layers",
    ]  # fmt: skip
    assert head["fp8 layers"].startswith("2 (")
    settings = report_settings(solution)
    assert settings["Formats"] == "int4_g128/nvfp4/fp8/bf16"
    assert "Weight-width ladder" not in settings and "Activation-bit rule" not in settings
    assert "All-bf16 cost" in settings
