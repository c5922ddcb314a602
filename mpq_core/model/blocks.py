"""Layer name -> block, for per-block views, in network order.

UNet names (diffusers): conv_in, time_embedding, down_blocks.N, mid_block, up_blocks.N,
conv_norm_out / conv_out. Other models fall back to a dotted prefix (numbered parts kept:
``encoder.layer.3``); those blocks are ordered by first appearance in the file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_UNET_FIXED = {
    "conv_in": ("conv_in", 0),
    "time_proj": ("time_embedding", 1),
    "time_embedding": ("time_embedding", 1),
    "add_embedding": ("time_embedding", 1),
    "mid_block": ("mid_block", 300),
    "conv_norm_out": ("conv_out", 500),
    "conv_out": ("conv_out", 500),
}
_UNET_NUMBERED = {"down_blocks": 100, "up_blocks": 400}
_NUMBER = re.compile(r"^\d+$")
_FALLBACK_RANK = 1000


def block_of(name: str, depth: int = 2) -> tuple[str, int]:
    """(block, rank): rank orders UNet blocks in network order; other names share one rank."""
    parts = name.split(".")
    head = parts[0]
    if head in _UNET_FIXED:
        return _UNET_FIXED[head]
    if head in _UNET_NUMBERED and len(parts) > 1 and _NUMBER.match(parts[1]):
        return f"{head}.{parts[1]}", _UNET_NUMBERED[head] + int(parts[1])
    prefix: list[str] = []
    words = 0
    for part in parts[:-1]:
        numbered = bool(_NUMBER.match(part))
        if words >= depth and not numbered:
            break
        prefix.append(part)
        words += not numbered
        if words >= depth and numbered:
            break
    return (".".join(prefix) or name), _FALLBACK_RANK


@dataclass(frozen=True)
class Block:
    name: str
    layers: tuple[int, ...]  # layer indices, in file order


def group_blocks(names: Sequence[str]) -> tuple[Block, ...]:
    """Every layer exactly once, grouped by block; blocks in network order, then first seen."""
    members: dict[str, list[int]] = {}
    rank: dict[str, tuple[int, int]] = {}
    for i, name in enumerate(names):
        block, r = block_of(name)
        if block not in members:
            members[block] = []
            rank[block] = (r, i)
        members[block].append(i)
    order = sorted(members, key=lambda b: rank[b])
    return tuple(Block(b, tuple(members[b])) for b in order)


def block_labels(names: Sequence[str]) -> np.ndarray:
    """The block of each layer, as an array of strings."""
    return np.array([block_of(n)[0] for n in names], dtype=object)
