#!/usr/bin/env python3
"""Generate the Phase 1 per-layer MACs file for the Stable Diffusion v1.4 UNet.

The UNet (diffusers ``UNet2DConditionModel``) is built from the public SD v1.4
``unet/config.json`` written literally below, with random weights: nothing is
downloaded.  One forward pass at 512x512 (latent 1x4x64x64, one timestep,
text embeddings 1x77x768, batch 1, float32, CPU, ``torch.no_grad()``) is run
with forward hooks, and every layer is recorded in network execution order:

* every ``nn.Conv2d`` and ``nn.Linear`` module, under its qualified
  ``named_modules()`` name (e.g. ``down_blocks.0.resnets.0.conv1``):

  - Conv2d MACs = output elements * (in_channels / groups) * kh * kw
  - Linear MACs = output elements * in_features
    (= output elements without the last dim * in_features * out_features)

  Biases are not counted in MACs; ``params`` is the weight + bias count.

* one ``AttentionMatMul`` entry per attention module (``attn1`` = self
  attention, ``attn2`` = cross attention, in each of the 16 transformer
  blocks), named ``<attention module name>.matmul`` (e.g.
  ``down_blocks.0.attentions.0.transformer_blocks.0.attn1.matmul``).  It
  carries the two activation-by-activation matmuls of scaled dot-product
  attention, summed over all heads:

  - QK^T: batch * heads * query_len * key_len * head_dim
  - AV:   batch * heads * query_len * key_len * head_dim

  ``params`` is 0, ``input_shape`` is the per-head query tensor
  ``[batch, heads, query_len, head_dim]`` and ``output_shape`` the per-head
  attention output ``[batch, heads, query_len, head_dim]``; the key length is
  query_len for attn1 and 77 (text tokens) for attn2.  The entry is placed
  right after the attention module's own Linear layers (to_q, to_k, to_v,
  to_out.0), i.e. at the time the attention module's forward hook fires.

File order = order of the first forward-hook call.  The script asserts the
reference numbers: 282 Conv2d/Linear modules with 338,610,585,600 MACs, 32
attention matmul entries, 314 layers in total.

Setup (one-off, not part of any requirements file; see scripts/README.md)::

    pip install torch==2.13.0        # CPU wheel; never plain `pip install torch`
    pip install diffusers==0.42.1

Usage::

    python scripts/gen_sd14_flops.py [--output PATH]

The output is deterministic (no timestamps; ``json.dumps(indent=2)`` + "\\n"):
running the script twice gives byte-identical files for the same
torch/diffusers versions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "sample_data" / "sd14_unet" / "flops_analysis_unet.json"

# Public config of CompVis/stable-diffusion-v1-4, subfolder "unet"
# (unet/config.json), written out literally so that nothing is downloaded.
SD14_UNET_CONFIG = {
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 768,
    "down_block_types": [
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D",
    ],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": [
        "UpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
    ],
}

# Forward-pass inputs: one 512x512 image -> 64x64 latent (VAE factor 8).
BATCH = 1
LATENT_SHAPE = [BATCH, 4, 64, 64]
TEXT_SHAPE = [BATCH, 77, 768]
TIMESTEP = 999
SEED = 0

# Reference numbers the script checks against.
EXPECTED_CONV_LINEAR_MACS = 338_610_585_600
EXPECTED_NUM_CONV_LINEAR = 282
EXPECTED_NUM_ATTENTION = 32
EXPECTED_NUM_LAYERS = 314

MATMUL_SUFFIX = ".matmul"


def _conv2d_macs(module, output) -> int:
    kh, kw = module.kernel_size
    return output.numel() * (module.in_channels // module.groups) * kh * kw


def _linear_macs(module, output) -> int:
    return output.numel() * module.in_features


def _is_attention(module) -> bool:
    # diffusers' Attention class (attn1 / attn2 of BasicTransformerBlock).
    return (
        type(module).__name__ == "Attention"
        and hasattr(module, "to_q")
        and hasattr(module, "to_k")
        and hasattr(module, "heads")
    )


def analyse(unet, torch):
    """Run one forward pass with hooks; return (layers dict, info dict)."""
    nn = torch.nn
    layers: dict[str, dict] = {}
    calls: dict[str, int] = {}
    # Per attention module: output shapes of its to_q and to_k projections.
    qk_shapes: dict[str, dict[str, list[int]]] = {}
    handles = []

    def make_leaf_hook(name: str, kind: str):
        def hook(module, inputs, output):
            calls[name] = calls.get(name, 0) + 1
            if calls[name] > 1:
                return  # keep the first call (none expected for this UNet)
            if kind == "Conv2d":
                macs = _conv2d_macs(module, output)
            else:
                macs = _linear_macs(module, output)
            layers[name] = {
                "macs": int(macs),
                "params": int(sum(p.numel() for p in module.parameters())),
                "type": kind,
                "input_shape": list(inputs[0].shape),
                "output_shape": list(output.shape),
            }
            parent, _, leaf = name.rpartition(".")
            if leaf in ("to_q", "to_k"):
                qk_shapes.setdefault(parent, {})[leaf] = list(output.shape)

        return hook

    def make_attention_hook(name: str):
        def hook(module, inputs, output):
            entry_name = name + MATMUL_SUFFIX
            calls[entry_name] = calls.get(entry_name, 0) + 1
            if calls[entry_name] > 1:
                return
            q = qk_shapes[name]["to_q"]  # [batch, query_len, inner_dim]
            k = qk_shapes[name]["to_k"]  # [batch, key_len, inner_dim]
            batch, q_len, inner = q
            k_len = k[1]
            heads = int(module.heads)
            head_dim = inner // heads
            assert heads * head_dim == inner, (name, heads, inner)
            qk_macs = batch * heads * q_len * k_len * head_dim
            av_macs = batch * heads * q_len * k_len * head_dim
            layers[entry_name] = {
                "macs": int(qk_macs + av_macs),
                "params": 0,
                "type": "AttentionMatMul",
                "input_shape": [batch, heads, q_len, head_dim],
                "output_shape": [batch, heads, q_len, head_dim],
            }

        return hook

    conv_linear_names = []
    attention_names = []
    processors = set()
    for name, module in unet.named_modules():
        if isinstance(module, nn.Conv2d):
            conv_linear_names.append(name)
            handles.append(module.register_forward_hook(make_leaf_hook(name, "Conv2d")))
        elif isinstance(module, nn.Linear):
            conv_linear_names.append(name)
            handles.append(module.register_forward_hook(make_leaf_hook(name, "Linear")))
        elif _is_attention(module):
            attention_names.append(name)
            processors.add(type(module.processor).__name__)
            handles.append(module.register_forward_hook(make_attention_hook(name)))

    generator = torch.Generator().manual_seed(SEED)
    sample = torch.randn(LATENT_SHAPE, generator=generator)
    text = torch.randn(TEXT_SHAPE, generator=generator)
    timestep = torch.tensor([TIMESTEP], dtype=torch.long)
    with torch.no_grad():
        out = unet(sample, timestep, encoder_hidden_states=text).sample
    for handle in handles:
        handle.remove()

    missing = [n for n in conv_linear_names if n not in layers]
    missing += [n + MATMUL_SUFFIX for n in attention_names if n + MATMUL_SUFFIX not in layers]
    if missing:
        raise SystemExit(f"modules never called in the forward pass: {missing}")
    repeated = sorted(n for n, c in calls.items() if c != 1)
    if repeated:
        raise SystemExit(f"modules called more than once: {repeated}")

    info = {
        "output_shape": list(out.shape),
        "num_conv_linear_modules": len(conv_linear_names),
        "num_attention_modules": len(attention_names),
        "attention_processors": sorted(processors),
    }
    return layers, info


def build_document(layers: dict, info: dict, torch, diffusers) -> dict:
    conv_linear = {n: e for n, e in layers.items() if e["type"] in ("Conv2d", "Linear")}
    matmuls = {n: e for n, e in layers.items() if e["type"] == "AttentionMatMul"}
    conv_linear_macs = sum(e["macs"] for e in conv_linear.values())
    attention_macs = sum(e["macs"] for e in matmuls.values())
    total_macs = conv_linear_macs + attention_macs
    metadata = {
        "input": {
            "image_resolution": [512, 512],
            "batch_size": BATCH,
            "sample": LATENT_SHAPE,
            "timestep": [BATCH],
            "timestep_value": TIMESTEP,
            "encoder_hidden_states": TEXT_SHAPE,
            "output": info["output_shape"],
            "dtype": "float32",
        },
        "generator": "scripts/gen_sd14_flops.py",
        "diffusers_version": diffusers.__version__,
        "torch_version": torch.__version__,
        "num_layers": len(layers),
        "total_macs": total_macs,
        "conv_linear_macs": conv_linear_macs,
        "attention_matmul_macs": attention_macs,
        "num_conv_linear": len(conv_linear),
        "num_conv2d": sum(1 for e in conv_linear.values() if e["type"] == "Conv2d"),
        "num_linear": sum(1 for e in conv_linear.values() if e["type"] == "Linear"),
        "num_attention_matmul": len(matmuls),
        "conv_linear_params": sum(e["params"] for e in layers.values()),
        "unet_config": SD14_UNET_CONFIG,
        "weights": "random (architecture only; MACs do not depend on weights)",
        "attention_processor": info["attention_processors"],
        "layer_order": "network execution order (first forward-hook call)",
        "mac_rules": {
            "Conv2d": "output elements * (in_channels / groups) * kernel_h * kernel_w",
            "Linear": "output elements * in_features",
            "AttentionMatMul": (
                "QK^T + AV over all heads = 2 * batch * heads * query_len * key_len * head_dim"
            ),
            "bias": "not counted",
        },
        "attention_matmul_naming": (
            "'<attention module name>.matmul' (e.g. "
            "'down_blocks.0.attentions.0.transformer_blocks.0.attn1.matmul'), type "
            "'AttentionMatMul', params 0, placed right after the attention module's "
            "to_q/to_k/to_v/to_out.0 layers; input_shape = per-head query "
            "[batch, heads, query_len, head_dim], output_shape = per-head attention output "
            "[batch, heads, query_len, head_dim]; key_len = query_len for attn1 "
            "(self-attention) and 77 for attn2 (cross-attention)"
        ),
    }
    return {
        "model": "stable-diffusion-v1-4 UNet2DConditionModel",
        "unit": "MACs",
        "metadata": metadata,
        "layers": layers,
    }


def check(doc: dict) -> list[str]:
    md = doc["metadata"]
    problems = []
    if md["conv_linear_macs"] != EXPECTED_CONV_LINEAR_MACS:
        problems.append(
            f"conv/linear MACs {md['conv_linear_macs']:,} != reference "
            f"{EXPECTED_CONV_LINEAR_MACS:,}"
        )
    if md["num_conv_linear"] != EXPECTED_NUM_CONV_LINEAR:
        problems.append(
            f"{md['num_conv_linear']} conv/linear modules != {EXPECTED_NUM_CONV_LINEAR}"
        )
    if md["num_attention_matmul"] != EXPECTED_NUM_ATTENTION:
        problems.append(
            f"{md['num_attention_matmul']} attention entries != {EXPECTED_NUM_ATTENTION}"
        )
    if md["num_layers"] != EXPECTED_NUM_LAYERS:
        problems.append(f"{md['num_layers']} layers != {EXPECTED_NUM_LAYERS}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"output JSON path (default: {DEFAULT_OUTPUT.relative_to(REPO_ROOT)})",
    )
    args = parser.parse_args(argv)

    try:
        import diffusers
        import torch
        from diffusers import UNet2DConditionModel
    except ImportError as exc:  # pragma: no cover - environment dependent
        print(
            f"error: {exc}. Install once with: pip install torch==2.13.0 && "
            "pip install diffusers==0.42.1 (see scripts/README.md)",
            file=sys.stderr,
        )
        return 2

    start = time.perf_counter()
    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(**SD14_UNET_CONFIG).eval().float()
    layers, info = analyse(unet, torch)
    doc = build_document(layers, info, torch, diffusers)
    elapsed = time.perf_counter() - start

    md = doc["metadata"]
    print(f"layers:            {md['num_layers']}")
    print(f"conv/linear:       {md['num_conv_linear']} modules, {md['conv_linear_macs']:,} MACs")
    print(
        f"attention matmul:  {md['num_attention_matmul']} entries, "
        f"{md['attention_matmul_macs']:,} MACs"
    )
    print(f"total:             {md['total_macs']:,} MACs ({md['total_macs'] / 1e9:.2f} GMACs)")
    print(f"conv/linear params: {md['conv_linear_params']:,} (norm layers not counted)")
    print(f"build + forward:   {elapsed:.1f} s")

    problems = check(doc)
    for problem in problems:
        print(f"CHECK FAILED: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"reference check:   OK ({EXPECTED_CONV_LINEAR_MACS:,} conv/linear MACs)")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
