"""Phase 4 exports for quantization libraries: a solved allocation as each library's own
configuration, loaded by the library's own code.

- ``compressed_tensors`` (llm-compressor): ``llmcompressor_recipe_<m>.yaml``, a recipe with a
  QuantizationModifier, and ``compressed_tensors_<m>.json``, the same as a QuantizationConfig
  dict (``compressed_tensors_export``);
- ``torchao``: ``torchao_<m>.json``, module name -> torchao config, and ``torchao_<m>.py``, a
  snippet that builds an FqnToConfig from it and calls ``quantize_`` (``torchao_export``).

``<m>`` is the part of the config's file name that names the budget and settings (``0.50``,
``0.50_exact``); the config itself is written with them (``save_exports``). A format a library
cannot express is an InputError naming the layer, the format and the library; neither module
imports the library.
"""

from __future__ import annotations

import json

from ...solving.solution import Solution
from .layers import export_stem

PHASE4_TARGETS = ("compressed_tensors", "torchao")


def phase4_files(solution: Solution, target: str, name_prefix: str = "") -> list[tuple[str, str]]:
    """(file name, text) of each file of ``target`` for a feasible solution."""
    stem = export_stem(solution)
    if target == "compressed_tensors":
        from .compressed_tensors_export import compressed_tensors_export

        config, recipe = compressed_tensors_export(solution, name_prefix)
        return [
            (f"llmcompressor_recipe_{stem}.yaml", recipe),
            (f"compressed_tensors_{stem}.json", _json(config)),
        ]
    if target == "torchao":
        from .torchao_export import snippet_text, torchao_export

        json_name, snippet_name = f"torchao_{stem}.json", f"torchao_{stem}.py"
        document = torchao_export(solution, name_prefix)
        return [
            (json_name, _json(document)),
            (snippet_name, snippet_text(solution, json_name, snippet_name)),
        ]
    raise ValueError(f"unknown Phase 4 target {target!r} (known: {', '.join(PHASE4_TARGETS)})")


def _json(document: dict) -> str:
    return json.dumps(document, indent=2, allow_nan=False) + "\n"
