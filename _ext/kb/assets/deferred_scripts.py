"""The scripts of a page's head run once it is parsed (``defer``), not while it loads.

Sphinx, the theme and its extensions put their scripts in the head without ``defer``:
``doctools.js``, ``sphinx_highlight.js``, ``clipboard.min.js`` and ``copybutton.js``,
``sphinx-book-theme.js``, ``translations.js``. Each blocks the page's first paint until it has
arrived and run; on a phone's connection that is rounds of requests before the reader sees
anything (issue 21). None of them needs the page half-parsed: each waits for the document to be
ready, and deferred scripts still run in document order, before ``DOMContentLoaded``. The one
kept blocking is ``documentation_options.js``: the inline scripts after it (the theme's
``DOCUMENTATION_OPTIONS.pagename = …``) use what it defines at once.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from sphinx.application import Sphinx
from sphinx.builders.html._assets import _JavaScript
from sphinx.util import logging

from .. import pipeline

logger = logging.getLogger(__name__)

KEPT_BLOCKING = frozenset({"documentation_options.js"})


def deferred(script: Any) -> Any:
    """The script with ``defer``, unless it is inline, already deferred or async, a module, or
    kept blocking."""
    if not isinstance(script, _JavaScript) or not script.filename:
        return script
    if PurePosixPath(str(script.filename).split("?")[0]).name in KEPT_BLOCKING:
        return script
    if {"defer", "async"} & set(script.attributes) or script.attributes.get("type") == "module":
        return script
    return _JavaScript(script.filename, priority=script.priority, **{**script.attributes, "defer": "defer"})


def defer_head_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [deferred(script) for script in scripts]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", defer_head_scripts, priority=pipeline.DEFER_HEAD_SCRIPTS)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
