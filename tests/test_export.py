"""Config export: original shape, independent re-costing, round trip, CSV, atomic writes."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from factory import make_problem

import mpq_core as m
import mpq_core.io.export as export_module
from mpq_core import InputError
from mpq_core.io.export import WIDTHS_SCHEMA_VERSION

SAMPLE_FLOPS = m.SAMPLES["sd14"].flops_path


@pytest.fixture(scope="module")
def sample(sample_problem):
    return sample_problem


def independent_cost(config: dict) -> float:
    """BOPs of a config from the raw Phase 1 JSON: sum of MACs x wbit x abit."""
    layers = json.loads(SAMPLE_FLOPS.read_text())["layers"]
    return math.fsum(
        layers[name]["macs"] * q["wbit"] * q["abit"]
        for name, q in config["quantization_config"].items()
    )


@pytest.mark.parametrize("solver", ["greedy", "exact"])
@pytest.mark.parametrize("multiplier", [0.13, 0.3, 0.5, 0.7, 1.0])
def test_exported_cost_recomputed_independently(sample, solver, multiplier):
    config = m.export_config(m.solve(sample, multiplier, solver))
    meta = config["metadata"]
    cost = independent_cost(config)
    max_cost = math.fsum(
        v["macs"] * 256 for v in json.loads(SAMPLE_FLOPS.read_text())["layers"].values()
    )
    assert cost <= multiplier * max_cost
    assert cost / 1e9 == pytest.approx(meta["cost_gbops"], rel=1e-12)
    assert max_cost / 1e9 == pytest.approx(meta["max_cost_gbops"], rel=1e-12)
    assert meta["budget_utilization"] == pytest.approx(cost / (multiplier * max_cost))
    for name, q in config["quantization_config"].items():
        assert q["abit"] == min(q["wbit"] + 4, 16)
        assert config["bit_allocation"][name] == q["wbit"]


def test_metadata_keys(sample):
    meta = m.export_config(m.solve(sample, 0.5))["metadata"]
    original = ["budget_multiplier", "num_layers", "flops_file", "sensitivity_file"]
    added = [
        "schema_version", "solver", "abit_rule", "upgrade_discount", "ladder", "pins",
        "budget_gbops", "cost_gbops", "min_cost_gbops", "max_cost_gbops", "budget_utilization",
        "objective", "max_objective", "num_upgrades", "flops_sha256", "sensitivity_sha256",
    ]  # fmt: skip
    assert set(original + added) <= set(meta)
    assert meta["num_layers"] == 314
    assert meta["flops_file"] == "sample_data/sd14_unet/flops_analysis_unet.json"
    assert meta["schema_version"] == WIDTHS_SCHEMA_VERSION == 2  # 3 only for formats
    assert meta["ladder"] == [4, 8, 16]
    import hashlib

    assert meta["flops_sha256"] == hashlib.sha256(SAMPLE_FLOPS.read_bytes()).hexdigest()


def test_round_trip(tmp_path, sample):
    solution = m.solve(sample, 0.42, "exact")
    path = m.save_config(solution, tmp_path)
    assert path == tmp_path / "mixed_precision" / "quantization_config_0.42_exact.json"
    assert path.read_text() == m.config_json(m.export_config(solution))
    saved = m.load_config(path)
    assert saved.metadata == json.loads(path.read_text())["metadata"]
    again = m.evaluate_config(sample, saved)
    assert again.choice.tolist() == solution.choice.tolist()
    assert (again.cost, again.objective, again.multiplier) == (
        solution.cost,
        solution.objective,
        0.42,
    )
    assert m.export_config(again)["bit_allocation"] == m.export_config(solution)["bit_allocation"]


def test_round_trip_with_ties(tmp_path):
    """Regression: a config saved from a problem with ties (--tie_fused) was re-costed with
    one option per layer where the solver's instance takes one per tie: IndexError."""
    tied = m.load_problem(*m.sample_inputs(), spec=m.Spec(tie_fused=True))
    solution = m.solve(tied, 0.42, "exact")
    saved = m.load_config(m.save_config(solution, tmp_path))
    again = m.evaluate_config(tied, saved)
    assert again.status == "feasible" and again.choice.tolist() == solution.choice.tolist()
    assert again.objective == solution.objective
    # the same config with one tied layer moved: re-costed as it is, and not feasible
    data = json.loads((tmp_path / "mixed_precision" / saved.source.split("/")[-1]).read_text())
    q = "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q"
    width = data["bit_allocation"][q]
    other = 16 if width != 16 else 4
    data["bit_allocation"][q] = other
    data["quantization_config"][q] = {"wbit": other, "abit": min(other + 4, 16)}
    (tmp_path / "split.json").write_text(json.dumps(data))
    split = m.evaluate_config(tied, m.load_config(tmp_path / "split.json"))
    assert split.status == "infeasible"
    assert split.message.endswith(
        "(tied layers take different options: down_blocks.1.attentions.0.transformer_blocks.0."
        "attn1.to_q, down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_k, "
        "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_v)"
    )


def test_infeasible_cannot_be_exported(sample):
    with pytest.raises(ValueError, match="nothing to export: budget"):
        m.export_config(m.solve(sample, 0.05))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"metadata": {}}, "field 'bit_allocation': missing or not a mapping of layer to width"),
        ({"bit_allocation": {"a": 4.5}}, "field 'bit_allocation', layer 'a': not a positive whole number (4.5)"),
        ({"metadata": {"schema_version": 99}, "bit_allocation": {}}, "field 'metadata.schema_version': unsupported schema version 99 (this tool reads up to 3)"),
        ({"bit_allocation": {"a": 4}, "quantization_config": {"a": {"wbit": 8, "abit": 12}}}, "field 'quantization_config', layer 'a': wbit differs from bit_allocation"),
    ],
)  # fmt: skip
def test_load_config_rejections(tmp_path, data, message):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as err:
        m.load_config(path)
    assert str(err.value) == f"{path}: {message}"


def test_evaluate_config_rejects_other_model(tmp_path):
    p = make_problem([1, 2], [1.0, 1.0], names=["a", "b"])
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"bit_allocation": {"a": 4}}))
    with pytest.raises(InputError, match=r"layer 'b': 1 layer\(s\) of the loaded model are not in"):
        m.evaluate_config(p, m.load_config(path))
    path.write_text(json.dumps({"bit_allocation": {"a": 4, "b": 6}}))
    with pytest.raises(InputError, match=r"layer 'b': width 6 is not in the ladder 4/8/16"):
        m.evaluate_config(p, m.load_config(path))


def test_layers_csv(sample):
    solution = m.solve(sample, 0.5)
    rows = list(csv.DictReader(io.StringIO(m.layers_csv(solution))))
    assert len(rows) == 314
    assert [r["layer"] for r in rows] == list(sample.names)
    assert sum(float(r["bops_share"]) for r in rows) == pytest.approx(1.0)
    first = rows[sample.names.index("conv_in")]
    assert first["block"] == "conv_in" and first["type"] == "Conv2d"
    assert int(first["wbit"]) == int(solution.wbits[sample.names.index("conv_in")])
    assert {"eff_4_8", "eff_8_16", "pinned", "sensitivity", "macs"} <= set(rows[0])


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(export_module.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        m.write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_saved_files_get_normal_permissions(tmp_path, sample):
    """Regression: mkstemp's 0600 must not leak into saved configs that others read."""
    import os

    mask = os.umask(0)
    os.umask(mask)
    path = m.save_config(m.solve(sample, 0.5), tmp_path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
