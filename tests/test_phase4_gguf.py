"""--export_format gguf: each catalog format's GGML type written out by hand, the type table
checked against the gguf package's own block sizes, the refusals verbatim, and the tensor-type
file the command line writes for MiniLM read as llama-quantize reads it (words ``PATTERN=TYPE``,
each pattern a regex searched in every tensor name): every type is one gguf knows, every
pattern selects exactly one of the tensors gguf's BERT name map produces, and the types are
those of the allocation.

As in test_phase4_compressed_tensors.py, the widths runs use the bundled measured MiniLM sample
and the formats runs a made-up per-format sensitivity.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

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

import mpq_core as mc
from mpq_core.errors import InputError
from mpq_core.io.phase4 import phase4_files
from mpq_core.io.phase4.gguf_export import (
    GGML_TYPES,
    TARGET,
    block_count,
    ggml_type,
    gguf_export,
)
from mpq_core.io.phase4.layers import CannotExpress, LayerChoice, expressed, width_format
from mpq_core.model.formats import CATALOG, GROUP, Format, WeightFormat

needs_gguf = pytest.mark.skipif(
    missing_reason("gguf") is not None, reason=missing_reason("gguf") or ""
)

# catalog format -> (GGML type, exact?)
EXPECTED = {
    "int4_g32": ("q4_0", True),  # INT4, an fp16 scale per 32: q4_0's block exactly
    "int4_g64": ("q4_0", False),
    "int4_g128": ("q4_0", False),
    "int3_g128": ("q3_k", False),
    "int2_g64": ("q2_k", False),
    "int8": ("q8_0", False),  # per output channel; q8_0 has a scale per 32
    "nvfp4_w4a16": ("nvfp4", False),  # GGML's NVFP4 block has no FP32 tensor scale
}
ACTIVATIONS = (
    "-bit activations: a GGUF file holds weights only and llama.cpp quantizes activations as its "
    "kernels need, whatever the file says; only a weight-only format (16-bit activations) has a "
    "GGML type"
)
FLOATS = (
    "weights: GGML's float types are f32, f16 and bf16 (no scales), mxfp4 (FP4 E2M1, an E8M0 "
    "scale per 32 weights) and nvfp4 (FP4 E2M1, an E4M3 scale per 16 weights); it has no FP8 or "
    "FP6 type"
)
REFUSED = {
    "w8a8": f"8{ACTIVATIONS}",
    "w4a8_g128": f"8{ACTIVATIONS}",
    "mxfp4": f"4{ACTIVATIONS}",  # its weights alone would be mxfp4, exactly
    "nvfp4": f"4{ACTIVATIONS}",
    "fp8": f"FP8 {FLOATS}",
    "mxfp6": f"FP6 {FLOATS}",
    "mxfp8": f"FP8 {FLOATS}",
}
# (block size, bytes per block) of each type, from ggml's block structs
LAYOUT = {"q2_k": (256, 84), "q3_k": (256, 110), "q4_0": (32, 18), "q4_1": (32, 20),
          "q5_0": (32, 22), "q5_1": (32, 24), "q6_k": (256, 210), "q8_0": (32, 34),
          "mxfp4": (32, 17), "nvfp4": (64, 36), "f16": (1, 2), "bf16": (1, 2),
          "f32": (1, 4)}  # fmt: skip
BPW = {"q2_k": 2.625, "q3_k": 3.4375, "q4_0": 4.5, "q4_1": 5.0, "q5_0": 5.5, "q5_1": 6.0,
       "q6_k": 6.5625, "q8_0": 8.5, "mxfp4": 4.25, "nvfp4": 4.5}  # fmt: skip


def test_every_catalog_format_is_mapped_refused_or_left_in_float():
    assert set(EXPECTED) | set(REFUSED) | {"bf16", "fp16"} == set(CATALOG)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_catalog_format_by_hand(name):
    chosen = ggml_type(CATALOG[name])
    assert (chosen.type.name, chosen.exact) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_ggml_has_no_type_for_says_why(name):
    with pytest.raises(CannotExpress) as caught:
        ggml_type(CATALOG[name])
    assert str(caught.value) == REFUSED[name]


def test_the_type_table_by_hand():
    assert {n: (t.block, t.block_bytes) for n, t in GGML_TYPES.items()} == LAYOUT
    assert {n: t.bits for n, t in GGML_TYPES.items() if t.block > 1} == BPW


@needs_gguf
def test_the_type_table_is_ggmls():
    import gguf

    for name, t in GGML_TYPES.items():
        kind = gguf.GGMLQuantizationType[name.upper()]
        assert gguf.GGML_QUANT_SIZES[kind] == (t.block, t.block_bytes), name


@pytest.mark.parametrize(
    ("width", "name"),
    [(2, "q2_k"), (3, "q3_k"), (4, "q4_0"), (5, "q5_0"), (6, "q6_k"), (8, "q8_0")],
)
def test_a_plain_width_takes_the_type_of_its_bits_never_exactly(width, name):
    chosen = ggml_type(width_format(width))  # one fp32 scale per output channel
    assert (chosen.type.name, chosen.exact) == (name, False)


def test_int7_has_no_type():
    with pytest.raises(CannotExpress) as caught:
        ggml_type(width_format(7))
    assert str(caught.value) == (
        "INT7 weights: GGML's integer types store 2 (q2_k), 3 (q3_k), 4 (q4_0, q4_1), 5 (q5_0, "
        "q5_1), 6 (q6_k) or 8 bits (q8_0)"
    )


def _own(kind: str, bits: int, group: int, scale: int, zero: int = 0, tensor: int = 0) -> Format:
    weight = WeightFormat(kind, bits, group, GROUP, scale, zero, tensor)
    return Format("own", weight, 16)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (_own("int", 4, 32, 16, zero=16), ("q4_1", True)),  # scale and min per 32
        (_own("int", 5, 32, 16, zero=16), ("q5_1", True)),
        (_own("int", 5, 32, 16), ("q5_0", True)),
        (_own("int", 8, 32, 16), ("q8_0", True)),
        (_own("int", 4, 64, 16, zero=4), ("q4_1", False)),
        (_own("int", 6, 16, 8, zero=4), ("q6_k", False)),  # q6_k is symmetric
        (_own("float", 4, 32, 8), ("mxfp4", True)),  # MXFP4 weights, activations 16 bits
        (_own("float", 4, 16, 8), ("nvfp4", True)),
    ],
)  # fmt: skip
def test_formats_file_entries_by_hand(fmt, expected):
    chosen = ggml_type(fmt)
    assert (chosen.type.name, chosen.exact) == expected


def test_a_convolution_is_refused_naming_layer_format_and_target():
    conv = LayerChoice("m.conv", "conv", "Conv2d", False, CATALOG["int8"], "format 'int8'", "int8")
    with pytest.raises(ValueError) as caught:
        expressed((conv,), TARGET)
    assert str(caught.value) == (
        "llama.cpp (GGUF): layer 'conv': format 'int8' cannot be expressed: llama.cpp (GGUF) "
        "quantizes Linear and Embedding modules, not Conv2d"
    )


def test_the_block_count_is_the_largest_layer_number_plus_one():
    names = json.loads(Path(FLOPS).read_text(encoding="utf-8"))["layers"]
    assert block_count(names) == 6
    assert block_count(["model.layers.31.mlp.down_proj", "lm_head"]) == 32
    assert block_count(["fc1", "fc2"]) == 0


# --- the command line on MiniLM, read as llama-quantize reads it ------------------------------


def _tensor_types(workdir) -> tuple[dict[str, str], str]:
    """The tensor-type file as llama-quantize reads it (words PATTERN=TYPE; a name is
    lowercased), and the notes beside it."""
    folder = workdir / "out" / "mixed_precision"
    words = next(folder.glob("llamacpp_tensor_types_*.txt")).read_text().split()
    notes = next(folder.glob("llamacpp_notes_*.txt")).read_text()
    pairs = [word.split("=", 1) for word in words]
    assert all(len(p) == 2 and p[0] and p[1] for p in pairs), words
    patterns = {pattern.lower(): kind for pattern, kind in pairs}
    assert set(patterns.values()) <= {t.name.lower() for t in _ggml_types()}
    return patterns, notes


def _ggml_types():
    import gguf

    return gguf.GGMLQuantizationType


def _bert_tensors(n_blocks: int) -> list[str]:
    """Every tensor name gguf's BERT name map produces for ``n_blocks`` blocks."""
    import gguf

    mapping = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_blocks)
    bases = {name for _, name in mapping.mapping.values()}
    return sorted(f"{base}{suffix}" for base in bases for suffix in (".weight", ".bias"))


def _selected(patterns: dict[str, str], n_blocks: int) -> dict[str, str]:
    """Tensor name -> type, each pattern searched in every tensor name as std::regex_search
    does; each must select exactly one tensor."""
    tensors = _bert_tensors(n_blocks)
    out = {}
    for pattern, kind in patterns.items():
        hits = [t for t in tensors if re.search(pattern, t)]
        assert len(hits) == 1, (pattern, hits)
        out[hits[0]] = kind
    return out


def _gguf_name(layer: str) -> str:
    """A MiniLM layer's GGUF tensor, written out by hand."""
    block, part = re.fullmatch(r"encoder\.layer\.(\d+)\.(.+)", layer).groups()
    short = {"attention.self.query": "attn_q", "attention.self.key": "attn_k",
             "attention.self.value": "attn_v", "attention.output.dense": "attn_output",
             "intermediate.dense": "ffn_up", "output.dense": "ffn_down"}[part]  # fmt: skip
    return f"blk.{block}.{short}.weight"


WIDTH_TYPES = {4: "q4_0", 8: "q8_0", 16: "f16"}


def _width_types(workdir) -> dict[str, str]:
    """Tensor name -> type of each width of the config written beside the exports."""
    config = json.loads(next((workdir / "out" / "mixed_precision").glob("quant*.json")).read_text())
    wbits = config["bit_allocation"]
    assert {4, 8, 16} <= set(wbits.values())
    return {_gguf_name(n): WIDTH_TYPES[w] for n, w in wbits.items() if n not in MATMULS}


@needs_gguf
def test_widths_on_minilm(run, workdir):
    sens = str(MINILM / "sensitivity_mse.json")
    code, _, err = run(OPT, "--flops_file", FLOPS, "--sensitivity_file", sens,
                       "--budget_multiplier", "0.35", *pins("encoder.layer.0.output.dense"),
                       "--export_format", "gguf", "--output_dir", "out")  # fmt: skip
    assert code == 0, err
    patterns, notes = _tensor_types(workdir)
    assert _selected(patterns, 6) == _width_types(workdir)
    # a few lines by hand (the first block, in file order)
    lines = next((workdir / "out" / "mixed_precision").glob("llamacpp_t*")).read_text()
    assert lines.splitlines()[5] == r"^blk\.0\.ffn_down\.weight$=f16"  # pinned to 16 bits
    assert "#   width 4 -> q4_0: symmetric INT4, an fp16 scale per 32 (4.5 bits per weight, " \
           "mpq's 4)\n" in notes  # fmt: skip
    assert "".join(f"#   {m}\n" for m in MATMULS) in notes


@needs_gguf
def test_formats_on_minilm(run, workdir):
    formats = [*sorted(EXPECTED), "bf16", "fp16"]
    fixed = dict(zip(linears(0) + linears(1), formats, strict=False))
    code, _, err = formats_run(run, workdir, formats, fixed, "gguf")
    assert code == 0, err
    patterns, notes = _tensor_types(workdir)
    by_tensor = _selected(patterns, 6)
    for name, fmt in fixed.items():
        kind = {"bf16": "bf16", "fp16": "f16"}.get(fmt) or EXPECTED[fmt][0]
        assert by_tensor[_gguf_name(name)] == kind, (name, fmt)
    lines = next((workdir / "out" / "mixed_precision").glob("llamacpp_t*")).read_text()
    assert lines.splitlines()[:6] == [
        r"^blk\.0\.attn_q\.weight$=q2_k",  # int2_g64
        r"^blk\.0\.attn_k\.weight$=q3_k",  # int3_g128
        r"^blk\.0\.attn_v\.weight$=q4_0",  # int4_g128
        r"^blk\.0\.attn_output\.weight$=q4_0",  # int4_g32
        r"^blk\.0\.ffn_up\.weight$=q4_0",  # int4_g64
        r"^blk\.0\.ffn_down\.weight$=q8_0",  # int8
    ]
    assert "#   q3_k (block 256) falls back to q4_0\n" in notes
    assert "#   format 'int4_g32' ->" not in notes  # exact


def test_a_format_ggml_has_no_type_for_writes_nothing(run, workdir):
    formats = ["int4_g128", "fp8", "int8", "bf16"]
    fixed = {"encoder.layer.0.attention.self.value": "fp8"}
    code, _, err = formats_run(run, workdir, formats, fixed, "gguf")
    assert code == 2
    assert err == (
        "main.py: error: llama.cpp (GGUF): layer 'encoder.layer.0.attention.self.value': format "
        f"'fp8' cannot be expressed: {REFUSED['fp8']}\n"
    )
    assert not (workdir / "out").exists()


@pytest.fixture(scope="module")
def widths_solution():
    problem = mc.load_problem(FLOPS, str(MINILM / "sensitivity_mse.json"))
    return mc.solve(problem, 0.5)


@needs_gguf
def test_the_architecture_is_a_parameter(widths_solution):
    export = gguf_export(widths_solution, arch="jina-bert-v2", n_blocks=12)
    assert (export.arch, export.n_blocks) == ("jina-bert-v2", 12)
    assert export.tensors[0].line == r"^blk\.0\.attn_q\.weight$=q8_0"
    with pytest.raises(InputError) as caught:  # nomic-bert has one fused attn_qkv tensor
        gguf_export(widths_solution, arch="nomic-bert")
    assert str(caught.value) == (
        "llama.cpp (GGUF): layer 'encoder.layer.0.attention.self.query': no GGUF tensor: gguf's "
        "name map of architecture 'nomic-bert' with 6 blocks has no entry for this module"
    )
    with pytest.raises(InputError) as caught:
        gguf_export(widths_solution, arch="bertt")
    assert str(caught.value) == (
        "llama.cpp (GGUF): unknown GGUF architecture 'bertt' (gguf's MODEL_ARCH_NAMES: bert, "
        "llama, ...)"
    )


@needs_gguf
def test_the_name_prefix_is_tried_then_dropped(widths_solution):
    plain = phase4_files(widths_solution, "gguf")
    prefixed = phase4_files(widths_solution, "gguf", "bert.")  # gguf's map has no bert. names
    assert prefixed[0] == plain[0]


def test_without_the_gguf_package_it_says_what_to_install(widths_solution, monkeypatch):
    monkeypatch.setitem(sys.modules, "gguf", None)  # import gguf raises ImportError
    with pytest.raises(InputError) as caught:
        gguf_export(widths_solution)
    assert str(caught.value).startswith(
        "llama.cpp (GGUF): GGUF tensor names come from the gguf package's name map: pip install "
        "gguf==0.19.0 ("
    )


def test_the_architecture_is_told_by_the_layer_names():
    from mpq_core.io.phase4.gguf_export import guess_arch

    assert guess_arch(["model.embed_tokens", "model.layers.0.self_attn.q_proj"]) == "llama"
    assert guess_arch(["encoder.layer.0.attention.self.query"]) == "bert"
    with pytest.raises(InputError) as caught:
        guess_arch(["down_blocks.0.attentions.0.proj_in", "conv_in"])
    assert str(caught.value) == (
        "llama.cpp (GGUF): cannot tell the GGUF architecture from the layer names (no "
        "self_attn.q_proj or attention.self.query): give it with --gguf_arch (gguf's names: "
        "llama, bert, ...)"
    )


@needs_gguf
def test_gguf_arch_on_the_command_line(run, workdir):
    """--gguf_arch names the architecture (MiniLM's names are in llama's map too: the names
    are shared, the architecture says which tensors exist); an unknown one writes nothing."""
    sens = str(MINILM / "sensitivity_mse.json")
    argv = [OPT, "--flops_file", FLOPS, "--sensitivity_file", sens, "--budget_multiplier", "0.35",
            *pins(), "--export_format", "gguf", "--output_dir", "out"]  # fmt: skip
    code, _, err = run(*argv, "--gguf_arch", "bertt")
    assert code == 2 and "unknown GGUF architecture 'bertt'" in err
    assert not (workdir / "out").exists()
    assert run(*argv, "--gguf_arch", "llama")[0] == 0
    notes = next((workdir / "out" / "mixed_precision").glob("llamacpp_notes_*")).read_text()
    assert "architecture 'llama', 6 blocks" in notes.splitlines()[0]
