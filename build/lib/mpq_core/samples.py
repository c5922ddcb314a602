"""The bundled sample inputs: ``sample_data/`` of the repository, or the copy installed inside
the package (``mpq_core/sample_data``) when mpq runs from a wheel. Works from any folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .loading import InputFile

REPO_ROOT = Path(__file__).resolve().parent.parent
_INSTALLED = Path(__file__).resolve().parent / "sample_data"


def _root() -> Path:
    """The folder that holds ``sample_data/``: the repository, else the installed package."""
    if (REPO_ROOT / "sample_data").is_dir():
        return REPO_ROOT
    return _INSTALLED.parent


@dataclass(frozen=True)
class Sample:
    """A bundled pair of input files; labels are repo-relative so exports match across surfaces."""

    key: str
    title: str
    flops: str
    sensitivity: str
    validation: str | None = None  # measured Phase 4 results (a validation CSV), if any

    @property
    def flops_path(self) -> Path:
        return _root() / self.flops

    @property
    def sensitivity_path(self) -> Path:
        return _root() / self.sensitivity

    @property
    def validation_path(self) -> Path | None:
        return None if self.validation is None else _root() / self.validation


SAMPLES: dict[str, Sample] = {
    "sd14": Sample(
        key="sd14",
        title="Stable Diffusion 1.4 UNet (exact MACs, synthetic scalar sensitivity)",
        flops="sample_data/sd14_unet/flops_analysis_unet.json",
        sensitivity="sample_data/sd14_unet/sensitivity_100_prompts.json",
    ),
    "sd14_per_bit": Sample(
        key="sd14_per_bit",
        title="Stable Diffusion 1.4 UNet (exact MACs, synthetic per-bit sensitivity)",
        flops="sample_data/sd14_unet/flops_analysis_unet.json",
        sensitivity="sample_data/sd14_unet/sensitivity_per_bit.json",
    ),
    "minilm": Sample(
        key="minilm",
        title="all-MiniLM-L6-v2 (measured: exact MACs, real per-bit MSE on 310 sentences)",
        flops="sample_data/minilm_l6/flops_analysis.json",
        sensitivity="sample_data/minilm_l6/sensitivity_mse.json",
        validation="sample_data/minilm_l6/validation.csv",
    ),
}


def sample_paths(key: str = "sd14") -> tuple[Path, Path]:
    """Absolute paths of a bundled sample's two files."""
    sample = SAMPLES[key]
    return sample.flops_path, sample.sensitivity_path


def sample_inputs(key: str = "sd14") -> tuple[InputFile, InputFile]:
    """A bundled sample as two InputFiles labelled with their repo-relative paths."""
    sample = SAMPLES[key]
    return (
        InputFile(sample.flops, sample.flops_path.read_bytes()),
        InputFile(sample.sensitivity, sample.sensitivity_path.read_bytes()),
    )
