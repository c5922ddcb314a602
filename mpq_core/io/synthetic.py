"""A random problem the size of a large mixture-of-experts LLM, made on demand (never stored):
100 decoder layers, each with 4 attention projections and 332 experts of 3 projections each,
100,000 linear layers in all, named as in Hugging Face checkpoints
(``model.layers.7.mlp.experts.12.down_proj``).

SYNTHETIC, not measured: the sizes are those of a model with a hidden size of 2,048 and an
expert width of 768; the MACs are per sequence of 2,048 tokens, each expert seeing a random
share of them (8 of the experts per token, routed unevenly); the scalar sensitivities are
log-normal with a level and a spread per module kind. The same seed gives the same files
(numpy's PCG64 stream; exponentials taken one at a time by the C library, not by numpy's
vector code, whose last bit can depend on the CPU; scores rounded to 6 significant digits).
"""

from __future__ import annotations

import json
import math

import numpy as np

from .reading import InputFile

BLOCKS = 100
EXPERTS = 332
HIDDEN = 2048
EXPERT_WIDTH = 768
TOKENS = 2048
TOP_K = 8
SEED = 2026
_ATTENTION = (("q_proj", HIDDEN, 4096), ("k_proj", HIDDEN, 512), ("v_proj", HIDDEN, 512),
              ("o_proj", 4096, HIDDEN))  # fmt: skip
_EXPERT = (("gate_proj", HIDDEN, EXPERT_WIDTH), ("up_proj", HIDDEN, EXPERT_WIDTH),
           ("down_proj", EXPERT_WIDTH, HIDDEN))  # fmt: skip
_SPREAD = {"q_proj": 0.5, "k_proj": 0.6, "v_proj": 0.4, "o_proj": 0.5,
           "gate_proj": 0.8, "up_proj": 0.8, "down_proj": 1.0}  # fmt: skip
_BASE = {"q_proj": 1.0, "k_proj": 1.0, "v_proj": 2.0, "o_proj": 2.0,
         "gate_proj": 0.1, "up_proj": 0.1, "down_proj": 0.15}  # fmt: skip


def file_names(blocks: int = BLOCKS, experts: int = EXPERTS) -> tuple[str, str]:
    """The labels of the two files (their paths once written by ``python -m``)."""
    stem = f"synthetic/moe_{blocks}_blocks_{experts}_experts"
    return f"{stem}_flops.json", f"{stem}_sensitivity.json"


FLOPS_NAME, SENSITIVITY_NAME = file_names()


def _layers(blocks: int, experts: int, seed: int) -> list[tuple[str, str, int, int, float]]:
    """(name, module kind, in features, out features, tokens seen) of every layer, in order."""
    rng = np.random.default_rng(seed)
    out = []
    for block in range(blocks):
        prefix = f"model.layers.{block}"
        for kind, fan_in, fan_out in _ATTENTION:
            out.append((f"{prefix}.self_attn.{kind}", kind, fan_in, fan_out, float(TOKENS)))
        load = rng.dirichlet(np.full(experts, 2.0)) * TOKENS * TOP_K  # uneven routing
        for expert in range(experts):
            tokens = float(max(1, round(load[expert])))
            for kind, fan_in, fan_out in _EXPERT:
                name = f"{prefix}.mlp.experts.{expert}.{kind}"
                out.append((name, kind, fan_in, fan_out, tokens))
    return out


def moe_files(
    blocks: int = BLOCKS, experts: int = EXPERTS, seed: int = SEED
) -> tuple[InputFile, InputFile]:
    """The Phase 1 and Phase 2 files of the synthetic MoE, as JSON bytes (smaller ones for
    tests: fewer blocks or experts)."""
    layers = _layers(blocks, experts, seed)
    rng = np.random.default_rng(seed + 1)
    z = rng.standard_normal(len(layers))
    depth = np.array([int(name.split(".")[2]) for name, *_ in layers]) / blocks
    spread = np.array([_SPREAD[kind] for _, kind, *_ in layers])
    base = np.array([_BASE[kind] for _, kind, *_ in layers])
    growth = np.array([math.exp(v) for v in (spread * z).tolist()])
    score = base * growth * (1.5 - depth)  # earlier blocks more sensitive
    flops = {
        "model": f"synthetic MoE ({blocks} blocks x ({len(_ATTENTION)} + {experts} x 3))",
        "unit": "MACs",
        "metadata": {"synthetic": True, "generator": "mpq_core/io/synthetic.py", "seed": seed},
        "layers": {
            name: {
                "macs": int(fan_in * fan_out * tokens),
                "params": fan_in * fan_out,
                "type": "Linear",
                "input_shape": [int(tokens), fan_in],
                "output_shape": [int(tokens), fan_out],
            }
            for name, _, fan_in, fan_out, tokens in layers
        },
    }
    sensitivity = {
        "metadata": {"synthetic": True, "generator": "mpq_core/io/synthetic.py", "seed": seed},
        "sensitivity": {
            name: float(f"{s:.6g}") for (name, *_), s in zip(layers, score, strict=True)
        },
    }
    flops_name, sensitivity_name = file_names(blocks, experts)
    return InputFile(flops_name, _dumps(flops)), InputFile(sensitivity_name, _dumps(sensitivity))


def _dumps(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    """``python -m mpq_core.io.synthetic [FOLDER]``: write the sample's two files under
    FOLDER (default: here), at the paths its exports name, so the command line can read
    them. An existing file is never overwritten."""
    import sys
    from pathlib import Path

    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0] if args else ".")
    files = moe_files()
    for file in files:
        if (folder / file.name).exists():
            print(f"error: {folder / file.name} exists; nothing written", file=sys.stderr)
            return 2
    for file in files:
        (folder / file.name).parent.mkdir(parents=True, exist_ok=True)
        (folder / file.name).write_bytes(file.content)
        print(folder / file.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
