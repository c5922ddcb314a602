"""Reading Phase 4 files back (mpq_core.io.phase4.readback) and ``--compare FILE``.

Round trips: a MiniLM allocation (widths: the bundled measured sample, the matmuls pinned to 16
bits, --tie_fused; formats: the made-up losses of test_phase4_compressed_tensors.py) exported
to each target and read back. The exact targets give every layer its format back; GGUF and MLX
give the layout their type stores, which is the one the export's notes / ``near`` map name.
Then files written by hand in each library's own schema, each layer's format worked out by hand
in a comment; every refusal's message verbatim; and the command line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_phase4_compressed_tensors import FLOPS, LOSS, MATMULS, MINILM, OPT, missing_reason

import mpq_core as mc
from mpq_core.errors import InputError
from mpq_core.io.phase4 import phase4_files
from mpq_core.io.phase4.compare import compare_file, file_choice
from mpq_core.io.phase4.gguf_export import ggml_type
from mpq_core.io.phase4.readback import FLOAT, read_phase4
from mpq_core.io.reading import InputFile
from mpq_core.model.formats import CATALOG, CHANNEL, GROUP, TENSOR, WeightFormat, catalog_formats

needs_gguf = pytest.mark.skipif(
    missing_reason("gguf") is not None, reason=missing_reason("gguf") or ""
)
needs_ct = pytest.mark.skipif(
    missing_reason("compressed_tensors") is not None,
    reason=missing_reason("compressed_tensors") or "",
)
SENS = str(MINILM / "sensitivity_mse.json")
NAMES = tuple(json.loads(Path(FLOPS).read_text())["layers"])
TYPES = tuple("AttentionMatMul" if n.endswith(".matmul") else "Linear" for n in NAMES)
EXACT = ("compressed_tensors", "torchao", "modelopt", "autoround")
# formats each target expresses (the others are refused by its export)
TARGET_FORMATS = {
    "compressed_tensors": ["int8", "w8a8", "int4_g128", "int4_g64", "int4_g32", "w4a8_g128",
                           "int3_g128", "int2_g64", "fp8", "mxfp4", "mxfp8", "nvfp4",
                           "nvfp4_w4a16", "bf16"],
    "torchao": ["int8", "w8a8", "int4_g128", "int4_g64", "int4_g32", "int3_g128", "int2_g64",
                "nvfp4_w4a16", "bf16"],
    "gguf": ["int8", "int4_g128", "int4_g64", "int4_g32", "int3_g128", "int2_g64", "nvfp4_w4a16",
             "bf16", "fp16"],
    "mlx": ["int8", "int4_g128", "int4_g64", "int4_g32", "int3_g128", "int2_g64", "nvfp4_w4a16",
            "nvfp4", "mxfp8", "bf16"],
    "modelopt": ["int8", "int4_g128", "int4_g64", "int4_g32", "fp8", "mxfp8", "nvfp4",
                 "nvfp4_w4a16", "bf16"],
    "autoround": [*(f for f in CATALOG if f != "fp16")],
}  # fmt: skip


def _read(name: str, text: str, **kwargs):
    return read_phase4(InputFile(name, text.encode()), NAMES, types=TYPES, **kwargs)


@pytest.fixture(scope="module")
def widths_solution():
    spec = mc.Spec(tie_fused=True, pins=tuple((m, (16,)) for m in MATMULS))
    problem = mc.load_problem(FLOPS, SENS, spec=spec)
    solution = mc.solve(problem, 0.35)
    assert {4, 8, 16} <= set(solution.wbits.tolist())
    return solution


def _formats_solution(tmp_path: Path, target: str):
    """Every format of the target used: one per unfused layer, q/k/v free (tied)."""
    formats = TARGET_FORMATS[target]
    losses = {n: {f: LOSS.get(f, 0.0) * (1 + i / 10) for f in formats}
              for i, n in enumerate(NAMES)}  # fmt: skip
    sens = tmp_path / "s.json"
    sens.write_text(json.dumps({"sensitivity": losses}))
    unfused = [n for n in NAMES if n.endswith(".dense")]  # 18, more than any list of formats
    spaces = (("*.matmul", ("bf16",)), *((n, (f,)) for n, f in zip(unfused, formats, strict=False)))
    spec = mc.Spec(formats=catalog_formats(formats), search_spaces=spaces, tie_fused=True)
    solution = mc.solve(mc.load_problem(FLOPS, str(sens), spec=spec), 0.6)
    used = {solution.problem.formats[j].name for j in solution.choice.tolist()}
    assert used == set(formats)
    return solution


def _exported(solution, target: str) -> list:
    """Each data file of the target read back (not the snippet or the notes)."""
    files = [(n, t) for n, t in phase4_files(solution, target) if not n.endswith((".py", "s.txt"))]
    return [_read(n, t) for n, t in files if "notes" not in n]


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["compressed_tensors", "torchao", "gguf", "mlx", "autoround"])
def test_widths_come_back_as_the_same_widths(widths_solution, target):
    if target == "gguf" and missing_reason("gguf"):
        pytest.skip(missing_reason("gguf"))
    for read in _exported(widths_solution, target):
        assert read.target == target
        assert np.array_equal(file_choice(widths_solution, read), widths_solution.choice)
        for name, width in zip(NAMES, widths_solution.wbits.tolist(), strict=True):
            fmt = read.formats[name]
            assert (fmt is FLOAT) == (width == 16), name
            assert fmt is FLOAT or fmt.weight.bits == width


@pytest.mark.parametrize("target", EXACT)
def test_exact_targets_give_every_format_back(tmp_path, target):
    solution = _formats_solution(tmp_path, target)
    reads = _exported(solution, target)
    assert len(reads) == (2 if target in ("compressed_tensors", "modelopt") else 1)
    for read in reads:
        for name, j in zip(NAMES, solution.choice.tolist(), strict=True):
            fmt = solution.problem.formats[j]
            assert read.formats[name] == (FLOAT if fmt.name == "bf16" else fmt), (name, fmt.name)
        assert np.array_equal(file_choice(solution, read), solution.choice)


# the layout of each GGML type, written out from its block (tests/test_phase4_gguf.py: LAYOUT)
GGML = {
    "q4_0": WeightFormat("int", 4, 32, GROUP, 16),
    "q8_0": WeightFormat("int", 8, 32, GROUP, 16),
    "q3_k": WeightFormat("int", 3, 16, GROUP, 6),  # and an fp16 scale per 256, left out
    "q2_k": WeightFormat("int", 2, 16, GROUP, 4, 4),  # and fp16 scale and min per 256
    "nvfp4": WeightFormat("float", 4, 16, GROUP, 8),
}


@needs_gguf
def test_gguf_gives_the_layout_of_the_type_the_notes_name(tmp_path):
    solution = _formats_solution(tmp_path, "gguf")
    files = dict(phase4_files(solution, "gguf"))
    notes = next(t for n, t in files.items() if "notes" in n)
    (read,) = _exported(solution, "gguf")
    back = file_choice(solution, read)
    for i, (name, j) in enumerate(zip(NAMES, solution.choice.tolist(), strict=True)):
        fmt = solution.problem.formats[j]
        got = read.formats[name]
        if name in MATMULS or fmt.name in ("bf16", "fp16"):
            assert got is FLOAT if name in MATMULS else got == CATALOG[fmt.name]
            continue
        chosen = ggml_type(fmt)
        assert (got.weight, got.activation_bits) == (GGML[chosen.type.name], 16), name
        if not chosen.exact:
            assert f"#   format {fmt.name!r} -> {chosen.type.name}: " in notes
        # evaluated as an option the export writes as the same type
        assert ggml_type(solution.problem.formats[back[i]]).type == chosen.type
    assert "#   format 'int4_g32' ->" not in notes  # q4_0 is exact
    assert read.formats["encoder.layer.1.attention.output.dense"] == CATALOG["int4_g32"]


def test_mlx_gives_the_layout_its_near_map_names(tmp_path):
    solution = _formats_solution(tmp_path, "mlx")
    ((_, text),) = phase4_files(solution, "mlx")
    document = json.loads(text)
    (read,) = _exported(solution, "mlx")
    for name, j in zip(NAMES, solution.choice.tolist(), strict=True):
        fmt, got = solution.problem.formats[j], read.formats[name]
        entry = document["quantization"].get(name, False)
        if entry is False:
            assert got is FLOAT
            continue
        mode, bits, size = entry["mode"], entry["bits"], entry["group_size"]
        if mode == "affine":  # a scale and a bias per group
            assert got.weight == WeightFormat("int", bits, size, GROUP, 16, 16), name
        else:  # FP4/FP8 with an 8-bit scale per block, no tensor scale
            assert got.weight == WeightFormat("float", bits, size, GROUP, 8), name
        assert got.activation_bits == (bits if entry.get("quantize_input") else 16)
        if fmt.name in document["near"]:
            assert document["near"][fmt.name].startswith(f"{mode}, {bits} bits, groups of {size}")
        else:
            assert (got.weight, got.activation_bits) == (fmt.weight, fmt.activation_bits)
    assert np.array_equal(file_choice(solution, read), solution.choice)


# --- files in each library's own schema --------------------------------------------------------

Q, K, V = (f"encoder.layer.{{}}.attention.self.{p}" for p in ("query", "key", "value"))
INT4_G128 = {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group",
             "group_size": 128, "dynamic": False, "observer": "minmax", "actorder": None}  # fmt: skip
INT8_CH = {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "channel"}


def test_compressed_tensors_regex_targets_classes_and_ignore():
    config = {
        "quant_method": "compressed-tensors",
        "config_groups": {
            "group_0": {"targets": ["Linear"], "weights": INT8_CH},
            "group_1": {"targets": [r"re:.*attention\.self\.(query|key|value)$"],
                        "weights": INT4_G128},
            "group_2": {"targets": ["encoder.layer.0.attention.self.query"],
                        "weights": {**INT4_G128, "group_size": 32},
                        "input_activations": {"num_bits": 8, "type": "int", "strategy": "token",
                                              "dynamic": True}},
        },
        "ignore": ["re:encoder\\.layer\\.5\\..*", "encoder.layer.4.output.dense"],
    }  # fmt: skip
    read = _read("config.json", json.dumps(config))
    assert read.target == "compressed_tensors"
    f = read.formats
    # the exact name first (group_2: INT4 per 32 with INT8 tokens, no catalog format)...
    assert f[Q.format(0)].name == "int4_g32_a8"
    assert f[Q.format(0)].weight == CATALOG["int4_g32"].weight
    # ...then the regex (q/k/v of blocks 0-4), then the class (the other Linears)
    assert [f[p.format(b)] for p in (K, V) for b in range(5)] == [CATALOG["int4_g128"]] * 10
    assert f["encoder.layer.3.intermediate.dense"] == CATALOG["int8"]
    # ignored, and the matmuls (no module)
    assert f["encoder.layer.4.output.dense"] is FLOAT
    assert all(f[n] is FLOAT for n in NAMES if n.startswith("encoder.layer.5."))
    assert all(f[m] is FLOAT for m in MATMULS)


def test_a_config_json_holds_it_as_quantization_config():
    config = {"quantization_config": {"config_groups": {"g": {"targets": ["Linear"],
              "weights": {**INT8_CH, "symmetric": False}}}, "ignore": None}}  # fmt: skip
    read = _read("config.json", json.dumps(config))
    assert read.formats["encoder.layer.0.output.dense"].weight == WeightFormat(
        "int", 8, None, CHANNEL, 16, 16
    )
    assert read.formats["encoder.layer.0.output.dense"].name == "int8_ch_asym"


@needs_ct
def test_a_recipe_with_a_preset_scheme():
    recipe = (
        "quant_stage:\n  quant_modifiers:\n    GPTQModifier:\n      targets: [Linear]\n"
        "      scheme: W4A16\n      ignore: ['re:.*output\\.dense$']\n"
    )
    read = _read("recipe.yaml", recipe)
    assert read.formats[Q.format(2)] == CATALOG["int4_g128"]
    assert read.formats["encoder.layer.2.output.dense"] is FLOAT
    assert read.formats["encoder.layer.2.attention.output.dense"] is FLOAT


def _torchao(kind: str, version: int = 2, **data) -> dict:
    return {"_type": kind, "_version": version, "_data": data}


def test_torchao_exact_regex_default_and_null():
    per_group = _torchao("IntxWeightOnlyConfig", weight_dtype={"_type": "torch.dtype",
                         "_data": "int4"}, granularity=_torchao("PerGroup", 1, group_size=64),
                         mapping_type={"_type": "MappingType", "_data": "ASYMMETRIC"})  # fmt: skip
    entries = {
        "encoder.layer.0.output.dense": None,
        r"re:encoder\.layer\.[0-2]\.output\.dense": _torchao("Float8WeightOnlyConfig"),
        "re:.*attention.*": per_group,
        "_default": _torchao("Int8DynamicActivationInt8WeightConfig"),
    }
    read = _read("t.json", json.dumps({"fqn_to_config": entries}))
    f = read.formats
    assert f["encoder.layer.0.output.dense"] is FLOAT  # the exact name before the regex
    # FP8 weights per tensor (torchao's FP32 scale), no activations: not a catalog format
    assert f["encoder.layer.1.output.dense"].weight == WeightFormat("float", 8, None, TENSOR, 32)
    assert f["encoder.layer.1.output.dense"].activation_bits == 16
    assert f[Q.format(4)].weight == WeightFormat("int", 4, 64, GROUP, 16, 16)
    assert f["encoder.layer.4.output.dense"] == CATALOG["w8a8"]  # _default
    assert f[MATMULS[0]] is FLOAT  # the regex matches its name, but it has no module


def test_gguf_patterns_are_searched_in_order():
    text = "attn_q=q8_0 attn=q4_1\nblk\\.5\\..*=bf16\nffn_down=q6_k\n"
    read = _read("types.txt", text, gguf_arch="bert")
    f = read.formats
    assert f[Q.format(0)].name == "int8_g32"  # q8_0: INT8, an fp16 scale per 32
    assert f[K.format(0)].weight == WeightFormat("int", 4, 32, GROUP, 16, 16)  # q4_1
    assert f["encoder.layer.0.attention.output.dense"].weight.zero_bits == 16  # attn_output
    assert f[Q.format(5)].name == "int8_g32"  # attn_q comes before blk.5: the first wins
    assert f["encoder.layer.5.output.dense"] == CATALOG["bf16"]
    assert f["encoder.layer.0.output.dense"].weight == WeightFormat("int", 6, 16, GROUP, 8)
    assert "encoder.layer.0.intermediate.dense" not in f  # ffn_up: no pattern, the base type
    assert read.notes == (
        "encoder.layer.0.intermediate.dense: no pattern selects blk.0.ffn_up.weight (it takes "
        "llama-quantize's base type, which the file does not state)",
        "q6_k is read as its scales per 16 weights; its fp16 scales per 256 (0.0625 bits per "
        "weight) are left out",
        *(f"encoder.layer.{b}.intermediate.dense: no pattern selects blk.{b}.ffn_up.weight (it "
          "takes llama-quantize's base type, which the file does not state)" for b in range(1, 5)),
    )  # fmt: skip


def test_mlx_defaults_apply_to_modules_not_listed():
    block = {"group_size": 32, "bits": 8, "encoder.layer.0.output.dense": False,
             "encoder.layer.1.output.dense": {"group_size": 16, "bits": 4, "mode": "nvfp4",
                                              "quantize_input": True}}  # fmt: skip
    f = _read("config.json", json.dumps({"model_type": "bert", "quantization": block})).formats
    assert f["encoder.layer.0.output.dense"] is FLOAT
    assert f["encoder.layer.1.output.dense"].weight == WeightFormat("float", 4, 16, GROUP, 8)
    assert f["encoder.layer.1.output.dense"].activation_bits == 4
    assert f[Q.format(3)].weight == WeightFormat("int", 8, 32, GROUP, 16, 16)


def test_modelopt_flat_with_wildcard_exclusions():
    hf = {"producer": {"name": "modelopt"}, "quantization": {"quant_algo": "W4A16_AWQ",
          "group_size": 64, "exclude_modules": ["*output.dense", "encoder.layer.5*"]}}  # fmt: skip
    f = _read("hf_quant_config.json", json.dumps(hf)).formats
    assert f[Q.format(0)] == CATALOG["int4_g64"]
    assert f["encoder.layer.0.attention.output.dense"] is FLOAT
    assert f[Q.format(5)] is FLOAT


def test_modelopt_quant_cfg_dict_form_last_match_wins():
    fp8 = {"num_bits": [4, 3], "axis": None}
    # ModelOpt 0.47 reads the dict form in order, "default" as "*"
    cfg = {"quant_cfg": {"default": {"enable": False}, "*weight_quantizer": fp8,
                         "*input_quantizer": fp8, "*output.dense.*": {"enable": False},
                         "*layer.1.output.dense.weight_quantizer": {"num_bits": 8, "axis": 0}},
           "algorithm": "max"}  # fmt: skip
    f = _read("cfg.json", json.dumps(cfg)).formats
    assert f[Q.format(0)] == CATALOG["fp8"]
    assert f["encoder.layer.0.output.dense"] is FLOAT
    assert f["encoder.layer.1.output.dense"] == CATALOG["int8"]  # its input quantizer is off


def test_autoround_bare_layer_config():
    entries = {
        Q.format(0): {"bits": 4, "group_size": 32, "sym": True, "data_type": "int"},
        K.format(0): {"bits": 4, "group_size": 32, "data_type": "mx_fp", "act_bits": 4},
        V.format(0): {"bits": 16, "data_type": "fp"},
    }
    f = _read("layer_config.json", json.dumps(entries)).formats
    assert f[Q.format(0)] == CATALOG["int4_g32"]
    assert f[K.format(0)] == CATALOG["mxfp4"]
    assert f[V.format(0)] is FLOAT and f["encoder.layer.0.output.dense"] is FLOAT


# --- refusals ----------------------------------------------------------------------------------

CT = {"config_groups": {"g": {"targets": ["re:.*query$"], "weights": {}}}}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.json", json.dumps({"config_groups": {"g": {"targets": ["re:.*query$"], "weights":
         {"num_bits": 6, "type": "float", "strategy": "group", "group_size": 32}}}}),
         "c.json: field 'config_groups.g.weights.num_bits', layer "
         "'encoder.layer.0.attention.self.query': FP6 weights: compressed-tensors' FP6 is E2M3, "
         "mpq's FP6 (mxfp6) is E3M2"),
        ("c.json", json.dumps({"config_groups": {"g": {"targets": ["re:.*key$"], "weights":
         {"num_bits": 8, "type": "float", "strategy": "block", "block_structure": [128, 128]}}}}),
         "c.json: field 'config_groups.g.weights.strategy', layer "
         "'encoder.layer.0.attention.self.key': strategy 'block': mpq's formats scale weights per "
         "tensor, channel or group (tensor_group for NVFP4)"),
        ("c.json", json.dumps({"config_groups": {"g": {"targets": ["re:(query"]}}}),
         "c.json: field 'config_groups.g.targets': '(query' is not a regular expression "
         "(missing ), unterminated subpattern at position 0)"),
        ("t.json", json.dumps({"fqn_to_config": {"_default": {"_type": "Int4WeightOnlyConfig"}}}),
         "t.json: field 'fqn_to_config._default._type', layer "
         "'encoder.layer.0.attention.self.query': config 'Int4WeightOnlyConfig' is not one mpq "
         "reads (known: Int8WeightOnlyConfig, IntxWeightOnlyConfig, "
         "Int8DynamicActivationInt8WeightConfig, Float8WeightOnlyConfig, "
         "Float8DynamicActivationFloat8WeightConfig, NVFP4WeightOnlyConfig, "
         "NVFP4DynamicActivationNVFP4WeightConfig)"),
        ("t.txt", "attn_q=q4_0\nattn_k\n", "t.txt: field 'line 2': 'attn_k' is not PATTERN=TYPE"),
        ("m.json", json.dumps({"quantization": {"group_size": 64, "bits": 4, "mode": "mxfp6"}}),
         "m.json: field 'quantization.encoder.layer.0.attention.self.query.mode', layer "
         "'encoder.layer.0.attention.self.query': mode 'mxfp6': mpq reads affine, mxfp4, nvfp4 "
         "and mxfp8"),
        ("h.json", json.dumps({"quantization": {"quant_algo": "FP8_BLOCK_SCALES"}}),
         "h.json: field 'quantization.quant_algo', layer 'encoder.layer.0.attention.self.query': "
         "quant_algo 'FP8_BLOCK_SCALES' is not one mpq reads (known: W8A16, W4A16_AWQ, FP8, "
         "MXFP8, NVFP4, W4A16_NVFP4, W8A8_SQ_PER_CHANNEL, W4A8_AWQ)"),
        ("a.json", json.dumps({"layer_config": {"encoder.layer.0.output.dense": {"bits": 6,
         "group_size": 32, "data_type": "mx_fp"}}}),
         "a.json: field 'layer_config.encoder.layer.0.output.dense.data_type', layer "
         "'encoder.layer.0.output.dense': data_type 'mx_fp' with 6 bits: mpq reads int, fp (8 "
         "bits), mx_fp (4, 8), mx_fp6e3m2 (6) and nv_fp (4)"),
        ("a.json", json.dumps({"layer_config": {"encoder.layer.0.output.dense": {"bits": "4"}}}),
         "a.json: field 'layer_config.encoder.layer.0.output.dense.bits', layer "
         "'encoder.layer.0.output.dense': must be a whole number from 1 to 32, not '4'"),
        ("x.json", json.dumps({"weights": {}}),
         "x.json: not a Phase 4 file mpq knows: expected config_groups (compressed-tensors), an "
         "llm-compressor recipe, fqn_to_config (torchao), quantization (MLX, ModelOpt), "
         "quant_cfg (ModelOpt), layer_config (auto-round) or PATTERN=TYPE lines (llama.cpp)"),
        ("x.txt", "not a file\n", "x.txt: not a file mpq reads back: expected JSON, YAML (.yaml, "
         ".yml) or llama-quantize's PATTERN=TYPE words"),
        ("x.json", "{", "x.json: not JSON: Expecting property name enclosed in double quotes at "
         "line 1 column 2"),
    ],
)  # fmt: skip
def test_bad_input_is_one_message(name, text, message):
    with pytest.raises(InputError) as caught:
        _read(name, text, gguf_arch="bert")
    assert str(caught.value) == message


@needs_gguf
def test_a_ggml_type_without_an_mpq_format():
    with pytest.raises(InputError) as caught:
        _read("t.txt", "attn_q=iq2_xxs\n")
    assert str(caught.value).startswith(
        "t.txt: field 'line 1', layer 'encoder.layer.0.attention.self.query': GGML type "
        "'iq2_xxs' has no mpq format (mpq reads q4_0, q4_1, q5_0, q5_1, q8_0, mxfp4, nvfp4, "
    )


def test_a_format_the_problem_has_not_is_named(widths_solution):
    hf = {"quantization": {"quant_algo": "FP8", "exclude_modules": []}}
    with pytest.raises(InputError) as caught:
        compare_file(widths_solution, InputFile("hf.json", json.dumps(hf).encode()))
    assert str(caught.value) == (
        "hf.json: layer 'encoder.layer.0.attention.self.query': format 'fp8' (type float, bits "
        "8, scale_bits 32, activation_bits 8) is not among the problem's options (4, 8, 16)"
    )


# --- the command line ----------------------------------------------------------------------------

WIDTHS = [OPT, "--flops_file", FLOPS, "--sensitivity_file", SENS, "--tie_fused",
          *(a for m in MATMULS for a in ("--pin", f"{m}=16"))]  # fmt: skip


def test_compare_prints_the_differences_objectives_and_limits(run, workdir):
    code, _, err = run(*WIDTHS, "--budget_multiplier", "0.35", "--export_format", "autoround",
                       "--output_dir", "out", "--quiet")  # fmt: skip
    assert code == 0, err
    exported = next((workdir / "out" / "mixed_precision").glob("autoround_*.json"))
    code, out, err = run(*WIDTHS, "--budget_multiplier", "0.4", "--no_save", "--quiet",
                         "--compare", str(exported))  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("Compared with")))
    assert lines[start] == f"Compared with {exported} (autoround): 12 of 42 layers differ"
    assert lines[start + 1].split() == ["layer", "mpq", "file"]
    assert lines[start + 2].split() == ["encoder.layer.0.attention.output.dense", "8", "4"]
    assert lines[start + 14].startswith("  objective: mpq 0.0165907, file 0.0154835")
    assert lines[start + 15] == (
        "  bops <= 0.4x: cap 146.888 GBOPs; mpq 146.163 GBOPs, file 128.044 GBOPs"
    )
    # the same at 0.35 differs nowhere; --json carries it
    code, out, _ = run(*WIDTHS, "--budget_multiplier", "0.35", "--no_save", "--json",
                       "--compare", str(exported))  # fmt: skip
    compare = json.loads(out)["compare"]
    assert (compare["target"], compare["layers_differing"], compare["differences"]) == (
        "autoround",
        0,
        [],
    )
    assert compare["objective"]["mpq"] == compare["objective"]["file"]
    assert compare["limits"][0]["file_fits"] is True


def test_compare_accepts_an_mpq_config_and_shows_at_most_20_rows(run, workdir):
    code, _, _ = run(*WIDTHS, "--budget_multiplier", "0.9", "--output_dir", "out", "--quiet")
    assert code == 0
    config = next((workdir / "out" / "mixed_precision").glob("quantization_config_*.json"))
    code, out, err = run(*WIDTHS, "--budget_multiplier", "0.2", "--no_save", "--quiet",
                         "--compare", str(config))  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("Compared with"))
    differing = int(lines[head].split(": ")[1].split()[0])
    assert differing > 20 and lines[head].endswith(
        "(config): " + f"{differing} of 42 layers differ"
    )
    assert lines[head + 22] == f"  ... and {differing - 20} more"
    assert "(over the limit)" in lines[head + 24]  # the config's 0.9x allocation is over 0.2x


def test_a_bad_compare_file_exits_2_and_writes_nothing(run, workdir):
    bad = {"layer_config": {"encoder.layer.0.output.dense": {"bits": 4, "group_size": 96}}}
    (workdir / "bad.json").write_text(json.dumps(bad))
    code, out, err = run(*WIDTHS, "--output_dir", "out", "--compare", "bad.json")
    assert (code, out) == (2, "")
    assert err == (
        "main.py: error: bad.json: layer 'encoder.layer.0.output.dense': format 'int4_g96' (type "
        "int, bits 4, group_size 96, scale_bits 16, activation_bits 16) is not among the "
        "problem's options (4, 8, 16)\n"
    )
    assert not (workdir / "out").exists()
    code, _, err = run(*WIDTHS, "--sweep", "--compare", "bad.json")
    assert (code, err) == (2, "main.py: error: --compare is for one budget; --sweep solves every "
                              "budget (see main.py --help)\n")  # fmt: skip


def test_a_config_width_outside_the_ladder_is_named(widths_solution):
    config = {"bit_allocation": dict.fromkeys(NAMES, 8) | {NAMES[1]: 6}}
    with pytest.raises(InputError) as caught:
        compare_file(widths_solution, InputFile("c.json", json.dumps(config).encode()))
    assert str(caught.value) == (
        "c.json: field 'bit_allocation', layer 'encoder.layer.0.attention.self.key': '6' is not "
        "among the problem's options (4, 8, 16)"
    )
    same = compare_file(
        widths_solution,
        InputFile(
            "c.json",
            json.dumps(
                {"bit_allocation": dict(zip(NAMES, widths_solution.wbits.tolist(), strict=True))}
            ).encode(),
        ),
    )
    assert (same.target, same.differences) == ("config", ())
    assert same.theirs_objective == widths_solution.objective
