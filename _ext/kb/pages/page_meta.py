"""Per-page ``<head>`` metadata for search engines and link previews.

sphinxext-opengraph writes the Open Graph tags (``og:title``, ``og:url``, ``og:description``
…) from each page's metadata. This extension, which runs before it, gives a post

* ``og:description`` and ``<meta name="description">`` from the front matter's ``description``
  (checked by ``frontmatter.py``), falling back to the post's excerpt;
* ``og:type`` ``article`` with ``article:published_time``, ``article:section`` (the category)
  and one ``article:tag`` per tag;

and every page a ``twitter:card`` of type ``summary`` (Twitter/X reads the ``og:`` tags).
"""

from __future__ import annotations

import html
from typing import Any

from sphinx.application import Sphinx

from .. import pipeline

MAX_FALLBACK = 150


def _excerpt_text(info: dict[str, Any]) -> str:
    text = " ".join(node.astext() for node in info.get("excerpt") or ()).replace("\n", " ").strip()
    return text if len(text) <= MAX_FALLBACK else text[: MAX_FALLBACK - 1] + "…"


def add_meta(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    env = app.env
    tags = ['<meta name="twitter:card" content="summary">']
    infos = getattr(env, "ablog_posts", {}).get(pagename)
    if infos and doctree is not None:
        info = infos[0]
        description = env.kb_front.get(pagename, {}).get("description") or _excerpt_text(info)
        context["meta"] = dict(
            context.get("meta") or {}, **{"og:description": description, "og:type": "article"}
        )
        tags.append(f'<meta name="description" content="{html.escape(description)}">')
        if info["date"]:
            tags.append(
                '<meta property="article:published_time" '
                f'content="{info["date"].strftime("%Y-%m-%dT%H:%M:00")}">'
            )
        for category in info["category"] or ():
            tags.append(f'<meta property="article:section" content="{html.escape(str(category))}">')
        for tag in info["tags"] or ():
            tags.append(f'<meta property="article:tag" content="{html.escape(str(tag))}">')
    context["metatags"] = context.get("metatags", "") + "\n    ".join([""] + tags) + "\n"


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.blog.frontmatter")  # env.kb_front: the descriptions
    app.connect("html-page-context", add_meta, priority=pipeline.ADD_PAGE_META)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
