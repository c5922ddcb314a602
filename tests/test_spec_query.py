"""A Spec's link: Spec.to_query is the one writer, Spec.from_query the one reader, and reading
what was written gives the Spec back (drawn Specs); the app's links are ones to_query wrote."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from app_runs import run_app
from hypothesis import given, settings
from hypothesis import strategies as st

from mpq_core.model.constraints import Constraints, Form, Group, Limit
from mpq_core.model.spec import ABIT_RULES, SENSES, SOLVER_NAMES, Spec
from mpq_core.model.spec_url import SPEC_PARAMETERS, is_pin_parameter

NAMES = st.text("abcdefghij_.-0123456789", min_size=1, max_size=12).filter(
    lambda s: s[0].isalpha() or s[0] == "_"
)
LAYERS = st.text("abcdefxyz_.0123456789/*", min_size=1, max_size=16).filter(
    lambda s: s == s.strip()
)
WIDTHS = st.integers(1, 64)
NUMBERS = st.one_of(
    st.fractions(0, 1000, max_denominator=10**6),
    st.floats(0, 1e300, allow_nan=False, allow_infinity=False),
    st.integers(0, 10**30),
)
UNIT = st.floats(0, 1, allow_nan=False)  # what a link's budget and discount take


@st.composite
def limits(draw) -> Limit:
    return Limit(
        draw(st.sampled_from(["bops", "wbits", "mean_wbits", "latency_ms"])),
        group=draw(st.none() | NAMES),
        number=draw(NUMBERS),
        form=draw(st.sampled_from(list(Form))),
    )


@st.composite
def specs(draw) -> Spec:
    """Specs a link can hold: a budget and discount from 0 to 1, the default time limit,
    patterns without '|' and tied layers without ','."""
    written = draw(st.lists(limits(), max_size=5))
    if draw(st.booleans()):
        written.insert(0, Limit("bops", number=draw(UNIT), form=Form.TOP))
    groups = draw(st.lists(NAMES, max_size=3, unique=True))
    pins = draw(st.dictionaries(LAYERS, st.sets(WIDTHS, min_size=1, max_size=3), max_size=5))
    return Spec(
        ladder=draw(st.none() | st.sets(WIDTHS, min_size=1, max_size=12).map(tuple)),
        abit_rule=draw(st.sampled_from(ABIT_RULES)),
        upgrade_discount=draw(UNIT),
        pins=tuple((layer, tuple(widths)) for layer, widths in pins.items()),
        sense=draw(st.none() | st.sampled_from(SENSES)),
        constraints=Constraints(
            groups=tuple(
                Group(name, tuple(draw(st.lists(LAYERS, min_size=1, max_size=3))))
                for name in groups
            ),
            ties=tuple(
                tuple(t)
                for t in draw(st.lists(st.lists(LAYERS, min_size=2, max_size=3), max_size=2))
            ),
            limits=tuple(written),
        ),
        solver=draw(st.sampled_from(SOLVER_NAMES)),
    )


def _pins_as_read(spec: Spec) -> Spec:
    """The spec with its pins in the order a link lists them (by width parameter, then by
    layer within one): the link keeps each layer's widths, not the order of the pins."""
    query = spec.to_query()
    order = [layer for name, layers in query.items() if is_pin_parameter(name) for layer in layers]
    first = {layer: order.index(layer) for layer in order}
    return replace(spec, pins=tuple(sorted(spec.pins, key=lambda pin: first[pin.layer])))


@settings(max_examples=300, deadline=None)
@given(specs(), st.booleans())
def test_reading_what_to_query_wrote_gives_the_spec_back(spec, full):
    again, notes = Spec.from_query(spec.to_query(full=full))
    assert notes == []
    assert again == _pins_as_read(spec)


@settings(max_examples=200, deadline=None)
@given(limits())
def test_a_limit_is_a_number_and_a_form_and_reads_back_from_its_text(limit):
    assert Limit(limit.resource, limit.text, limit.group) == limit
    assert limit.text.endswith(limit.form.suffix)
    assert Fraction(limit.text.removesuffix(limit.form.suffix)) == limit.number


def test_limit_text_is_as_before():
    assert Limit("bops", "0.5x").text == "0.5x"
    assert Limit("bops", "0.50x") == Limit("bops", number=Fraction(1, 2), form=Form.TOP)
    assert Limit("mean_wbits", "4.08").text == "4.08"
    assert Limit("mean_wbits", 3.363527239150508).text == "3.363527239150508"
    assert Limit("t", "0.25r").form is Form.RANGE and Limit("t", "4").form == "abs"
    assert Limit.budget(0.3) == Limit("bops", "0.3x") and Limit.budget(0.3).is_budget


def _written(at) -> dict[str, list[str]]:
    """The app's query (AppTest keeps one value as a string, several as a list)."""
    return {k: list(v) if isinstance(v, list) else [v] for k, v in at.query_params.items()}


def _spec_part(query: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: v for k, v in query.items() if k in SPEC_PARAMETERS or is_pin_parameter(k)}


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"budget": "0.37", "solver": "exact", "rule": "match", "discount": "0.35"},
        {"limit": ["mean_wbits<=6", "bops<=0.4x"], "group": "late:up_blocks.*"},
        {"budget": "0.3", "limit": "mean_wbits@late<=6.5", "group": "late:up_blocks.*"},
        {"source": "hawq_v3_resnet18"},
    ],
)
def test_the_apps_link_is_one_to_query_wrote(query):
    at = run_app(query)
    assert not at.exception
    written = _written(at)
    spec, notes = Spec.from_query(written)
    assert notes == []
    assert spec.to_query(full=True) == _spec_part(written)


def test_the_apps_link_after_moving_the_slider_is_one_to_query_wrote():
    at = run_app({"limit": ["bops<=0.5x", "mean_wbits<=7"]})
    at.slider(key="budget").set_value(0.62).run()
    written = _written(at)
    assert written["budget"] == ["0.62"]
    spec, notes = Spec.from_query(written)
    assert notes == [] and spec.to_query(full=True) == _spec_part(written)
