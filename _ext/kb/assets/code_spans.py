"""Highlighted code without the spans that change nothing.

Pygments wraps every token of a code block in a ``<span class="…">``: each name, each bracket,
each comma and each run of spaces. In the theme's two highlighting styles (light and dark) most of
those classes are drawn exactly like the code's plain text: names (``n``), punctuation (``p``),
whitespace (``w``) and a few more have the text's colour and nothing else. They make about two
thirds of a code block's elements (edm-design-space: 4,100 of 6,618), and every element is parsed,
styled and laid out on a reader's phone (issue 21: Lighthouse counts the layout of a long page).

So the HTML builder's formatter writes the tokens of those types as plain text: Pygments' own
formatter, given ``Token.Text`` for them, writes no span and runs consecutive plain tokens
together. Which types are plain is computed from the two styles the theme writes
``pygments.css`` from (its options ``pygments_light_style`` and ``pygments_dark_style``, read as
the theme reads them): a type is plain only when both styles give it exactly the style of
``Token.Text``, the colour the code block itself has. A style that colours names keeps their
spans. Only exact standard types are written plain; their subtypes (``Name.Builtin`` …) keep
their classes. The text of the code, what copy-button copies and what search indexes (from the
doctree) are unchanged; the stylesheet trim then drops the rules no page uses any more.
"""

from __future__ import annotations

import logging as stdlib_logging
from collections.abc import Iterable, Iterator
from typing import Any

from pygments.formatters import HtmlFormatter
from pygments.style import StyleMeta
from pygments.styles import get_style_by_name
from pygments.token import STANDARD_TYPES, Text, _TokenType
from pygments.util import ClassNotFound
from sphinx.application import Sphinx
from sphinx.builders.html import StandaloneHTMLBuilder
from sphinx.util import logging

logger = logging.getLogger(__name__)

# The theme options pydata-sphinx-theme writes pygments.css from (tests/test_upstream_contracts.py).
STYLE_OPTIONS = ("pygments_light_style", "pygments_dark_style")


def plain_token_types(styles: Iterable[StyleMeta]) -> frozenset[_TokenType]:
    """The standard token types (with a class of their own) that every style draws exactly as
    plain text."""
    styles = list(styles)
    text = [style.style_for_token(Text) for style in styles]
    return frozenset(
        ttype
        for ttype, css_class in STANDARD_TYPES.items()
        if css_class and all(style.style_for_token(ttype) == plain for style, plain in zip(styles, text))
    )


class PlainRunsHtmlFormatter(HtmlFormatter):
    """Pygments' HTML formatter, writing the tokens of ``plain_types`` as plain text."""

    plain_types: frozenset[_TokenType] = frozenset()

    def format_unencoded(self, tokensource: Iterable[tuple[_TokenType, str]], outfile: Any) -> None:
        super().format_unencoded(self._plain(tokensource), outfile)

    def _plain(self, tokensource: Iterable[tuple[_TokenType, str]]) -> Iterator[tuple[_TokenType, str]]:
        plain = self.plain_types
        for ttype, value in tokensource:
            yield (Text if ttype in plain else ttype), value


def theme_styles(app: Sphinx) -> list[StyleMeta] | None:
    """The light and dark Pygments styles the theme writes ``pygments.css`` from, looked up as
    the theme looks them up (``html_theme_options``, else the theme's own default); None if one
    is not a Pygments style (the theme then falls back to another, and every span is kept)."""
    assert isinstance(app.builder, StandaloneHTMLBuilder)
    options = {**app.builder.theme.get_options(), **app.builder.theme_options}
    missing = [name for name in STYLE_OPTIONS if name not in options]
    if missing:
        raise RuntimeError(
            f"kb.assets.code_spans: the theme has no option {missing}: which styles does it use?"
        )
    try:
        return [load_style(options[name]) for name in STYLE_OPTIONS]
    except ClassNotFound:
        return None


def load_style(name: str) -> StyleMeta:
    """The Pygments style ``name``, its package's import leaving Python's logging as it was:
    ``a11y_pygments`` (the theme's styles) calls ``logging.basicConfig(level=INFO)`` when
    imported, which printed every library's INFO messages (fontTools' subsetting, …) into the
    build's output from then on."""
    root = stdlib_logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return get_style_by_name(name)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def write_plain_runs(app: Sphinx) -> None:
    """The HTML builder's highlighter writes the plain token types without spans."""
    if not isinstance(app.builder, StandaloneHTMLBuilder):
        return
    styles = theme_styles(app)
    plain = plain_token_types(styles) if styles else frozenset()
    app.builder.highlighter.formatter = type(
        "PlainRunsHtmlFormatter", (PlainRunsHtmlFormatter,), {"plain_types": plain}
    )
    logger.debug("[kb] code written without spans for %s", sorted(STANDARD_TYPES[t] for t in plain))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", write_plain_runs)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
