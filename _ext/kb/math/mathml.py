"""Formulas for readers without KaTeX's CSS (feeds): KaTeX's MathML alone."""

from __future__ import annotations

import re

_KATEX_HTML = '<span class="katex-html" aria-hidden="true">'
_SPAN_TAG = re.compile(r"<span\b|</span>")


def mathml_only(page_html: str) -> str:
    """``page_html`` with each formula as KaTeX's MathML alone, without its HTML rendering.

    KaTeX writes every formula twice: as MathML (``span.katex-mathml``, which its CSS hides from
    sight but leaves to screen readers) and as positioned spans (``span.katex-html``), which only
    KaTeX's CSS and fonts make legible. A feed reader has neither: it would show each formula
    twice, the second time as a jumble of letters. Every browser engine renders MathML Core, so
    the MathML alone is the formula there; it also keeps the TeX source as its annotation.
    """
    parts: list[str] = []
    position = 0
    while (start := page_html.find(_KATEX_HTML, position)) != -1:
        parts.append(page_html[position:start])
        depth = 0
        for tag in _SPAN_TAG.finditer(page_html, start):
            depth += -1 if tag.group() == "</span>" else 1
            if depth == 0:
                position = tag.end()
                break
        else:
            raise ValueError(f"unclosed KaTeX HTML at offset {start}")
    parts.append(page_html[position:])
    return "".join(parts)
