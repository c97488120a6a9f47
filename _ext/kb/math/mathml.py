"""KaTeX's two renderings of a formula, and which one each kind of reader gets.

KaTeX writes every formula twice: as MathML (``span.katex-mathml``, which its CSS hides from
sight but leaves to screen readers) and as positioned spans (``span.katex-html``, hidden from
screen readers), which only KaTeX's CSS and fonts make legible. The build stores both; then

* a page shows the spans alone (:func:`page_formula`), named by the formula's TeX source for
  assistive technology: the MathML copy is a fifth of a formula-heavy article's elements, and
  laying them out is what made such a page slow on a phone (issue 21);
* a feed carries the MathML alone (:func:`mathml_only`): a feed reader has no KaTeX CSS, and
  every browser engine renders MathML Core itself.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_KATEX = '<span class="katex">'
_KATEX_HTML = '<span class="katex-html" aria-hidden="true">'
_KATEX_MATHML = '<span class="katex-mathml">'
_SPAN_TAG = re.compile(r"<span\b|</span>")

# True while a feed entry is rendered: the formula visitors then write both renderings, and
# the feed keeps the MathML (kb.blog.feeds).
_FOR_FEED: ContextVar[bool] = ContextVar("kb_math_for_feed", default=False)


@contextmanager
def rendering_for_feed() -> Iterator[None]:
    """Formulas written inside this block keep KaTeX's MathML (for :func:`mathml_only`)."""
    token = _FOR_FEED.set(True)
    try:
        yield
    finally:
        _FOR_FEED.reset(token)


def _replace_spans(text: str, opener: str, replace: Callable[[str], str]) -> str:
    """``text`` with each ``<span>`` element that starts with ``opener`` replaced."""
    parts: list[str] = []
    position = 0
    while (start := text.find(opener, position)) != -1:
        parts.append(text[position:start])
        depth = 0
        for tag in _SPAN_TAG.finditer(text, start):
            depth += -1 if tag.group() == "</span>" else 1
            if depth == 0:
                position = tag.end()
                break
        else:
            raise ValueError(f"unclosed {opener} at offset {start}")
        parts.append(replace(text[start:position]))
    parts.append(text[position:])
    return "".join(parts)


def mathml_only(page_html: str) -> str:
    """``page_html`` with each formula as KaTeX's MathML alone, without its HTML rendering
    (the MathML keeps the TeX source as its annotation)."""
    return _replace_spans(page_html, _KATEX_HTML, lambda _span: "")


def page_formula(katex_output: str, tex: str) -> str:
    """One formula as a page shows it: KaTeX's HTML rendering without its MathML copy.

    The ``span.katex`` becomes ``role="math"`` named by the TeX source (``aria-label``): screen
    readers announce the formula as math and read its source, as they would read it in a paper's
    LaTeX; the positioned spans inside stay hidden from them. Output that is not a formula (a
    ``katex-error`` span) is returned as it is. In a feed entry (:func:`rendering_for_feed`) both
    renderings are kept.
    """
    if _FOR_FEED.get() or _KATEX not in katex_output:
        return katex_output
    label = html.escape(" ".join(tex.split()), quote=True)
    without_mathml = _replace_spans(katex_output, _KATEX_MATHML, lambda _span: "")
    return without_mathml.replace(_KATEX, f'<span class="katex" role="math" aria-label="{label}">', 1)
