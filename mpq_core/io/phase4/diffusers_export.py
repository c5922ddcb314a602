"""diffusers: the allocation as the quantization config a diffusers UNet (or pipeline) loads
with, per module, through torchao (diffusers 0.42's ``TorchAoConfig`` takes a torchao
``FqnToConfig`` and gives each ``nn.Linear`` the config its name maps to).

Two files: ``torchao_<m>.json`` (the torchao target's mapping, module name -> config) and
``diffusers_<m>.py``, a snippet whose ``unet_quantization_config()`` builds the
``TorchAoConfig`` and ``pipeline_quantization_config()`` a ``PipelineQuantizationConfig`` for
the pipeline's ``unet``:

    UNet2DConditionModel.from_pretrained(path, subfolder="unet", torch_dtype=torch.bfloat16,
                                         quantization_config=unet_quantization_config())

The formats are torchao's on the CPU (``torchao_export``); diffusers quantizes ``nn.Linear``
layers only, so a convolution (most of a UNet's MACs) is refused unless left in float (a pin or
search space of 16 bits / bf16), as for the torchao target.
"""

from __future__ import annotations

from ...solving.solution import Solution
from .torchao_export import filled_snippet

DIFFUSERS_VERSION = "0.42.1"  # the version the export was written and tested for

SNIPPET = '''"""diffusers quantization configs of the allocation mpq wrote to {json_name}.

Each module named there gets its torchao config (rebuilt by torchao's config_from_dict; null:
left in float) through diffusers' TorchAoConfig. Written by {written_by} for diffusers
{version}.

    configs = runpy.run_path("{snippet_name}")
    unet = UNet2DConditionModel.from_pretrained(
        path, subfolder="unet", torch_dtype=torch.bfloat16,
        quantization_config=configs["unet_quantization_config"]())
    # or: DiffusionPipeline.from_pretrained(
    #         path, quantization_config=configs["pipeline_quantization_config"]())
"""

import json
from collections import OrderedDict
from pathlib import Path

from diffusers import PipelineQuantizationConfig, TorchAoConfig
from torchao.core.config import config_from_dict
from torchao.quantization import FqnToConfig

CONFIG = Path(__file__).with_name({json_literal})


def unet_quantization_config(path=CONFIG):
    """TorchAoConfig of the file's module -> config mapping."""
    entries = json.loads(Path(path).read_text(encoding="utf-8"))["fqn_to_config"]
    fqn_to_config = OrderedDict(
        (name, None if entry is None else config_from_dict(entry))
        for name, entry in entries.items()
    )
    return TorchAoConfig(FqnToConfig(fqn_to_config))


def pipeline_quantization_config(path=CONFIG):
    """PipelineQuantizationConfig quantizing the pipeline's unet as the file says."""
    return PipelineQuantizationConfig(quant_mapping={{"unet": unet_quantization_config(path)}})


if __name__ == "__main__":
    print(unet_quantization_config())
'''


def snippet_text(solution: Solution, json_name: str, snippet_name: str) -> str:
    """The Python snippet written beside the torchao JSON file."""
    return filled_snippet(SNIPPET, solution, json_name, snippet_name, DIFFUSERS_VERSION)
