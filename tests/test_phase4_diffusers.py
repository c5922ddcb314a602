"""--export_format diffusers: a small diffusers UNet (random weights, built from a config: no
download) saved and loaded back by diffusers' own ``from_pretrained`` with the snippet's
``TorchAoConfig``; every Linear ends with the weight tensor of its width, the rest in float,
and the model runs. A convolution below 16 bits is refused (diffusers' torchao quantizes
Linear layers), naming the layer, the width and the target."""

from __future__ import annotations

import json
import runpy

import pytest
import torch
from test_phase4_compressed_tensors import OPT, missing_reason
from test_phase4_torchao import _expected, _observed

needs_libraries = pytest.mark.skipif(
    missing_reason("torchao") is not None or missing_reason("diffusers") is not None,
    reason=(missing_reason("torchao") or missing_reason("diffusers") or ""),
)


def _unet():
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    return UNet2DConditionModel(
        sample_size=8,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=16,
    )


def _files(workdir, model, conv: str | None = None):
    """Phase 1 and 2 files of the UNet's Linear layers (and the convolution ``conv``)."""
    layers, losses = {}, {}
    for i, (name, module) in enumerate(model.named_modules()):
        if isinstance(module, torch.nn.Linear) or name == conv:
            weight = module.weight
            layers[name] = {"macs": int(weight.numel()) * 64, "params": int(weight.numel()),
                            "type": type(module).__name__, "out_channels": int(weight.shape[0])}  # fmt: skip
            losses[name] = {"4": 1.0 + i % 7, "8": 0.05 * (1 + i % 3), "16": 0.0}
    (workdir / "f.json").write_text(json.dumps({"layers": layers}))
    (workdir / "s.json").write_text(json.dumps({"sensitivity": losses}))
    return layers


@needs_libraries
def test_diffusers_loads_the_unet_with_each_linear_s_width(run, workdir):
    from diffusers import UNet2DConditionModel

    model = _unet()
    model.save_pretrained(workdir / "unet")
    layers = _files(workdir, model)
    code, _, err = run(OPT, "--flops_file", "f.json", "--sensitivity_file", "s.json",
                       "--budget_multiplier", "0.33", "--export_format", "diffusers",
                       "--output_dir", "out")  # fmt: skip
    assert code == 0, err
    folder = workdir / "out" / "mixed_precision"
    snippet = next(folder.glob("diffusers_*.py"))
    assert (
        snippet.with_name(snippet.name.replace("diffusers_", "torchao_"))
        .with_suffix(".json")
        .is_file()
    )
    wbits = json.loads(next(folder.glob("quantization_config_*.json")).read_text())
    wbits = wbits["bit_allocation"]
    assert set(wbits) == set(layers) and {4, 8, 16} <= set(wbits.values())
    configs = runpy.run_path(str(snippet))
    quantized = UNet2DConditionModel.from_pretrained(
        workdir / "unet",
        quantization_config=configs["unet_quantization_config"](),
        torch_dtype=torch.bfloat16,
    )
    modules = dict(quantized.named_modules())
    for name, width in wbits.items():
        weight = modules[name].weight
        if width == 16:
            assert type(weight) is torch.nn.Parameter, name
        else:
            assert _observed(weight) == _expected(f"int{width}", modules[name].in_features), name
    assert isinstance(configs["pipeline_quantization_config"]().quant_mapping["unet"],
                      type(configs["unet_quantization_config"]()))  # fmt: skip
    sample = torch.randn(1, 4, 8, 8, dtype=torch.bfloat16)
    context = torch.randn(1, 3, 32, dtype=torch.bfloat16)
    with torch.no_grad():
        out = quantized(sample, 10, encoder_hidden_states=context).sample
    assert out.shape == (1, 4, 8, 8) and torch.isfinite(out.float()).all()


def test_a_convolution_below_16_bits_is_refused(run, workdir):
    model = _unet()
    _files(workdir, model, conv="conv_in")
    code, _, err = run(OPT, "--flops_file", "f.json", "--sensitivity_file", "s.json",
                       "--budget_multiplier", "0.3", "--pin", "conv_in=4",
                       "--export_format", "diffusers", "--output_dir", "out")  # fmt: skip
    assert code == 2
    assert err == (
        "main.py: error: torchao on CPU: layer 'conv_in': width 4 cannot be expressed: "
        "torchao on CPU quantizes Linear modules, not Conv2d\n"
    )
    assert not (workdir / "out").exists()
