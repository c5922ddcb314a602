"""The app's pure helpers: escaping and shortening outside text, multipliers, link parsing."""

from __future__ import annotations

import string

import pytest

from mpq_app.ui.state import APP_MAX_LADDER, compare_default, parse_multiplier, parse_query
from mpq_app.ui.text import multiplier, plain, score, shorten


@pytest.mark.parametrize(
    "text",
    [
        "<img src=x onerror=alert(1)>",
        "**bold** _it_ `code` ~~s~~ $x^2$ :red[red] :material/warning: # h\n- item\n1. item",
        "a\\b & &amp; | table | [x][ref]",
    ],
)
def test_plain_escapes_every_markdown_character(text):
    escaped = plain(text)
    # every ASCII punctuation character is backslash-escaped (CommonMark reads it literally)
    i, kept = 0, []
    while i < len(escaped):
        if escaped[i] == "\\":
            assert escaped[i + 1] in string.punctuation
            kept.append(escaped[i + 1])
            i += 2
            continue
        assert escaped[i] not in string.punctuation, (escaped, i)
        kept.append(escaped[i])
        i += 1
    assert "".join(kept) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "'[Click](https://phish.example/login)' is not",
            "`'[Click](https://phish.example/login)'` is not",
        ),
        ("see www.x.example or a@b.example", "see `www.x.example` or `a@b.example`"),
        ("![x](http://127.0.0.1:9/t.png)", "`![x](http://127.0.0.1:9/t.png)`"),
        ("a``b://x", "```a``b://x```"),
        ("`http://x`", "`` `http://x` ``"),
    ],
)
def test_plain_puts_words_that_could_autolink_in_code_spans(text, shown):
    """GitHub-flavoured Markdown links bare URLs and e-mail addresses even when escaped."""
    assert plain(text) == shown


def test_shorten_cuts_long_names_in_the_middle_and_long_texts_at_the_end():
    name = "down_blocks." + "x" * 300_000 + ".conv1"
    cut = shorten(f"layer '{name}': no such layer")
    assert len(cut) < 200
    assert cut.startswith("layer 'down_blocks.xxx") and cut.endswith(": no such layer")
    assert "xxx.conv1 (300,018 characters)': no such layer" in cut
    assert shorten("short name") == "short name"
    words = " ".join(["word"] * 1000)
    assert shorten(words, total=100) == words[:100] + "… (4,899 more characters)"


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0.00"), (0.5, "0.50"), (0.537, "0.537"), (0.1234567, "0.123457"), (1.0, "1.00")],
)
def test_multiplier_shows_what_is_kept(value, text):
    assert multiplier(value) == text
    assert parse_multiplier(text) == pytest.approx(round(value, 6))


def test_score_has_six_significant_digits():
    assert score(108.41234) == "108.412"
    assert score(float("nan")) == "n/a"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the exact multiplier is empty"),
        ("  ", "the exact multiplier is empty"),
        ("0,5", "'0,5' is not a number"),
        ("1.5", "1.5 is outside 0 to 1"),
        ("inf", "inf is outside 0 to 1"),
    ],
)
def test_parse_multiplier_refuses_what_is_no_multiplier(text, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        parse_multiplier(text)


@pytest.mark.parametrize(
    ("ladder", "read"),
    [
        ("16,4,8", {"ladder": [4, 8, 16]}),
        (" 2, 4 ,8", {"ladder": [2, 4, 8]}),
        ("1,2,3,4,5,6,7,8", {"ladder": [1, 2, 3, 4, 5, 6, 7, 8]}),
    ],
)
def test_a_link_ladder_is_read_sorted_without_repeats(ladder, read):
    assert parse_query({"ladder": [ladder]}) == (read, [])


@pytest.mark.parametrize(
    ("ladder", "note"),
    [
        ("1,2,3,4,5,6,7,8,9", f"ladder: the app takes at most {APP_MAX_LADDER} widths, got 9"),
        (
            ",".join(str(w) for w in range(1, 65)),
            "ladder: expected at most 12 whole numbers from 1 to 64, got "
            "'1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22...",
        ),
        ("4," + "9" * 5000, "ladder: longer than 2000 characters"),
        ("4,65", "ladder: widths must be whole numbers from 1 to 64, got 65"),
        ("4,x", "ladder: expected at most 12 whole numbers from 1 to 64, got '4,x'"),
        ("16,4,8,4", "ladder: repeated width in [16, 4, 8, 4]"),
    ],
)
def test_a_link_ladder_the_app_cannot_take_is_a_note(ladder, note):
    assert parse_query({"ladder": [ladder], "solver": ["exact"]}) == ({"solver": "exact"}, [note])


def test_parse_query_notes_what_it_ignores():
    values, notes = parse_query(
        {
            "budget": ["0.42"],
            "compare": ["0.3,0.5"],
            "pin16": ["conv_in"],
            "pin99999": ["conv_in"],
            "ladder": ["1,2,3,4,5,6,7,8,9,10"],
            "discount": ["lots"],
            "rule": ["plus5"],
            "nope": ["1"],
        }
    )
    assert values == {"budget": 0.42, "compare": [0.3, 0.5], "pin_16": ["conv_in"]}
    assert notes == [
        "pin99999: the width must be from 1 to 64",
        "ladder: the app takes at most 8 widths, got 10",
        "discount: must be a number from 0 to 1, got 'lots'",
        "rule: 'plus5' is not one of plus4, match",
        "unknown parameter 'nope'",
    ]


def test_parse_query_reads_each_setting_as_the_engine_does():
    values, notes = parse_query(
        {
            "budget": ["0.1234567"],
            "solver": ["exact"],
            "rule": ["match"],
            "discount": ["0.35"],
            "sense": ["score"],
            "pin8": ["conv_in", "conv_out"],
            "source": ["minilm"],
            "prefix": ["model."],
        }
    )
    assert notes == []
    assert values == {
        "budget": 0.123457,
        "solver": "exact",
        "abit_rule": "match",
        "discount": 0.35,
        "sense": "score",
        "pin_8": ["conv_in", "conv_out"],
        "source": "minilm",
        "name_prefix": "model.",
    }


@pytest.mark.parametrize(
    ("current", "chosen"),
    [
        (0.5, [0.3, 0.5, 0.7]),
        (0.9, [0.5, 0.7, 0.9]),
        (0.1, [0.1, 0.3, 0.5]),
        (0.537, [0.34, 0.537, 0.74]),
    ],
)
def test_compared_budgets_start_from_the_current_one(current, chosen):
    assert compare_default(current) == pytest.approx(chosen)
