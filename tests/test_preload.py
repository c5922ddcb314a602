"""Which of Streamlit's element modules a page preloads for the other pages."""

from __future__ import annotations

from mpq_app.ui.preload import ELEMENTS, module_names


def test_each_element_module_is_found_by_its_name(tmp_path):
    for name in ("PlotlyChart.D9Z0_fxz.js", "Metric.a.js", "Metric.b.js", "PlotlyChartX.c.js",
                 "Checkbox.css", "index.DormvYxC.js"):  # fmt: skip
        (tmp_path / name).write_text("")
    # two candidates for Metric: neither; no Checkbox module (a .css is not one): none
    assert module_names(tmp_path) == ("PlotlyChart.D9Z0_fxz.js",)


def test_the_installed_streamlit_has_every_module():
    names = module_names()
    assert [name.split(".")[0] for name in names] == list(ELEMENTS)
