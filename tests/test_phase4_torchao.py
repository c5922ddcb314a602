"""--export_format torchao: each catalog format's torchao config written out by hand (in torchao's
``config_to_dict`` form, and rebuilt by its ``config_from_dict`` into the config one would write
by hand), the refusals verbatim, and the snippet the command line writes for MiniLM run on the
CPU: every module ends with the weight tensor of its chosen format.

As in test_phase4_compressed_tensors.py, the widths runs use the bundled measured MiniLM sample
and the formats runs a made-up per-format sensitivity (an export test needs an allocation with
every format in it, not a measured one).
"""

from __future__ import annotations

import copy
import json
import runpy
import subprocess
import sys
import warnings

import pytest
import torch
from test_phase4_compressed_tensors import (
    FLOPS,
    MATMULS,
    MINILM,
    OPT,
    formats_run,
    linears,
    minilm,
    missing_reason,
    pins,
)

from mpq_core.io.phase4.layers import CannotExpress, width_format
from mpq_core.io.phase4.torchao_export import torchao_config
from mpq_core.model.formats import CATALOG, GROUP, TENSOR, Format, WeightFormat

__all__ = ["minilm"]  # the shared fixture

needs_library = pytest.mark.skipif(
    missing_reason("torchao") is not None, reason=missing_reason("torchao") or ""
)

PER_ROW = {"_type": "PerRow", "_version": 1, "_data": {}}
SYMMETRIC = {"_type": "MappingType", "_data": "SYMMETRIC"}


def _intx(bits: int, granularity: dict) -> dict:
    return {
        "_type": "IntxWeightOnlyConfig",
        "_version": 2,
        "_data": {
            "weight_dtype": {"_type": "torch.dtype", "_data": f"int{bits}"},
            "granularity": granularity,
            "mapping_type": SYMMETRIC,
        },
    }


def _group(size: int) -> dict:
    return {"_type": "PerGroup", "_version": 1, "_data": {"group_size": size}}


EXPECTED = {
    "int8": {"_type": "Int8WeightOnlyConfig", "_version": 2, "_data": {"granularity": PER_ROW}},
    "w8a8": {"_type": "Int8DynamicActivationInt8WeightConfig", "_version": 2,
             "_data": {"granularity": PER_ROW}},
    "int4_g128": _intx(4, _group(128)),
    "int4_g64": _intx(4, _group(64)),
    "int4_g32": _intx(4, _group(32)),
    "int3_g128": _intx(3, _group(128)),
    "int2_g64": _intx(2, _group(64)),
    "nvfp4_w4a16": {"_type": "NVFP4WeightOnlyConfig", "_version": 1,
                    "_data": {"use_dynamic_per_tensor_scale": True}},
}  # fmt: skip
MX = (
    "torchao's MX config (MXDynamicActivationMXWeightConfig) needs bf16 weights and a GPU's "
    "scaled matmul; it fails on the CPU"
)
REFUSED = {
    "fp8": "FP8 activations (Float8DynamicActivationFloat8WeightConfig) need a CUDA GPU of "
    "compute capability 8.9 or more, an MI300 or an XPU",
    "nvfp4": "NVFP4 activations (NVFP4DynamicActivationNVFP4WeightConfig) run only on NVIDIA "
    "SM100 (Blackwell) GPUs",
    "w4a8_g128": "INT4 weights with INT8 activations: on the CPU, torchao quantizes activations "
    "with Int8DynamicActivationInt8WeightConfig (INT8 weights per output channel, symmetric "
    "INT8 per token) or Int8DynamicActivationIntxWeightConfig, whose activations are "
    "asymmetric only (mpq's are symmetric)",
    "mxfp4": MX,
    "mxfp6": MX,
    "mxfp8": MX,
}


def test_every_catalog_format_is_mapped_refused_or_left_in_float():
    assert set(EXPECTED) | set(REFUSED) | {"bf16", "fp16"} == set(CATALOG)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_catalog_format_by_hand(name):
    assert torchao_config(CATALOG[name]) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_torchao_cannot_run_on_the_cpu_says_why(name):
    with pytest.raises(CannotExpress) as caught:
        torchao_config(CATALOG[name])
    assert str(caught.value) == REFUSED[name]


OWN_INT4Z = Format("w4z", WeightFormat("int", 4, 64, GROUP, scale_bits=16, zero_bits=4))
OWN_FP8 = Format("fp8w", WeightFormat("float", 8, None, TENSOR, scale_bits=32))
OWN_INT8T = Format("int8t", WeightFormat("int", 8, None, TENSOR, scale_bits=16))


def test_formats_file_entries_by_hand():
    asymmetric = _intx(4, _group(64))
    asymmetric["_data"]["mapping_type"] = {"_type": "MappingType", "_data": "ASYMMETRIC"}
    assert torchao_config(OWN_INT4Z) == asymmetric
    per_tensor = {"_type": "PerTensor", "_version": 1, "_data": {}}
    assert torchao_config(OWN_FP8) == {
        "_type": "Float8WeightOnlyConfig", "_version": 2, "_data": {"granularity": per_tensor}
    }  # fmt: skip
    assert torchao_config(OWN_INT8T) == {
        "_type": "Int8WeightOnlyConfig", "_version": 2, "_data": {"granularity": per_tensor}
    }  # fmt: skip


def test_plain_widths_by_hand():
    per_axis = {"_type": "PerAxis", "_version": 1, "_data": {"axis": 0}}
    assert torchao_config(width_format(8)) == EXPECTED["int8"]
    for width in range(2, 8):
        assert torchao_config(width_format(width)) == _intx(width, per_axis)


def _by_hand(name: str):
    """The torchao config of a catalog format, as one writes it by hand."""
    from torchao.prototype.mx_formats import NVFP4WeightOnlyConfig
    from torchao.quantization import (
        Int8DynamicActivationInt8WeightConfig,
        Int8WeightOnlyConfig,
        IntxWeightOnlyConfig,
        PerGroup,
        PerRow,
    )

    if name == "int8":
        return Int8WeightOnlyConfig(granularity=PerRow())
    if name == "w8a8":
        return Int8DynamicActivationInt8WeightConfig(granularity=PerRow())
    if name == "nvfp4_w4a16":
        return NVFP4WeightOnlyConfig(use_dynamic_per_tensor_scale=True)
    bits, group = name.removeprefix("int").split("_g")
    dtype = getattr(torch, f"int{bits}")
    return IntxWeightOnlyConfig(weight_dtype=dtype, granularity=PerGroup(int(group)))


@needs_library
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_torchao_reads_each_config_back(name):
    from torchao.core.config import config_from_dict

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a stale "_version" warns
        assert config_from_dict(torchao_config(CATALOG[name])) == _by_hand(name)


@needs_library
def test_torchao_reads_the_formats_file_entries_back():
    from torchao.core.config import config_from_dict
    from torchao.quantization import (
        Float8WeightOnlyConfig,
        Int8WeightOnlyConfig,
        IntxWeightOnlyConfig,
        MappingType,
        PerGroup,
        PerTensor,
    )

    asymmetric = IntxWeightOnlyConfig(
        weight_dtype=torch.int4, granularity=PerGroup(64), mapping_type=MappingType.ASYMMETRIC
    )
    assert config_from_dict(torchao_config(OWN_INT4Z)) == asymmetric
    assert config_from_dict(torchao_config(OWN_FP8)) == Float8WeightOnlyConfig(
        granularity=PerTensor()
    )
    assert config_from_dict(torchao_config(OWN_INT8T)) == Int8WeightOnlyConfig(
        granularity=PerTensor()
    )


@needs_library
@pytest.mark.parametrize("fmt", [OWN_INT4Z, OWN_FP8, OWN_INT8T], ids=lambda f: f.name)
def test_the_formats_file_entries_run_on_the_cpu(fmt):
    from torchao.core.config import config_from_dict
    from torchao.quantization import FqnToConfig, quantize_

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(128, 64))
    x = torch.randn(4, 128)
    reference = model(x).detach()
    quantize_(model, FqnToConfig({"0": config_from_dict(torchao_config(fmt))}), filter_fn=None)
    assert type(model[0].weight) is not torch.nn.Parameter
    with torch.no_grad():
        error = (model(x) - reference).norm() / reference.norm()
    assert error < 0.2


# --- the command line on MiniLM, and the snippet ---------------------------------------------


def _expected(fmt: str, in_features: int) -> dict:
    """The weight tensor torchao leaves for a mpq format (``int4``: a plain width of 4)."""
    if fmt in ("int8", "w8a8"):
        return {"type": "Int8Tensor", "block": (1, in_features), "dtype": None,
                "activations": fmt == "w8a8", "symmetric": True}  # fmt: skip
    if fmt == "nvfp4_w4a16":
        return {"type": "NVFP4Tensor", "block": (1, 16), "dtype": None, "activations": False,
                "symmetric": True}  # fmt: skip
    bits, _, group = fmt.removeprefix("int").partition("_g")
    return {"type": "IntxUnpackedToInt8Tensor", "block": (1, int(group or in_features)),
            "dtype": getattr(torch, f"int{bits}"), "activations": False, "symmetric": True}  # fmt: skip


def _observed(weight) -> dict:
    block = weight.block_size
    zero = getattr(weight, "zero_point", None)
    return {
        "type": type(weight).__name__,
        "block": tuple(block) if isinstance(block, list | tuple) else (1, block),
        "dtype": getattr(weight, "target_dtype", None),
        "activations": getattr(weight, "act_quant_kwargs", None) is not None,
        "symmetric": zero is None or bool((zero == 0).all()),
    }


def _quantized(case, snippet):
    """A copy of MiniLM quantized by the snippet, and its output on the example sentence."""
    model = copy.deepcopy(case.model)
    runpy.run_path(str(snippet))["quantize_model"](model)
    with torch.no_grad():
        output = model(**case.example_inputs).last_hidden_state
    assert torch.isfinite(output).all()
    return dict(model.named_modules())


def _check(modules: dict, chosen: dict[str, str], document: dict) -> None:
    for name, fmt in chosen.items():
        if name in MATMULS:
            assert fmt in ("bf16", "float16") and name in document["left_in_float_without_module"]
            continue
        weight = modules[name].weight
        if fmt in ("bf16", "float16"):
            assert document["fqn_to_config"][name] is None
            assert type(weight) is torch.nn.Parameter, name
        else:
            assert _observed(weight) == _expected(fmt, modules[name].in_features), (name, fmt)


@needs_library
def test_widths_run_on_minilm(run, workdir, minilm):
    sens = str(MINILM / "sensitivity_mse.json")
    code, _, err = run(OPT, "--flops_file", FLOPS, "--sensitivity_file", sens,
                       "--budget_multiplier", "0.35", *pins("encoder.layer.0.output.dense"),
                       "--export_format", "torchao", "--output_dir", "out")  # fmt: skip
    assert code == 0, err
    folder = workdir / "out" / "mixed_precision"
    config_file = next(folder.glob("quantization_config_*.json"))
    stem = config_file.name.removeprefix("quantization_config_").removesuffix(".json")
    snippet = folder / f"torchao_{stem}.py"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [config_file.name, f"torchao_{stem}.json", snippet.name]
    )
    document = json.loads(snippet.with_suffix(".json").read_text())
    wbits = json.loads(config_file.read_text())["bit_allocation"]
    assert {4, 8, 16} <= set(wbits.values())
    chosen = {name: f"int{w}" if w < 16 else "float16" for name, w in wbits.items()}
    _check(_quantized(minilm, snippet), chosen, document)
    # the snippet runs on its own too: it prints the FqnToConfig it builds
    shown = subprocess.run([sys.executable, str(snippet)], capture_output=True, text=True,
                           timeout=300, check=False)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("FqnToConfig({")


@needs_library
def test_formats_run_on_minilm(run, workdir, minilm):
    formats = [*sorted(EXPECTED), "bf16"]
    fixed = dict(zip(linears(0) + linears(1), formats, strict=False))
    code, _, err = formats_run(run, workdir, formats, fixed, "torchao")
    assert code == 0, err
    folder = workdir / "out" / "mixed_precision"
    config = json.loads(next(folder.glob("quantization_config_*.json")).read_text())
    chosen = {name: entry["format"] for name, entry in config["quantization_config"].items()}
    assert set(chosen.values()) == set(formats)
    snippet = next(folder.glob("torchao_*.py"))
    document = json.loads(snippet.with_suffix(".json").read_text())
    assert document["config"] == next(folder.glob("quantization_config_*.json")).name
    _check(_quantized(minilm, snippet), chosen, document)


@needs_library
def test_the_snippet_refuses_a_model_without_the_modules(run, workdir):
    sens = str(MINILM / "sensitivity_mse.json")
    assert run(OPT, "--flops_file", FLOPS, "--sensitivity_file", sens, "--export_format",
               "torchao", "--output_dir", "out")[0] == 0  # fmt: skip
    snippet = next((workdir / "out" / "mixed_precision").glob("torchao_*.py"))
    with pytest.raises(KeyError, match=r"no module 'encoder\.layer\.0\.attention\.self\.query'"):
        runpy.run_path(str(snippet))["quantize_model"](torch.nn.Linear(4, 4))


def test_a_format_torchao_cannot_run_writes_nothing(run, workdir):
    formats = ["int4_g128", "fp8", "int8", "bf16"]
    fixed = {f"encoder.layer.0.attention.self.{p}": "int8" for p in ("query", "key")}
    fixed["encoder.layer.0.attention.self.value"] = "fp8"
    code, _, err = formats_run(run, workdir, formats, fixed, "torchao")
    assert code == 2
    assert err == (
        "main.py: error: torchao on CPU: layer 'encoder.layer.0.attention.self.value': format "
        f"'fp8' cannot be expressed: {REFUSED['fp8']}\n"
    )
    assert not (workdir / "out").exists()
