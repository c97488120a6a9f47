"""Figures drawn at build time by each article's own code (``{code-figure}``).

* :mod:`kb.figures.directive` — the directive, its node and HTML, numbering, checks, output;
* :mod:`kb.figures.render` — running the figure code in isolation, in worker processes, cached;
* :mod:`kb.figures.style` — matplotlib settings, the palette and the dark-mode colour swap.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from .. import source_version


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.cross_page")
    app.setup_extension("kb.figures.directive")
    return {
        "version": "1.0",
        "env_version": source_version(),  # a saved environment is only good for the code that made it
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
