"""Hostile and odd inputs: every one a single InputError naming the file (never a traceback,
a hang or a memory blow-up), and the reasonable variants accepted."""

from __future__ import annotations

import json
import os
import threading

import pytest

from mpq_core import InputError, load_inputs, load_problem
from mpq_core.io.loading import parse_sensitivity
from mpq_core.io.reading import InputFile, read_data

FLOPS = {"layers": {"a": {"macs": 10, "params": 4}, "b": {"macs": 20, "params": 8}}}
SENS = {"sensitivity": {"a": 0.5, "b": 0.25}}


def write(tmp_path, name, data) -> str:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def error_of(fn, *args, **kwargs) -> str:
    with pytest.raises(InputError) as err:
        fn(*args, **kwargs)
    return str(err.value)


def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    done = []
    worker = threading.Thread(target=lambda: done.append(error_of(read_data, str(fifo))))
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "reading a FIFO must not block"
    assert done == [f"{fifo}: is not a regular file (a pipe, device or socket); give a file"]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused(device):
    assert error_of(read_data, device) == (
        f"{device}: is not a regular file (a pipe, device or socket); give a file"
    )


def test_size_cap_is_documented_and_overridable(tmp_path, monkeypatch):
    path = write(tmp_path, "big.json", b" " * 2_000_001 + b"{}")
    monkeypatch.setenv("MPQ_MAX_INPUT_MB", "2")
    assert error_of(read_data, path) == (
        f"{path}: is 2.0 MB, over the 2 MB limit for inputs (raise it with the environment "
        "variable MPQ_MAX_INPUT_MB)"
    )
    monkeypatch.setenv("MPQ_MAX_INPUT_MB", "3")
    assert read_data(path)[2] == {}
    monkeypatch.setenv("MPQ_MAX_INPUT_MB", "1")
    assert "over the 1 MB limit" in error_of(read_data, InputFile("up.json", b"[" * 1_000_001))


def test_deep_nesting_is_refused(tmp_path):
    path = write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000)
    assert error_of(read_data, path) == f"{path}: not usable: nested deeper than 200 levels"
    # brackets inside strings do not count
    ok = write(tmp_path, "ok.json", json.dumps({"layers": {"[" * 500: {"macs": 1}}}))
    assert read_data(ok)[2]["layers"]


@pytest.mark.parametrize(
    "value, message",
    [
        ("1" * 400, "field 'macs', layer 'a': is too large (a 400-digit number)"),
        ("1e400", "field 'macs', layer 'a': is infinite"),
        ("1e308", None),  # finite alone; the product with the widths overflows
    ],
)
def test_huge_numbers(tmp_path, value, message):
    text = '{"layers": {"a": {"macs": VALUE}, "b": {"macs": 1}}}'.replace("VALUE", value)
    flops = write(tmp_path, "f.json", text)
    sens = write(tmp_path, "s.json", SENS)
    if message is not None:
        assert error_of(load_problem, flops, sens) == f"{flops}: {message}"
    else:
        assert error_of(load_problem, flops, sens) == (
            f"{flops}: layer 'a': MACs x wbit x abit overflows (infinite); the numbers are too large"
        )


def test_scores_whose_sum_overflows(tmp_path):
    flops = write(tmp_path, "f.json", FLOPS)
    sens = write(tmp_path, "s.json", {"sensitivity": {"a": 1.7e308, "b": 1.7e308}})
    assert error_of(load_problem, flops, sens) == (  # 4->8 gains s, 8->16 gains 0.2 s more
        f"{sens}: layer 'a': sensitivity gain overflows (infinite); the numbers are too large"
    )
    assert error_of(load_problem, flops, sens, upgrade_discount=0) == (  # each fine, the sum not
        f"{sens}: the totals over all layers overflow (infinite); the numbers are too large"
    )
    assert error_of(
        load_problem, flops, write(tmp_path, "t.json", SENS), upgrade_discount=1e308
    ) == ("upgrade_discount: must be a finite number from 0 to 1e6, got 1e+308")


@pytest.mark.parametrize(
    "sens, message",
    [
        ({"sensitivity": {"a": {"4": 1, "04": 2}, "b": {"4": 1}}}, "field 'sensitivity', layer 'a': width 4 given twice ('04')"),
        ({"sensitivity": {"a": {"1_6": 1}, "b": {"4": 1}}}, "field 'sensitivity', layer 'a': width key '1_6' is not a whole number from 1 to 64"),
        ({"sensitivity": {"a": {str(2**1100): 1}, "b": {"4": 1}}}, "field 'sensitivity', layer 'a': width key '" + str(2**1100)[:40] + "' is not a whole number from 1 to 64"),
        ({"metadata": {"synthetic": "maybe"}, "sensitivity": {"a": 1, "b": 1}}, "field 'metadata.synthetic': must be true or false, got \"maybe\""),
    ],
)  # fmt: skip
def test_ambiguous_sensitivity_is_refused(tmp_path, sens, message):
    flops = write(tmp_path, "f.json", FLOPS)
    path = write(tmp_path, "s.json", sens)
    assert error_of(load_inputs, flops, path) == f"{path}: {message}"


def test_macs_given_twice_in_two_cases(tmp_path):
    flops = write(tmp_path, "f.json", {"layers": {"a": {"macs": 1, "MACs": 2}}})
    assert error_of(load_inputs, flops, write(tmp_path, "s.json", {"a": 1})) == (
        f"{flops}: field 'macs', layer 'a': given twice, as 'macs' and 'MACs'"
    )


def test_synthetic_as_a_string_is_read_as_written(tmp_path):
    flops = write(tmp_path, "f.json", FLOPS)
    sens = write(
        tmp_path, "s.json", {"metadata": {"synthetic": "false"}, "sensitivity": SENS["sensitivity"]}
    )
    assert load_inputs(flops, sens).sensitivity.synthetic is False


def test_a_layer_named_metadata_is_kept(tmp_path):
    flops = write(tmp_path, "f.json", {"metadata": 5, "conv": 7})
    sens = write(tmp_path, "s.json", {"metadata": 0.5, "conv": 0.1})
    inputs = load_inputs(flops, sens)
    assert inputs.layers.names == ("metadata", "conv")
    assert inputs.sensitivity.scores.tolist() == [0.5, 0.1]


@pytest.mark.parametrize(
    "slot, message",
    [
        ("flops", "this looks like a Phase 2 (sensitivity) file, not a Phase 1 (MACs) file; are the two files swapped?"),
        ("sensitivity", "this looks like a Phase 1 (MACs) file, not a Phase 2 (sensitivity) file; are the two files swapped?"),
    ],
)  # fmt: skip
def test_swapped_files_are_named(tmp_path, slot, message):
    flops = write(tmp_path, "f.json", FLOPS)
    sens = write(tmp_path, "s.json", SENS)
    if slot == "flops":
        assert error_of(load_inputs, sens, flops) == f"{sens}: {message}"
    else:
        assert error_of(load_inputs, flops, flops) == f"{flops}: {message}"


def test_long_layer_names_are_cut_in_messages(tmp_path):
    name = "x" * 300_000
    flops = write(tmp_path, "f.json", {"layers": {name: {"macs": -1}}})
    message = error_of(load_inputs, flops, write(tmp_path, "s.json", {name: 1}))
    assert len(message) < 250
    assert f"layer '{'x' * 53}…{'x' * 20} (300,000 characters)'" in message


def test_yaml_aliases_are_refused(tmp_path):
    path = write(tmp_path, "s.yaml", "a: &x [1, 2, 3]\nb: *x\n")
    assert error_of(read_data, path) == f"{path}: YAML aliases (*name) are not accepted"


def test_yaml_duplicate_keys_are_refused(tmp_path):
    path = write(tmp_path, "s.yaml", "a: 1\na: 2\n")
    assert error_of(read_data, path) == f"{path}: layer 'a': duplicate name in the file"


# --- MixDQ's layout: YAML, one list per layer, a name prefix ----------------------------------


def test_mixdq_layout_with_prefix_and_ladder(tmp_path):
    flops = write(tmp_path, "f.json", FLOPS)
    sens = write(tmp_path, "s.yaml", "model.a: [10.5, 20.0, 30.0]\nmodel.b: [1, 2, 3]\n")
    inputs = load_inputs(flops, sens, ladder=(2, 4, 8), name_prefix="model.")
    table = inputs.sensitivity
    assert table.names == ("a", "b") and table.widths == (2, 4, 8)
    assert table.higher_is_better and table.sense == "score"
    p = load_problem(flops, sens, bits=[2, 4, 8], name_prefix="model.")
    assert p.values.tolist() == [[0.0, 9.5, 19.5], [0.0, 1.0, 2.0]]


def test_mixdq_layout_needs_the_ladder(tmp_path):
    sens = write(tmp_path, "s.yaml", "model.a: [1, 2]\n")
    flops = write(tmp_path, "f.json", {"layers": {"a": {"macs": 1}}})
    assert error_of(load_inputs, flops, sens, name_prefix="model.") == (
        f"{sens}: field 'sensitivity', layer 'a': gives a list of values per layer: name their "
        "widths with the ladder (--bits, e.g. 2,4,8; ascending)"
    )
    assert error_of(load_inputs, flops, sens, ladder=(2, 4, 8), name_prefix="model.") == (
        f"{sens}: field 'sensitivity', layer 'a': has 2 value(s) but the ladder 2/4/8 has 3 widths"
    )


def test_scores_may_be_negative_losses_may_not():
    table = parse_sensitivity(
        {"metadata": {"higher_is_better": True}, "sensitivity": {"a": {"4": -3.5, "8": 2}}}, "s"
    )
    assert table.losses.tolist() == [[-3.5, 2.0]]
    with pytest.raises(InputError) as err:
        parse_sensitivity({"sensitivity": {"a": {"4": -3.5, "8": 2}}}, "s")
    assert str(err.value) == (
        "s: field 'sensitivity.4', layer 'a': is negative (-3.5); losses cannot be (scores with "
        '"higher_is_better": true in the metadata can)'
    )
