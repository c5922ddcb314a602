"""Bad input from the adversarial audit of issue 19 (items 6, 9 and 10): each is one line on
stderr and exit code 2 from the command line (no traceback, no warning), or one InputError /
link note from the engine, with its exact message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

import mpq_core as mc
from mpq_core.io import export
from mpq_core.model.constraints import MAX_LIMITS, Constraints, Limit
from mpq_core.model.spec_url import spec_from_query

OPT = "--optimize_mixed_precision"
DIGITS = "9" * 5000  # past Python's 4,300-digit limit of int("...")


def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def fails(run, workdir: Path, *argv: str) -> str:
    """The one stderr line of a run that must exit 2 and write nothing."""
    code, out, err = run(OPT, *argv)
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert not (workdir / "results").exists()
    return one_line(err)


@pytest.fixture
def one_layer(workdir) -> Path:
    """A Phase 1 file with one layer ``a``."""
    return write(workdir / "f.json", {"layers": {"a": {"macs": 1000, "params": 10}}})


# --- item 6: YAML keys that are not text, huge integers ---------------------------------------


def test_yaml_integer_key_is_a_layer_name_not_a_traceback(run, workdir, one_layer):
    """Regression: ``1: [1, 2, 3]`` made the key an int, and the mismatch message
    (``_first_names``) died with a TypeError."""
    write(workdir / "s.yaml", "1: [1, 2, 3]\n")
    assert fails(run, workdir, "--flops_file", "f.json", "--sensitivity_file", "s.yaml",
                 "--bits", "2,4,8") == (
        "main.py: error: s.yaml: field 'sensitivity', layer 'a': 1 of 1 layers of f.json are "
        "missing here (a); 1 of 1 layers here are not in f.json (1); on_mismatch='intersect' "
        "would keep the 0 common layers"
    )  # fmt: skip


def test_yaml_keys_are_read_as_written(run, workdir):
    """A YAML key is the text written, as a JSON key is: the layer ``1`` and width ``4``."""
    write(workdir / "f.json", {"layers": {"1": {"macs": 1000}, "010": {"macs": 1000}}})
    write(workdir / "s.yaml", "1: {4: 0.5, 8: 0.25}\n010: {4: 0.5, 8: 0.25}\n")
    code, out, err = run(OPT, "--flops_file", "f.json", "--sensitivity_file", "s.yaml",
                         "--json", "--no_save")  # fmt: skip
    assert code == 0, err
    assert set(json.loads(out)["bit_allocation"]) == {"1", "010"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"a: {DIGITS}\n", "s.yaml: field 'sensitivity', layer 'a': is too large (a 5000-digit number)"),
        (f"a: [1, -{DIGITS}, 3]\n", "s.yaml: field 'sensitivity[1]', layer 'a': is too large (a 5000-digit number)"),
        (f"a: {{4: {DIGITS}}}\n", "s.yaml: field 'sensitivity.4', layer 'a': is too large (a 5000-digit number)"),
        ("a: 2020-13-45\n", "s.yaml: not YAML: unreadable value '2020-13-45' (month must be in 1..12) at line 1 column 4"),
        ("a: !!int abc\n", "s.yaml: not YAML: unreadable value 'abc' (invalid literal for int() with base 10: 'abc') at line 1 column 4"),
        ("a: 1\n? [b, c]\n: 2\n", "s.yaml: not YAML: a key must be a name, not a list or mapping at line 2 column 3"),
        ("1: 1\n'1': 2\n", "s.yaml: layer '1': duplicate name in the file"),
        ("metadata: {synthetic: 2020-01-01}\nsensitivity: {a: 1}\n", "s.yaml: field 'metadata.synthetic': must be true or false, got \"2020-01-01\""),
        ("a: {4: [2020-01-01]}\n", "s.yaml: field 'sensitivity.4', layer 'a': not a number ([\"2020-01-01\"])"),
    ],
    ids=["huge score", "huge in a list", "huge in a table", "bad date", "bad int tag", "list key",
         "same key twice", "date flag", "date in a list"],
)  # fmt: skip
def test_bad_yaml_fails_in_one_line(run, workdir, one_layer, text, message):
    """Regression: a 5,000-digit integer raised Python's ValueError inside the YAML parser,
    a date or tag YAML cannot build raised what its constructor raised."""
    write(workdir / "s.yaml", text)
    line = fails(run, workdir, "--flops_file", "f.json", "--sensitivity_file", "s.yaml",
                 "--bits", "2,4,8")  # fmt: skip
    assert line == f"main.py: error: {message}"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("p.json", f'{{"a": {DIGITS}}}', "p.json: field 'pins', layer 'a': expected a width or a list of widths, got a 5000-digit number"),
        ("c.json", f'{{"limits": [{{"resource": "bops", "at_most": {DIGITS}}}]}}', "c.json: field 'limits[0].at_most': not a limit value (a 5000-digit number)"),
        ("c.yaml", "limits:\n  - {resource: bops, at_most: 0.5x, 1: 2, b: 3}\n", "c.yaml: field 'limits[0]': unknown key '1' (expected resource, at_most, at_least, group)"),
        ("c.yaml", "groups: {1: [a]}\n", "c.yaml: field 'groups.1': not a valid name ('1'): letters, digits, _ . - (at most 64)"),
    ],
    ids=["huge pin", "huge limit", "integer key of a limit", "integer group name"],
)  # fmt: skip
def test_huge_integers_and_odd_keys_in_the_other_files(
    run, workdir, one_layer, name, data, message
):
    write(workdir / "s.json", {"sensitivity": {"a": 1.0}})
    write(workdir / name, data)
    flag = "--pin_file" if name.startswith("p") else "--constraints"
    line = fails(run, workdir, "--flops_file", "f.json", "--sensitivity_file", "s.json",
                 flag, name)  # fmt: skip
    assert line == f"main.py: error: {message}"


# --- item 9: one cap on the number of limits, everywhere --------------------------------------


def test_the_limit_cap_is_one_constant_checked_by_the_constraints_record():
    limits = tuple(Limit("bops", f"0.{i}x") for i in range(1, MAX_LIMITS + 2))
    assert len(Constraints(limits=limits[:MAX_LIMITS]).limits) == MAX_LIMITS
    with pytest.raises(mc.InputError) as err:
        Constraints(limits=limits)
    assert str(err.value) == "limits: at most 16 limits, got 17"


@pytest.mark.parametrize(
    ("in_file", "flags", "budget", "message"),
    [
        (0, 17, False, "main.py: error: --limit: at most 16 limits, got 17"),
        (10, 7, False, "main.py: error: c.json + --limit: at most 16 limits, got 17"),
        (0, 16, True, "main.py: error: --limit + --budget_multiplier: at most 16 limits, got 17"),
        (16, 0, True, "main.py: error: c.json + --budget_multiplier: at most 16 limits, got 17"),
        (17, 0, False, "main.py: error: c.json: field 'limits': at most 16 limits, got 17"),
    ],
)
def test_more_than_16_limits_from_the_command_line(run, workdir, in_file, flags, budget, message):
    """Regression: the cap applied only to the constraints file; 17 --limit flags ran."""
    argv = []
    if in_file:
        records = [{"resource": "bops", "at_most": f"0.{i}x"} for i in range(1, in_file + 1)]
        write(workdir / "c.json", {"limits": records})
        argv += ["--constraints", "c.json"]
    for i in range(1, flags + 1):
        argv += ["--limit", f"bops<=0.{i}x"]
    if budget:
        argv += ["--budget_multiplier", "0.5"]
    assert fails(run, workdir, *argv) == message


def test_more_than_16_limits_in_a_link_are_a_note():
    """Regression: 400 ``limit`` parameters were all taken; now the link's limits are left
    out (the rest of the link still applies)."""
    params = {"limit": ["bops<=0.5x"] * 400, "solver": ["exact"]}
    spec, notes = spec_from_query(params)
    assert notes == ["limit: at most 16 limits, got 400"]
    assert spec.solver == "exact"
    assert spec.constraints.limits == ()
    spec, notes = spec_from_query({"limit": ["mean_wbits<=6"] * 16, "budget": ["0.3"]})
    assert notes == ["limit: at most 16 limits, got 17"]
    spec, notes = spec_from_query({"limit": ["mean_wbits<=6"] * 15, "budget": ["0.3"]})
    assert notes == [] and len(spec.constraints.limits) == 16


# --- item 10: names in messages, plain widths, overflows, the exported pair -------------------


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"resource": "watts", "at_most": 1}, "c.json: field 'limits[0]': unknown resource 'watts' (known: bops, wbits, mean_wbits; others come from a resources file)"),
        ({"resource": "bops", "group": "nope", "at_most": "0.5x"}, "c.json: field 'limits[0]': unknown group 'nope' (groups: none defined)"),
    ],
)  # fmt: skip
def test_an_unknown_resource_or_group_names_the_constraints_file(run, workdir, record, message):
    """Regression: the message began ``limits:``, without the file's name."""
    write(workdir / "c.json", {"limits": [record]})
    assert fails(run, workdir, "--constraints", "c.json") == f"main.py: error: {message}"
    # the file's own record number, whatever the flags add before or after it
    write(workdir / "c.json", {"limits": [{"resource": "mean_wbits", "at_most": 8}, record]})
    line = fails(run, workdir, "--constraints", "c.json", "--budget_multiplier", "0.5",
                 "--limit", "bops<=0.4x")  # fmt: skip
    assert line == f"main.py: error: {message.replace('limits[0]', 'limits[1]')}"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bits", "\uff19"], "main.py: error: argument --bits: expected whole numbers separated by commas (like 4,8,16), got '\uff19' (see main.py --help)"),
        (["--bits", "4,\u0668"], "main.py: error: argument --bits: expected whole numbers separated by commas (like 4,8,16), got '4,\u0668' (see main.py --help)"),
        (["--pin", "conv_in=\uff11\uff16"], "main.py: error: argument --pin: BITS must be a width or widths separated by commas (like 16 or 8,16), got 'conv_in=\uff11\uff16' (see main.py --help)"),
        (["--pin", "conv_in=4,4"], "main.py: error: --pin: layer 'conv_in': repeated width in [4, 4]"),
        (["--bits", "4,4,8"], "main.py: error: --bits: repeated width in [4, 4, 8]"),
    ],
)  # fmt: skip
def test_widths_are_plain_whole_numbers_on_the_command_line(run, workdir, argv, message):
    """Regression: ``int()`` read a full-width 9 as 9, and ``--pin conv_in=4,4`` was taken
    as 4 (a repeated width in a pin set is an error, as in the ladder)."""
    assert fails(run, workdir, *argv) == message


def test_a_repeated_width_in_a_pin_file_names_the_file(run, workdir):
    write(workdir / "pins.json", {"conv_in": [8, 8]})
    assert fails(run, workdir, "--pin_file", "pins.json") == (
        "main.py: error: pins.json: field 'pins', layer 'conv_in': repeated width in [8, 8]"
    )


@pytest.mark.parametrize("key", [" 4", "4 ", "\u0664", "\uff14", "4\n", "+4"])
def test_width_keys_are_plain_whole_numbers(run, workdir, one_layer, key):
    """Regression: ``" 4"`` and the Arabic-Indic ``"٤"`` were read as width 4."""
    write(workdir / "s.json", {"sensitivity": {"a": {key: 0.5, "8": 0.0}}})
    line = fails(run, workdir, "--flops_file", "f.json", "--sensitivity_file", "s.json")
    assert line == (
        f"main.py: error: s.json: field 'sensitivity', layer 'a': width key {key!r} is not a "
        "whole number from 1 to 64"
    )


def test_width_keys_of_a_resources_file_are_plain_whole_numbers(run, workdir, one_layer):
    write(workdir / "s.json", {"sensitivity": {"a": 1.0}})
    write(workdir / "r.json", {"resources": {"lat": {"a": {"4": 1, " 8": 2, "16": 3}}}})
    line = fails(run, workdir, "--flops_file", "f.json", "--sensitivity_file", "s.json",
                 "--resources", "r.json")  # fmt: skip
    assert line == (
        "main.py: error: r.json: field 'lat', layer 'a': key ' 8' is neither a width (a whole "
        "number from 1 to 64) nor a format name"
    )


def test_a_link_ladder_or_pin_of_other_digits_is_a_note():
    spec, notes = spec_from_query({"ladder": ["\uff14,8"], "pin\uff11\uff16": ["conv_in"]})
    assert spec.ladder is None and spec.pins == ()
    assert notes == [
        "ladder: expected at most 12 whole numbers from 1 to 64, got '\uff14,8'",
        "pin\uff11\uff16: the width must be from 1 to 64",
    ]


def test_scores_near_the_largest_float_fail_without_a_warning(workdir):
    """Regression: ±1.7e308 scores printed numpy's RuntimeWarning (overflow in subtract)
    before the error. Run as a process: the warning went to its stderr."""
    write(workdir / "f.json", {"layers": {"a": {"macs": 1000}, "b": {"macs": 1000}}})
    table = {"4": -1.7e308, "8": 1.7e308}
    write(workdir / "s.json", {"metadata": {"higher_is_better": True},
                               "sensitivity": {"a": table, "b": table}})  # fmt: skip
    result = subprocess.run(
        [sys.executable, str(REPO / "main.py"), OPT, "--flops_file", "f.json",
         "--sensitivity_file", "s.json", "--no_save"],
        capture_output=True, text=True, timeout=120, check=False, cwd=workdir,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "main.py: error: s.json: layer 'a': sensitivity gain overflows (infinite); the numbers "
        "are too large\n"
    )


def _pair_inputs(workdir: Path, favoured: str) -> None:
    """Two equal layers; 0.7 of the all-8-bit cost affords 8 bits for one of them (2 x 32,000
    BOPs at 4 bits, 96,000 at 8 with A8/A12: 128,000 <= 134,400): the ``favoured`` one."""
    write(workdir / "f.json", {"layers": {"a": {"macs": 1000}, "b": {"macs": 1000}}})
    scores = {"a": 1.0, "b": 1.0} | {favoured: 5.0}
    write(workdir / "s.json", {"sensitivity": scores})


def test_an_interrupted_export_never_leaves_a_mixed_pair(run, workdir, monkeypatch):
    """Regression: ``--export_format both`` wrote the config, then the mapping; a kill in
    between left the new config beside the mapping of an earlier run. Now both are written
    to temporaries, the old mapping is removed, the config renamed, the mapping last."""
    argv = ("--flops_file", "f.json", "--sensitivity_file", "s.json", "--budget_multiplier",
            "0.7", "--bits", "4,8", "--export_format", "both")  # fmt: skip
    _pair_inputs(workdir, "a")
    assert run(OPT, *argv)[0] == 0
    folder = workdir / "results" / "mixed_precision"
    (config,) = folder.glob("quantization_config_*.json")
    (mapping,) = folder.glob("wbits_*.yaml")
    assert mapping.read_text() == '"a": 8\n"b": 4\n'

    _pair_inputs(workdir, "b")  # the same names, another allocation
    renames = []

    def killed_at_the_second_rename(src, dst):
        renames.append(Path(dst).name)
        if len(renames) == 2:
            raise KeyboardInterrupt  # what a kill between the two renames leaves
        os.rename(src, dst)

    real_replace = os.replace
    monkeypatch.setattr(export.os, "replace", killed_at_the_second_rename)
    with pytest.raises(KeyboardInterrupt):
        run(OPT, *argv)
    assert renames == [config.name, mapping.name]  # the config first, the mapping last
    assert json.loads(config.read_text())["bit_allocation"] == {"a": 4, "b": 8}
    assert not mapping.exists()  # never the old mapping beside the new config
    assert sorted(p.name for p in folder.iterdir()) == [config.name]  # no temporaries left

    monkeypatch.setattr(export.os, "replace", real_replace)
    assert run(OPT, *argv)[0] == 0
    assert mapping.read_text() == '"a": 4\n"b": 8\n'


def test_a_failed_pair_write_changes_neither_file(workdir, monkeypatch):
    """A write that fails before any rename (disk full) leaves both earlier files as they
    were and no temporary behind."""
    first, second = workdir / "one.json", workdir / "two.yaml"
    first.write_text("old 1")
    second.write_text("old 2")
    calls = []

    def full_disk(target, data):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(target, data)

    real = export._temporary
    monkeypatch.setattr(export, "_temporary", full_disk)
    with pytest.raises(OSError):
        export.write_files_atomic([(first, b"new 1"), (second, b"new 2")])
    assert (first.read_text(), second.read_text()) == ("old 1", "old 2")
    assert sorted(p.name for p in workdir.iterdir()) == ["one.json", "two.yaml"]
