"""Phase 4 round trips on MiniLM (CPU): solve -> export -> apply with the library's own code ->
measure, against what mpq_torch measures for the same allocation (Phase 2's quantizer).

- compressed-tensors: the exported config parsed by ``QuantizationConfig`` and applied with
  ``apply_quantization_config``; each module's weight scales calibrated min-max with
  ``calculate_qparams`` (what llm-compressor's calibration writes for weights), then the model's
  own quantized forward. mpq_torch's ``--backend compressed_tensors`` must measure the same
  output error (within 0.2%: it also rounds the layers left in float to fp16, which the library
  leaves in this CPU model's float32): what Phase 2 measures is what this export deploys.
- torchao: the exported snippet's ``quantize_model`` (torchao's ``quantize_``), then the model's
  forward. torchao rounds with its own scales (INT8 per row: max / 127.5, codes -128..127), so
  its error is close to, not equal to, mpq_torch's round-to-nearest (max / 127): within 10%.

One allocation each, from the bundled MiniLM sample at half the BOPs with the fused layers tied
and the attention matmuls left in float (no module to quantize).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import runpy
from pathlib import Path

import pytest
from test_phase4_compressed_tensors import FLOPS, MINILM, OPT, missing_reason, pins

import mpq_core as mc
from mpq_torch.backends import get_backend
from mpq_torch.metrics import compare, run_outputs
from mpq_torch.validate import evaluate_config


@pytest.fixture(scope="module")
def case():
    """MiniLM with four sentences, and its float outputs."""
    from mpq_torch.cases import load_case

    loaded = load_case("minilm", count=4)
    return loaded, run_outputs(loaded)


def _export(run, workdir: Path, target: str) -> dict[str, Path]:
    sens = str(MINILM / "sensitivity_mse.json")
    code, _, err = run(OPT, "--flops_file", FLOPS, "--sensitivity_file", sens,
                       "--budget_multiplier", "0.5", "--tie_fused", *pins(),
                       "--export_format", target, "--output_dir", "out")  # fmt: skip
    assert code == 0, err
    folder = workdir / "out" / "mixed_precision"
    return {p.name.split("_0.")[0] + p.suffix: p for p in folder.iterdir()}


def _measured(case, model) -> float:
    """The output MSE of ``model`` against the float model's, on the case's sentences."""
    loaded, reference = case
    quantized = dataclasses.replace(loaded, model=model)
    return compare(quantized, reference, run_outputs(quantized)).mse


def _mpq_torch(case, config: Path, backend: str) -> float:
    loaded, reference = case
    saved = mc.load_config(config)
    return evaluate_config(loaded, reference, saved, None, get_backend(backend)).mse


@pytest.mark.skipif(missing_reason("compressed_tensors") is not None, reason="compressed-tensors")
def test_compressed_tensors_round_trip(run, workdir, case):
    from compressed_tensors.quantization import QuantizationConfig, apply_quantization_config
    from compressed_tensors.quantization.utils import calculate_qparams

    files = _export(run, workdir, "compressed_tensors")
    config = QuantizationConfig.model_validate(
        json.loads(files["compressed_tensors.json"].read_text())
    )
    model = copy.deepcopy(case[0].model)
    apply_quantization_config(model, config)
    calibrated = 0
    for module in model.modules():
        scheme = getattr(module, "quantization_scheme", None)
        if scheme is None or scheme.weights is None:
            continue
        args, w = scheme.weights, module.weight.detach()
        assert args.strategy == "channel" and args.type == "int" and args.symmetric
        scale, zero = calculate_qparams(w.amin(dim=1, keepdim=True), w.amax(dim=1, keepdim=True),
                                        args)  # fmt: skip
        module.weight_scale.data, module.weight_zero_point.data = scale, zero
        calibrated += 1
    wbits = json.loads(files["quantization_config.json"].read_text())["bit_allocation"]
    assert calibrated == sum(1 for w in wbits.values() if w < 16)
    library = _measured(case, model)
    predicted = _mpq_torch(case, files["quantization_config.json"], "compressed_tensors")
    # the backend also rounds the layers left in float to fp16 (a 16-bit model's dtype), which
    # the library leaves in this CPU model's float32: 0.06% of the error here
    assert library > 0
    assert library == pytest.approx(predicted, rel=2e-3)


@pytest.mark.skipif(missing_reason("torchao") is not None, reason="torchao")
def test_torchao_round_trip(run, workdir, case):
    files = _export(run, workdir, "torchao")
    model = copy.deepcopy(case[0].model)
    runpy.run_path(str(files["torchao.py"]))["quantize_model"](model)
    library = _measured(case, model)
    rtn = _mpq_torch(case, files["quantization_config.json"], "rtn")
    assert library > 0 and rtn > 0
    assert library == pytest.approx(rtn, rel=0.10)  # 3.22e-5 against 3.14e-5 (2.7%) here
    assert _measured(case, case[0].model) == 0.0  # the float model was left as it was
