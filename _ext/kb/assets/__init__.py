"""Assets: what every page loads, made smaller, and the theme's templates kept compiled.

* :mod:`kb.assets.unused_css` cuts the theme's stylesheets to the rules the pages can match;
* :mod:`kb.assets.icon_font` drops ``fontawesome.js`` and subsets the icon fonts to the icons
  those rules still name;
* :mod:`kb.assets.css_bundle` puts a page's stylesheets, trimmed, into one file, so the first
  paint waits for one request instead of ten;
* :mod:`kb.assets.lazy_sections`: article sections laid out when they come near the screen
  (``content-visibility``), and in-page links that land on their target all the same;
* :mod:`kb.assets.theme_script` takes the theme script's on-load measurement of every code
  block out (it laid out every skipped section); ``kb-scroll-tab-stops.js`` measures each when
  it comes near the screen;
* :mod:`kb.assets.code_spans`: highlighted code without the spans drawn like plain text
  (names, punctuation, whitespace in the theme's styles), a third fewer elements on code pages;
* :mod:`kb.assets.deferred_scripts` makes the head's scripts wait for the page to be parsed
  instead of blocking its first paint;
* :mod:`kb.assets.font_subset` is the fontTools subsetting both fonts use (and KaTeX's);
* :mod:`kb.assets.template_cache` keeps the compiled Jinja templates between builds.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from .. import source_version

MODULES = [
    "unused_css",
    "icon_font",
    "css_bundle",
    "lazy_sections",
    "theme_script",
    "deferred_scripts",
    "code_spans",
    "template_cache",
]


def setup(app: Sphinx) -> dict[str, Any]:
    for module in MODULES:
        app.setup_extension(f"kb.assets.{module}")
    return {
        "version": "1.0",
        "env_version": source_version(),  # a saved environment is only good for the code that made it
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
