"""Phase 1 / Phase 2 parsing: accepted variants and every rejection with its exact message."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mpq_core import InputError, load_inputs, load_problem


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


FLOPS = {
    "model": "m",
    "unit": "MACs",
    "layers": {"a": {"macs": 10, "type": "Conv2d"}, "b": {"macs": 20}},
}
SENS = {"metadata": {}, "sensitivity": {"a": 0.5, "b": 0.25}}


def load(tmp_path, flops=FLOPS, sens=SENS, **kw):
    return load_inputs(write(tmp_path, "f.json", flops), write(tmp_path, "s.json", sens), **kw)


def test_canonical_form(tmp_path):
    inputs = load(tmp_path)
    assert inputs.layers.names == ("a", "b")
    assert inputs.layers.macs.tolist() == [10.0, 20.0]
    assert inputs.layers.types == ("Conv2d", "")
    assert inputs.sensitivity.kind == "scalar"
    assert inputs.sensitivity.scores.tolist() == [0.5, 0.25]
    assert len(inputs.layers.sha256) == 64


@pytest.mark.parametrize(
    "flops, expected",
    [
        ({"layers": [{"name": "a", "macs": 10}, {"name": "b", "macs": 20}]}, [10, 20]),
        ({"a": 10, "b": 20}, [10, 20]),
        ({"layers": {"a": {"flops": 20}, "b": {"flops": 40}}}, [10, 20]),  # FLOPs = 2 x MACs
        ({"unit": "MACs", "layers": {"a": {"flops": 10}, "b": {"flops": 20}}}, [10, 20]),
        ({"unit": "FLOPs", "a": 20, "b": 40}, [10, 20]),
        ([{"name": "a", "MACs": 10}, {"name": "b", "macs": 20}], [10, 20]),
    ],
    ids=["records", "flat", "flops", "flops-unit-macs", "flat-flops-unit", "top-level-list"],
)
def test_phase1_variants(tmp_path, flops, expected):
    assert load(tmp_path, flops=flops).layers.macs.tolist() == expected


def test_file_order_is_layer_order(tmp_path):
    inputs = load(tmp_path, flops={"layers": {"b": {"macs": 1}, "a": {"macs": 2}}})
    assert inputs.layers.names == ("b", "a")
    assert inputs.sensitivity.scores.tolist() == [0.25, 0.5]  # realigned to Phase 1 order


@pytest.mark.parametrize(
    "sens",
    [
        {"a": 0.5, "b": 0.25},
        [{"name": "a", "sensitivity": 0.5}, {"name": "b", "score": 0.25}],
        {"sensitivity": [{"name": "b", "sensitivity": 0.25}, {"name": "a", "sensitivity": 0.5}]},
    ],
    ids=["flat", "list", "list-under-key"],
)
def test_phase2_scalar_variants(tmp_path, sens):
    assert load(tmp_path, sens=sens).sensitivity.scores.tolist() == [0.5, 0.25]


def test_per_bit_table_and_missing_top_width(tmp_path):
    sens = {"sensitivity": {"a": {"4": 0.3, "8": 0.1, "16": 0.0}, "b": {"4": 0.2, "8": 0.05}}}
    problem = load_problem(write(tmp_path, "f.json", FLOPS), write(tmp_path, "s.json", sens))
    assert problem.widths == (4, 8, 16)
    # gain of an option = loss(lowest) - loss(option); b's missing 16 means loss 0
    np.testing.assert_allclose(problem.values, [[0, 0.2, 0.3], [0, 0.15, 0.2]])


def test_per_bit_any_ladder(tmp_path):
    sens = {
        "sensitivity": {"a": {"2": 0.9, "4": 0.3, "8": 0.0}, "b": {"2": 0.5, "4": 0.1, "8": 0.0}}
    }
    problem = load_problem(write(tmp_path, "f.json", FLOPS), write(tmp_path, "s.json", sens))
    assert problem.widths == (2, 4, 8)
    assert problem.abits == (6, 8, 12)
    np.testing.assert_allclose(problem.costs[0], [10 * 2 * 6, 10 * 4 * 8, 10 * 8 * 12])


def expect(tmp_path, message, flops=FLOPS, sens=SENS, **kw):
    with pytest.raises(InputError) as err:
        load(tmp_path, flops=flops, sens=sens, **kw)
    assert str(err.value) == message.format(f=tmp_path / "f.json", s=tmp_path / "s.json")


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as err:
        load_inputs(str(tmp_path / "nope.json"), write(tmp_path, "s.json", SENS))
    assert str(err.value) == f"{tmp_path / 'nope.json'}: file not found"


@pytest.mark.parametrize(
    "flops, message",
    [
        (
            "{not json",
            "{f}: not JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        ({"layers": {}}, "{f}: field 'layers': no layers"),
        (
            '{"layers": {"a": {"macs": 1}, "a": {"macs": 2}}}',
            "{f}: layer 'a': duplicate name in the file",
        ),
        (
            {"layers": [{"name": "a", "macs": 1}, {"name": "a", "macs": 2}]},
            "{f}: field 'layers[1]', layer 'a': duplicate name in the file",
        ),
        (
            {"layers": {"a": {"type": "Conv2d"}}},
            "{f}: field 'macs', layer 'a': missing (give 'macs' or 'flops')",
        ),
        (
            {"layers": {"a": {"macs": "ten"}}},
            "{f}: field 'macs', layer 'a': not a number (\"ten\")",
        ),
        ({"layers": {"a": {"macs": None}}}, "{f}: field 'macs', layer 'a': missing (null)"),
        ('{"layers": {"a": {"macs": NaN}}}', "{f}: field 'macs', layer 'a': is NaN"),
        ('{"layers": {"a": {"macs": Infinity}}}', "{f}: field 'macs', layer 'a': is infinite"),
        ({"layers": {"a": {"macs": -5}}}, "{f}: field 'macs', layer 'a': is negative (-5)"),
        ({"layers": {"a": {"macs": True}}}, "{f}: field 'macs', layer 'a': not a number (True)"),
        (
            {"unit": "GB", "layers": {"a": 1}},
            "{f}: field 'unit': unknown unit 'GB' (expected 'MACs' or 'FLOPs')",
        ),
        ("42", "{f}: expected a JSON object with 'layers' or a list of layer records"),
    ],
    ids=[
        "not-json",
        "no-layers",
        "duplicate-key",
        "duplicate-record",
        "missing",
        "non-numeric",
        "null",
        "nan",
        "inf",
        "negative",
        "bool",
        "unit",
        "scalar-top",
    ],
)
def test_phase1_rejections(tmp_path, flops, message):
    expect(tmp_path, message, flops=flops)


@pytest.mark.parametrize(
    "sens, message",
    [
        ("[1, 2", "{s}: not JSON: Expecting ',' delimiter at line 1 column 6"),
        ({"sensitivity": {}}, "{s}: field 'sensitivity': no layers"),
        (
            {"sensitivity": {"a": "high", "b": 0.1}},
            "{s}: field 'sensitivity', layer 'a': not a number (\"high\")",
        ),
        ('{"sensitivity": {"a": NaN, "b": 0.1}}', "{s}: field 'sensitivity', layer 'a': is NaN"),
        (
            '{"sensitivity": {"a": 0.1, "b": -Infinity}}',
            "{s}: field 'sensitivity', layer 'b': is infinite",
        ),
        (
            {"sensitivity": {"a": 0.1, "b": -0.1}},
            "{s}: field 'sensitivity', layer 'b': is negative (-0.1)",
        ),
        (
            {"sensitivity": {"a": 0.1, "b": {"4": 0.1}}},
            "{s}: field 'sensitivity', layer 'b': mixes scalar scores and per-bit tables (the first layer is scalar)",
        ),
        (
            {"sensitivity": {"a": {"four": 0.1}, "b": {"4": 0.1}}},
            "{s}: field 'sensitivity', layer 'a': width key 'four' is not a whole number from 1 to 64",
        ),
        (
            {"sensitivity": {"a": {"4": 0.1, "8": "x"}, "b": {"4": 0.1}}},
            "{s}: field 'sensitivity.8', layer 'a': not a number (\"x\")",
        ),
        (
            [{"name": "a"}, {"name": "b", "sensitivity": 1}],
            "{s}: field 'sensitivity', layer 'a': missing (give 'sensitivity')",
        ),
        (
            {"sensitivity": {"a": 0.1}},
            "{s}: field 'sensitivity', layer 'b': 1 of 2 layers of {f} are missing here (b); on_mismatch='intersect' would keep the 1 common layers",
        ),
        (
            {"sensitivity": {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}},
            "{s}: field 'sensitivity', layer 'c': 2 of 4 layers here are not in {f} (c, d); on_mismatch='intersect' would keep the 2 common layers",
        ),
        (
            {"sensitivity": {"x": 0.1}},
            "{s}: field 'sensitivity', layer 'a': 2 of 2 layers of {f} are missing here (a, b); 1 of 1 layers here are not in {f} (x); on_mismatch='intersect' would keep the 0 common layers",
        ),
    ],
    ids=[
        "not-json",
        "no-layers",
        "non-numeric",
        "nan",
        "inf",
        "negative",
        "mixed",
        "bad-width",
        "bad-loss",
        "list-missing",
        "missing-layer",
        "extra-layers",
        "disjoint",
    ],
)
def test_phase2_rejections(tmp_path, sens, message):
    expect(tmp_path, message, sens=sens)


def test_mismatch_lists_first_names_and_counts(tmp_path):
    flops = {"layers": {f"l{i}": {"macs": 1} for i in range(9)}}
    sens = {"sensitivity": {"l0": 0.1}}
    expect(
        tmp_path,
        "{s}: field 'sensitivity', layer 'l1': 8 of 9 layers of {f} are missing here "
        "(l1, l2, l3, l4, l5, ... and 3 more); on_mismatch='intersect' would keep the 1 common layers",
        flops=flops,
        sens=sens,
    )


def test_intersect_keeps_common_layers_and_reports_drops(tmp_path):
    sens = {"sensitivity": {"b": 0.25, "z": 0.9}}
    inputs = load(tmp_path, sens=sens, on_mismatch="intersect")
    assert inputs.layers.names == ("b",)
    assert inputs.layers.macs.tolist() == [20.0]
    assert inputs.only_in_flops == ("a",)
    assert inputs.only_in_sensitivity == ("z",)
    assert inputs.warnings == (
        f"dropped 1 layer(s) found only in {tmp_path / 'f.json'}: a",
        f"dropped 1 layer(s) found only in {tmp_path / 's.json'}: z",
    )


def test_per_bit_missing_ladder_width(tmp_path):
    sens = {"sensitivity": {"a": {"4": 0.3, "8": 0.1, "16": 0}, "b": {"4": 0.3, "16": 0}}}
    with pytest.raises(InputError) as err:
        load_problem(write(tmp_path, "f.json", FLOPS), write(tmp_path, "s.json", sens))
    assert str(err.value) == (
        f"{tmp_path / 's.json'}: field 'sensitivity', layer 'b': per-bit table has no width 8 "
        "(ladder 4/8/16; 1 layer(s) lack it)"
    )


def test_per_bit_ladder_given_explicitly(tmp_path):
    sens = {
        "sensitivity": {"a": {"4": 0.3, "6": 0.2, "8": 0.1}, "b": {"4": 0.3, "6": 0.2, "8": 0.1}}
    }
    files = write(tmp_path, "f.json", FLOPS), write(tmp_path, "s.json", sens)
    assert load_problem(*files, bits=[4, 8]).widths == (4, 8)
    with pytest.raises(InputError, match=r"per-bit table has no width 2 \(ladder 2/4/8"):
        load_problem(*files, bits=[2, 4, 8])


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"pins": {"zz": 16}}, "pins: layer 'zz': no such layer in the loaded files"),
        ({"pins": {"a": 6}}, "pins: layer 'a': width 6 is not in the ladder 4/8/16"),
        ({"pins": {"a": []}}, "pins: layer 'a': no width given"),
        ({"abit_rule": "double"}, "abit_rule: must be one of plus4, match, not 'double'"),
        (
            {"upgrade_discount": -1},
            "upgrade_discount: must be a finite number from 0 to 1e6, got -1",
        ),
        ({"bits": [4, 4]}, "ladder: repeated width in [4, 4]"),
        ({"bits": [0, 4]}, "ladder: widths must be whole numbers from 1 to 64, got 0"),
    ],
)
def test_settings_rejections(tmp_path, settings, message):
    with pytest.raises(InputError) as err:
        load_problem(write(tmp_path, "f.json", FLOPS), write(tmp_path, "s.json", SENS), **settings)
    assert str(err.value) == message


def test_large_file_read_once(tmp_path, monkeypatch):
    """The file's bytes are read once and both hashed and parsed from that read."""
    from pathlib import Path

    flops = write(tmp_path, "f.json", {"layers": {f"l{i}": {"macs": i} for i in range(50_000)}})
    sens = write(tmp_path, "s.json", {f"l{i}": 0.5 for i in range(50_000)})
    reads = []
    original = Path.open

    def counting(self, *args, **kwargs):
        reads.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting)
    monkeypatch.setattr(Path, "read_text", lambda *a, **k: pytest.fail("read_text used"))
    inputs = load_inputs(flops, sens)
    assert reads == ["f.json", "s.json"]
    assert len(inputs.layers.names) == 50_000
