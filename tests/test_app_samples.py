"""Every bundled sample opens from the data selector with its own settings and shows what the
README promises: the published allocations of HAWQ-V3 and MixDQ layer by layer (as in
tests/test_published.py, from the downloaded ``layer: wbit`` mapping), the engine's for the
others. Also: links keep the sample, and MixDQ's layout can be uploaded with the ladder set.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from app_runs import MAIN, no_failure, open_sections, run_app
from streamlit.testing.v1 import AppTest
from support import REPO

import mpq_core as mc
from mpq_app.ui import sections

SAMPLES = REPO / "sample_data"
MIXDQ = SAMPLES / "mixdq_sdxl_turbo"
HAWQ = {"hawq_resnet18": "hawq_v3_resnet18", "hawq_resnet50": "hawq_v3_resnet50"}
PAGES = ["app_pages/1_Compare_budgets.py", "app_pages/2_Layers.py", "app_pages/3_Greedy_vs_optimal.py",
         "app_pages/4_Data.py", "app_pages/5_Validate.py", MAIN]  # fmt: skip


def _app(query: dict | None = None) -> AppTest:
    return run_app(query, timeout=180)


_ok = no_failure


def _shown(text: str) -> str:
    """A message as the reader sees it (Markdown escapes removed)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def _downloaded(stored: dict[str, bytes], prefix: str) -> bytes:
    (name,) = [n for n in stored if n.startswith(prefix)]
    return stored[name]


def _mapping(stored: dict[str, bytes]) -> dict[str, int]:
    """The allocation the page offers for download as the ``layer: wbit`` mapping."""
    return yaml.safe_load(_downloaded(stored, "wbits_"))


def _published(path) -> dict[str, int]:
    return yaml.safe_load(path.read_text())


def _assert_same(mapping: dict[str, int], want: dict[str, int]) -> None:
    assert list(mapping) == list(want)  # the same layers, in the same order
    assert {n: w for n, w in mapping.items() if w != want[n]} == {}


def test_every_bundled_sample_is_one_choice_of_the_selector():
    at = _app()
    _ok(at)
    assert at.radio(key="source").options == [
        *(sample.label for sample in mc.SAMPLES.values()),
        "Upload a Phase 1 and a Phase 2 file",
    ]
    folders = {p.name for p in SAMPLES.iterdir() if p.is_dir()}
    used = {sample.flops.split("/")[1] for sample in mc.SAMPLES.values() if not sample.generated}
    # every folder of sample_data/ has its entry in the selector
    assert used == folders


@pytest.mark.parametrize("key", list(HAWQ))
def test_a_hawq_sample_opens_at_its_published_latency_allocation(stored_files, key):
    """The README's command: losses at 4/8 bits, A = W, the T4 latency table, the ties, the
    exact solver, t4_latency <= 0.5r."""
    at = open_sections(_app(), sections.LIMITS)
    stored_files.clear()
    at.radio(key="source").set_value(key).run()
    _ok(at)
    assert at.pills(key="ladder").value == [4, 8]
    assert at.radio(key="abit_rule").value == "match"
    assert at.radio(key="solver").value == "exact"
    assert at.sidebar.dataframe[0].value.values.tolist() == [["t4_latency", "0.5r"]]
    folder = SAMPLES / HAWQ[key]
    want = _published(folder / "published_latency_0.5.yaml")
    _assert_same(_mapping(stored_files), want)
    config = json.loads(_downloaded(stored_files, "quantization_config_"))
    assert config["metadata"]["status"] == "optimal"
    ties = json.loads((folder / "constraints.json").read_text())["ties"]
    assert all(want[a] == want[b] for a, b in ties)

    for r in ("0.25", "0.75"):  # the other published latency limits, typed into the exact box
        stored_files.clear()
        at.text_input(key="limit_text_0").set_value(r).run()
        _ok(at)
        _assert_same(_mapping(stored_files), _published(folder / f"published_latency_{r}.yaml"))


def test_every_page_renders_with_a_sample_whose_limit_is_not_the_budget():
    """Regression (seen with the HAWQ-V3 samples, whose limit is t4_latency <= 0.5r): the
    Compare page named its table's width columns by budget multiplier, "nan.00" three times,
    and stopped on an unexpected error."""
    at = _app()
    at.radio(key="source").set_value("hawq_resnet18").run()
    for page in PAGES:
        at.switch_page(page).run()
        _ok(at)
    at.switch_page("app_pages/1_Compare_budgets.py").run()
    (table,) = at.main.dataframe
    assert list(table.value.columns)[1:4] == [
        "t4_latency <= 0.45r",
        "t4_latency <= 0.5r",
        "t4_latency <= 0.55r",
    ]


def test_the_mixdq_sample_opens_at_w4_08_and_its_w5_02_file_gives_w5_02(stored_files):
    at = open_sections(_app(), sections.PINS, sections.CONSTRAINTS)
    stored_files.clear()
    at.radio(key="source").set_value("mixdq_sdxl_turbo").run()
    _ok(at)
    assert at.pills(key="ladder").value == [2, 4, 8]
    assert at.radio(key="solver").value == "exact"
    pins = json.loads((MIXDQ / "pins_quality_4_8.json").read_text())
    assert at.multiselect(key="pin_4").value == at.multiselect(key="pin_8").value == list(pins)
    assert at.multiselect(key="pin_2").value == []
    mapping = _mapping(stored_files)  # names with MixDQ's "model." prefix, as published
    _assert_same(mapping, _published(MIXDQ / "published_weight_4.08.yaml"))
    config = json.loads(_downloaded(stored_files, "quantization_config_"))
    assert config["metadata"]["status"] == "optimal"
    assert {f"model.{n}": w for n, w in config["bit_allocation"].items()} == mapping

    stored_files.clear()
    other = MIXDQ / "constraints_w5.02.json"
    at.file_uploader(key="constraints_upload").upload(other.name, other.read_bytes()).run()
    _ok(at)
    _assert_same(_mapping(stored_files), _published(MIXDQ / "published_weight_5.02.yaml"))


def test_a_plain_sample_chosen_after_a_published_one_opens_with_the_defaults(stored_files):
    at = _app()
    at.radio(key="source").set_value("hawq_resnet18").run()
    for key in ("sd14", "minilm"):
        stored_files.clear()
        at.radio(key="source").set_value(key).run()
        _ok(at)
        assert dict(at.query_params) == {
            "source": key,
            "budget": "0.5",
            "solver": "greedy",
            "rule": "plus4",
            "discount": "0.2",
            "ladder": "4,8,16",
        }
        solution = mc.solve(mc.load_problem(*mc.sample_inputs(key)), 0.5)
        expected = mc.config_json(mc.export_config(solution)).encode()
        assert stored_files[mc.config_filename(solution)] == expected  # the CLI's config


def test_a_sample_survives_in_the_link_and_a_short_link_opens_its_settings(stored_files):
    at = open_sections(_app(), sections.PINS)
    stored_files.clear()
    at.radio(key="source").set_value("mixdq_sdxl_turbo").run()
    params = {k: v if isinstance(v, list) else [v] for k, v in at.query_params.items()}
    assert params["source"] == ["mixdq_sdxl_turbo"]
    assert params["pins"] == ["sample"]  # not the 374 pinned names, twice
    assert not any(k.startswith("pin") and k != "pins" for k in params)
    mapping = _mapping(stored_files)

    stored_files.clear()
    again = open_sections(_app(params), sections.PINS)  # the link, in a new session
    _ok(again)
    assert _mapping(stored_files) == mapping
    assert again.multiselect(key="pin_4").value == at.multiselect(key="pin_4").value

    stored_files.clear()
    short = _app({"source": "hawq_resnet50"})  # the sample's own settings, not the defaults
    _ok(short)
    folder = SAMPLES / "hawq_v3_resnet50"
    _assert_same(_mapping(stored_files), _published(folder / "published_latency_0.5.yaml"))


def test_a_full_link_of_a_sample_is_not_overridden_by_the_sample_s_settings():
    """A link the app wrote for HAWQ-V3 after the user dropped the ties and went back to the
    budget: reopening it shows that setup, not the sample's."""
    query = {"source": "hawq_resnet18", "budget": "0.4", "ladder": "4,8", "rule": "match"}
    at = open_sections(_app(query), sections.LIMITS)
    _ok(at)
    assert at.slider(key="budget").value == 0.4
    assert "tie" not in at.query_params and at.radio(key="solver").value == "greedy"
    assert at.sidebar.dataframe[0].value.values.tolist() == [["bops", "0.4x"]]


def _refusal(flops, sens, **reading) -> str:
    with pytest.raises(mc.InputError) as err:
        mc.load_inputs(mc.InputFile(*flops), mc.InputFile(*sens), **reading)
    return str(err.value)


def test_a_mixdq_upload_is_read_with_the_ladder_chosen_when_it_was_uploaded():
    """Regression: the upload check read the file without the ladder, and the rejection was
    remembered per file hash, so even with the ladder set to 2/4/8 first the pair was refused
    ("gives a list of values per layer: name their widths with the ladder"). A refusal is now
    remembered with what the reading depends on: the ladder and the name prefix too."""
    flops = ("flops.json", (MIXDQ / "flops.json").read_bytes())
    sens = ("sensitivity.yaml", (MIXDQ / "sensitivity.yaml").read_bytes())
    at = _app()
    at.pills(key="ladder").set_value([4, 8]).run()
    at.radio(key="source").set_value("upload").run()
    at.file_uploader(key="upload_flops").upload(*flops).run()
    at.file_uploader(key="upload_sensitivity").upload(*sens).run()
    refused = _refusal(flops, sens, ladder=(4, 8))
    assert "has 3 value(s) but the ladder 4/8 has 2 widths" in refused
    assert [_shown(e.value) for e in at.error] == [refused]

    at.pills(key="ladder").set_value([2, 4, 8]).run()  # read again, with 2/4/8
    refused = _refusal(flops, sens, ladder=(2, 4, 8))
    assert "are missing here" in refused  # MixDQ's names carry "model."
    assert [_shown(e.value) for e in at.error] == [refused]

    at.text_input(key="name_prefix").set_value("model.").run()  # read again, without it
    _ok(at)
    assert at.session_state["_upload_good"].files.ladder == (2, 4, 8)
    assert at.pills(key="ladder").value == [2, 4, 8]
    at.switch_page("app_pages/4_Data.py").run()
    _ok(at)
    cards = {m.label: m.value for m in at.metric}
    assert cards["Layers used"] == "794"
    text = " ".join(m.value for m in at.markdown)
    assert "widths in the file: 2/4/8" in _shown(text)


@pytest.mark.parametrize("key", ["hawq_resnet18", "mixdq_sdxl_turbo"])
def test_a_sample_s_settings_are_its_command_line_flags(run, key):
    """``Sample.argv()`` (the README's command for the sample), run by the command line, gives
    the allocation the dashboard opens the sample with."""
    argv = [str(REPO / a) if a.startswith("sample_data/") else a for a in mc.SAMPLES[key].argv()]
    code, out, err = run("--optimize_mixed_precision", *argv, "--json", "--no_save")
    assert code == 0, err
    allocation = json.loads(out)["bit_allocation"]
    if key == "hawq_resnet18":
        want = _published(SAMPLES / "hawq_v3_resnet18" / "published_latency_0.5.yaml")
    else:
        published = _published(MIXDQ / "published_weight_4.08.yaml")
        want = {n.removeprefix("model."): w for n, w in published.items()}
    assert allocation == want
