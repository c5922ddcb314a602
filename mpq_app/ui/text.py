"""Text from outside (links, file contents, file and layer names) made safe to show.

Streamlit reads the body of ``st.markdown``, ``st.caption``, the alert boxes, button labels
and tooltips as Markdown: ``[Click](https://...)`` becomes a live link and ``![x](http://...)``
an image every visitor's browser fetches. ``plain`` escapes such text so it reads literally,
``shorten`` keeps a 300 KB layer name from filling the page. Two kinds of number that
``mpq_core.report.display`` has no formatter for are written here: multipliers, with the precision
that is kept (``multiplier``), and sensitivity scores (``score``).
"""

from __future__ import annotations

import math
import re
import string

from mpq_core.errors import shorten as shorten_name

WORD_LIMIT = 80  # characters of one unbroken run (a layer or file name) that are shown
TEXT_LIMIT = 1200  # characters of a whole message
_ELLIPSIS = "…"
# CommonMark lets a backslash escape any ASCII punctuation character, and only those
_ESCAPE = str.maketrans({c: "\\" + c for c in string.punctuation})
_WORDS = re.compile(r"(\s+)")
_LINKABLE = re.compile(r"://|www\.|@|mailto:|xmpp:", re.IGNORECASE)
MULTIPLIER_DECIMALS = 6  # what the app keeps of a typed multiplier


def shorten(text: object, *, word: int = WORD_LIMIT, total: int = TEXT_LIMIT) -> str:
    """``text`` with every unbroken run (a name: no space, no quote) longer than ``word``
    characters cut in its middle (``start…end (N characters)``), and the whole cut to
    ``total`` characters."""

    def cut(match: re.Match[str]) -> str:
        return shorten_name(match.group(0), word)

    out = re.sub(rf"[^\s'\"]{{{word + 1},}}", cut, str(text))  # quotes end a name
    if len(out) > total:
        out = f"{out[:total]}{_ELLIPSIS} ({len(out) - total:,} more characters)"
    return out


def plain(text: object, *, word: int = WORD_LIMIT, total: int = TEXT_LIMIT) -> str:
    """``text`` shortened and escaped, so that a Markdown element shows it character for
    character: no link, image, emphasis, heading, list, HTML, LaTeX or colour directive.

    Escaping alone does not stop the autolinks of GitHub-flavoured Markdown: they are found
    in the text after the escapes are read. A word that could become one (it holds ``://``,
    ``www.`` or ``@``) is shown as inline code instead, which is never linked.
    """
    out = []
    for part in _WORDS.split(shorten(text, word=word, total=total)):
        out.append(_code(part) if _LINKABLE.search(part) else part.translate(_ESCAPE))
    return "".join(out)


def _code(word: str) -> str:
    """``word`` as an inline code span: a fence longer than any backtick run inside it."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", word)), default=0) + 1)
    pad = " " if word.startswith("`") or word.endswith("`") else ""
    return f"{fence}{pad}{word}{pad}{fence}"


def multiplier(value: float) -> str:
    """A budget multiplier with the precision the app keeps: at least two decimals, at most
    six, no trailing zeros beyond two (``0.50``, ``0.537``, ``0.123457``)."""
    text = f"{value:.{MULTIPLIER_DECIMALS}f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def score(value: float) -> str:
    """A sensitivity score or objective, six significant digits: ``108.412``."""
    return "n/a" if math.isnan(value) else f"{value:,.6g}"


def option_noun(formats: object) -> str:
    """What one of a layer's options is called: ``width``, or ``format`` when the problem's
    options are formats (``formats`` not None)."""
    return "width" if formats is None else "format"
