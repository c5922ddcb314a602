#!/usr/bin/env python3
"""Generate the SYNTHETIC Phase 2 sensitivity files for the SD v1.4 UNet.

These files are NOT measured: they are made by a documented rule so that the
tool has realistic-looking sample input (measuring real sensitivities needs
the SD1.4 weights, 100 prompts and a GPU, none of which this project ships).
Every file says ``"synthetic": true`` in its metadata.

Input: the Phase 1 file ``sample_data/sd14_unet/flops_analysis_unet.json``
(layer names and types, in network order).  Only numpy and the standard
library are used; no torch.

Outputs (same layer order as the Phase 1 file):

* ``sensitivity_100_prompts.json`` -- scalar form:
  ``{"metadata": {...}, "sensitivity": {"conv_in": 0.98..., ...}}``, one score
  in [0, 1] per layer (normalised quality drop when that layer alone is
  quantised to 4 bits), rounded to 6 decimals.
* ``sensitivity_per_bit.json`` -- per-bit form, widths 4/8/16:
  ``{"metadata": {...}, "sensitivity": {"conv_in": {"4": ..., "8": ...,
  "16": 0.0}, ...}}``, the quality loss when only that layer is at that width
  (lower is better).

The rule
--------
For each layer, in file order, with ``rng = numpy.random.default_rng(1234)``
and ``z1 = rng.standard_normal(n)``, ``z2 = rng.standard_normal(n)`` (n = number
of layers, element i belonging to the i-th layer)::

    x = base[role] * position_factor * exp(spread[role] * z1)
    s = max(0.001, soft_cap(x))      soft_cap(x) = x for x <= 0.9, else
                                     0.9 + 0.1 * tanh((x - 0.9) / 0.1)
    loss(4)  = s                      (the scalar score)
    loss(8)  = s * r,  r = clip(0.2 * exp(0.3 * z2), 0.05, 0.5)
    loss(16) = 0.0

``role`` is the first match in ROLES below (base score, log-normal spread):
input/output convolutions and the time embedding are the most sensitive
(errors there reach every later layer or the predicted noise directly);
per-resnet time-embedding projections come next; attention matmuls and
q/k/v/out projections are moderate and the most varied (softmax inputs and
cross-attention keys/values of the text are outlier-prone); samplers,
shortcuts, proj_in/proj_out and feed-forward layers lie in between; the
large 3x3 resnet convolutions are mostly robust.

``soft_cap`` keeps scores below 1 without ties at the top (it is monotonic).
``position_factor`` = 1 + 0.08 * level, where level is the resolution level of
the block (0 = 64x64, 1 = 32x32, 2 = 16x16, 3 = 8x8): ``down_blocks.i`` ->
i, ``mid_block`` -> 3, ``up_blocks.j`` -> 3 - j; conv_in, conv_out and
time_embedding.* have factor 1.  Deeper, lower-resolution blocks are thus a
bit more sensitive (fewer, more semantic activations).

Usage::

    python scripts/gen_sd14_sensitivity.py [--flops PATH] [--out-dir DIR]

Deterministic: running it twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "sample_data" / "sd14_unet"
DEFAULT_FLOPS = DATA_DIR / "flops_analysis_unet.json"
SCALAR_NAME = "sensitivity_100_prompts.json"
PER_BIT_NAME = "sensitivity_per_bit.json"

SEED = 1234
WIDTHS = [4, 8, 16]
DECIMALS = 6
FLOOR = 0.001
KNEE = 0.9
R8_MEDIAN, R8_SPREAD, R8_MIN, R8_MAX = 0.2, 0.3, 0.05, 0.5
LEVEL_STEP = 0.08

# (role, regex on the layer name, base score, log-normal spread); first match wins.
ROLES: list[tuple[str, str, float, float]] = [
    ("conv_out", r"^conv_out$", 0.98, 0.02),
    ("conv_in", r"^conv_in$", 0.95, 0.03),
    ("time_embedding", r"^time_embedding\.", 0.88, 0.04),
    ("time_emb_proj", r"\.time_emb_proj$", 0.50, 0.15),
    ("self_attention_matmul", r"\.attn1\.matmul$", 0.40, 0.30),
    ("cross_attention_matmul", r"\.attn2\.matmul$", 0.34, 0.30),
    ("cross_attention_kv", r"\.attn2\.to_[kv]$", 0.32, 0.30),
    ("attention_qk", r"\.attn[12]\.to_[qk]$", 0.27, 0.30),
    ("attention_v_out", r"\.attn[12]\.(to_v|to_out\.0)$", 0.22, 0.30),
    ("sampler", r"\.(downsamplers|upsamplers)\.\d+\.conv$", 0.28, 0.20),
    ("shortcut", r"\.conv_shortcut$", 0.24, 0.20),
    ("proj_in_out", r"\.proj_(in|out)$", 0.20, 0.25),
    ("ff", r"\.ff\.net\.(0\.proj|2)$", 0.16, 0.25),
    ("resnet_conv", r"\.resnets\.\d+\.conv[12]$", 0.07, 0.30),
]
_ROLE_RES = [(role, re.compile(rx), base, spread) for role, rx, base, spread in ROLES]

RULE = (
    "SYNTHETIC, not measured. For layer i (file order of the Phase 1 file), with "
    "rng = numpy.random.default_rng(1234), z1 = rng.standard_normal(n), "
    "z2 = rng.standard_normal(n): x = base[role] * (1 + 0.08 * level) * "
    "exp(spread[role] * z1[i]); score = max(0.001, soft_cap(x)) rounded to 6 decimals, "
    "where soft_cap(x) = x for x <= 0.9 else 0.9 + 0.1 * tanh((x - 0.9) / 0.1) "
    "(monotonic, keeps scores below 1). role = first "
    "matching pattern in metadata.roles (conv_out/conv_in/time_embedding most "
    "sensitive, then time_emb_proj; attention matmuls and q/k/v/out projections "
    "moderate and most varied; samplers, shortcuts, proj_in/proj_out and ff in "
    "between; resnet conv1/conv2 mostly robust). level = resolution level of the "
    "block (0 = 64x64 ... 3 = 8x8): down_blocks.i -> i, mid_block -> 3, "
    "up_blocks.j -> 3 - j, conv_in/conv_out/time_embedding -> 0. Per-bit: loss(4) = "
    "score, loss(8) = score * r with r = clip(0.2 * exp(0.3 * z2[i]), 0.05, 0.5), "
    "loss(16) = 0.0."
)


def soft_cap(x: float) -> float:
    """Identity up to KNEE, then a tanh knee that approaches (never exceeds) 1."""
    if x <= KNEE:
        return x
    return KNEE + (1.0 - KNEE) * math.tanh((x - KNEE) / (1.0 - KNEE))


def role_of(name: str) -> tuple[str, float, float]:
    for role, rx, base, spread in _ROLE_RES:
        if rx.search(name):
            return role, base, spread
    raise ValueError(f"no sensitivity role matches layer {name!r}")


def level_of(name: str) -> int:
    m = re.match(r"^down_blocks\.(\d+)\.", name)
    if m:
        return int(m.group(1))
    if name.startswith("mid_block."):
        return 3
    m = re.match(r"^up_blocks\.(\d+)\.", name)
    if m:
        return 3 - int(m.group(1))
    return 0


def generate(layer_names: list[str]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    n = len(layer_names)
    rng = np.random.default_rng(SEED)
    z1 = rng.standard_normal(n)
    z2 = rng.standard_normal(n)
    scalar: dict[str, float] = {}
    per_bit: dict[str, dict[str, float]] = {}
    for i, name in enumerate(layer_names):
        _, base, spread = role_of(name)
        factor = 1.0 + LEVEL_STEP * level_of(name)
        s = max(FLOOR, soft_cap(base * factor * float(np.exp(spread * z1[i]))))
        r = float(np.clip(R8_MEDIAN * np.exp(R8_SPREAD * z2[i]), R8_MIN, R8_MAX))
        s4 = round(s, DECIMALS)
        s8 = min(round(s * r, DECIMALS), s4)
        scalar[name] = s4
        per_bit[name] = {"4": s4, "8": s8, "16": 0.0}
    return scalar, per_bit


def common_metadata(num_layers: int, flops_path: Path) -> dict:
    try:
        source = flops_path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        source = flops_path.name
    return {
        "synthetic": True,
        "rule": RULE,
        "seed": SEED,
        "generator": "scripts/gen_sd14_sensitivity.py",
        "source_flops_file": source,
        "num_layers": num_layers,
        "layer_order": "same as the Phase 1 (flops) file: network execution order",
        "roles": [
            {"role": role, "pattern": rx, "base": base, "spread": spread}
            for role, rx, base, spread in ROLES
        ],
        "position_factor": "1 + 0.08 * level (level 0 = 64x64 ... 3 = 8x8)",
        "note": (
            "Synthetic sample data produced by a documented rule so that the tool "
            "can be demonstrated without the SD1.4 weights or a GPU; not a "
            "measurement of the real model."
        ),
    }


def summarise(scalar: dict[str, float], macs: dict[str, int]) -> None:
    values = np.array(list(scalar.values()))
    print(f"layers: {len(scalar)}")
    print(
        f"scalar scores: min {values.min():.6f}  median {np.median(values):.6f}  "
        f"max {values.max():.6f}  mean {values.mean():.6f}"
    )
    print("top 10 most sensitive:")
    top = sorted(scalar.items(), key=lambda kv: -kv[1])[:10]
    for name, score in top:
        print(f"  {score:.6f}  {name}  ({macs[name]:,} MACs)")
    by_role: dict[str, list[float]] = {}
    for name, score in scalar.items():
        by_role.setdefault(role_of(name)[0], []).append(score)
    print("per role (count, min, median, max):")
    for role, *_ in ROLES:
        v = np.array(by_role.get(role, []))
        if v.size:
            print(f"  {role:24s} {v.size:3d}  {v.min():.4f}  {np.median(v):.4f}  {v.max():.4f}")


def write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flops", type=Path, default=DEFAULT_FLOPS, help="Phase 1 MACs file")
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR, help="output directory")
    args = parser.parse_args(argv)

    flops = json.loads(args.flops.read_text(encoding="utf-8"))
    layers = flops["layers"]
    names = list(layers)
    macs = {name: int(entry["macs"]) for name, entry in layers.items()}
    if len(set(names)) != len(names):
        raise SystemExit("duplicate layer names in the flops file")

    scalar, per_bit = generate(names)

    meta = common_metadata(len(names), args.flops)
    scalar_doc = {
        "metadata": {
            **meta,
            "metric": "normalised quality drop (synthetic)",
            "description": (
                "normalised quality drop over 100 prompts when only this layer is "
                "quantised to 4 bits (synthetic); higher = more sensitive"
            ),
            "range": [0.0, 1.0],
        },
        "sensitivity": scalar,
    }
    per_bit_doc = {
        "metadata": {
            **meta,
            "metric": "normalised quality drop (synthetic)",
            "description": (
                "quality loss when only this layer is at the given bit width and all "
                "others stay at 16 bits (synthetic); lower is better; "
                "loss(4) >= loss(8) >= loss(16) = 0"
            ),
            "widths": WIDTHS,
            "loss_8_rule": "loss(8) = loss(4) * r, r = clip(0.2 * exp(0.3 * z2), 0.05, 0.5)",
        },
        "sensitivity": per_bit,
    }

    # Sanity checks on what is written.
    for name in names:
        row = per_bit[name]
        assert 0.0 <= row["16"] <= row["8"] <= row["4"] <= 1.0, (name, row)
        assert row["4"] == scalar[name]

    write_json(args.out_dir / SCALAR_NAME, scalar_doc)
    write_json(args.out_dir / PER_BIT_NAME, per_bit_doc)
    summarise(scalar, macs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
