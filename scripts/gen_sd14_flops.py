#!/usr/bin/env python3
"""Generate the Phase 1 per-layer MACs file for the Stable Diffusion v1.4 UNet.

A thin call of mpq_torch's built-in ``sd14`` entry (``mpq_torch/models/sd14.py``): diffusers'
``UNet2DConditionModel`` built from the public SD v1.4 ``unet/config.json`` with random weights
(nothing is downloaded), one forward pass at 512x512 (latent 1x4x64x64, timestep 999, text
1x77x768), every Conv2d/Linear and one ``AttentionMatMul`` entry per attention module
(``<module>.matmul``: QK^T + AV over all heads) in execution order. The counting rules are in
``mpq_torch/profiling.py``. Equivalent to ``python -m mpq_torch profile sd14 --output PATH``
plus the reference check below.

The script checks the reference numbers and writes nothing if they differ: 282 Conv2d/Linear
modules with 338,610,585,600 MACs, 32 attention matmul entries, 314 layers in total.

Setup: ``pip install -r requirements-torch.txt`` (CPU torch 2.13.0, diffusers 0.42.1).

Usage::

    python scripts/gen_sd14_flops.py [--output PATH]

The output is deterministic (no timestamps; ``json.dumps(indent=2)`` + "\\n"): it reproduces
``sample_data/sd14_unet/flops_analysis_unet.json`` byte for byte with the same torch/diffusers
versions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "sample_data" / "sd14_unet" / "flops_analysis_unet.json"
sys.path.insert(0, str(REPO_ROOT))


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
        from mpq_torch import flops_document, load_case, profile_case
        from mpq_torch.jsonio import write_json
        from mpq_torch.models.sd14 import EXPECTED_CONV_LINEAR_MACS, check
    except ImportError as exc:  # pragma: no cover - environment dependent
        print(f"error: {exc}. Install with: pip install -r requirements-torch.txt", file=sys.stderr)
        return 2

    start = time.perf_counter()
    case = load_case("sd14")
    doc = flops_document(case, profile_case(case))
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
    print(f"wrote {write_json(args.output, doc)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
