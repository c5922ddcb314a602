"""Fake quantization and one-layer measurements against errors worked out by hand."""

from __future__ import annotations

import pytest
import torch
from tiny_models import (
    HAND_MSE,
    HAND_QUANTIZED_4BIT,
    HAND_SQNR_DB,
    HAND_WEIGHT,
    Tiny,
    build_hand,
    tiny_input,
)
from torch import nn
from torch.nn import functional as F

from mpq_core import InputError
from mpq_torch import ModelCase, measure, quantize_tensor, quantize_weight, quantized, run_outputs
from mpq_torch.metrics import SQNR_CAP_DB, sqnr_db


def test_4bit_per_channel_weight_by_hand():
    got = quantize_weight(torch.tensor(HAND_WEIGHT), 4)
    torch.testing.assert_close(got, torch.tensor(HAND_QUANTIZED_4BIT))


def test_each_output_channel_has_its_own_scale():
    # row 0: max 7 -> scale 1 at 4 bits; row 1: max 0.7 -> scale 0.1
    weight = torch.tensor([[7.0, 2.2], [0.7, 0.22]])
    got = quantize_weight(weight, 4)
    torch.testing.assert_close(got, torch.tensor([[7.0, 2.0], [0.7, 0.2]]))


def test_per_tensor_operand_quantization_by_hand():
    # max 3 at 3 bits: q_max 3, scale 1 -> round half to even: 0.5 -> 0, 1.5 -> 2, -2.6 -> -3
    x = torch.tensor([3.0, 0.5, 1.5, -2.6])
    torch.testing.assert_close(quantize_tensor(x, 3), torch.tensor([3.0, 0.0, 2.0, -3.0]))


def test_one_layer_mse_and_sqnr_by_hand():
    case = build_hand()
    reference = run_outputs(case)
    metrics = measure(case, reference, _only_layer(case), "test")
    assert metrics.mse == pytest.approx(HAND_MSE, rel=1e-5)
    assert metrics.sqnr_db == pytest.approx(HAND_SQNR_DB, abs=1e-3)
    assert metrics.task is None


def _only_layer(case: ModelCase) -> dict[str, int]:
    # the root module is the Linear itself: its qualified name is ""
    return {"": 4}


def test_quantized_restores_the_float_weights():
    model = Tiny()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    with quantized(model, {"conv": 2, "q": 3, "head": 4}):
        assert not torch.equal(model.conv.weight, before["conv.weight"])
        assert torch.equal(model.conv.bias, before["conv.bias"])  # biases stay float
    for name, param in model.named_parameters():
        assert torch.equal(param, before[name]), name


def test_operands_are_quantized_only_in_the_named_module():
    seen = {}

    class Probe(nn.Module):
        def __init__(self, name):
            super().__init__()
            self.name = name

        def forward(self, x):
            out = F.scaled_dot_product_attention(x, x, x)
            seen[self.name] = out
            return out

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = Probe("a"), Probe("b")

        def forward(self, x):
            return self.a(x) + self.b(x)

    model, x = Two(), torch.randn(1, 1, 6, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        model(x)
        floats = dict(seen)
        with quantized(model, {"a.matmul": 2}):
            model(x)
    assert not torch.equal(seen["a"], floats["a"])
    assert torch.equal(seen["b"], floats["b"])
    q = quantize_tensor(x, 2)
    torch.testing.assert_close(seen["a"], F.scaled_dot_product_attention(q, q, q))


def test_wider_is_closer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3)).eval()
    case = ModelCase(name="convs", model=model, example_inputs=tiny_input())
    reference = run_outputs(case)
    errors = [measure(case, reference, {"0": w}, "test").mse for w in (2, 4, 8, 16)]
    assert errors == sorted(errors, reverse=True)
    # about 6 dB (x 1/4 in MSE) per bit: 14 bits from 2 to 16
    assert errors[-1] < errors[0] * 1e-6


def test_unknown_layer_name():
    with pytest.raises(InputError) as err, quantized(Tiny(), {"nope": 4}, "config.json"):
        pass
    assert str(err.value) == (
        "config.json: layer 'nope': no Conv/Linear module or attention entry of this name"
    )


def test_width_outside_the_supported_range():
    with pytest.raises(InputError) as err, quantized(Tiny(), {"conv": 1}, "config.json"):
        pass
    assert str(err.value) == "config.json: field 'widths': width 1 is outside 2..32"


def test_sqnr_is_kept_within_200_db():
    assert sqnr_db(1.0, 0.0) == SQNR_CAP_DB
    assert sqnr_db(0.0, 1.0) == -SQNR_CAP_DB
    assert sqnr_db(100.0, 1.0) == pytest.approx(20.0)
