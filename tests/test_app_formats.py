"""The dashboard with formats (AppTest): the bundled per-format sample, the format picker, a
link that carries formats and search spaces, the effective-bits card, pins to weight bits,
every page, and the config download byte-identical to the command line's."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import pytest
from app_runs import PAGES, no_failure, open_sections, run_app
from app_views import app_metrics
from support import REPO

import mpq_core as mc
from mpq_app.ui import sections
from mpq_core.model.formats import catalog_formats

SAMPLE = mc.SAMPLES["minilm_formats"]
FORMATS = SAMPLE.formats
LINK = {"source": "minilm_formats"}


def _problem(names=FORMATS, **spec) -> mc.Problem:
    inputs = mc.load_inputs(*mc.sample_inputs("minilm_formats"))
    return mc.build_problem(inputs, mc.Spec(formats=catalog_formats(names), **spec))


def _solve(problem: mc.Problem, text: str = "bpw<=5", solver: str = "exact") -> mc.Solution:
    limits = mc.Constraints(limits=(mc.parse_limit_flag(text),)).limits
    return mc.solve(problem, solver=solver, limits=limits)


def test_the_format_sample_opens_with_its_formats_and_the_bpw_limit():
    at = run_app(LINK)
    no_failure(at)
    assert at.pills(key="formats").value == list(FORMATS)
    assert at.query_params["formats"] == "int4_g128,mxfp4,nvfp4,int4_g32,fp8,int8,bf16"
    assert at.query_params["limit"] == "bpw<=5"
    caption = " ".join(c.value for c in at.caption)
    assert "formats int4_g128/mxfp4/nvfp4/int4_g32/fp8/int8/bf16" in caption.replace("\\", "")
    solution = _solve(_problem())
    assert solution.status == "optimal"
    metrics = app_metrics(at)
    assert metrics["Effective bits"] == f"{solution.effective_bits():.2f} bits"
    assert solution.effective_bits() <= 5
    memory = mc.report.display.bits_size(solution.stored_weight_bits())
    assert metrics["Weight memory"] == memory
    # the activation rule and the discount belong to ladders: a format sets its own bits
    assert not [r for r in at.radio if r.key == "abit_rule"]
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "Each format sets its weight and activation bits" in captions


def test_choosing_formats_changes_the_problem_and_the_link():
    at = run_app(LINK)
    at.pills(key="formats").set_value(["int4_g128", "fp8", "bf16"]).run()
    no_failure(at)
    assert at.query_params["formats"] == "int4_g128,fp8,bf16"
    solution = _solve(_problem(("int4_g128", "fp8", "bf16")))
    assert app_metrics(at)["Effective bits"] == f"{solution.effective_bits():.2f} bits"
    # one format leaves no choice: refused with the Spec's reason, the formats kept
    at.pills(key="formats").set_value(["fp8"]).run()
    assert at.query_params["formats"] == "int4_g128,fp8,bf16"
    refused = " ".join(e.value for e in at.error).replace("\\", "")
    assert (
        "Not used: formats: choose at least two formats (one option leaves no choice)." in refused
    )
    # none chosen: every catalog format the file gives a loss for
    at.pills(key="formats").set_value([]).run()
    no_failure(at)
    shown = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")
    assert "No format chosen: using int2_g64/int3_g128/" in shown


def test_a_link_with_formats_and_search_spaces_is_applied_and_written_back():
    query = LINK | {
        "formats": "int4_g128,nvfp4,fp8,bf16",
        "space": "*.attention.*:fp8|bf16",
        "limit": "bpw<=6",
        "solver": "exact",
    }
    at = run_app(query)
    no_failure(at)
    assert at.query_params["space"] == "*.attention.*:fp8|bf16"
    assert at.query_params["limit"] == "bpw<=6"
    spec = mc.Spec(
        formats=catalog_formats("int4_g128,nvfp4,fp8,bf16"),
        search_spaces=(("*.attention.*", ("fp8", "bf16")),),
    )
    inputs = mc.load_inputs(*mc.sample_inputs("minilm_formats"))
    solution = _solve(mc.build_problem(inputs, spec), "bpw<=6")
    names = solution.problem.names
    chosen = [solution.problem.option_labels[j] for j in solution.choice]
    attention = [c for n, c in zip(names, chosen, strict=True) if ".attention." in n]
    assert attention and set(attention) <= {"fp8", "bf16"}
    assert app_metrics(at)["Effective bits"] == f"{solution.effective_bits():.2f} bits"


def test_a_formats_link_on_width_data_says_the_formats_are_not_used():
    at = run_app({"source": "sd14", "formats": "int4_g128,fp8,bf16"})
    assert not at.exception
    shown = " ".join(e.value for e in at.error).replace("\\", "")
    assert shown == "This data gives no loss per format: the formats are not used."
    assert "formats" not in at.query_params


def test_pins_with_formats_keep_the_formats_of_those_weight_bits():
    at = open_sections(run_app(LINK), sections.PINS)
    boxes = {box.key: box for box in at.sidebar.multiselect if box.key.startswith("pin_")}
    assert set(boxes) == {"pin_4", "pin_8", "pin_16"}
    assert boxes["pin_4"].label == "Pin to 4 bits (int4_g128, mxfp4, nvfp4, int4_g32)"
    first = _problem().names[0]
    at.multiselect(key="pin_16").set_value([first]).run()
    no_failure(at)
    assert at.query_params["pin16"] == first
    solution = _solve(_problem(pins=(mc.Pin(first, (16,)),)))
    assert solution.problem.option_labels[solution.choice[0]] == "bf16"
    assert app_metrics(at)["Effective bits"] == f"{solution.effective_bits():.2f} bits"


@pytest.mark.parametrize("page", list(PAGES)[1:])
def test_every_page_draws_the_format_sample(page):
    at = run_app(LINK)
    at.switch_page(page).run()
    no_failure(at)


def test_the_config_download_is_the_command_line_s_file(stored_files, tmp_path):
    at = run_app(LINK)
    no_failure(at)
    out = tmp_path / "out"
    command = [sys.executable, str(REPO / "main.py"), "--optimize_mixed_precision", *SAMPLE.argv(),
               "--output_dir", str(out), "--quiet"]  # fmt: skip
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=300,
        env=os.environ | {"PYTHONHASHSEED": "0"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (written,) = (out / "mixed_precision").glob("quantization_config_*.json")
    assert stored_files[written.name] == written.read_bytes()
    config = json.loads(written.read_bytes())
    assert {entry["format"] for entry in config["quantization_config"].values()} <= set(FORMATS)


def test_the_search_spaces_table_shows_the_link_s_spaces_and_what_they_restrict():
    spaces = ["*.attention.self.*:fp8|bf16", "*.output.dense:bf16"]
    at = run_app(LINK | {"space": spaces, "limit": "bpw<=12"})
    no_failure(at)
    (editor,) = [d for d in at.sidebar.dataframe if d.key.startswith("spaces_editor_")]
    assert editor.value.values.tolist() == [
        ["*.attention.self.*", "fp8 bf16"],
        ["*.output.dense", "bf16"],
    ]
    # 6 blocks: q, k, v (18 layers) to two formats; attention.output.dense and output.dense
    # (12 layers) fixed to bf16
    captions = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")
    assert "30 layers restricted, 12 fixed to one format" in captions
    assert at.query_params["space"] == ["*.attention.self.*:fp8|bf16", "*.output.dense:bf16"]


def test_a_row_of_the_search_spaces_table_takes_any_separator():
    import pandas as pd

    from mpq_app.ui.search_spaces import _rows

    table = pd.DataFrame(
        [["*.attn*", "fp8, bf16"], ["*", "nvfp4|fp8  bf16"], ["half", ""], ["", "fp8"]],
        columns=["pattern", "formats"],
    )
    assert _rows(table) == (("*.attn*", ("fp8", "bf16")), ("*", ("nvfp4", "fp8", "bf16")))


def test_an_unreachable_bpw_limit_says_what_the_formats_reach_and_offers_no_budget_button():
    at = run_app(LINK | {"formats": "int4_g128,fp8,bf16", "limit": "bpw<=4"})
    assert not at.exception
    (error,) = at.error
    text = error.value.replace("\\", "")
    assert text.startswith("**No allocation meets the limits**: bpw <= 4 cannot be met: ")
    solution = _solve(_problem(("int4_g128", "fp8", "bf16")), "bpw<=4")
    assert solution.status == "infeasible" and solution.message in text
    assert "every layer at int4_g128" in solution.message
    assert not [b for b in at.button if b.key == "use_min_multiplier"]


def _sample_pair() -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    flops, sens = mc.sample_inputs("minilm_formats")
    return ("flops.json", flops.content), ("losses.json", sens.content)


def test_an_uploaded_per_format_pair_offers_every_format_it_covers():
    from app_runs import upload

    at = run_app({"source": "upload"})
    upload(at, *_sample_pair())
    no_failure(at)
    losses = json.loads(_sample_pair()[1][1])["sensitivity"]
    covered = set(next(iter(losses.values())))
    assert set(at.pills(key="formats").options) == covered and len(covered) == 16
    assert at.pills(key="formats").value == []
    shown = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")
    assert "No format chosen: using int2_g64/int3_g128/w4a8_g128/int4_g128/" in shown
    # the budget the upload came with (bops <= 0.5x) over all 16 formats, as the engine solves it
    names = [f.name for f in catalog_formats(sorted(covered))]
    solution = mc.solve(_problem(names), 0.5)
    assert app_metrics(at)["Effective bits"] == f"{solution.effective_bits():.2f} bits"


def test_formats_outside_the_catalog_are_named_and_left_out():
    from app_runs import upload

    flops, (name, content) = _sample_pair()
    data = json.loads(content)
    for row in data["sensitivity"].values():
        row["w4g128z"] = row["int4_g128"]
    at = run_app({"source": "upload"})
    upload(at, flops, (name, json.dumps(data).encode()))
    assert not at.exception
    assert "w4g128z" not in at.pills(key="formats").options
    shown = " ".join(e.value for e in at.error).replace("\\", "")
    assert shown == (
        "Formats not in mpq's catalog are left out: w4g128z (a formats file defines them: "
        "Constraints, files)."
    )
    # a formats file defines it: offered, chosen, solved as the engine solves it
    own = {"formats": {"w4g128z": {"weight": {"type": "int", "bits": 4, "group_size": 128,
                                              "scale_bits": 16, "zero_bits": 4}}}}  # fmt: skip
    open_sections(at, sections.CONSTRAINTS)
    at.file_uploader(key="upload_formats").upload("own.json", json.dumps(own).encode()).run()
    no_failure(at)
    assert "w4g128z" in at.pills(key="formats").options
    at.pills(key="formats").set_value(["w4g128z", "fp8", "bf16"]).run()
    no_failure(at)
    assert at.query_params["formats"] == "w4g128z,fp8,bf16"
    formats = mc.model.formats.pick(
        ["w4g128z", "fp8", "bf16"],
        mc.model.formats.CATALOG | mc.model.formats.parse_formats(own, "own.json"),
        "formats",
    )
    assert formats[0].weight.asymptotic_bits() == 4 + 20 / 128
    inputs = mc.load_inputs(mc.InputFile(*flops), mc.InputFile(name, json.dumps(data).encode()))
    solution = mc.solve(mc.build_problem(inputs, mc.Spec(formats=formats)), 0.5)
    assert app_metrics(at)["Effective bits"] == f"{solution.effective_bits():.2f} bits"


def test_a_broken_formats_file_is_named_and_not_used():
    at = open_sections(run_app(LINK), sections.CONSTRAINTS)
    bad = {"formats": {"w4": {"weight": {"type": "int", "bits": 4, "group_size": 0}}}}
    at.file_uploader(key="upload_formats").upload("bad.json", json.dumps(bad).encode()).run()
    assert not at.exception
    (error,) = at.error
    assert error.value.replace("\\", "").startswith("bad.json: field 'formats.w4.weight")
    assert error.value.replace("\\", "").endswith(". The formats file is not used.")
    assert at.pills(key="formats").value == list(FORMATS)  # the sample's formats stay


@pytest.mark.parametrize("target", ["compressed_tensors", "modelopt"])
def test_a_phase4_export_of_formats_holds_the_command_line_s_files(
    stored_files, run, workdir, monkeypatch, target
):
    """The format sample's allocation as a library's files: without tied fused layers both
    the app and ``main.py`` refuse it (q/k/v take different formats); tied, the ZIP the app
    offers holds what ``main.py --formats ... --tie_fused --export_format TARGET`` writes,
    byte for byte."""
    import io
    import zipfile

    at = run_app(LINK)
    at.selectbox(key="phase4_target").set_value(target).run()
    no_failure(at)
    (refused,) = [c.value for c in at.caption if "Not exported" in c.value]
    assert "fused layers take different formats" in refused.replace("\\", "")
    monkeypatch.chdir(REPO)
    argv = ("--optimize_mixed_precision", *SAMPLE.argv(), "--export_format", target)
    code, _, err = run(*argv, "--output_dir", str(workdir / "refused"))
    assert code == 2 and "fused layers take different formats" in err
    assert not (workdir / "refused" / "mixed_precision").exists() or not any(
        (workdir / "refused" / "mixed_precision").iterdir()
    )  # nothing written by a refused export

    open_sections(at, sections.CONSTRAINTS)
    at.sidebar.checkbox(key="tie_fused_box").check().run()
    no_failure(at)
    code, _, err = run(*argv, "--tie_fused", "--output_dir", str(workdir / "out"))
    assert code == 0, err
    folder = workdir / "out" / "mixed_precision"
    written = {p.name: p.read_bytes() for p in folder.iterdir()}
    (name,) = [n for n in stored_files if n.startswith(f"{target}_") and n.endswith(".zip")]
    with zipfile.ZipFile(io.BytesIO(stored_files[name])) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    assert files == written


def _limit_data(at) -> tuple[dict[str, bytes], bytes]:
    from mpq_app.ui import live

    elements = {el.key: el.proto.bytes for el in at.get("bidi_component")}
    return {k: elements[k] for k in live.LIMIT_VIEWS}, elements[f"live_state_{live.LIMIT}"]


def test_the_bpw_slider_is_live_every_step_solved_as_the_engine_solves_it():
    """One limit that is not the BOPs budget: the cards, the weight cards, the heatmap and the
    distribution follow its slider in the browser, one state per slider step."""
    from mpq_app.ui import live
    from mpq_core.charts.live import unpack_state

    at = run_app(LINK)
    no_failure(at)
    views, state = _limit_data(at)
    server = live.decode(state)
    assert (server["group"], server["slider"], server["value"]) == ("limit", "limit_slider_0", 5.0)
    assert server["override"] is None  # 5 is a step, solved as the sweep solved it
    slider = at.slider(key="limit_slider_0")
    low, high, step = slider.min, slider.max, slider.step
    weights = live.decode(views[live.WEIGHTS])
    grid = weights["grid"]
    assert grid[0] == low and grid[-1] == pytest.approx(high)
    assert all(b - a == pytest.approx(step) for a, b in itertools.pairwise(grid))
    assert 50 <= len(grid) <= 102 and len(weights["table"]["steps"]) == len(grid)
    problem = _problem()
    for index in (0, len(grid) // 3, len(grid) - 1):
        value = grid[index]
        solution = _solve(problem, f"bpw<={value!r}")
        cards = {c["label"]: c["value"] for c in unpack_state(weights["table"], index)["cards"]}
        if solution.feasible:
            assert cards["Effective bits"] == f"{solution.effective_bits():.2f} bits", value
        else:
            assert cards == {}, value
    # a slider step reruns the fragment: the views are not sent again, the state moves
    at.slider(key="limit_slider_0").set_value(grid[20]).run()
    no_failure(at)
    after, state = _limit_data(at)
    assert after == views and live.decode(state)["value"] == grid[20]
    assert at.query_params["limit"] == f"bpw<={grid[20]:g}"
    solution = _solve(problem, f"bpw<={grid[20]!r}")
    assert app_metrics(at)["Effective bits"] == f"{solution.effective_bits():.2f} bits"


def test_a_bpw_value_between_two_steps_sends_its_own_states():
    from mpq_app.ui import live

    at = run_app(LINK)
    at.text_input(key="limit_text_0").input("4.777").run()
    no_failure(at)
    _, state = _limit_data(at)
    server = live.decode(state)
    assert server["value"] == 4.777 and set(server["override"]) == set(live.LIMIT_VIEWS)
    solution = _solve(_problem(), "bpw<=4.777")
    assert app_metrics(at)["Effective bits"] == f"{solution.effective_bits():.2f} bits"
    assert solution.effective_bits() <= 4.777


def test_an_unreachable_bpw_step_shows_one_infeasible_card_and_no_budget_figures():
    """Regression: the cards of an infeasible bpw limit read "Budget inf GBOPs, m = nan.00",
    "Needed", "Shortfall": the BOPs budget's cards, with no BOPs budget."""
    at = run_app(LINK | {"formats": "int4_g128,fp8,bf16", "limit": "bpw<=4"})
    assert not at.exception
    metrics = app_metrics(at)
    assert metrics["Allocation"] == "Infeasible"
    assert not {"Budget", "Needed", "Shortfall"} & set(metrics)


def test_a_constraints_file_s_search_spaces_are_applied_and_downloaded(stored_files):
    """The command line's constraints file may hold search spaces: the app applies them with
    its limits, and its "Download constraints" writes them back."""
    data = {
        "limits": [{"resource": "bpw", "at_most": "6"}],
        "search_spaces": {"*.attention.self.*": ["nvfp4", "fp8"]},
    }
    at = open_sections(run_app(LINK), sections.CONSTRAINTS)
    upload = at.file_uploader(key="constraints_upload")
    upload.upload("c.json", json.dumps(data).encode()).run()
    no_failure(at)
    assert at.query_params["space"] == "*.attention.self.*:nvfp4|fp8"
    assert at.query_params["limit"] == "bpw<=6"
    spec = mc.Spec(
        formats=catalog_formats(FORMATS), search_spaces=(("*.attention.self.*", ("nvfp4", "fp8")),)
    )
    inputs = mc.load_inputs(*mc.sample_inputs("minilm_formats"))
    solution = _solve(mc.build_problem(inputs, spec), "bpw<=6")
    assert app_metrics(at)["Effective bits"] == f"{solution.effective_bits():.2f} bits"
    written = json.loads(stored_files["constraints.json"])
    assert written["search_spaces"] == data["search_spaces"]
    assert written["limits"] == data["limits"]


def test_a_constraints_file_with_a_bad_search_space_keeps_what_is_in_force():
    at = open_sections(run_app(LINK), sections.CONSTRAINTS)
    bad = {"limits": [{"resource": "bpw", "at_most": "6"}], "search_spaces": {"zz*": ["fp8"]}}
    at.file_uploader(key="constraints_upload").upload("c.json", json.dumps(bad).encode()).run()
    assert not at.exception
    (error,) = at.error
    assert error.value.replace("\\", "") == (
        "c.json: field 'search_spaces.zz*': matches no layer not matched before. The current "
        "constraints stay in force."
    )
    assert at.query_params["limit"] == "bpw<=5" and "space" not in at.query_params


def test_a_pair_of_formats_only_a_formats_file_defines_is_read_again_once_that_file_is_in():
    """Regression: the upload was checked against the formats file of the run before (read
    only where the picker is drawn) and its rejection was remembered whatever file came next:
    such a pair stayed refused after the formats file that defines its formats was uploaded."""
    from app_runs import upload

    flops, (name, content) = _sample_pair()
    data = json.loads(content)
    data["sensitivity"] = {
        layer: {"w4z": row["int4_g128"], "w8z": row["int8"]}
        for layer, row in data["sensitivity"].items()
    }
    at = run_app({"source": "upload"})
    upload(at, flops, (name, json.dumps(data).encode()))
    assert not at.exception
    assert at.error[0].value.replace("\\", "") == (
        "losses.json: gives losses for the formats w4z, w8z, of which fewer than two are in "
        "mpq's catalog or the formats file: upload a formats file that defines them "
        "(Constraints, files)"
    )
    own = {
        "formats": {
            "w4z": {"weight": {"type": "int", "bits": 4, "group_size": 128, "scale_bits": 16,
                               "zero_bits": 4}},
            "w8z": {"weight": {"type": "int", "bits": 8, "group_size": "channel",
                               "scale_bits": 16}},
        }
    }  # fmt: skip
    open_sections(at, sections.CONSTRAINTS)
    at.file_uploader(key="upload_formats").upload("own.json", json.dumps(own).encode()).run()
    no_failure(at)
    assert at.pills(key="formats").options == ["w4z", "w8z"]
    assert at.query_params["source"] == "upload"
