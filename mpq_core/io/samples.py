"""The bundled sample inputs: ``sample_data/`` of the repository, or the copy installed inside
the package (``mpq_core/sample_data``) when mpq runs from a wheel. Works from any folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..model.constraints import Constraints, parse_constraints, parse_limit_flag
from ..model.formats import catalog_formats
from ..model.spec import Spec, parse_pin_file
from .reading import InputFile, decode
from .synthetic import FLOPS_NAME, SENSITIVITY_NAME, moe_files

_PACKAGE = Path(__file__).resolve().parent.parent  # mpq_core/
REPO_ROOT = _PACKAGE.parent
_INSTALLED = _PACKAGE / "sample_data"


def _root() -> Path:
    """The folder that holds ``sample_data/``: the repository, else the installed package."""
    if (REPO_ROOT / "sample_data").is_dir():
        return REPO_ROOT
    return _INSTALLED.parent


@dataclass(frozen=True)
class Sample:
    """A bundled sample: its files and the settings it is meant to be opened with (the flags of
    its command in the README). Paths are repo-relative, so exports match across surfaces."""

    key: str
    title: str
    label: str  # short, for the app's data selector
    flops: str
    sensitivity: str
    validation: str | None = None  # measured Phase 4 results (a validation CSV), if any
    resources: str | None = None  # --resources: per-layer, per-width tables (e.g. latency)
    constraints: str | None = None  # --constraints: groups, ties and limits
    pin_file: str | None = None  # --pin_file
    limits: tuple[str, ...] = ()  # --limit, after the constraints file's limits
    ladder: tuple[int, ...] | None = None  # --bits
    abit_rule: str = "plus4"  # --act_bits
    sense: str | None = None  # --sensitivity_sense
    name_prefix: str = ""  # --name_prefix
    solver: str = "greedy"  # --solver
    formats: tuple[str, ...] | None = None  # --formats: catalog names instead of a ladder
    generated: bool = False  # made on demand (``synthetic.py``), not stored in sample_data/

    @property
    def flops_path(self) -> Path:
        return _root() / self.flops

    @property
    def sensitivity_path(self) -> Path:
        return _root() / self.sensitivity

    @property
    def validation_path(self) -> Path | None:
        return None if self.validation is None else _root() / self.validation

    def resources_file(self) -> InputFile | None:
        """The sample's resources file, labelled with its repo-relative path."""
        return None if self.resources is None else _input_file(self.resources)

    def spec(self) -> Spec:
        """The settings of the sample's command: ladder, cost model, pins, constraints, solver."""
        constraints = Constraints()
        if self.constraints is not None:
            file = _input_file(self.constraints)
            constraints = parse_constraints(decode(file.content, file.name), file.name)
        flags = Constraints(limits=tuple(parse_limit_flag(text) for text in self.limits))
        pins: dict[str, list[int]] = {}
        if self.pin_file is not None:
            file = _input_file(self.pin_file)
            pins = parse_pin_file(decode(file.content, file.name), file.name)
        return Spec(
            ladder=self.ladder,
            abit_rule=self.abit_rule,
            pins=tuple((name, tuple(widths)) for name, widths in pins.items()),
            sense=self.sense,
            constraints=constraints.merged(flags),
            solver=self.solver,
            formats=None if self.formats is None else catalog_formats(self.formats),
        )

    def argv(self) -> list[str]:
        """The command line's flags for this sample and its settings (repo-relative paths)."""
        out = ["--flops_file", self.flops, "--sensitivity_file", self.sensitivity]
        flags = {
            "--resources": self.resources,
            "--constraints": self.constraints,
            "--pin_file": self.pin_file,
            "--bits": None if self.ladder is None else ",".join(map(str, self.ladder)),
            "--act_bits": self.abit_rule,
            "--sensitivity_sense": self.sense,
            "--name_prefix": self.name_prefix or None,
            "--solver": self.solver,
            "--formats": None if self.formats is None else ",".join(self.formats),
        }
        for flag, value in flags.items():
            out += [flag, value] if value is not None else []
        for text in self.limits:
            out += ["--limit", text]
        return out


def _input_file(relative: str) -> InputFile:
    return InputFile(relative, (_root() / relative).read_bytes())


_HAWQ = "sample_data/hawq_v3_{}/"
_MIXDQ = "sample_data/mixdq_sdxl_turbo/"
_MINILM_FORMATS = "sample_data/minilm_l6_formats/"


def _hawq(model: str, name: str) -> Sample:
    """HAWQ-V3's ILP inputs: losses at 4/8 bits, activations at the weight width, the T4
    latency table, the notebook's ties; a latency limit at half way (published: 0.25/0.5/0.75
    of the way from every layer at 4 bits to every layer at 8, under three limits)."""
    folder = _HAWQ.format(model)
    return Sample(
        key=f"hawq_{model}",
        title=f"HAWQ-V3 {name} (published ILP inputs: losses, T4 latency, ties)",
        label=f"HAWQ-V3 {name} (published ILP; latency limit)",
        flops=folder + "flops.json",
        sensitivity=folder + "sensitivity.json",
        resources=folder + "t4_latency.json",
        constraints=folder + "constraints.json",
        limits=("t4_latency<=0.5r",),
        ladder=(4, 8),
        abit_rule="match",
        solver="exact",
    )


SAMPLES: dict[str, Sample] = {
    "sd14": Sample(
        key="sd14",
        title="Stable Diffusion 1.4 UNet (exact MACs, synthetic scalar sensitivity)",
        label="SD 1.4 UNet sample (scalar sensitivity)",
        flops="sample_data/sd14_unet/flops_analysis_unet.json",
        sensitivity="sample_data/sd14_unet/sensitivity_100_prompts.json",
    ),
    "sd14_per_bit": Sample(
        key="sd14_per_bit",
        title="Stable Diffusion 1.4 UNet (exact MACs, synthetic per-bit sensitivity)",
        label="SD 1.4 UNet sample (per-bit losses)",
        flops="sample_data/sd14_unet/flops_analysis_unet.json",
        sensitivity="sample_data/sd14_unet/sensitivity_per_bit.json",
    ),
    "minilm": Sample(
        key="minilm",
        title="all-MiniLM-L6-v2 (measured: exact MACs, real per-bit MSE on 310 sentences)",
        label="MiniLM-L6 sample (measured per-bit losses)",
        flops="sample_data/minilm_l6/flops_analysis.json",
        sensitivity="sample_data/minilm_l6/sensitivity_mse.json",
        validation="sample_data/minilm_l6/validation.csv",
    ),
    "hawq_resnet18": _hawq("resnet18", "ResNet18"),
    "hawq_resnet50": _hawq("resnet50", "ResNet50"),
    "mixdq_sdxl_turbo": Sample(
        key="mixdq_sdxl_turbo",
        title="MixDQ SDXL-Turbo UNet (published scores per width, group caps of W4.08)",
        label="MixDQ SDXL-Turbo (published scores; W4.08)",
        flops=_MIXDQ + "flops.json",
        sensitivity=_MIXDQ + "sensitivity.yaml",
        constraints=_MIXDQ + "constraints_w4.08.json",
        pin_file=_MIXDQ + "pins_quality_4_8.json",
        ladder=(2, 4, 8),
        name_prefix="model.",
        solver="exact",
    ),
    "minilm_formats": Sample(
        key="minilm_formats",
        title="all-MiniLM-L6-v2 formats (measured: one MSE per layer and format, 32 sentences)",
        label="MiniLM-L6 formats (measured; effective bits)",
        flops=_MINILM_FORMATS + "flops_analysis.json",
        sensitivity=_MINILM_FORMATS + "sensitivity_formats.json",
        validation=_MINILM_FORMATS + "validation.csv",
        limits=("bpw<=5",),
        # the options, cheapest first
        formats=("int4_g128", "mxfp4", "nvfp4", "int4_g32", "fp8", "int8", "bf16"),
        solver="exact",
    ),
    "moe_100k": Sample(
        key="moe_100k",
        title="Synthetic MoE, 100,000 layers (random sizes and scores, made on demand)",
        label="Synthetic MoE, 100,000 layers (random)",
        flops=FLOPS_NAME,
        sensitivity=SENSITIVITY_NAME,
        generated=True,
    ),
}


def sample_paths(key: str = "sd14") -> tuple[Path, Path]:
    """Absolute paths of a bundled sample's two files."""
    sample = SAMPLES[key]
    return sample.flops_path, sample.sensitivity_path


def sample_inputs(key: str = "sd14") -> tuple[InputFile, InputFile]:
    """A bundled sample as two InputFiles labelled with their repo-relative paths."""
    sample = SAMPLES[key]
    if sample.generated:
        return moe_files()
    return (
        InputFile(sample.flops, sample.flops_path.read_bytes()),
        InputFile(sample.sensitivity, sample.sensitivity_path.read_bytes()),
    )
