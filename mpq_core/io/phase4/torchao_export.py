"""torchao: a JSON file mapping each module name to a torchao config in torchao's own dict form
(``torchao.core.config.config_to_dict``: ``{"_type": class, "_version": n, "_data": {...}}``,
``null`` for a module left in float), and a Python snippet beside it that builds an
``FqnToConfig`` from it with ``config_from_dict`` and calls ``quantize_``.

Only configs that run on the CPU (torch 2.13, torchao 0.18) are written: INT8 weights
(``Int8WeightOnlyConfig``), INT2-INT7 or asymmetric INT8 weights per group or per output channel
(``IntxWeightOnlyConfig``), INT8 weights with symmetric INT8 per-token activations
(``Int8DynamicActivationInt8WeightConfig``), FP8 weights (``Float8WeightOnlyConfig``) and NVFP4
weights (``NVFP4WeightOnlyConfig``). Any other format is an InputError that says why; the table
is in docs/formats.md ("Phase 4 exports"). Scales stay in the model's dtype (torchao's default).
"""

from __future__ import annotations

import json
from typing import Any

from ...model.formats import CHANNEL, GROUP, TENSOR, Format, WeightFormat
from ...solving.solution import Solution
from .layers import CannotExpress, Target, check_int_bits, expressed, layer_choices, provenance

LABEL = "torchao on CPU"
MODULE_TYPES = ("Linear",)  # the weight-only and dynamic configs quantize Linear weights
TORCHAO_VERSION = "0.18.0"  # the version the export was written and tested for
SCHEMA_VERSION = 1
NVFP4_BLOCK = 16


def _config(name: str, version: int, **data: Any) -> dict[str, Any]:
    return {"_type": name, "_version": version, "_data": data}


def _dtype(name: str) -> dict[str, str]:
    return {"_type": "torch.dtype", "_data": name}


def _granularity(name: str, **data: Any) -> dict[str, Any]:
    return _config(name, 1, **data)


def _mapping(symmetric: bool) -> dict[str, str]:
    return {"_type": "MappingType", "_data": "SYMMETRIC" if symmetric else "ASYMMETRIC"}


def torchao_config(fmt: Format) -> dict[str, Any]:
    """The torchao config (as ``config_to_dict`` writes it) of a format, for the CPU."""
    if fmt.weight.type == "int":
        return _int_config(fmt.weight, fmt.activation_bits)
    return _float_config(fmt.weight, fmt.activation_bits)


def _int_config(w: WeightFormat, activation_bits: int) -> dict[str, Any]:
    check_int_bits(w.bits)
    if w.tensor_scale_bits:
        raise CannotExpress("torchao's integer configs have one level of scales")
    symmetric = not w.zero_bits
    if activation_bits < 16:
        return _int_dynamic_config(w, activation_bits)
    if w.bits == 8 and symmetric:
        return _config("Int8WeightOnlyConfig", 2, granularity=_int8_granularity(w))
    if w.granularity == TENSOR:
        raise CannotExpress(
            "IntxWeightOnlyConfig takes a scale per group or per output channel, not per "
            "tensor (Int8WeightOnlyConfig's per-tensor scale is for symmetric INT8 only)"
        )
    granularity = (
        _granularity("PerGroup", group_size=w.group_size)
        if w.granularity == GROUP
        else _granularity("PerAxis", axis=0)
    )
    return _config(
        "IntxWeightOnlyConfig",
        2,
        weight_dtype=_dtype(f"int{w.bits}"),
        granularity=granularity,
        mapping_type=_mapping(symmetric),
    )


def _int8_granularity(w: WeightFormat) -> dict[str, Any]:
    if w.granularity == GROUP:
        return _granularity("PerGroup", group_size=w.group_size)
    return _granularity("PerRow" if w.granularity == CHANNEL else "PerTensor")


def _int_dynamic_config(w: WeightFormat, activation_bits: int) -> dict[str, Any]:
    if (w.bits, activation_bits, w.granularity, w.zero_bits) == (8, 8, CHANNEL, 0):
        return _config(
            "Int8DynamicActivationInt8WeightConfig", 2, granularity=_granularity("PerRow")
        )
    raise CannotExpress(
        f"INT{w.bits} weights with INT{activation_bits} activations: on the CPU, torchao "
        "quantizes activations with Int8DynamicActivationInt8WeightConfig (INT8 weights per "
        "output channel, symmetric INT8 per token) or Int8DynamicActivationIntxWeightConfig, "
        "whose activations are asymmetric only (mpq's are symmetric)"
    )


def _float_config(w: WeightFormat, activation_bits: int) -> dict[str, Any]:
    if w.zero_bits:
        raise CannotExpress("torchao's float weights are symmetric (no zero point)")
    one_level = not w.tensor_scale_bits and w.scale_bits in (16, 32)
    if w.bits == 8 and w.granularity in (TENSOR, CHANNEL) and one_level:
        return _fp8_config(w, activation_bits)
    nvfp4 = (w.bits, w.granularity, w.group_size, w.scale_bits, w.tensor_scale_bits) == (
        4, GROUP, NVFP4_BLOCK, 8, 32)  # fmt: skip
    if nvfp4:
        return _nvfp4_config(activation_bits)
    if w.granularity == GROUP and w.scale_bits == 8 and not w.tensor_scale_bits:
        raise CannotExpress(
            "torchao's MX config (MXDynamicActivationMXWeightConfig) needs bf16 weights and a "
            "GPU's scaled matmul; it fails on the CPU"
        )
    raise CannotExpress(
        "torchao's float weight configs on the CPU are FP8 per tensor or per output channel "
        "(Float8WeightOnlyConfig) and NVFP4 (NVFP4WeightOnlyConfig)"
    )


def _fp8_config(w: WeightFormat, activation_bits: int) -> dict[str, Any]:
    if activation_bits < 16:
        raise CannotExpress(
            "FP8 activations (Float8DynamicActivationFloat8WeightConfig) need a CUDA GPU of "
            "compute capability 8.9 or more, an MI300 or an XPU"
        )
    per = "PerTensor" if w.granularity == TENSOR else "PerRow"
    return _config("Float8WeightOnlyConfig", 2, granularity=_granularity(per))


def _nvfp4_config(activation_bits: int) -> dict[str, Any]:
    if activation_bits < 16:
        raise CannotExpress(
            "NVFP4 activations (NVFP4DynamicActivationNVFP4WeightConfig) run only on NVIDIA "
            "SM100 (Blackwell) GPUs"
        )
    return _config("NVFP4WeightOnlyConfig", 1, use_dynamic_per_tensor_scale=True)


TARGET = Target(LABEL, MODULE_TYPES, torchao_config)


def torchao_export(solution: Solution, name_prefix: str = "") -> dict[str, Any]:
    """The JSON document: module name -> config (``null``: left in float), in file order."""
    entries = {}
    left_out = []
    for choice, config in expressed(layer_choices(solution, name_prefix), TARGET):
        if choice.weightless:  # in float (else refused above): no module to name
            left_out.append(choice.module)
        else:
            entries[choice.module] = config
    return {
        "schema_version": SCHEMA_VERSION,
        "library": f"torchao {TORCHAO_VERSION}",
        **provenance(solution),
        "left_in_float_without_module": left_out,
        "fqn_to_config": json.loads(json.dumps(entries)),
    }


SNIPPET = '''"""Quantize a model with torchao as mpq allocated it.

Every module named in {json_name} gets its torchao config, rebuilt by torchao's
config_from_dict (null: left in float). Written by {written_by} for torchao {version}.

    quantize_model = runpy.run_path("{snippet_name}")["quantize_model"]
    quantize_model(model)  # the model whose module names the JSON file lists

or ``python {snippet_name}`` to print the FqnToConfig it builds.
"""

import json
from collections import OrderedDict
from pathlib import Path

from torchao.core.config import config_from_dict
from torchao.quantization import quantize_

try:
    from torchao.quantization import FqnToConfig
except ImportError:  # older torchao calls it ModuleFqnToConfig
    from torchao.quantization import ModuleFqnToConfig as FqnToConfig

CONFIG = Path(__file__).with_name({json_literal})


def fqn_to_config(path=CONFIG):
    """The FqnToConfig of the JSON file, each config rebuilt by torchao's config_from_dict."""
    entries = json.loads(Path(path).read_text(encoding="utf-8"))["fqn_to_config"]
    return FqnToConfig(
        OrderedDict(
            (name, None if entry is None else config_from_dict(entry))
            for name, entry in entries.items()
        )
    )


def quantize_model(model, path=CONFIG):
    """quantize_ with the file's FqnToConfig; every name must be a module of ``model``."""
    config = fqn_to_config(path)
    modules = dict(model.named_modules())
    missing = [name for name in config.fqn_to_config if name not in modules]
    if missing:
        raise KeyError(f"{{path}}: no module {{missing[0]!r}} ({{len(missing)}} missing)")
    quantize_(model, config, filter_fn=None)
    return model


if __name__ == "__main__":
    print(fqn_to_config())
'''


def snippet_text(solution: Solution, json_name: str, snippet_name: str) -> str:
    """The Python snippet written beside the JSON file."""
    return filled_snippet(SNIPPET, solution, json_name, snippet_name, TORCHAO_VERSION)


def filled_snippet(
    template: str, solution: Solution, json_name: str, snippet_name: str, version: str
) -> str:
    """A snippet template that reads the torchao JSON ``json_name`` beside it, filled in."""
    return template.format(
        json_name=json_name,
        json_literal=json.dumps(json_name),
        snippet_name=snippet_name,
        written_by=provenance(solution)["written_by"],
        version=version,
    )
