"""--export_format compressed_tensors: each catalog format's QuantizationArgs written out by hand
(and checked against compressed-tensors' presets of the same layout), the refusals verbatim, and
the files the command line writes for MiniLM parsed by compressed-tensors' own
``QuantizationConfig`` and applied to the model with ``apply_quantization_config``.

The widths runs use the bundled measured MiniLM sample (sample_data/minilm_l6). The formats runs
use a per-format sensitivity file made up in the test (LOSSES below): an export test needs an
allocation that uses every format, not a measured one. The helpers of the MiniLM runs are shared
with test_phase4_torchao.py.
"""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path

import pytest
import yaml
from support import IN_CI, REPO

from mpq_core.io.phase4.compressed_tensors_export import TARGET, quantization_scheme
from mpq_core.io.phase4.layers import CannotExpress, LayerChoice, expressed, width_format
from mpq_core.model.formats import CATALOG, CHANNEL, GROUP, Format, WeightFormat, catalog_formats

MINILM = REPO / "sample_data" / "minilm_l6"
FLOPS = str(MINILM / "flops_analysis.json")
MATMULS = [f"encoder.layer.{i}.attention.self.matmul" for i in range(6)]
OPT = "--optimize_mixed_precision"


def missing_reason(module: str) -> str | None:
    """Why ``module`` cannot be imported here, or None; under CI nothing may be skipped."""
    if IN_CI:
        return None
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"{module} is not importable ({exc}): pip install -r requirements-phase4.txt"
    return None


needs_library = pytest.mark.skipif(
    missing_reason("compressed_tensors") is not None,
    reason=missing_reason("compressed_tensors") or "",
)

INT = {"type": "int", "symmetric": True}
TOKEN8 = {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "token", "dynamic": True}
FLOAT = {"type": "float", "symmetric": True}
MX = {"strategy": "group", "group_size": 32, "scale_dtype": "torch.uint8"}
NV = {"strategy": "tensor_group", "group_size": 16, "scale_dtype": "torch.float8_e4m3fn"}
# catalog format -> (weights, input_activations): compressed-tensors' presets W4A16, W3A16, W4A8,
# W8A8, MXFP4, MXFP8, NVFP4A16 have these fields; FP8 and NVFP4 differ from their presets in the
# activations only (dynamic here, as mpq measures them; the presets calibrate a static scale)
EXPECTED = {
    "int8": ({"num_bits": 8, **INT, "strategy": "channel"}, None),
    "w8a8": ({"num_bits": 8, **INT, "strategy": "channel"}, TOKEN8),
    "int4_g128": ({"num_bits": 4, **INT, "strategy": "group", "group_size": 128}, None),
    "int4_g64": ({"num_bits": 4, **INT, "strategy": "group", "group_size": 64}, None),
    "int4_g32": ({"num_bits": 4, **INT, "strategy": "group", "group_size": 32}, None),
    "w4a8_g128": ({"num_bits": 4, **INT, "strategy": "group", "group_size": 128}, TOKEN8),
    "int3_g128": ({"num_bits": 3, **INT, "strategy": "group", "group_size": 128}, None),
    "int2_g64": ({"num_bits": 2, **INT, "strategy": "group", "group_size": 64}, None),
    "fp8": (
        {"num_bits": 8, **FLOAT, "strategy": "tensor"},
        {"num_bits": 8, **FLOAT, "dynamic": True, "strategy": "tensor"},
    ),
    "mxfp4": ({"num_bits": 4, **FLOAT, **MX}, {"num_bits": 4, **FLOAT, "dynamic": True, **MX}),
    "mxfp8": ({"num_bits": 8, **FLOAT, **MX}, {"num_bits": 8, **FLOAT, "dynamic": True, **MX}),
    "nvfp4": ({"num_bits": 4, **FLOAT, **NV}, {"num_bits": 4, **FLOAT, "dynamic": True, **NV}),
    "nvfp4_w4a16": ({"num_bits": 4, **FLOAT, **NV}, None),
}
PRESETS = {"int4_g128": "W4A16", "int3_g128": "W3A16", "w4a8_g128": "W4A8", "w8a8": "W8A8",
           "mxfp4": "MXFP4", "mxfp8": "MXFP8", "nvfp4_w4a16": "NVFP4A16", "fp8": "FP8",
           "nvfp4": "NVFP4"}  # fmt: skip
MXFP6 = (
    "FP6 weights: compressed-tensors' FP6 is E2M3, while mpq measures FP6 as E3M2 "
    "(mpq_torch.formats_quant); exporting one as the other would change the format"
)
IN_FLOAT = ("bf16", "fp16")


def test_every_catalog_format_is_mapped_refused_or_left_in_float():
    assert set(EXPECTED) | {"mxfp6"} | set(IN_FLOAT) == set(CATALOG)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_catalog_format_by_hand(name):
    weights, inputs = EXPECTED[name]
    expected = {"weights": weights} | ({"input_activations": inputs} if inputs else {})
    assert quantization_scheme(CATALOG[name]) == expected


@pytest.mark.parametrize("width", [2, 3, 4, 5, 6, 7, 8])
def test_a_plain_width_is_symmetric_int_per_output_channel(width):
    weights = {"num_bits": width, "type": "int", "symmetric": True, "strategy": "channel"}
    assert quantization_scheme(width_format(width)) == {"weights": weights}


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        (CATALOG["mxfp6"], MXFP6),
        (width_format(12), "INT12 weights: integers of 2 to 8 bits are exported (the libraries "
                           "store at most 8; a symmetric 1-bit integer has no level but 0)"),
        (width_format(1), "INT1 weights: integers of 2 to 8 bits are exported (the libraries "
                          "store at most 8; a symmetric 1-bit integer has no level but 0)"),
    ],
)  # fmt: skip
def test_what_cannot_be_expressed_says_why(fmt, message):
    with pytest.raises(CannotExpress) as caught:
        quantization_scheme(fmt)
    assert str(caught.value) == message


def test_formats_file_entries_by_hand():
    asymmetric = Format("w4z", WeightFormat("int", 4, 128, GROUP, scale_bits=16, zero_bits=4))
    weights = {"num_bits": 4, "type": "int", "symmetric": False, "strategy": "group",
               "group_size": 128}  # fmt: skip
    assert quantization_scheme(asymmetric) == {"weights": weights}
    fp8_channel = Format("fp8c", WeightFormat("float", 8, None, CHANNEL, scale_bits=16))
    weights = {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "channel"}
    assert quantization_scheme(fp8_channel) == {"weights": weights}


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (WeightFormat("int", 4, 128, GROUP, scale_bits=8),
         "compressed-tensors keeps integer scales in the model's float dtype, one level of them; "
         "this format has 8-bit scales"),
        (WeightFormat("float", 8, 32, GROUP, scale_bits=8, tensor_scale_bits=32),
         "compressed-tensors' two-level scales (strategy tensor_group) are NVFP4's: FP4, an FP8 "
         "E4M3 scale per group and an FP32 scale per tensor; not 8-bit scales and a 32-bit scale "
         "per tensor"),
        (WeightFormat("float", 5, 32, GROUP, scale_bits=8),
         "5-bit float weights: compressed-tensors' float types are FP4 E2M1 and FP8 E4M3"),
    ],
)  # fmt: skip
def test_formats_file_entries_it_cannot_express(weight, message):
    with pytest.raises(CannotExpress) as caught:
        quantization_scheme(Format("own", weight))
    assert str(caught.value) == message


def test_a_convolution_is_refused_naming_layer_format_and_target():
    conv = LayerChoice("m.conv", "conv", "Conv2d", False, CATALOG["int8"], "format 'int8'", "int8")
    with pytest.raises(ValueError) as caught:
        expressed((conv,), TARGET)
    assert str(caught.value) == (
        "compressed-tensors: layer 'conv': format 'int8' cannot be expressed: compressed-tensors "
        "quantizes Linear and Embedding modules, not Conv2d"
    )


def test_module_names_carry_the_name_prefix_as_the_mapping_does():
    import mpq_core as mc
    from mpq_core.io.phase4.compressed_tensors_export import compressed_tensors_export

    problem = mc.load_problem(
        FLOPS, str(MINILM / "sensitivity_mse.json"), spec=mc.Spec(tie_fused=True)
    )
    solution = mc.solve(problem, 0.5)
    config, recipe = compressed_tensors_export(solution, "model.")
    mapping = mc.export_mapping(solution, "model.")
    grouped = {n: int(g.removeprefix("int")) for g, e in config["config_groups"].items()
               for n in e["targets"]}  # fmt: skip
    assert grouped | dict.fromkeys(config["ignore"], 16) == {
        n: w for n, w in mapping.items() if not n.endswith(".matmul")
    }
    assert "#   model.encoder.layer.0.attention.self.matmul\n" in recipe


@needs_library
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_schemes_are_compressed_tensors_presets(name):
    from compressed_tensors.quantization import QuantizationScheme, preset_name_to_scheme

    ours = QuantizationScheme(targets=["x"], **quantization_scheme(CATALOG[name]))
    preset = preset_name_to_scheme(PRESETS[name], ["x"])
    assert ours.weights.model_dump() == preset.weights.model_dump()
    if name not in ("fp8", "nvfp4"):  # their presets calibrate a static activation scale
        assert _dump(ours.input_activations) == _dump(preset.input_activations)


def _dump(args) -> dict | None:
    return None if args is None else args.model_dump()


# --- the command line on MiniLM --------------------------------------------------------------


def pins(*extra: str) -> list[str]:
    """Every attention matmul at 16 bits (it has no module to quantize), and ``extra``."""
    return [a for name in (*MATMULS, *extra) for a in ("--pin", f"{name}=16")]


def written(workdir: Path) -> dict[str, Path]:
    return {p.name.split("_0.")[0]: p for p in (workdir / "out" / "mixed_precision").iterdir()}


@pytest.fixture(scope="module")
def minilm():
    """The float MiniLM case (BertModel without its pooler, one sentence), loaded once; tests
    quantize copies of its model."""
    from mpq_torch.cases import load_case

    return load_case("minilm", count=1)


def _applied(model, config):
    from compressed_tensors.quantization import apply_quantization_config

    model = copy.deepcopy(model.model)
    apply_quantization_config(model, config, show_progress=False)
    return dict(model.named_modules())


def _parsed(files: dict[str, Path]):
    """The JSON parsed by QuantizationConfig, after checking that the recipe's
    QuantizationModifier holds the same groups and ignore list."""
    from compressed_tensors.quantization import QuantizationConfig

    config = QuantizationConfig.model_validate(json.loads(files["compressed_tensors"].read_text()))
    recipe = yaml.safe_load(files["llmcompressor_recipe"].read_text())
    modifier = recipe["quant_stage"]["quant_modifiers"]["QuantizationModifier"]
    from_recipe = QuantizationConfig(
        config_groups=modifier["config_groups"], ignore=modifier["ignore"]
    )
    assert from_recipe.model_dump() == config.model_dump()
    return config


@needs_library
def test_widths_apply_to_minilm(run, workdir, minilm):
    """4, 8 and 16 bits: symmetric INT per output channel, weights only; 16 in ``ignore``."""
    sens = str(MINILM / "sensitivity_mse.json")
    argv = [OPT, "--flops_file", FLOPS, "--sensitivity_file", sens, "--budget_multiplier", "0.35",
            *pins("encoder.layer.0.output.dense"), "--tie_fused", "--output_dir", "out"]  # fmt: skip
    code, _, err = run(*argv, "--export_format", "compressed_tensors")
    assert code == 0, err
    files = written(workdir)
    assert sorted(files) == ["compressed_tensors", "llmcompressor_recipe", "quantization_config"]
    config_bytes = files["quantization_config"].read_bytes()
    wbits = json.loads(config_bytes)["bit_allocation"]
    assert {4, 8, 16} <= set(wbits.values())
    cfg = _parsed(files)
    modules = _applied(minilm, cfg)
    for name, width in wbits.items():
        if name in MATMULS:
            assert name not in modules and width == 16
        elif width == 16:
            assert name in cfg.ignore and not hasattr(modules[name], "quantization_scheme")
        else:
            _check_width(modules[name].quantization_scheme, width)
    assert not hasattr(modules["embeddings.word_embeddings"], "quantization_scheme")
    # the config beside the exports is the one --export_format config writes, byte for byte
    files["quantization_config"].unlink()
    assert run(*argv)[0] == 0
    assert files["quantization_config"].read_bytes() == config_bytes


def _check_width(scheme, width: int) -> None:
    weights = scheme.weights
    assert (weights.num_bits, weights.type, weights.symmetric) == (width, "int", True)
    assert (weights.strategy, weights.group_size) == ("channel", None)
    assert scheme.input_activations is None


# made-up losses per format (the same for every layer, growing along the network); see the
# module docstring
LOSS = {"int2_g64": 0.2, "int3_g128": 0.1, "int4_g128": 0.05, "int4_g64": 0.045, "int4_g32": 0.04,
        "nvfp4": 0.05, "nvfp4_w4a16": 0.04, "mxfp4": 0.06, "w4a8_g128": 0.05, "fp8": 0.01,
        "mxfp8": 0.01, "w8a8": 0.01, "int8": 0.005, "mxfp6": 0.5}  # fmt: skip


def formats_run(
    run, workdir: Path, formats: list[str], fixed: dict[str, str], target: str, *more: str
):
    """A formats run on MiniLM: ``fixed`` layers at one format (a search space of one), the
    matmuls at bf16, the other layers free; made-up losses."""
    names = json.loads(Path(FLOPS).read_text())["layers"]
    losses = {n: {f: LOSS[f] * (1 + i / 10) for f in formats if f in LOSS}
              for i, n in enumerate(names)}  # fmt: skip
    (workdir / "s.json").write_text(json.dumps({"sensitivity": losses}))
    spaces = {"*.matmul": ["bf16"]} | {name: [fmt] for name, fmt in fixed.items()}
    (workdir / "spaces.json").write_text(json.dumps({"search_spaces": spaces}))
    return run(OPT, "--flops_file", FLOPS, "--sensitivity_file", "s.json", "--formats",
               ",".join(formats), "--search_spaces", "spaces.json", "--budget_multiplier", "0.6",
               "--export_format", target, "--output_dir", "out", *more)  # fmt: skip


def unfused(block: int) -> list[str]:
    """The Linear layers of a block that no kernel fuses with another."""
    return [f"encoder.layer.{block}.{p}.dense" for p in ("attention.output", "intermediate",
                                                          "output")]  # fmt: skip


def linears(block: int) -> list[str]:
    attention = [f"encoder.layer.{block}.attention.self.{p}" for p in ("query", "key", "value")]
    return [*attention, *(f"encoder.layer.{block}.{p}.dense" for p in
                          ("attention.output", "intermediate", "output"))]  # fmt: skip


@needs_library
def test_formats_apply_to_minilm(run, workdir, minilm):
    formats = [*sorted(EXPECTED), "bf16"]
    # one format per unfused layer (vLLM runs q/k/v as one matmul: one format each block)
    fixed = dict(zip([n for b in range(6) for n in unfused(b)], formats, strict=False))
    code, _, err = formats_run(run, workdir, formats, fixed, "compressed_tensors", "--tie_fused")
    assert code == 0, err
    files = written(workdir)
    layers = json.loads(files["quantization_config"].read_text())["quantization_config"]
    chosen = {name: entry["format"] for name, entry in layers.items()}
    assert set(chosen.values()) == set(formats)
    cfg = _parsed(files)
    in_option_order = [f.name for f in catalog_formats(formats) if f.name in EXPECTED]
    assert list(cfg.config_groups) == in_option_order
    modules = _applied(minilm, cfg)
    for name, fmt in chosen.items():
        if fmt == "bf16":
            assert name in MATMULS or name in cfg.ignore
            assert name not in modules or not hasattr(modules[name], "quantization_scheme")
            continue
        scheme = modules[name].quantization_scheme
        weights, inputs = EXPECTED[fmt]
        assert _fields(scheme.weights, weights) == weights, (name, fmt)
        assert _fields(scheme.input_activations, inputs) == inputs, (name, fmt)


def _fields(args, expected: dict | None) -> dict | None:
    """The fields of ``expected`` as ``args`` (a module's QuantizationArgs) has them."""
    if args is None or expected is None:
        return None if args is None else args.model_dump()
    dumped = args.model_dump()
    return {key: dumped.get(key) for key in expected}


def test_a_format_it_cannot_express_writes_nothing(run, workdir):
    formats = ["int4_g128", "mxfp6", "int8", "bf16"]
    fixed = {"encoder.layer.0.attention.self.query": "int8"}
    fixed["encoder.layer.0.attention.self.key"] = "mxfp6"
    code, _, err = formats_run(run, workdir, formats, fixed, "compressed_tensors")
    assert code == 2
    assert err == (
        "main.py: error: compressed-tensors: layer 'encoder.layer.0.attention.self.key': format "
        f"'mxfp6' cannot be expressed: {MXFP6}\n"
    )
    assert not (workdir / "out").exists()


def test_an_attention_matmul_below_16_bits_is_refused(run, workdir):
    sens = str(MINILM / "sensitivity_mse.json")
    code, _, err = run(OPT, "--flops_file", FLOPS, "--sensitivity_file", sens,
                       "--budget_multiplier", "0.3", "--export_format", "compressed_tensors",
                       "--output_dir", "out")  # fmt: skip
    assert code == 2
    assert err == (
        "main.py: error: compressed-tensors: layer 'encoder.layer.0.attention.self.matmul': "
        "width 8 cannot be expressed: compressed-tensors quantizes the weights and inputs of "
        "modules; this layer has no weights and no module of its own (an attention matmul's "
        "operands); leave it in float (a pin or search space of 16 bits / bf16)\n"
    )
    assert not (workdir / "out").exists()


def test_fused_layers_in_different_formats_are_refused(run, workdir):
    """vLLM runs a block's query, key and value as one matmul: an allocation that splits them
    writes nothing; the same run with --tie_fused gives them one format."""
    formats = ["int4_g128", "int8", "bf16"]
    fixed = {"encoder.layer.2.attention.self.query": "int8"}
    fixed["encoder.layer.2.attention.self.key"] = "int4_g128"
    code, _, err = formats_run(run, workdir, formats, fixed, "compressed_tensors")
    assert code == 2
    assert err.startswith(
        "main.py: error: compressed-tensors: layer 'encoder.layer.2.attention.self.query': "
        "fused layers take different formats (encoder.layer.2.attention.self.query int8, "
        "encoder.layer.2.attention.self.key int4_g128, encoder.layer.2.attention.self.value "
    )
    assert err.endswith("): vLLM runs them as one matmul; solve with --tie_fused\n")
    assert not (workdir / "out").exists()
    del fixed["encoder.layer.2.attention.self.key"]
    code, _, err = formats_run(run, workdir, formats, fixed, "compressed_tensors", "--tie_fused")
    assert code == 0, err
    config = json.loads(written(workdir)["quantization_config"].read_text())
    chosen = {n: e["format"] for n, e in config["quantization_config"].items()}
    for block in range(6):
        qkv = {chosen[f"encoder.layer.{block}.attention.self.{p}"] for p in ("query", "key",
                                                                            "value")}  # fmt: skip
        assert len(qkv) == 1, (block, qkv)
    assert chosen["encoder.layer.2.attention.self.value"] == "int8"
    assert config["metadata"]["spec"]["tie_fused"] is True
