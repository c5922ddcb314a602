"""Layer name -> block, for per-block views, in network order.

UNet names (diffusers): conv_in, time_embedding, down_blocks.N, mid_block, up_blocks.N,
conv_norm_out / conv_out. Other models fall back to a dotted prefix (numbered parts kept:
``encoder.layer.3``); those blocks are ordered by first appearance in the file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

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


MAX_KINDS = 48  # more module kinds than this are merged by their last name part


def module_kind(name: str, block: str) -> str:
    """What a layer is within its block, numbers written ``*``: the 12th expert's
    ``mlp.experts.12.down_proj`` is ``mlp.experts.*.down_proj`` (a layer that is its own block
    is its own kind)."""
    rest = name.removeprefix(block + ".") if name != block else name.rsplit(".", 1)[-1]
    return ".".join("*" if _NUMBER.match(part) else part for part in rest.split("."))


@dataclass(frozen=True, eq=False)
class ModuleMap:
    """A large model folded into (module kind, block) cells: every expert of one projection
    in one block is one cell. Blocks in network order, kinds in order of first appearance."""

    blocks: tuple[str, ...]
    kinds: tuple[str, ...]
    block: np.ndarray  # (n,) each layer's block index
    kind: np.ndarray  # (n,) each layer's kind index
    position: np.ndarray  # (n,) each layer's place among its cell's layers (file order)

    @property
    def cell(self) -> np.ndarray:
        """(n,) each layer's cell, ``kind * len(blocks) + block``."""
        return self.kind * len(self.blocks) + self.block

    def counts(self) -> np.ndarray:
        """(kinds, blocks) layers per cell."""
        flat = np.bincount(self.cell, minlength=len(self.kinds) * len(self.blocks))
        return flat.reshape(len(self.kinds), len(self.blocks))


@lru_cache(maxsize=8)
def module_map(names: tuple[str, ...]) -> ModuleMap:
    """The (kind, block) cell of every layer (kinds merged by their last name part when there
    are more than ``MAX_KINDS``, the rarest then as ``other``)."""
    blocks = group_blocks(names)
    block = np.empty(len(names), dtype=np.intp)
    kinds = []
    for b, found in enumerate(blocks):
        block[list(found.layers)] = b
    for i, name in enumerate(names):
        kinds.append(module_kind(name, blocks[block[i]].name))
    if len(set(kinds)) > MAX_KINDS:
        kinds = [kind.rsplit(".", 1)[-1] for kind in kinds]
    order = list(dict.fromkeys(kinds))
    if len(order) > MAX_KINDS:
        common = {k for k, _ in Counter(kinds).most_common(MAX_KINDS - 1)}
        kinds = [k if k in common else "other" for k in kinds]
        order = list(dict.fromkeys(kinds))
    index = {k: j for j, k in enumerate(order)}
    kind = np.fromiter((index[k] for k in kinds), dtype=np.intp, count=len(kinds))
    cell = kind * len(blocks) + block
    ranks = np.argsort(cell, kind="stable")
    position = np.empty(len(names), dtype=np.intp)
    starts = np.searchsorted(cell[ranks], cell[ranks])
    position[ranks] = np.arange(len(names)) - starts
    return ModuleMap(tuple(b.name for b in blocks), tuple(order), block, kind, position)
