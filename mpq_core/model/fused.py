"""Layers that inference kernels run as one matmul, so that they must share a format.

Serving libraries fuse the query, key and value projections of an attention block into one
weight (vLLM's QKVParallelLinear, TensorRT-LLM's fused QKV), and the gate and up projections of
a gated MLP (vLLM's MergedColumnParallelLinear); a mixed-precision export whose fused layers
differ cannot be loaded (auto-round #2174, "mixed-bit export fails in vLLM"). ``fused_ties``
finds these sets by their module names; ``--tie_fused`` (``Spec.tie_fused``) ties each set, and
the exports for those libraries refuse an allocation that splits one (``fused_split``).

A set is the siblings of one parent module (the name up to its last dot) whose last names are
one family below; a set needs two members or more:

- ``q_proj, k_proj, v_proj`` (Llama, Mistral, Qwen, OPT...), ``query, key, value`` (BERT,
  MiniLM), ``to_q, to_k, to_v`` (diffusers' attention, self-attention ``attn1``): one set;
  in diffusers' cross-attention (a parent named ``attn2``) ``to_q`` reads the image and
  ``to_k, to_v`` the text, so only ``to_k, to_v`` are fused;
- ``gate_proj, up_proj`` (Llama-style MLPs) and ``w1, w3`` (Mixtral's experts).
"""

from __future__ import annotations

from collections.abc import Iterable

FAMILIES: tuple[tuple[str, ...], ...] = (
    ("q_proj", "k_proj", "v_proj"),
    ("query", "key", "value"),
    ("to_q", "to_k", "to_v"),
    ("gate_proj", "up_proj"),
    ("w1", "w3"),
)
CROSS_ATTENTION = "attn2"  # diffusers' cross-attention: its query reads other inputs
_FAMILY_OF = {leaf: family for family in FAMILIES for leaf in family}


def fused_ties(names: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    """Each set of fused layers among ``names``, in the order they appear (members in their
    family's order)."""
    found: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}
    for name in names:
        parent, _, leaf = name.rpartition(".")
        family = _FAMILY_OF.get(leaf)
        if family is None or (leaf == "to_q" and parent.rpartition(".")[2] == CROSS_ATTENTION):
            continue
        found.setdefault((parent, family), {})[leaf] = name
    out = []
    for (_, family), members in found.items():
        tie = tuple(members[leaf] for leaf in family if leaf in members)
        if len(tie) >= 2:
            out.append(tie)
    return tuple(out)


def fused_split(
    names: Iterable[str], chosen: dict[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The first set of fused layers whose members ``chosen`` (name -> option label) gives
    different options, as (members, their labels); None when every set agrees."""
    for tie in fused_ties(names):
        labels = tuple(chosen[name] for name in tie if name in chosen)
        if len(set(labels)) > 1:
            return tuple(name for name in tie if name in chosen), labels
    return None
