"""Phase 4 exports for quantization libraries: a solved allocation as each library's own
configuration, loaded by the library's own code (tests/test_phase4_*.py).

- ``compressed_tensors`` (llm-compressor): ``llmcompressor_recipe_<m>.yaml``, a recipe with a
  QuantizationModifier, and ``compressed_tensors_<m>.json``, the same as a QuantizationConfig
  dict (``compressed_tensors_export``);
- ``torchao``: ``torchao_<m>.json``, module name -> torchao config, and ``torchao_<m>.py``, a
  snippet that builds an FqnToConfig from it and calls ``quantize_`` (``torchao_export``);
- ``diffusers``: the torchao JSON and ``diffusers_<m>.py``, a snippet building diffusers'
  ``TorchAoConfig`` (and a ``PipelineQuantizationConfig`` for the ``unet``) from it
  (``diffusers_export``);
- ``gguf`` (llama.cpp): ``llamacpp_tensor_types_<m>.txt`` for ``llama-quantize
  --tensor-type-file`` and ``llamacpp_notes_<m>.txt`` (``gguf_export``);
- ``mlx`` (mlx-lm): ``mlx_quantization_<m>.json``, the ``quantization`` block of a
  ``config.json`` (``mlx_export``);
- ``modelopt`` (ModelOpt / TensorRT-LLM): ``hf_quant_config_<m>.json`` and
  ``modelopt_quant_cfg_<m>.json``, the ``mtq.quantize`` config (``modelopt_export``);
- ``autoround`` (auto-round): ``autoround_layer_config_<m>.json`` (``autoround_export``).

``<m>`` is the part of the config's file name that names the budget and settings (``0.50``,
``0.50_exact``); the config itself is written with them (``save_exports``). A format a library
cannot express is an InputError naming the layer, the format and the library, and so is an
allocation that splits layers the target's runtime fuses (``layers.Target.fused_by``). Only the
GGUF export imports its library (the ``gguf`` package's tensor name map), when it runs.

Each target is one entry of ``_TARGETS``: its name and the function that gives its files as
(file name, text) pairs from the solution and the ``Phase4Options``.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from ...solving.solution import Solution
from .layers import export_stem

Files = list[tuple[str, str]]
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a ZIP can say


@dataclass(frozen=True)
class Phase4Options:
    """What an export needs besides the solution: the prefix of module names, and for GGUF
    the architecture whose tensor names to use (None: told by the layer names)."""

    name_prefix: str = ""
    gguf_arch: str | None = None


def _compressed_tensors(solution: Solution, options: Phase4Options) -> Files:
    from .compressed_tensors_export import compressed_tensors_export

    stem = export_stem(solution)
    config, recipe = compressed_tensors_export(solution, options.name_prefix)
    return [
        (f"llmcompressor_recipe_{stem}.yaml", recipe),
        (f"compressed_tensors_{stem}.json", json_text(config)),
    ]


def _torchao(solution: Solution, options: Phase4Options) -> Files:
    from .torchao_export import snippet_text, torchao_export

    stem = export_stem(solution)
    json_name, snippet_name = f"torchao_{stem}.json", f"torchao_{stem}.py"
    document = torchao_export(solution, options.name_prefix)
    return [
        (json_name, json_text(document)),
        (snippet_name, snippet_text(solution, json_name, snippet_name)),
    ]


def _diffusers(solution: Solution, options: Phase4Options) -> Files:
    from .diffusers_export import snippet_text
    from .torchao_export import torchao_export

    stem = export_stem(solution)
    json_name, snippet_name = f"torchao_{stem}.json", f"diffusers_{stem}.py"
    return [
        (json_name, json_text(torchao_export(solution, options.name_prefix))),
        (snippet_name, snippet_text(solution, json_name, snippet_name)),
    ]


def _gguf(solution: Solution, options: Phase4Options) -> Files:
    from .gguf_export import gguf_files

    return gguf_files(solution, options.name_prefix, options.gguf_arch)


def _mlx(solution: Solution, options: Phase4Options) -> Files:
    from .mlx_export import mlx_export

    document = mlx_export(solution, options.name_prefix)
    return [(f"mlx_quantization_{export_stem(solution)}.json", json_text(document))]


def _modelopt(solution: Solution, options: Phase4Options) -> Files:
    from .modelopt_export import modelopt_export

    stem = export_stem(solution)
    hf, document = modelopt_export(solution, options.name_prefix)
    return [
        (f"hf_quant_config_{stem}.json", json_text(hf)),
        (f"modelopt_quant_cfg_{stem}.json", json_text(document)),
    ]


def _autoround(solution: Solution, options: Phase4Options) -> Files:
    from .autoround_export import autoround_export

    document = autoround_export(solution, options.name_prefix)
    return [(f"autoround_layer_config_{export_stem(solution)}.json", json_text(document))]


_TARGETS: dict[str, Callable[[Solution, Phase4Options], Files]] = {
    "compressed_tensors": _compressed_tensors,
    "torchao": _torchao,
    "diffusers": _diffusers,
    "gguf": _gguf,
    "mlx": _mlx,
    "modelopt": _modelopt,
    "autoround": _autoround,
}
PHASE4_TARGETS = tuple(_TARGETS)


def phase4_files(
    solution: Solution, target: str, name_prefix: str = "", *, gguf_arch: str | None = None
) -> Files:
    """(file name, text) of each file of ``target`` for a feasible solution."""
    if target not in _TARGETS:
        raise ValueError(f"unknown Phase 4 target {target!r} (known: {', '.join(PHASE4_TARGETS)})")
    return _TARGETS[target](solution, Phase4Options(name_prefix, gguf_arch))


def phase4_archive(
    solution: Solution, target: str, name_prefix: str = "", *, gguf_arch: str | None = None
) -> tuple[str, bytes]:
    """(file name, bytes) of a ZIP of what ``--export_format target`` writes: the config and the
    target's files, each with the same bytes (the app's download)."""
    from ..export import config_filename, config_json, export_config

    named = [(config_filename(solution), config_json(export_config(solution)))]
    named += phase4_files(solution, target, name_prefix, gguf_arch=gguf_arch)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in named:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)  # the same bytes for the same files
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode("utf-8"), zipfile.ZIP_DEFLATED)
    return f"{target}_{export_stem(solution)}.zip", buffer.getvalue()


def json_text(document: dict) -> str:
    """A JSON export's text: indented, no NaN, ending with a newline."""
    return json.dumps(document, indent=2, allow_nan=False) + "\n"
