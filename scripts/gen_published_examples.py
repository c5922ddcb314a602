"""Write mpq's input files for the published HAWQ-V3 and MixDQ examples from the data in
``sample_data/<example>/source/`` (transcribed from the papers' repositories; see each README).

    python scripts/gen_published_examples.py              # rewrite the files in place
    python scripts/gen_published_examples.py --out-dir D  # write D/<example>/... instead

Nothing is fetched; the output is deterministic (running it twice gives identical bytes).

HAWQ-V3 (``hawq_v3_resnet18``, ``hawq_v3_resnet50``), from ``source/ilp_inputs.json``:

* ``flops.json``: per layer ``macs`` (the notebook's ``bops`` array, which holds each conv's
  MACs; ResNet50's is in millions) and ``params`` (the ``parameters`` array, as a count).
* ``sensitivity.json``: per-bit losses, ``loss(w) = Hutchinson_trace x delta_weights_<w>bit_square``
  (lower is better). An option's gain is ``loss(4) - loss(8)``, the notebook's objective term.
* ``t4_latency.json``: the ``latency_int4`` / ``latency_int8`` arrays as a resources table.
* ``constraints.json``: the notebook's ties (``x_i == x_j``) by layer name.

MixDQ (``mixdq_sdxl_turbo``), from ``source/``:

* ``flops.json``: ``params = ratio x 11520`` (the ratio file counts weights in units of
  ``conv_in``'s 11,520), ``macs = params`` (no MAC counts were published; no limit here uses them).
* ``sensitivity.yaml``: MixDQ's own layout ``model.<name>: [v_2, v_4, v_8]``; SSIM scores for
  the layers whose name contains ``ff`` or ``attn2``, SQNR scores for the rest (what MixDQ's
  integer program reads for each group).
* ``pins_quality_4_8.json``: the SQNR group may only take 4 or 8 bits.
* ``constraints_w<tag>.json``: the two groups and one ``mean_wbits@group`` cap per group, the
  group's mean of the published allocation (rounded up at the 15th decimal; see the README).
"""

from __future__ import annotations

import argparse
import json
import math
from fractions import Fraction
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"
HAWQ_EXAMPLES = ("hawq_v3_resnet18", "hawq_v3_resnet50")
MIXDQ_EXAMPLE = "mixdq_sdxl_turbo"
MIXDQ_TAGS = ("4.08", "5.02")
MIXDQ_PREFIX = "model."
MIXDQ_UNIT_PARAMS = 11520  # conv_in's weight count: the ratio file's unit (its ratio is 1.0)
CAP_DECIMALS = 15

HAWQ_SOURCE = {"repository": "Zhen-Dong/HAWQ", "path": "ILP.ipynb"}
MIXDQ_SOURCE = "thu-nics/MixDQ mixed_precision_scripts"


def _json(data: object) -> str:
    return json.dumps(data, indent=2) + "\n"


def hawq_files(source: dict) -> dict[str, str]:
    """The four input files of one HAWQ-V3 model, from the notebook's arrays."""
    arrays, names = source["arrays"], source["ilp_variable_layers"]
    scale = 1 if all(isinstance(v, int) for v in arrays["parameters"]) else 10**6
    if any(len(values) != len(names) for values in arrays.values()):
        raise ValueError("every array needs one value per ILP variable")
    macs = [round(v * scale) for v in arrays["bops"]]
    params = [round(v * scale) for v in arrays["parameters"]]
    for value, count in zip(arrays["bops"] + arrays["parameters"], macs + params, strict=True):
        if not math.isclose(value * scale, count, rel_tol=0, abs_tol=1e-6):
            raise ValueError(f"{value} x {scale} is not a whole number")
    origin = {**HAWQ_SOURCE, "commit": source["source"]["commit"]}
    model = source["source"]["cells"].split()[0]
    flops = {
        "model": f"{model} (HAWQ-V3 ILP layers: first and last layer excluded)",
        "unit": "MACs",
        "metadata": {
            "source": origin,
            "macs": "the notebook's 'bops' array (conv MACs)" + (" x 1e6" if scale > 1 else ""),
            "params": "the notebook's 'parameters' array" + (" x 1e6" if scale > 1 else ""),
        },
        "layers": {
            name: {"macs": m, "params": p, "type": "Conv2d"}
            for name, m, p in zip(names, macs, params, strict=True)
        },
    }
    trace = arrays["Hutchinson_trace"]
    d4, d8 = arrays["delta_weights_4bit_square"], arrays["delta_weights_8bit_square"]
    sensitivity = {
        "metadata": {
            "source": origin,
            "widths": [4, 8],
            "higher_is_better": False,
            "rule": "loss(w) = Hutchinson_trace x delta_weights_<w>bit_square (HAWQ-V3's Omega)",
        },
        "sensitivity": {
            name: {"4": t * a, "8": t * b}
            for name, t, a, b in zip(names, trace, d4, d8, strict=True)
        },
    }
    latency = {
        "metadata": {
            "source": origin,
            "rule": "latency_int4 / latency_int8 of the notebook (measured on a T4 GPU)",
        },
        "resources": {
            "t4_latency": {
                name: {"4": lo, "8": hi}
                for name, lo, hi in zip(
                    names, arrays["latency_int4"], arrays["latency_int8"], strict=True
                )
            }
        },
    }
    constraints = {"ties": [[names[i], names[j]] for i, j in source["ties"]]}
    return {
        "flops.json": _json(flops),
        "sensitivity.json": _json(sensitivity),
        "t4_latency.json": _json(latency),
        "constraints.json": _json(constraints),
    }


def is_content(name: str) -> bool:
    """MixDQ's split: SSIM ("content") layers have 'ff' or 'attn2' in their name."""
    return "ff" in name or "attn2" in name


def mixdq_params(ratios: dict[str, float]) -> dict[str, int]:
    params = {name: round(r * MIXDQ_UNIT_PARAMS) for name, r in ratios.items()}
    for name, count in params.items():
        if count / MIXDQ_UNIT_PARAMS != ratios[name]:
            raise ValueError(f"{name}: ratio {ratios[name]!r} is not a whole number of weights")
    return params


def group_mean(params: dict[str, int], wbits: dict[str, int], content: bool) -> Fraction:
    names = [n for n in params if is_content(n) == content]
    return Fraction(sum(params[n] * wbits[n] for n in names), sum(params[n] for n in names))


def cap_text(mean: Fraction) -> str:
    """The smallest decimal with CAP_DECIMALS digits that is >= ``mean``."""
    whole, frac = divmod(math.ceil(mean * 10**CAP_DECIMALS), 10**CAP_DECIMALS)
    return f"{whole}.{frac:0{CAP_DECIMALS}d}"


def mixdq_files(folder: Path) -> dict[str, str]:
    """The input files of the MixDQ example, from its source/ folder and published mappings."""
    src = folder / "source"
    ratios = yaml.safe_load((src / "weight_ratio_config.yaml").read_text())
    ssim = yaml.safe_load((src / "sensitivity_ssim.yaml").read_text())
    sqnr = yaml.safe_load((src / "sensitivity_sqnr_quality_layers.yaml").read_text())
    params = mixdq_params(ratios)
    content = {n for n in ratios if is_content(n)}
    if set(ssim) != content or set(sqnr) != set(ratios) - content:
        raise ValueError("the SSIM file must cover the 'ff'/'attn2' layers, the SQNR file the rest")
    bare = {name: name.removeprefix(MIXDQ_PREFIX) for name in ratios}
    flops = {
        "model": "SDXL-turbo UNet (MixDQ weight layers)",
        "unit": "MACs",
        "metadata": {
            "source": f"{MIXDQ_SOURCE}/optimize/tensor_ratio/sdxl_turbo/weight_ratio_config.yaml",
            "params": f"ratio x {MIXDQ_UNIT_PARAMS} (the ratio of conv_in is 1.0)",
            "macs": "not published: set equal to params (no limit of this example uses MACs)",
        },
        "layers": {bare[n]: {"macs": params[n], "params": params[n]} for n in ratios},
    }
    scores = {n: (ssim[n] if n in content else sqnr[n]) for n in ratios}
    sensitivity = yaml.safe_dump(scores, sort_keys=False, default_flow_style=False)
    pins = {bare[n]: [4, 8] for n in ratios if n not in content}
    files = {
        "flops.json": _json(flops),
        "sensitivity.yaml": sensitivity,
        "pins_quality_4_8.json": _json(pins),
    }
    for tag in MIXDQ_TAGS:
        published = yaml.safe_load((folder / f"published_weight_{tag}.yaml").read_text())
        if set(published) != set(ratios):
            raise ValueError(f"published_weight_{tag}.yaml must name every layer")
        constraints = {
            "groups": {"content": ["*ff*", "*attn2*"], "quality": ["*"]},
            "limits": [
                {
                    "resource": "mean_wbits",
                    "group": group,
                    "at_most": cap_text(group_mean(params, published, group == "content")),
                }
                for group in ("content", "quality")
            ],
        }
        files[f"constraints_w{tag}.json"] = _json(constraints)
    return files


def write_all(out_dir: Path) -> list[Path]:
    written = []
    jobs = [(name, hawq_files(_read_source(name))) for name in HAWQ_EXAMPLES]
    jobs.append((MIXDQ_EXAMPLE, mixdq_files(SAMPLES / MIXDQ_EXAMPLE)))
    for example, files in jobs:
        folder = out_dir / example
        folder.mkdir(parents=True, exist_ok=True)
        for filename, text in files.items():
            path = folder / filename
            path.write_text(text)
            written.append(path)
    return written


def _read_source(example: str) -> dict:
    return json.loads((SAMPLES / example / "source" / "ilp_inputs.json").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=SAMPLES, help="default: sample_data/")
    args = parser.parse_args(argv)
    for path in write_all(args.out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
