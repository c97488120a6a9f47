"""Article sections laid out when they come near the screen, and in-page links that still land.

``_static/kb.css`` gives every article section below the first ``content-visibility: auto``
(a formula-heavy article is ~30,000 elements: laying them all out on load was most of a phone's
main-thread blocking time, issue 21). A skipped section counts as a placeholder height until it
is laid out, so a jump to an anchor would land where the placeholders put it:
``_static/kb-section-anchors.js`` lays out the sections above a target before the browser
scrolls to it (page opened with ``#hash``, in-page link, hash change). Without JavaScript every
section is laid out (``_templates/layout.html``). :mod:`kb.assets.theme_script` keeps the
theme's script from laying them all out on load.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

SCRIPT = "kb-section-anchors.js"


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_js_file(SCRIPT, loading_method="defer")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
