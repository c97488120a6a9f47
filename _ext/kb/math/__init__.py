"""Math: every formula rendered by KaTeX at build time, strictly, with the site's macros.

* :mod:`kb.math.prerender` renders each document's formulas while it is read and writes them;
* :mod:`kb.math.renderer` is the ``node`` process that runs ``katex_render.js``;
* :mod:`kb.math.fonts` cuts KaTeX's fonts to the characters the formulas show;
* :mod:`kb.math.mathml` strips KaTeX's HTML rendering for readers without its CSS (feeds).
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from .. import source_version


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.cross_page")
    app.setup_extension("kb.math.prerender")
    return {
        "version": "1.0",
        "env_version": source_version(),  # a saved environment is only good for the code that made it
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
