"""pydata-sphinx-theme's script without its on-load measurement of every code block.

On load the theme gives each code block and wide table a tab stop when it scrolls
(``addTabStopsToScrollableElements``: ``el.scrollWidth > el.clientWidth``). Reading that size
forces the browser to lay out every article section that ``content-visibility: auto`` (kb.css)
skips: on the formula-heaviest article it was most of a phone's main-thread blocking time
(issue 21). The build takes that measurement out of the theme's script, and
``_static/kb-scroll-tab-stops.js`` does the same job for each element when it comes near the
screen. ``tests/test_upstream_contracts.py`` fails when the theme's code changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

from .. import pipeline

logger = logging.getLogger(__name__)

THEME_SCRIPT = Path("_static", "scripts", "pydata-sphinx-theme.js")
# The minified body of the theme's per-element loop (pydata-sphinx-theme 0.20.0).
MEASUREMENT = "e.tabIndex=e.scrollWidth>e.clientWidth||e.scrollHeight>e.clientHeight?0:-1"
UNMEASURED = "void 0/*kb: kb-scroll-tab-stops.js*/"


def without_measurement(script: str) -> str:
    """The theme's script with its loop body replaced by a no-op (idempotent)."""
    if script.count(MEASUREMENT) == 1:
        return script.replace(MEASUREMENT, UNMEASURED)
    if UNMEASURED in script and MEASUREMENT not in script:
        return script
    raise ExtensionError(
        f"{THEME_SCRIPT}: the theme's tab-stop measurement ({MEASUREMENT!r}) is not there once; "
        "pydata-sphinx-theme changed, update _ext/kb/assets/theme_script.py"
    )


def patch_theme_script(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    path = Path(app.outdir, THEME_SCRIPT)
    script = path.read_text(encoding="utf-8")
    patched = without_measurement(script)
    if patched != script:
        path.write_text(patched, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_js_file("kb-scroll-tab-stops.js", loading_method="defer")
    app.connect("build-finished", patch_theme_script, priority=pipeline.PATCH_THEME_SCRIPT)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
