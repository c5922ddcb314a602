"""The Export section's Phase 4 download and the "Tie fused layers" box, through AppTest: the
ZIP holds what ``main.py --export_format TARGET`` writes for the same settings, byte for byte;
an allocation the library cannot take says why instead of offering a download."""

from __future__ import annotations

import io
import zipfile

from app_runs import no_failure, open_sections, run_app
from app_views import shown
from support import REPO

import mpq_core as mc
from mpq_app.ui import sections
from mpq_core.io.samples import SAMPLES

SAMPLE = SAMPLES["minilm"]


def _minilm(at):
    at.sidebar.radio(key="source").set_value("minilm").run()
    no_failure(at)
    return at


def test_tie_fused_ties_the_sets_and_lives_in_the_link():
    at = open_sections(_minilm(run_app()), sections.CONSTRAINTS)
    box = at.sidebar.checkbox(key="tie_fused_box")
    assert box.label == "Tie fused layers (6 sets here)" and box.value is False
    box.check().run()
    no_failure(at)
    assert at.query_params["tie_fused"] == "1"
    at.slider(key="budget").set_value(0.6).run()
    problem = mc.load_problem(*mc.sample_inputs("minilm"), spec=mc.Spec(tie_fused=True))
    assert len(problem.ties) == 6
    assert at.sidebar.checkbox(key="tie_fused_box").value is True


def test_the_zip_holds_the_command_line_s_files(stored_files, run, workdir, monkeypatch):
    at = _minilm(run_app())
    at.slider(key="budget").set_value(0.6).run()
    at.selectbox(key="phase4_target").set_value("compressed_tensors").run()
    no_failure(at)
    assert not any(b.key == "download_phase4" for b in at.get("download_button"))
    refused = [shown(c.value) for c in at.caption if "Not exported" in c.value]
    assert refused and "fused layers take different formats" in refused[0]
    assert refused[0].endswith("vLLM runs them as one matmul; solve with --tie_fused")

    open_sections(at, sections.CONSTRAINTS)
    at.sidebar.checkbox(key="tie_fused_box").check().run()
    at.selectbox(key="phase4_target").set_value("gguf").run()
    no_failure(at)
    spec = mc.Spec(tie_fused=True)
    problem = mc.load_problem(*mc.sample_inputs("minilm"), spec=spec)
    solution = mc.solve(problem, 0.6)
    name, data = mc.io.phase4.phase4_archive(solution, "gguf")
    assert name == f"gguf_{mc.config_filename(solution)[20:-5]}.zip"
    assert stored_files[name] == data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {n: archive.read(n).decode() for n in archive.namelist()}
    expected = mc.io.phase4.phase4_files(solution, "gguf")
    assert files == {
        mc.config_filename(solution): mc.config_json(mc.export_config(solution)),
        **dict(expected),
    }
    # and main.py, run from the clone as the README does, writes the same bytes
    monkeypatch.chdir(REPO)
    code, _, err = run("--optimize_mixed_precision", "--flops_file", SAMPLE.flops,
                       "--sensitivity_file", SAMPLE.sensitivity, "--budget_multiplier", "0.6",
                       "--tie_fused", "--export_format", "gguf", "--output_dir",
                       str(workdir / "out"))  # fmt: skip
    assert code == 0, err
    folder = workdir / "out" / "mixed_precision"
    assert {p.name: p.read_text() for p in folder.iterdir()} == files


def test_a_link_s_tie_fused_opens_ticked_and_formats_on_width_data_are_not_used():
    at = open_sections(run_app({"source": "minilm", "tie_fused": "1"}), sections.CONSTRAINTS)
    no_failure(at)
    assert at.sidebar.checkbox(key="tie_fused_box").value is True
    assert not at.warning
    at = run_app({"source": "minilm", "formats": "int4_g128,int8,bf16"})
    assert not at.exception and not at.warning
    (error,) = at.error  # the per-bit losses of widths cannot price formats
    assert shown(error.value) == "This data gives no loss per format: the formats are not used."
    assert "formats" not in at.query_params and "ladder" in at.query_params


def test_every_phase4_target_has_a_label_in_the_app():
    from mpq_app.ui.export import PHASE4_LABELS
    from mpq_core.cli import EXPORT_FORMATS
    from mpq_core.io.phase4 import PHASE4_TARGETS

    assert set(PHASE4_LABELS) == set(PHASE4_TARGETS)
    assert set(PHASE4_TARGETS) <= set(EXPORT_FORMATS)
