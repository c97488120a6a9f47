"""KaTeX's fonts cut to the characters the site's formulas show.

The characters are collected per document while reading (``env.kb_math_chars``), so an
incremental build still knows every page's. A post with ordinary formulas loads four or five
KaTeX fonts, 90 KB in full and about a third of that as subsets. Only the ``woff2`` files are
cut; every browser that runs KaTeX's CSS picks them over the ``woff`` and ``ttf`` fallbacks.

Subsetting takes 1-2 s on a clean build (brotli, about twenty fonts). With ``-j`` it runs in a
forked process from the start of ``build-finished`` (:func:`start_math_fonts`) while the main
process trims the stylesheets; :func:`subset_math_fonts` waits for it.
"""

from __future__ import annotations

import html
import re
import shutil
from functools import partial
from pathlib import Path

from sphinx.application import Sphinx

from .. import background
from ..assets.font_subset import cached_subset
from .renderer import katex_module

STATIC_SUBDIR = "katex"
FONT_CACHE_DIR = "katex-fonts"
BACKGROUND = "math fonts"  # the forked subsetting (kb.background)
KEPT_BESIDE_DOCTREES = (FONT_CACHE_DIR + "/",)


_TAG = re.compile(r"<[^>]*>")


def shown_characters(katex_html: str) -> set[str]:
    """The characters KaTeX's fonts draw in one rendered formula: the text of its visible
    ``katex-html`` part (the MathML part holds the source for screen readers)."""
    _mathml, _sep, visible = katex_html.partition('class="katex-html"')
    return set(html.unescape(_TAG.sub("", visible.partition(">")[2])))


def start_math_fonts(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``, early: with ``-j``, cut the fonts in a forked process while the other
    steps of the build's end run. The fonts need only the environment and KaTeX's originals;
    no step before :func:`subset_math_fonts` reads them."""
    if exception is None and app.builder.format == "html" and background.can_fork(app):
        background.start(app, BACKGROUND, partial(_subset_math_fonts, app))


def subset_math_fonts(app: Sphinx, exception: Exception | None) -> None:
    """Cut the copied KaTeX fonts to the characters of every formula on the site (or wait for
    the forked process of :func:`start_math_fonts` to have done it)."""
    if background.wait(app, BACKGROUND):
        return
    if exception is not None or app.builder.format != "html":
        return
    _subset_math_fonts(app)


def _subset_math_fonts(app: Sphinx) -> None:
    env = app.env
    used = {ord(char) for doc, chars in env.kb_math_chars.items() if doc in env.found_docs for char in chars}
    cache_dir = Path(app.doctreedir) / FONT_CACHE_DIR
    dist = katex_module(app) / "dist" / "fonts"
    for font in sorted(Path(app.outdir, "_static", STATIC_SUBDIR, "fonts").glob("*.woff2")):
        cached = cached_subset(dist / font.name, used, cache_dir)
        if not font.is_file() or font.read_bytes() != cached.read_bytes():
            shutil.copyfile(cached, font)
