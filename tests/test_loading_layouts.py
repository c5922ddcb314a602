"""One parser per input layout, and the dispatchers that pick them (issue 20, item 4): each
layout parsed on its own, the choice of parser, and the size of the loading functions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from support import IN_CI, REPO

from mpq_core import InputError
from mpq_core.io import loading_layers as layers_mod
from mpq_core.io import loading_sensitivity as sens_mod
from mpq_core.io.loading import parse_layers, parse_sensitivity
from mpq_core.io.resources import parse_resources

SWAPPED = "are the two files swapped?"


def error_of(fn, *args, **kwargs) -> str:
    with pytest.raises(InputError) as err:
        fn(*args, **kwargs)
    return str(err.value)


# --- Phase 1: the dispatcher ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "parser"),
    [
        ({"layers": {"a": 1}}, "_parse_canonical"),
        ({"layers": [{"name": "a", "macs": 1}], "unit": "MACs"}, "_parse_canonical"),
        ({"a": 1, "model": "m"}, "_parse_flat"),
        ({"layers": {"a": 1}, "sensitivity": {"a": 1}}, "_parse_canonical"),  # both: Phase 1
        ([{"name": "a", "macs": 1}], "_parse_record_list"),
    ],
)
def test_phase1_dispatcher_picks_the_layout(data, parser):
    assert layers_mod._layers_layout(data, "f") is getattr(layers_mod, parser)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sensitivity": {"a": 1}}, "f: this looks like a Phase 2 (sensitivity) file, not a Phase 1 (MACs) file; " + SWAPPED),
        (42, "f: expected a JSON object with 'layers' or a list of layer records"),
        ("text", "f: expected a JSON object with 'layers' or a list of layer records"),
    ],
)  # fmt: skip
def test_phase1_dispatcher_refuses_what_has_no_layout(data, message):
    assert error_of(parse_layers, data, "f") == message


# --- Phase 1: one parser per layout -----------------------------------------------------------


def test_canonical_layout():
    meta = {"total_macs": 14}
    table = parse_layers(
        {
            "model": "m",
            "unit": "FLOPs",
            "metadata": meta,
            "layers": {"a": {"FLOPs": 20, "Type": "Linear", "params": 5}, "b": 8},
        },
        "f",
        "digest",
    )
    # unit FLOPs: a record's flops and a bare number are both halved
    assert table.names == ("a", "b") and table.macs.tolist() == [10.0, 4.0]
    assert table.types == ("Linear", "") and table.params[0] == 5 and math.isnan(table.params[1])
    assert (table.model, table.source, table.sha256) == ("m", "f", "digest")
    assert table.metadata is meta


@pytest.mark.parametrize(
    ("unit", "macs"),
    [(None, [10.0, 8.0]), ("MACs", [20.0, 8.0]), (" flop ", [10.0, 4.0])],
)
def test_canonical_layout_units(unit, macs):
    """A record's ``flops`` is halved unless the unit says MACs; a bare number only when the
    unit says FLOPs."""
    data = {"layers": {"a": {"flops": 20}, "b": 8}} | ({} if unit is None else {"unit": unit})
    assert parse_layers(data, "f").macs.tolist() == macs


def test_canonical_layout_with_a_list_of_records():
    table = parse_layers({"model": 3, "layers": [{"name": "a", "MACs": 3, "type": 2}]}, "f")
    assert (table.names, table.types, table.model) == (("a",), ("2",), "")


def test_flat_layout():
    """``model``/``unit`` strings and a ``metadata`` object are not layers; other values are."""
    table = parse_layers({"model": "m", "unit": "FLOPs", "metadata": {"k": 1}, "a": 6}, "f")
    assert (table.names, table.macs.tolist(), table.model) == (("a",), [3.0], "m")
    assert table.metadata == {"k": 1}
    table = parse_layers({"metadata": 5, "model": {"macs": 2}, "unit": "MACs"}, "f")
    assert table.names == ("metadata", "model") and table.macs.tolist() == [5.0, 2.0]


def test_record_list_layout():
    table = parse_layers([{"name": "b", "macs": 1, "params": 7}, {"name": "a", "flops": 4}], "f")
    assert table.names == ("b", "a") and table.macs.tolist() == [1.0, 2.0]
    assert (table.model, dict(table.metadata)) == ("", {})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"layers": {"a": {"score": 1}}}, "f: field 'macs', layer 'a': missing (give 'macs' or 'flops'); this record looks like a Phase 2 (sensitivity) one, " + SWAPPED),
        ({"layers": 5}, "f: field 'layers': must be a mapping of layer name to value or a list"),
        ({"unit": "GB", "layers": 5}, "f: field 'unit': unknown unit 'GB' (expected 'MACs' or 'FLOPs')"),
        ([{"name": "a", "macs": 1}, 3], "f: field 'layers[1]': must be a record with a 'name'"),
        ([{"macs": 1}], "f: field 'layers[0].name': missing or not a non-empty string"),
        ({"": 1}, "f: field 'layers': empty layer name"),
        ({"model": "m"}, "f: field 'layers': no layers"),
        ({"layers": {"a": {"macs": 1, "params": -2}}}, "f: field 'params', layer 'a': is negative (-2)"),
    ],
)  # fmt: skip
def test_phase1_rejections_of_each_layout(data, message):
    assert error_of(parse_layers, data, "f") == message


# --- Phase 2: the dispatcher ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "layout"),
    [(0.5, "scalar"), ("x", "scalar"), (None, "scalar"), ({"4": 1}, "per_bit"), ([1], "list")],
)
def test_phase2_dispatcher_reads_the_first_layer(value, layout):
    assert sens_mod._layout_of(value) == layout
    assert (
        sens_mod._PARSERS[layout].__name__
        == {
            "scalar": "_parse_scalar",
            "per_bit": "_parse_per_bit",
            "list": "_parse_lists",
        }[layout]
    )


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (0.5, {"4": 1}, "mixes scalar scores and per-bit tables (the first layer is scalar)"),
        ({"4": 1}, 0.5, "mixes scalar scores and per-bit tables (the first layer is per-bit)"),
        ([1, 2], 0.5, "mixes scalar scores and lists of values per width (the first layer is list)"),
        ({"4": 1}, [1, 2], "mixes per-bit tables and lists of values per width (the first layer is per-bit)"),
    ],
)  # fmt: skip
def test_every_layer_follows_the_first(first, second, message):
    data = {"sensitivity": {"a": first, "b": second}}
    assert error_of(parse_sensitivity, data, "s", ladder=(4, 8)) == (
        f"s: field 'sensitivity', layer 'b': {message}"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"layers": {"a": 1}}, "s: this looks like a Phase 1 (MACs) file, not a Phase 2 (sensitivity) file; " + SWAPPED),
        (1.5, "s: expected a JSON object with 'sensitivity' or a list of records"),
        ({"sensitivity": []}, "s: field 'sensitivity': no layers"),
        ({"metadata": {"synthetic": 1}, "sensitivity": {}}, "s: field 'metadata.synthetic': must be true or false, got 1"),
    ],
)  # fmt: skip
def test_phase2_dispatcher_refusals(data, message):
    assert error_of(parse_sensitivity, data, "s") == message


# --- Phase 2: where the layers and the metadata are -------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"metadata": {"synthetic": True}, "sensitivity": {"a": 0.5, "b": 0.25}},
        {"metadata": {"synthetic": "true"}, "a": 0.5, "b": 0.25},
        {"metadata": {"synthetic": True}, "sensitivity": [{"name": "a", "sensitivity": 0.5}, {"name": "b", "score": 0.25}]},
    ],
    ids=["under-key", "flat", "records-under-key"],
)  # fmt: skip
def test_containers_with_metadata(data):
    table = parse_sensitivity(data, "s")
    assert (table.names, table.scores.tolist(), table.synthetic) == (("a", "b"), [0.5, 0.25], True)


def test_a_top_level_list_has_no_metadata():
    table = parse_sensitivity([{"name": "a", "score": 1}], "s")
    assert (table.names, dict(table.metadata), table.synthetic) == (("a",), {}, False)


def test_a_flat_layer_named_metadata_is_a_layer():
    assert parse_sensitivity({"metadata": 0.5, "conv": 0.1}, "s").names == ("metadata", "conv")


# --- Phase 2: one parser per layout -----------------------------------------------------------


def test_scalar_layout():
    table = parse_sensitivity({"sensitivity": {"a": 0.5, "b": 2}}, "s", "digest")
    assert (table.kind, table.sense, table.widths) == ("scalar", "scalar", ())
    assert table.scores.tolist() == [0.5, 2.0] and table.losses.shape == (2, 0)
    assert table.sha256 == "digest"


def test_per_bit_layout():
    """The widths are those of any layer, sorted; NaN where a layer lacks one; the scalar score
    is the loss at the lowest width."""
    table = parse_sensitivity({"sensitivity": {"a": {"8": 0.1, "4": 0.3}, "b": {"16": 0}}}, "s")
    assert (table.kind, table.sense, table.widths) == ("per_bit", "loss", (4, 8, 16))
    np.testing.assert_array_equal(table.losses, [[0.3, 0.1, np.nan], [np.nan, np.nan, 0.0]])
    np.testing.assert_array_equal(table.scores, [0.3, np.nan])


def test_per_bit_layout_of_scores():
    data = {"metadata": {"higher_is_better": True}, "sensitivity": {"a": {"4": -2, "8": 5}}}
    table = parse_sensitivity(data, "s")
    assert (table.sense, table.losses.tolist()) == ("score", [[-2.0, 5.0]])
    del data["metadata"]
    assert error_of(parse_sensitivity, data, "s") == (
        "s: field 'sensitivity.4', layer 'a': is negative (-2); losses cannot be (scores with "
        '"higher_is_better": true in the metadata can)'
    )


def test_lists_layout():
    """MixDQ's layout: the values follow the ladder in ascending order, whatever order the
    ladder is given in; scores unless the metadata says otherwise."""
    data = {"model.a": [1, 2, 3], "model.b": [-1, 0, 4]}
    table = parse_sensitivity(data, "s", ladder=(8, 2, 4), name_prefix="model.")
    assert (table.names, table.widths, table.sense) == (("a", "b"), (2, 4, 8), "score")
    assert table.losses.tolist() == [[1.0, 2.0, 3.0], [-1.0, 0.0, 4.0]]
    losses = {"metadata": {"higher_is_better": False}, "sensitivity": data}
    assert error_of(parse_sensitivity, losses, "s", ladder=(2, 4, 8)) == (
        "s: field 'sensitivity.2', layer 'model.b': is negative (-1); losses cannot be (scores "
        'with "higher_is_better": true in the metadata can)'
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"model.a": 1, "a": 2}, "s: field 'sensitivity', layer 'a': duplicate name after removing the name prefix"),
        ({"model.": 1}, "s: layer 'model.': empty after removing the name prefix"),
        ({"a": {}}, "s: field 'sensitivity', layer 'a': empty per-bit table"),
        ({"a": [1, "x"]}, "s: field 'sensitivity[1]', layer 'a': not a number (\"x\")"),
    ],
)  # fmt: skip
def test_names_and_values_of_each_layout(data, message):
    assert error_of(parse_sensitivity, data, "s", ladder=(4, 8), name_prefix="model.") == message


# --- the resources file -----------------------------------------------------------------------


def test_both_resources_layouts_give_the_same_tables():
    tables = {"lat": {"a": {"4": 0.5, "8": 1}}, "energy": {"a": {"04": 2, "8": 3}}}
    nested = parse_resources({"resources": tables, "units": {"lat": "ms"}}, "r")
    flat = parse_resources({**tables, "units": {"lat": "ms"}, "metadata": {"x": 1}}, "r")
    for table in (nested, flat):
        assert table.tables == {"lat": {"a": {4: 0.5, 8: 1.0}}, "energy": {"a": {4: 2.0, 8: 3.0}}}
        assert table.units == {"lat": "ms", "energy": ""}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "r: expected a JSON object with 'resources'"),
        ({"metadata": {}}, "r: field 'resources': must map resource names to per-layer tables"),
        ({"lat": {"a": {"4": 1}}, "units": {"lat": 5}}, "r: field 'units': must map resource names to unit names"),
        ({"bops": {"a": {"4": 1}}}, "r: field 'resources.bops': 'bops' is computed from the Phase 1 file; name this resource otherwise"),
        ({"lat": {}}, "r: field 'resources.lat': must map layer names to {width: value}"),
        ({"lat": {"a": []}}, "r: field 'lat', layer 'a': must map widths or format names to values"),
        ({"lat": {"a": {"4": 1, "04": 2}}}, "r: field 'lat', layer 'a': width 4 given twice ('04')"),
        ({"lat": {"a": {"4": -1}}}, "r: field 'lat.4', layer 'a': is negative (-1)"),
        ({"lat": {"a": {"4": 1}}, "units": {"watts": "W"}}, "r: field 'units': unit for a resource the file does not give"),
    ],
)  # fmt: skip
def test_resources_rejections(data, message):
    assert error_of(parse_resources, data, "r") == message


# --- the split keeps the public names and stays small -----------------------------------------


def test_public_names_stay_importable_from_loading():
    from mpq_core.io import loading

    for name in ("Inputs", "LayerTable", "SensitivityTable", "InputFile", "SWAPPED",
                 "align_inputs", "check_losses", "load_inputs", "number_field", "parse_layers",
                 "parse_sensitivity", "read_json", "width_key"):  # fmt: skip
        assert hasattr(loading, name), name


LOADING_FILES = ["loading.py", "loading_fields.py", "loading_layers.py", "loading_sensitivity.py"]


@pytest.mark.parametrize("name", [*LOADING_FILES, "resources.py"])
def test_loading_functions_are_small(name):
    """Regression for issue 20 item 4: parse_sensitivity was radon grade E (35) and 111 lines."""
    if not IN_CI:
        pytest.importorskip("radon")
    from radon.complexity import cc_visit

    source = (Path(REPO) / "mpq_core" / "io" / name).read_text(encoding="utf-8")
    for block in cc_visit(source):
        lines = block.endline - block.lineno + 1
        assert block.complexity <= 10, f"{name}:{block.lineno} {block.name}: {block.complexity}"
        assert lines <= 60, f"{name}:{block.lineno} {block.name}: {lines} lines"
