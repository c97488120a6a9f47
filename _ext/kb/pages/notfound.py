"""The 404 page's text, kept beside this module (``notfound.html``) instead of in ``conf.py``.

sphinx-notfound-page renders the page from ``notfound_context``; it is served for every
missing path at any depth, so its links are absolute, under ``notfound_urls_prefix``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config

BODY = Path(__file__).with_name("notfound.html")
TITLE = "页面不存在"


def set_context(app: Sphinx, config: Config) -> None:
    prefix = config.notfound_urls_prefix or "/"
    body = BODY.read_text(encoding="utf-8").strip().replace("{prefix}", prefix)
    config.notfound_context = {"title": TITLE, "body": body}


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("notfound.extension")
    app.connect("config-inited", set_context)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
