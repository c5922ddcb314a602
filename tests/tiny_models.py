"""Small models built in the tests, with MACs and quantization errors worked out by hand.

Also usable as ``tiny_models:build`` etc. on the mpq_torch command line (tests/ is on sys.path).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mpq_torch import ModelCase

# A 4-bit per-channel quantization worked by hand (q_max = 7):
#   row 0 = [1.4, -0.45, 0.33, 0.05]: scale = 1.4 / 7 = 0.2, W / scale = [7, -2.25, 1.65, 0.25]
#           -> round [7, -2, 2, 0] -> [1.4, -0.4, 0.4, 0.0]; errors [0, -0.05, 0.07, -0.05]
#   row 1 = zeros: scale 1 (no range), stays zero
# Squared error = 0.0025 + 0.0049 + 0.0025 = 0.0099.
HAND_WEIGHT = [[1.4, -0.45, 0.33, 0.05], [0.0, 0.0, 0.0, 0.0]]
HAND_QUANTIZED_4BIT = [[1.4, -0.4, 0.4, 0.0], [0.0, 0.0, 0.0, 0.0]]
HAND_SQUARED_ERROR = 0.0099
# Output on eye(4) is W^T (4 x 2 = 8 elements): MSE = 0.0099 / 8; the signal is
# 1.96 + 0.2025 + 0.1089 + 0.0025 = 2.2739, so SQNR = 10 log10(2.2739 / 0.0099) = 23.6111 dB.
HAND_MSE = 0.0099 / 8
HAND_SQNR_DB = 23.6111


class Attention(nn.Module):
    """Two heads of scaled dot-product attention over its input (q = k = v)."""

    def forward(self, x):  # [1, 64, 8]
        heads = x.reshape(1, 64, 2, 4).transpose(1, 2)  # [1, 2, 64, 4]
        out = F.scaled_dot_product_attention(heads, heads, heads)
        return out.transpose(1, 2).reshape(1, 64, 8)


class Tiny(nn.Module):
    """Every counted kind of layer once, in this execution order:

    conv    Conv2d(3, 4, 3, padding=1) on 1x3x8x8 -> 1x4x8x8: 256 outputs x 3 x 3 x 3 = 6,912 MACs,
            params 4 x 27 + 4 = 112
    conv3d  Conv3d(1, 2, (1, 2, 2)) on 1x1x1x8x8 -> 1x2x1x7x7: 98 outputs x 1 x 4 = 392 MACs,
            params 2 x 4 + 2 = 10
    q       Linear(4, 8) on 1x64x4 -> 1x64x8: 512 outputs x 4 = 2,048 MACs, params 40
    attn.matmul  sdpa on 1x2x64x4 (q = k = v): 1 x 2 x 64 x 64 x (4 + 4) = 65,536 MACs
    conv1d  Conv1d(8, 2, 3) on 1x8x64 -> 1x2x62: 124 outputs x 8 x 3 = 2,976 MACs, params 50
    head    Linear(62, 1) on 1x2x62 -> 1x2x1: 2 outputs x 62 = 124 MACs, params 63
    matmul  (the root's own) 1x64x8 @ 1x8x64 -> 1x64x64: 4,096 outputs x 8 = 32,768 MACs, placed
            when the root's forward returns, so last
    The product with the parameter ``mix`` is a weight product, not attention: not counted.
    """

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.conv3d = nn.Conv3d(1, 2, (1, 2, 2))
        self.q = nn.Linear(4, 8)
        self.attn = Attention()
        self.conv1d = nn.Conv1d(8, 2, 3)
        self.head = nn.Linear(62, 1)
        self.mix = nn.Parameter(torch.ones(8, 8) / 8)

    def forward(self, x):
        y = self.conv(x)
        side = self.conv3d(x[:, :1].unsqueeze(1)).sum()
        tokens = self.q(y.flatten(2).transpose(1, 2))  # [1, 64, 8]
        tokens = self.attn(tokens)
        tokens = torch.matmul(tokens, self.mix)  # weight product: not attention
        scores = torch.matmul(tokens, tokens.transpose(1, 2))  # [1, 64, 64]
        out = self.head(self.conv1d(tokens.transpose(1, 2)))
        return out.sum() + side + scores.mean()


TINY_EXPECTED = [
    ("conv", "Conv2d", 6912, 112, [1, 3, 8, 8], [1, 4, 8, 8]),
    ("conv3d", "Conv3d", 392, 10, [1, 1, 1, 8, 8], [1, 2, 1, 7, 7]),
    ("q", "Linear", 2048, 40, [1, 64, 4], [1, 64, 8]),
    ("attn.matmul", "AttentionMatMul", 65536, 0, [1, 2, 64, 4], [1, 2, 64, 4]),
    ("conv1d", "Conv1d", 2976, 50, [1, 8, 64], [1, 2, 62]),
    ("head", "Linear", 124, 63, [1, 2, 62], [1, 2, 1]),
    ("matmul", "AttentionMatMul", 32768, 0, [1, 64, 8], [1, 64, 64]),
]


def tiny_input() -> torch.Tensor:
    return torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))


def build():
    """``tiny_models:build``: the model and its example input."""
    torch.manual_seed(0)
    return Tiny(), tiny_input()


def hand_linear() -> nn.Linear:
    layer = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(HAND_WEIGHT))
    return layer


def build_hand(count: int | None = None):
    """``tiny_models:build_hand``: the hand-checked Linear on eye(4) (``count`` is unused)."""
    return ModelCase(name="hand", model=hand_linear(), example_inputs=torch.eye(4))


def build_broken():
    """``tiny_models:build_broken``: example inputs of the wrong shape."""
    return nn.Linear(4, 2), torch.zeros(3, 5)


def build_no_layers():
    """``tiny_models:build_no_layers``: nothing that mpq counts."""
    return nn.ReLU(), torch.zeros(2)


def build_not_a_model():
    return "model", torch.zeros(1)
