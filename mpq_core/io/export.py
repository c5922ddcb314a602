"""Config files for Phase 4: export, atomic save, load back, re-cost; the plain mapping export.

The exported shape is the original one (``metadata``, ``bit_allocation``,
``quantization_config``); the metadata keeps the original keys and adds the schema version,
the settings (the spec), every limit with its use, the weight figures papers quote, the costs
and the hashes of both input files. The mapping export is ``{prefix + layer: wbit}`` (YAML or
JSON), what MixDQ's and similar loaders read.

File names (in ``<output_dir>/mixed_precision/``):

- ``quantization_config_<m>.json`` for the original setting: the greedy, the default cost
  model (A = min(W + 4, 16), discount 0.2, the file's ladder, no pins, groups or ties) and one
  BOPs budget ``m``; ``<m>`` has two decimals on the 0.01 grid (``0.50``), more when needed
  (``0.337``);
- any other solver or setting adds ``_<solver>`` and, when the settings differ from the
  default, ``_<6 hex digits>`` of a hash of the settings: ``quantization_config_0.50_exact.json``,
  ``quantization_config_0.50_greedy_3f2a1c.json``;
- other limits replace ``<m>`` by the limits themselves, e.g.
  ``quantization_config_bops0.3x_mean_wbits4.08_exact.json`` (``limits-<8 hex>`` when that
  would be longer than 60 characters).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..model.blocks import block_labels
from ..model.constraints import Limit
from ..model.problem import GIGA, Problem, abit_for, with_spec
from ..model.spec import DEFAULT_LADDER, SOLVER_NAMES, Spec
from ..solving.solution import Solution
from .reading import InputFile, read_data

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 3  # the newest this writes and reads
# configs of plain widths are written as they always were (version 2); version 3 adds formats:
# each layer's format name beside wbit/abit, and the formats' fields in the metadata
WIDTHS_SCHEMA_VERSION = 2
CONFIG_DIR = "mixed_precision"
_MAPPING_FORMATS = {"mapping": "yaml", "mapping-json": "json", "both": "yaml"}
_LIMITS_PART_MAX = 60
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


# --- names -----------------------------------------------------------------------------------


def multiplier_text(multiplier: float) -> str:
    """``0.50`` on the 0.01 grid, else the shortest exact decimal (``0.337``); never ``-0``."""
    value = float(multiplier) + 0.0
    if abs(value * 100 - round(value * 100)) < 1e-9:
        return f"{value:.2f}"
    text = f"{value:.6f}".rstrip("0")
    return text if float(text) == value else repr(value)


def settings_suffix(solver: str, problem: Problem) -> str:
    """``""`` for the original setting, else ``_<solver>`` and a settings hash when needed."""
    key = problem.spec
    sens = problem.inputs.sensitivity
    natural = sens.widths if sens.kind == "per_bit" else DEFAULT_LADDER
    default = key == Spec(ladder=key.ladder) and key.ladder == tuple(natural)
    if solver == "greedy" and default:
        return ""
    if default:
        return f"_{solver}"
    return f"_{solver}_{settings_hash(key)}"


def settings_hash(spec: Spec) -> str:
    text = json.dumps(spec.problem_key().to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def limits_part(limits: tuple[Limit, ...]) -> str:
    """``bops0.3x_mean_wbits@quality4.08`` (file-name safe), or ``limits-<hash>`` if long."""
    tokens = [
        f"{lim.resource}{'@' + lim.group if lim.group else ''}{'ge' * lim.lower}{lim.text}"
        for lim in limits
    ]
    text = re.sub(r"[^A-Za-z0-9_.@+-]", "-", "_".join(tokens))
    if len(text) <= _LIMITS_PART_MAX:
        return text
    digest = hashlib.sha256(json.dumps([lim.to_dict() for lim in limits]).encode()).hexdigest()
    return f"limits-{digest[:8]}"


def config_filename(target: Solution | float) -> str:
    """The config file name of a solution (see the module docstring); a bare multiplier gives
    the original name."""
    if not isinstance(target, Solution):
        return f"quantization_config_{multiplier_text(target)}.json"
    limits = tuple(b.limit for b in target.bounds)
    only_budget = len(limits) == 1 and limits[0].is_budget
    middle = multiplier_text(target.multiplier) if only_budget else limits_part(limits)
    return f"quantization_config_{middle}{settings_suffix(target.solver, target.problem)}.json"


def mapping_filename(target: Solution, ext: str = "yaml") -> str:
    return (
        config_filename(target)
        .replace("quantization_config_", "wbits_")
        .replace(".json", f".{ext}")
    )


# --- export ----------------------------------------------------------------------------------


def export_config(solution: Solution) -> dict[str, Any]:
    """The config dict of a feasible solution (lists, not tuples; plain Python numbers)."""
    if not solution.feasible:
        raise ValueError(f"nothing to export: {solution.message}")
    problem = solution.problem
    inputs = problem.inputs
    wbits = [int(w) for w in solution.wbits]
    abits = [int(a) for a in solution.abits]
    solver = solution.solver if solution.solver in SOLVER_NAMES else problem.spec.solver
    spec = replace(problem.spec, solver=solver).with_limits(b.limit for b in solution.bounds)
    metadata: dict[str, Any] = {
        "budget_multiplier": _number(solution.multiplier),
        "num_layers": problem.n_layers,
        "flops_file": inputs.layers.source,
        "sensitivity_file": inputs.sensitivity.source,
        "schema_version": WIDTHS_SCHEMA_VERSION if problem.formats is None else SCHEMA_VERSION,
        "solver": solution.solver,
        "status": solution.status,
        "abit_rule": problem.abit_rule,
        "upgrade_discount": problem.upgrade_discount,
        "sensitivity_kind": inputs.sensitivity.kind,
        "sensitivity_sense": problem.sense,
        "synthetic_sensitivity": inputs.sensitivity.synthetic,
        "ladder": list(problem.widths),
        "pins": {name: list(widths) for name, widths in problem.pins},
        "budget_gbops": _number(solution.budget / GIGA),
        "cost_gbops": solution.cost / GIGA,
        "min_cost_gbops": problem.min_cost / GIGA,
        "max_cost_gbops": problem.max_cost / GIGA,
        "budget_utilization": _number(solution.utilization),
        "objective": solution.objective,
        "max_objective": problem.max_objective,
        "upper_bound": solution.upper_bound,
        "gap": solution.gap,
        "lp_bound": solution.lp_bound,
        "num_upgrades": solution.num_upgrades,
        "limits": _limits_metadata(solution),
        "mean_wbits": _number(solution.param_mean_wbits()),
        "mean_wbits_by_group": {
            g.name: _number(solution.param_mean_wbits(g.name)) for g in problem.groups
        },
        "weight_mib": _number(solution.weight_bits() / 8 / 2**20),
        "spec": {k: v for k, v in spec.to_dict().items() if k != "time_limit"},
        "flops_sha256": inputs.layers.sha256,
        "sensitivity_sha256": inputs.sensitivity.sha256,
    }
    names = problem.names
    layers = [{"wbit": w, "abit": a} for w, a in zip(wbits, abits, strict=True)]
    if problem.formats is not None:
        metadata |= _format_metadata(solution)
        for entry, j in zip(layers, solution.choice.tolist(), strict=True):
            entry["format"] = problem.formats[j].name
    return {
        "metadata": metadata,
        "bit_allocation": dict(zip(names, wbits, strict=True)),
        "quantization_config": dict(zip(names, layers, strict=True)),
    }


def _limits_metadata(solution: Solution) -> list[dict[str, Any]]:
    """Each limit as written, with its cap, unit, the allocation's use and whether it binds."""
    return [
        {
            **use.limit.to_dict(),
            "cap": _number(use.cap),
            "unit": use.unit,
            "use": _number(use.use),
            "binds": use.binds,
        }
        for use in solution.limit_uses
    ]


def _format_metadata(solution: Solution) -> dict[str, Any]:
    """What a config of formats adds: the formats' fields, the effective bits per weight and
    the weight memory, scales included."""
    problem = solution.problem
    return {
        "formats": {f.name: f.to_dict() for f in problem.formats},
        "effective_bits": _number(solution.effective_bits()),
        "weight_bytes": _number(solution.stored_weight_bits() / 8),
    }


def export_mapping(solution: Solution, prefix: str = "") -> dict[str, int]:
    """``{prefix + layer: wbit}`` in file order."""
    if not solution.feasible:
        raise ValueError(f"nothing to export: {solution.message}")
    return {
        f"{prefix}{name}": int(w)
        for name, w in zip(solution.problem.names, solution.wbits, strict=True)
    }


def mapping_text(mapping: Mapping[str, int], fmt: str = "yaml") -> str:
    """The mapping as YAML (``name: 8`` lines, names quoted when needed) or JSON."""
    if fmt == "json":
        return json.dumps(dict(mapping), indent=2) + "\n"
    if fmt != "yaml":
        raise ValueError(f"unknown mapping format {fmt!r}")
    return "".join(f"{json.dumps(name)}: {int(w)}\n" for name, w in mapping.items())


def config_json(config: Mapping[str, Any]) -> str:
    """The exact text written to disk and offered for download."""
    return json.dumps(config, indent=2, allow_nan=False) + "\n"


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: those become null."""
    if value is None or not math.isfinite(value):
        return None
    return value


# --- writing ---------------------------------------------------------------------------------


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write via a temporary file in the same folder and rename: no half-written file.

    The temporary file is created with mode 0666 less the umask, like ``open()`` would; its
    name carries the writer's pid, so leftovers of a killed writer are removed by the next
    write in that folder (and never those of a writer still running)."""
    (target,) = write_files_atomic([(path, data)])
    return target


def write_files_atomic(files: Sequence[tuple[str | Path, bytes]]) -> list[Path]:
    """Write files that belong together (a config and its mapping) so that a reader never
    sees one of this run beside one of an earlier run.

    Every file is first written in full to a temporary beside it; then the earlier versions
    of all but the first are removed, and the temporaries are renamed in order. Whenever the
    writer stops (killed, disk full), each file present is whole, and a file after the first
    is present only beside the first of the same run. The worst case is the first file new
    and the others missing."""
    targets = [Path(path) for path, _ in files]
    temporaries: list[Path] = []
    try:
        for target, (_, data) in zip(targets, files, strict=True):
            temporaries.append(_temporary(target, data))
        for target in targets[1:]:
            target.unlink(missing_ok=True)
        for tmp, target in zip(temporaries, targets, strict=True):
            os.replace(tmp, target)
    except BaseException:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)
        raise
    return targets


def _temporary(target: Path, data: bytes) -> Path:
    """``data`` written in full to a new temporary file in ``target``'s folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target.parent)
    tmp = target.parent / f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_text_atomic(path: str | Path, text: str) -> Path:
    """:func:`write_bytes_atomic` for UTF-8 text with the newlines as given."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete ``.<name>.<pid>.<x>.tmp`` files whose writer process no longer exists."""
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.match(entry.name)
        if not match or _alive(int(match["pid"])):
            continue
        try:
            entry.unlink()
            removed.append(entry)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


@dataclass(frozen=True)
class SavedFile:
    """Where a config went, and a note when it replaced one made from other inputs."""

    path: Path
    note: str | None = None


def save_config(solution: Solution, output_dir: str | Path) -> Path:
    """Write ``<output_dir>/mixed_precision/<config_filename>`` atomically."""
    return save_config_noted(solution, output_dir).path


def save_config_noted(solution: Solution, output_dir: str | Path) -> SavedFile:
    """:func:`save_config`, saying when it replaced a config made from other input files (the
    name already differs for other settings)."""
    path = Path(output_dir) / CONFIG_DIR / config_filename(solution)
    config = export_config(solution)
    note = _replacing(path, config["metadata"])
    return SavedFile(write_text_atomic(path, config_json(config)), note)


def save_exports(
    solution: Solution,
    output_dir: str | Path,
    export_format: str = "config",
    name_prefix: str = "",
    *,
    gguf_arch: str | None = None,
) -> list[SavedFile]:
    """The files of one ``export_format`` (``config``, ``mapping``, ``mapping-json``,
    ``both``, ``compressed_tensors`` or ``torchao``) in ``<output_dir>/mixed_precision/``;
    ``both`` writes the config and the YAML mapping as a pair (:func:`write_files_atomic`: the
    config first, and a mapping is only ever found beside the config of the same run), a
    Phase 4 target (:mod:`mpq_core.io.phase4`) the config and the target's files the same
    way. A format the target cannot express raises InputError before anything is written."""
    from .phase4 import PHASE4_TARGETS, phase4_files

    fmt = _MAPPING_FORMATS.get(export_format)
    if fmt is None and export_format not in ("config", *PHASE4_TARGETS):
        raise ValueError(f"unknown export format {export_format!r}")
    folder = Path(output_dir) / CONFIG_DIR
    files: list[tuple[Path, str, str | None]] = []
    if export_format in ("config", "both", *PHASE4_TARGETS):
        path = folder / config_filename(solution)
        config = export_config(solution)
        files.append((path, config_json(config), _replacing(path, config["metadata"])))
    if fmt is not None:
        text = mapping_text(export_mapping(solution, name_prefix), fmt)
        files.append((folder / mapping_filename(solution, fmt), text, None))
    if export_format in PHASE4_TARGETS:
        named = phase4_files(solution, export_format, name_prefix, gguf_arch=gguf_arch)
        files += [(folder / name, text, None) for name, text in named]
    write_files_atomic([(path, text.encode("utf-8")) for path, text, _ in files])
    return [SavedFile(path, note) for path, _, note in files]


def _replacing(path: Path, metadata: Mapping[str, Any]) -> str | None:
    if not path.is_file():
        return None
    try:
        old = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return f"replaced {path}, which was not a readable config"
    changed = [
        key
        for key in ("flops_sha256", "sensitivity_sha256", "spec")
        if isinstance(old, dict) and old.get(key) != metadata.get(key)
    ]
    if not changed:
        return None
    what = {
        "flops_sha256": "Phase 1 file",
        "sensitivity_sha256": "Phase 2 file",
        "spec": "settings",
    }
    return f"replaced {path}, made from another {' and '.join(what[c] for c in changed)}"


# --- reading back ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedConfig:
    """A config file (or a plain mapping) read back: its metadata and the per-layer widths."""

    source: str
    metadata: Mapping[str, Any]
    wbits: Mapping[str, int]
    abits: Mapping[str, int] = field(default_factory=dict)
    formats: Mapping[str, str] = field(default_factory=dict)  # layer -> format (version 3)


def load_config(source: str | Path | InputFile, *, name_prefix: str = "") -> SavedConfig:
    """Read an exported config (any schema version up to the current one), or a plain
    ``{layer: wbit}`` mapping (JSON or YAML; ``name_prefix`` stripped)."""
    label, _, data = read_data(source)
    if isinstance(data, dict) and "bit_allocation" not in data and _is_mapping(data):
        return SavedConfig(
            source=label,
            metadata={},
            wbits={
                _strip(name, name_prefix): _width(w, label, "mapping", name)
                for name, w in data.items()
            },
        )
    if not isinstance(data, dict) or not isinstance(data.get("bit_allocation"), dict):
        raise InputError(
            label, "missing or not a mapping of layer to width", field="bit_allocation"
        )
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InputError(label, "not a mapping", field="metadata")
    version = metadata.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version > SCHEMA_VERSION:
        raise InputError(
            label,
            f"unsupported schema version {version!r} (this tool reads up to {SCHEMA_VERSION})",
            field="metadata.schema_version",
        )
    wbits = {
        _strip(name, name_prefix): _width(w, label, "bit_allocation", name)
        for name, w in data["bit_allocation"].items()
    }
    abits: dict[str, int] = {}
    formats: dict[str, str] = {}
    quant = data.get("quantization_config", {})
    if not isinstance(quant, dict):
        raise InputError(label, "not a mapping", field="quantization_config")
    for raw, entry in quant.items():
        name = _strip(raw, name_prefix)
        if not isinstance(entry, dict) or "abit" not in entry:
            raise InputError(
                label, "needs 'wbit' and 'abit'", field="quantization_config", layer=name
            )
        abits[name] = _width(entry["abit"], label, "quantization_config.abit", name)
        if "format" in entry:
            formats[name] = _format_name(entry["format"], label, name)
        if "wbit" in entry and _width(
            entry["wbit"], label, "quantization_config.wbit", name
        ) != wbits.get(name):
            raise InputError(
                label, "wbit differs from bit_allocation", field="quantization_config", layer=name
            )
    return SavedConfig(source=label, metadata=metadata, wbits=wbits, abits=abits, formats=formats)


def _format_name(value: Any, label: str, layer: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(
            label, "must be a format name", field="quantization_config.format", layer=layer
        )
    return value


def evaluate_config(
    problem: Problem, saved: SavedConfig, multiplier: float | None = None
) -> Solution:
    """Re-cost a saved config on ``problem``'s inputs with the widths the file states.

    A config saved under another activation rule or ladder is re-costed under its own (from
    its metadata, or read off its per-layer activation widths); per-layer activation widths
    that follow neither rule are refused. The budget is the file's own multiplier unless one
    is given."""
    from ..model.limits import as_bounds
    from ..solving.instance import make_instance
    from ..solving.results import make_solution

    problem = _problem_for(problem, saved)
    missing = [n for n in problem.names if n not in saved.wbits]
    if missing:
        raise InputError(
            saved.source,
            f"{len(missing)} layer(s) of the loaded model are not in the config",
            field="bit_allocation",
            layer=missing[0],
        )
    choice = _saved_choice(problem, saved)
    stated = saved.metadata.get("spec")
    if multiplier is None and isinstance(stated, dict):
        bounds = as_bounds(problem, limits=Spec.from_dict(stated, saved.source).limits)
    else:
        if multiplier is None:
            given = saved.metadata.get("budget_multiplier", 1.0)
            multiplier = float(given) if isinstance(given, int | float) else 1.0
        bounds = as_bounds(problem, problem.budget_for(multiplier), multiplier)
    # per layer, as saved: a config that splits tied layers is re-costed as it is, and said so
    inst = make_instance(replace(problem, ties=()) if problem.ties else problem, bounds)
    split = next((tie for tie in problem.ties if len(set(choice[tie].tolist())) > 1), None)
    fits = inst.fits(choice) and split is None
    why = "" if fits else " (over the budget)"
    if split is not None:
        why = f" (tied layers take different options: {', '.join(problem.names[i] for i in split)})"
    return make_solution(
        inst, "saved", "feasible" if fits else "infeasible", choice,
        f"re-costed from {saved.source}{why}",
    )  # fmt: skip


def _saved_choice(problem: Problem, saved: SavedConfig) -> np.ndarray:
    """Each layer's option: its format (a config of formats), else its width."""
    if problem.formats is not None:
        return _format_choice(problem, saved)
    choice = np.empty(problem.n_layers, dtype=np.intp)
    ladder = "/".join(map(str, problem.widths))
    for i, name in enumerate(problem.names):
        width = saved.wbits[name]
        if width not in problem.widths:
            raise InputError(
                saved.source,
                f"width {width} is not in the ladder {ladder}",
                field="bit_allocation",
                layer=name,
            )
        choice[i] = problem.widths.index(width)
    return choice


def _format_choice(problem: Problem, saved: SavedConfig) -> np.ndarray:
    names = problem.option_names
    choice = np.empty(problem.n_layers, dtype=np.intp)
    for i, layer in enumerate(problem.names):
        fmt = saved.formats.get(layer)
        if fmt not in names:
            problem_text = (
                "has no format"
                if fmt is None
                else f"format {fmt!r} is not one of {', '.join(names)}"
            )
            raise InputError(
                saved.source, problem_text, field="quantization_config.format", layer=layer
            )
        j = names.index(fmt)
        if saved.wbits[layer] != problem.widths[j]:
            raise InputError(
                saved.source,
                f"wbit {saved.wbits[layer]} differs from format {fmt!r} ({problem.widths[j]} bits)",
                field="bit_allocation",
                layer=layer,
            )
        choice[i] = j
    return choice


def _problem_for(problem: Problem, saved: SavedConfig) -> Problem:
    """The problem under the config's own settings: its spec (schema 2), else its activation
    rule and ladder, else the rule its per-layer activation widths follow."""
    meta = saved.metadata
    if isinstance(meta.get("spec"), dict):
        spec = Spec.from_dict(meta["spec"], saved.source)
    else:
        spec = problem.spec
        rule = meta.get("abit_rule")
        if rule is None and saved.abits:
            rule = _rule_of(saved)
        if isinstance(rule, str):
            spec = replace(spec, abit_rule=rule)
        ladder = meta.get("ladder")
        if isinstance(ladder, list):
            spec = replace(spec, ladder=tuple(ladder))
    problem = with_spec(problem, spec)
    if problem.formats is not None:
        return problem  # each layer's activation bits are its format's
    for name, abit in saved.abits.items():
        wbit = saved.wbits.get(name)
        if wbit is not None and abit != abit_for(wbit, problem.abit_rule):
            raise InputError(
                saved.source,
                f"abit {abit} for wbit {wbit} contradicts the activation rule "
                f"{problem.abit_rule!r} the config states",
                field="quantization_config",
                layer=name,
            )
    return problem


def _rule_of(saved: SavedConfig) -> str:
    for rule in ("plus4", "match"):
        if all(
            abit_for(saved.wbits[n], rule) == a for n, a in saved.abits.items() if n in saved.wbits
        ):
            return rule
    name = next(iter(saved.abits))
    raise InputError(
        saved.source,
        "the activation widths follow neither rule (plus4: min(w + 4, 16); match: w)",
        field="quantization_config",
        layer=name,
    )


def _is_mapping(data: dict) -> bool:
    return bool(data) and all(isinstance(v, int) and not isinstance(v, bool) for v in data.values())


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


# --- per-layer table -------------------------------------------------------------------------


def layer_table(solution: Solution) -> pd.DataFrame:
    """Per-layer view: block, type, MACs, BOPs share, sensitivity, upgrade efficiencies, width."""
    import pandas as pd

    problem = solution.problem
    bops = solution.layer_bops()
    total = bops.sum()
    frame = pd.DataFrame(
        {
            "layer": list(problem.names),
            "block": block_labels(problem.names),
            "type": list(problem.types),
            "macs": problem.macs,
            "sensitivity": problem.sensitivity,
            "wbit": solution.wbits.astype(int),
            "abit": solution.abits.astype(int),
            "bops": bops,
            "bops_share": bops / total if total > 0 else np.zeros_like(bops),
            "pinned": problem.pinned,
        }
    )
    if problem.groups:
        frame.insert(2, "group", problem.group_of())
    for j in range(len(problem.widths) - 1):
        lo, hi = problem.widths[j], problem.widths[j + 1]
        step = problem.costs[:, j + 1] - problem.costs[:, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            eff = np.where(
                step > 0, problem.step_gains[:, j + 1] / np.where(step > 0, step, 1), np.inf
            )
        frame[f"eff_{lo}_{hi}"] = eff * GIGA  # gain per GBOP of the single step lo -> hi
    return frame


def layers_csv(solution: Solution) -> str:
    """The per-layer table as CSV text; text cells that a spreadsheet would run as a formula
    (starting with = + - @ or a tab) are prefixed with a quote."""
    frame = layer_table(solution)
    for column in ("layer", "block", "type", "group"):
        if column in frame:
            frame[column] = [_cell(v) for v in frame[column]]
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _width(value: Any, source: str, field_name: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError(
            source, f"not a positive whole number ({value!r})", field=field_name, layer=layer
        )
    return value
