"""Built-in entry ``sd14``: the Stable Diffusion v1.4 UNet architecture with random weights.

diffusers' ``UNet2DConditionModel`` is built from the public SD v1.4 ``unet/config.json``
written literally below (nothing is downloaded; MACs do not depend on the weights) and called
once at 512x512: latent 1x4x64x64, timestep 999, text embeddings 1x77x768, float32, CPU. Its
Phase 1 document keeps the exact layout of ``sample_data/sd14_unet/flops_analysis_unet.json``.
"""

from __future__ import annotations

from typing import Any

import torch

from ..cases import Call, ModelCase
from ..profiling import ATTENTION, Profile

# Public config of CompVis/stable-diffusion-v1-4, subfolder "unet" (unet/config.json).
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

# One 512x512 image -> 64x64 latent (VAE factor 8).
BATCH = 1
LATENT_SHAPE = [BATCH, 4, 64, 64]
TEXT_SHAPE = [BATCH, 77, 768]
TIMESTEP = 999
SEED = 0

# Reference numbers of the architecture.
EXPECTED_CONV_LINEAR_MACS = 338_610_585_600
EXPECTED_NUM_CONV_LINEAR = 282
EXPECTED_NUM_ATTENTION = 32
EXPECTED_NUM_LAYERS = 314

GENERATOR = "scripts/gen_sd14_flops.py"


def case() -> ModelCase:
    """The UNet (random weights, seed 0) and one 512x512 call as example and calibration input."""
    from diffusers import UNet2DConditionModel

    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(**SD14_UNET_CONFIG).eval().float()
    generator = torch.Generator().manual_seed(SEED)
    sample = torch.randn(LATENT_SHAPE, generator=generator)
    text = torch.randn(TEXT_SHAPE, generator=generator)
    timestep = torch.tensor([TIMESTEP], dtype=torch.long)
    inputs = Call(args=(sample, timestep), kwargs={"encoder_hidden_states": text})
    processors = sorted(
        {type(m.processor).__name__ for m in unet.modules() if hasattr(m, "processor")}
    )
    return ModelCase(
        name="stable-diffusion-v1-4 UNet2DConditionModel",
        model=unet,
        example_inputs=inputs,
        samples=1,
        description="one 512x512 call: latent 1x4x64x64 and text 1x77x768 from "
        "torch.randn (seed 0), timestep 999; random weights (seed 0)",
        flops_document=lambda profile: flops_document(profile, processors),
    )


def flops_document(profile: Profile, processors: list[str]) -> dict[str, Any]:
    """The bundled file's layout: fixed metadata keys, then the layers."""
    import diffusers

    layers = {layer.name: layer.to_json() for layer in profile.layers}
    conv_linear = profile.of_type("Conv2d", "Linear")
    matmuls = profile.of_type(ATTENTION)
    conv_linear_macs = sum(r.macs for r in conv_linear)
    attention_macs = sum(r.macs for r in matmuls)
    metadata = {
        "input": {
            "image_resolution": [512, 512],
            "batch_size": BATCH,
            "sample": LATENT_SHAPE,
            "timestep": [BATCH],
            "timestep_value": TIMESTEP,
            "encoder_hidden_states": TEXT_SHAPE,
            "output": list(profile.output_shapes[0]),
            "dtype": "float32",
        },
        "generator": GENERATOR,
        "diffusers_version": diffusers.__version__,
        "torch_version": torch.__version__,
        "num_layers": len(layers),
        "total_macs": conv_linear_macs + attention_macs,
        "conv_linear_macs": conv_linear_macs,
        "attention_matmul_macs": attention_macs,
        "num_conv_linear": len(conv_linear),
        "num_conv2d": sum(1 for r in conv_linear if r.type == "Conv2d"),
        "num_linear": sum(1 for r in conv_linear if r.type == "Linear"),
        "num_attention_matmul": len(matmuls),
        "conv_linear_params": sum(r.params for r in profile.layers),
        "unet_config": SD14_UNET_CONFIG,
        "weights": "random (architecture only; MACs do not depend on weights)",
        "attention_processor": processors,
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
    """Differences from the architecture's reference numbers (empty when all match)."""
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
