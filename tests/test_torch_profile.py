"""Phase 1 with mpq_torch: MACs by hand on a tiny model, attention matmuls, SD 1.4 reference."""

from __future__ import annotations

import json

import pytest
import torch
from support import REPO
from tiny_models import TINY_EXPECTED, Tiny, tiny_input
from torch import nn
from torch.nn import functional as F

from mpq_torch import flops_document, load_case, profile_case, profile_model
from mpq_torch.jsonio import dumps


def test_tiny_model_layers_by_hand():
    profile = profile_model(Tiny(), tiny_input())
    got = [
        (r.name, r.type, r.macs, r.params, list(r.input_shape), list(r.output_shape))
        for r in profile.layers
    ]
    assert got == TINY_EXPECTED
    assert profile.total_macs == 6912 + 392 + 2048 + 65536 + 2976 + 124 + 32768


def test_product_with_a_parameter_is_not_attention():
    class WeightProduct(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(4, 3))

        def forward(self, x):
            return x @ self.w

    assert profile_model(WeightProduct(), torch.ones(2, 4)).layers == ()


def test_layer_called_twice_sums_macs_and_counts_calls():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 5)

        def forward(self, x):
            return self.fc(x) + self.fc(2 * x)

    (record,) = profile_model(Twice(), torch.ones(2, 3)).layers
    # each call: 2 x 5 outputs x 3 inputs = 30 MACs
    assert (record.macs, record.calls) == (60, 2)
    assert record.to_json()["calls"] == 2


def test_eager_attention_matmuls_of_one_module_form_one_entry():
    class Eager(nn.Module):
        def forward(self, q):  # [1, 2, 5, 3]
            probs = torch.softmax(q @ q.transpose(-1, -2), dim=-1)  # [1, 2, 5, 5]
            return torch.bmm(probs.reshape(2, 5, 5), q.reshape(2, 5, 3))

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.self_attn = Eager()

        def forward(self, q):
            return self.self_attn(q)

    (record,) = profile_model(Outer(), torch.ones(1, 2, 5, 3)).layers
    # QK^T: 50 outputs x 3 = 150; AV: 30 outputs x 5 = 150
    assert (record.name, record.macs, record.calls) == ("self_attn.matmul", 300, 1)
    assert record.input_shape == (1, 2, 5, 3)  # first operand of the first call
    assert record.output_shape == (2, 5, 3)  # output of the last call


def test_sdpa_with_keyword_operands_and_other_value_width():
    class Cross(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(query=q, key=k, value=v)

    q, k, v = torch.ones(2, 4, 7, 8), torch.ones(2, 4, 9, 8), torch.ones(2, 4, 9, 6)
    (record,) = profile_model(Cross(), (q, k, v)).layers
    # batch 2 x heads 4 x 7 queries x 9 keys x (8 + 6)
    assert record.macs == 2 * 4 * 7 * 9 * (8 + 6)
    assert record.output_shape == (2, 4, 7, 6)


def test_minilm_profile_reproduces_the_bundled_file():
    case = load_case("minilm", count=1)
    text = dumps(flops_document(case, profile_case(case)))
    bundled = REPO / "sample_data" / "minilm_l6" / "flops_analysis.json"
    assert text == bundled.read_text(encoding="utf-8")
    layers = json.loads(text)["layers"]
    assert sum(1 for e in layers.values() if e["type"] == "Linear") == 36
    # one 128-token sequence: query = 128 x 384 outputs x 384 inputs
    assert layers["encoder.layer.0.attention.self.query"]["macs"] == 128 * 384 * 384
    # sdpa: 12 heads x 128 x 128 x (32 + 32)
    assert layers["encoder.layer.0.attention.self.matmul"]["macs"] == 12 * 128 * 128 * 64


@pytest.mark.slow
def test_sd14_unet_reference_numbers_and_bundled_bytes():
    torch.set_num_threads(2)
    case = load_case("sd14")
    profile = profile_case(case)
    conv_linear = profile.of_type("Conv2d", "Linear")
    assert len(conv_linear) == 282
    assert sum(r.macs for r in conv_linear) == 338_610_585_600
    assert len(profile.layers) == 314
    bundled = REPO / "sample_data" / "sd14_unet" / "flops_analysis_unet.json"
    assert dumps(flops_document(case, profile)) == bundled.read_text(encoding="utf-8")
