"""--export_format mlx: each catalog format's mlx-lm quantization entry written out by hand, the
refusals verbatim, and the block the command line writes for MiniLM loaded by mlx-lm's own
loader (``mlx_lm.utils.load_model``, whose class predicate hands each module's entry to
``mlx.nn.quantize``) into an mlx model with MiniLM's module names: every module ends with the
class, bits, group size and mode of its chosen format. mlx runs here on the CPU
(``mlx[cpu]``); the test model's Linear layers have no bias, as QQLinear (quantized inputs)
needs.

As in test_phase4_compressed_tensors.py, the widths runs use the bundled measured MiniLM sample
and the formats runs a made-up per-format sensitivity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from test_phase4_compressed_tensors import (
    FLOPS,
    MATMULS,
    MINILM,
    OPT,
    formats_run,
    linears,
    missing_reason,
    pins,
)

from mpq_core.io.phase4.layers import CannotExpress, width_format
from mpq_core.io.phase4.mlx_export import default_quantization, mlx_quantization
from mpq_core.model.formats import CATALOG, CHANNEL, GROUP, Format, WeightFormat

needs_mlx = pytest.mark.skipif(
    (missing_reason("mlx.nn") or missing_reason("mlx_lm.utils")) is not None,
    reason=missing_reason("mlx.nn") or missing_reason("mlx_lm.utils") or "",
)


def _q(group_size: int, bits: int, mode: str = "affine", inputs: bool = False) -> dict:
    return {"group_size": group_size, "bits": bits, "mode": mode} | (
        {"quantize_input": True} if inputs else {}
    )


EXPECTED = {
    "int8": _q(128, 8),  # one scale per output channel: mlx's largest group
    "int4_g128": _q(128, 4),
    "int4_g64": _q(64, 4),
    "int4_g32": _q(32, 4),
    "int3_g128": _q(128, 3),
    "int2_g64": _q(64, 2),
    "nvfp4_w4a16": _q(16, 4, "nvfp4"),
    "nvfp4": _q(16, 4, "nvfp4", inputs=True),
    "mxfp8": _q(32, 8, "mxfp8", inputs=True),
}
EXACT = {"mxfp8"}  # the others are near: an affine grid, or no NVFP4 tensor scale
INPUTS = (
    "-bit activations: mlx quantizes inputs only in its nvfp4 (FP4 inputs) and mxfp8 (FP8 "
    "inputs) modes (QQLinear), with weights of the same mode"
)
FLOATS = (
    "weights: mlx's float modes are mxfp4 (FP4 E2M1, an E8M0 scale per 32 weights), nvfp4 (FP4 "
    "E2M1, an E4M3 scale per 16) and mxfp8 (FP8 E4M3, an E8M0 scale per 32)"
)
REFUSED = {
    "w8a8": f"8{INPUTS}",
    "w4a8_g128": f"8{INPUTS}",
    "mxfp4": f"4{INPUTS}",  # its weights alone would be mode mxfp4
    "fp8": f"FP8 {FLOATS}",  # FP8 per tensor
    "mxfp6": f"FP6 {FLOATS}",
}


def test_every_catalog_format_is_mapped_refused_or_left_in_float():
    assert set(EXPECTED) | set(REFUSED) | {"bf16", "fp16"} == set(CATALOG)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_catalog_format_by_hand(name):
    chosen = mlx_quantization(CATALOG[name])
    assert chosen.entry() == EXPECTED[name]
    assert (chosen.near is None) == (name in EXACT)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_mlx_cannot_express_says_why(name):
    with pytest.raises(CannotExpress) as caught:
        mlx_quantization(CATALOG[name])
    assert str(caught.value) == REFUSED[name]


@pytest.mark.parametrize("width", [2, 3, 4, 5, 6, 8])
def test_a_plain_width_is_affine_in_groups_of_128(width):
    chosen = mlx_quantization(width_format(width))
    assert chosen.entry() == _q(128, width)
    assert chosen.near == (
        "one scale per channel becomes groups of 128 (mlx's largest); mlx's affine grid is "
        "asymmetric (min-max: a scale and a bias per group)"
    )


def _own(kind: str, bits: int, group, scale: int, zero: int = 0, tensor: int = 0) -> Format:
    granularity = GROUP if isinstance(group, int) else CHANNEL
    size = group if isinstance(group, int) else None
    return Format("own", WeightFormat(kind, bits, size, granularity, scale, zero, tensor), 16)


@pytest.mark.parametrize(
    ("fmt", "entry"),
    [
        (_own("int", 4, 64, 16, zero=4), _q(64, 4)),
        (_own("int", 5, 32, 16), _q(32, 5)),
        (_own("float", 4, 32, 8), _q(32, 4, "mxfp4")),  # MXFP4 weights, activations 16 bits
        (_own("float", 8, 32, 8), _q(32, 8, "mxfp8")),
        (_own("float", 4, 16, 8), _q(16, 4, "nvfp4")),
    ],
)
def test_formats_file_entries_by_hand(fmt, entry):
    assert mlx_quantization(fmt).entry() == entry


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        (width_format(7), "INT7 weights: mlx's affine mode stores 1-6 or 8 bits"),
        (_own("int", 4, 16, 16), "groups of 16: mlx's affine groups are 32, 64 or 128 weights"),
        (_own("int", 4, 32, 8, tensor=32),
         "mlx's affine mode has one level of scales (and biases) per group"),
        (_own("float", 8, 32, 8, tensor=32), f"FP8 {FLOATS}"),
        (_own("float", 4, 64, 8), f"FP4 {FLOATS}"),
    ],
)  # fmt: skip
def test_formats_file_entries_mlx_cannot_express(fmt, message):
    with pytest.raises(CannotExpress) as caught:
        mlx_quantization(fmt)
    assert str(caught.value) == message


def test_the_defaults_are_the_most_common_entry():
    entries = {"a": _q(64, 4), "b": _q(32, 8, "mxfp8", inputs=True), "c": False, "d": _q(64, 4),
               "e": _q(32, 8, "mxfp8", inputs=True), "f": _q(32, 8, "mxfp8")}  # fmt: skip
    assert default_quantization(entries) == _q(32, 8, "mxfp8")  # 3 of them, inputs not passed on
    assert default_quantization({"a": False}) == _q(64, 4)  # mlx's own defaults


def test_quantized_inputs_of_an_embedding_are_refused(run, workdir):
    layers = {"embed": {"macs": 1000, "params": 1000, "type": "Embedding"},
              "fc": {"macs": 4096, "params": 4096, "type": "Linear"}}  # fmt: skip
    (workdir / "f.json").write_text(json.dumps({"layers": layers}))
    losses = {n: {"nvfp4": 0.1, "bf16": 0.0} for n in layers}
    (workdir / "s.json").write_text(json.dumps({"sensitivity": losses}))
    (workdir / "sp.json").write_text(json.dumps({"search_spaces": {"embed": ["nvfp4"]}}))
    code, _, err = run(OPT, "--flops_file", "f.json", "--sensitivity_file", "s.json",
                       "--formats", "nvfp4,bf16", "--search_spaces", "sp.json",
                       "--export_format", "mlx", "--output_dir", "out")  # fmt: skip
    assert code == 2
    assert err == (
        "main.py: error: MLX (mlx-lm): layer 'embed': format 'nvfp4' cannot be expressed: mlx "
        "quantizes the inputs of Linear layers (QQLinear), not of Embedding\n"
    )
    assert not (workdir / "out").exists()


def test_a_format_mlx_cannot_express_writes_nothing(run, workdir):
    formats = ["int4_g128", "fp8", "int8", "bf16"]
    fixed = {"encoder.layer.0.attention.self.value": "fp8"}
    code, _, err = formats_run(run, workdir, formats, fixed, "mlx")
    assert code == 2
    assert err == (
        "main.py: error: MLX (mlx-lm): layer 'encoder.layer.0.attention.self.value': format "
        f"'fp8' cannot be expressed: {REFUSED['fp8']}\n"
    )
    assert not (workdir / "out").exists()


# --- the command line on MiniLM, loaded by mlx-lm ---------------------------------------------

HIDDEN, INNER = 128, 256  # small stand-ins for MiniLM's 384 and 1536 (the names are what count)


def _shape(name: str) -> tuple[int, int]:
    """(input, output) features of a MiniLM Linear, scaled down."""
    if name.endswith("intermediate.dense"):
        return HIDDEN, INNER
    return (INNER, HIDDEN) if name.endswith("output.dense") and "attention" not in name else (
        HIDDEN, HIDDEN)  # fmt: skip


def _tree(names: list[str]) -> dict:
    """Dotted names as nested dicts, each leaf a Linear's (input, output) features."""
    tree: dict = {}
    for name in names:
        *parents, leaf = name.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _shape(name)
    return tree


def _modules(tree):
    """mlx modules of a tree: a list where the names are numbers (``layer.0``), as mlx's
    own paths have them."""
    import mlx.nn as nn

    if isinstance(tree, tuple):
        return nn.Linear(*tree, bias=False)
    if all(key.isdigit() for key in tree):
        return [_modules(tree[key]) for key in sorted(tree, key=int)]
    module = nn.Module()
    for key, value in tree.items():
        module[key] = _modules(value)
    return module


def _model_classes(config: dict):
    """An mlx model whose modules are MiniLM's Linear layers, by their names, for mlx-lm's
    ``load_model(get_model_classes=...)``."""
    import mlx.nn as nn

    @dataclass
    class Args:
        linears: list[str]

        @classmethod
        def from_dict(cls, params: dict) -> Args:
            return cls(params["mpq_test_linears"])

    class Model(nn.Module):
        def __init__(self, args: Args):
            super().__init__()
            for key, value in _tree(args.linears).items():
                self[key] = _modules(value)

    return Model, Args


def _load(folder, block: dict, strict: bool = False):
    """mlx-lm's loader on a folder whose config.json holds ``block``; its modules by name."""
    from mlx_lm.utils import load_model

    names = [name for b in range(6) for name in linears(b)]
    config = {"model_type": "mpq_test", "mpq_test_linears": names, "quantization": block}
    (folder / "config.json").write_text(json.dumps(config))
    model, _ = load_model(folder, strict=strict, get_model_classes=_model_classes)
    return model, dict(model.named_modules())


def _observed(module) -> dict | None:
    """A module's quantization as mlx built it (None: a float Linear)."""
    import mlx.nn as nn

    kind = type(module)
    if kind is nn.Linear:
        return None
    assert kind in (nn.QuantizedLinear, nn.QQLinear), kind
    return _q(module.group_size, module.bits, module.mode, inputs=kind is nn.QQLinear)


def _check(folder, expected: dict[str, dict | None], document: dict) -> None:
    """mlx-lm's loader builds each module as ``expected`` (None: float), and reloads the
    weights it saves into the same modules."""
    import mlx.core as mx
    from mlx.utils import tree_flatten

    model, modules = _load(folder, document["quantization"])
    assert {name: _observed(modules[name]) for name in expected} == expected
    mx.save_safetensors(str(folder / "model.safetensors"), dict(tree_flatten(model.parameters())))
    _, reloaded = _load(folder, document["quantization"], strict=True)
    assert {name: _observed(reloaded[name]) for name in expected} == expected


@needs_mlx
def test_widths_load_with_mlx_lm(run, workdir):
    sens = str(MINILM / "sensitivity_mse.json")
    code, _, err = run(OPT, "--flops_file", FLOPS, "--sensitivity_file", sens,
                       "--budget_multiplier", "0.35", *pins("encoder.layer.0.output.dense"),
                       "--export_format", "mlx", "--output_dir", "out")  # fmt: skip
    assert code == 0, err
    folder = workdir / "out" / "mixed_precision"
    config = json.loads(next(folder.glob("quantization_config_*.json")).read_text())
    document = json.loads(next(folder.glob("mlx_quantization_*.json")).read_text())
    assert document["config"] == next(folder.glob("quantization_config_*.json")).name
    wbits = config["bit_allocation"]
    assert {4, 8, 16} <= set(wbits.values())
    assert set(document["left_in_float_without_module"]) == set(MATMULS)
    # a plain width below 16: one scale per output channel, mlx's largest groups of 128
    expected = {n: None if w == 16 else _q(128, w) for n, w in wbits.items() if n not in MATMULS}
    assert expected["encoder.layer.0.output.dense"] is None  # pinned to 16 bits
    assert document["quantization"]["encoder.layer.0.output.dense"] is False
    (workdir / "model").mkdir()
    _check(workdir / "model", expected, document)


@needs_mlx
def test_formats_load_with_mlx_lm(run, workdir):
    formats = [*sorted(EXPECTED), "bf16"]
    fixed = dict(zip(linears(0) + linears(1), formats, strict=False))
    code, _, err = formats_run(run, workdir, formats, fixed, "mlx")
    assert code == 0, err
    folder = workdir / "out" / "mixed_precision"
    config = json.loads(next(folder.glob("quantization_config_*.json")).read_text())
    chosen = {name: entry["format"] for name, entry in config["quantization_config"].items()}
    assert set(chosen.values()) == set(formats)
    document = json.loads(next(folder.glob("mlx_quantization_*.json")).read_text())
    assert set(document["left_in_float_without_module"]) == set(MATMULS)
    expected = {n: EXPECTED.get(fmt) for n, fmt in chosen.items() if n not in MATMULS}
    (workdir / "model").mkdir()
    _check(workdir / "model", expected, document)
