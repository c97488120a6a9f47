"""Per-page ``<head>`` metadata for search engines and link previews.

sphinxext-opengraph writes the Open Graph tags (``og:title``, ``og:url``, ``og:description``
…) from each page's metadata. This extension, which runs before it, gives a post

* ``og:description`` and ``<meta name="description">`` from the front matter's ``description``
  (checked by ``frontmatter.py``), falling back to the post's excerpt;
* ``og:type`` ``article`` with ``article:published_time``, ``article:section`` (the category)
  and one ``article:tag`` per tag;

and every page a ``twitter:card`` of type ``summary`` (Twitter/X reads the ``og:`` tags).

Titles, tags and names are text wherever they reach the page. sphinxext-opengraph writes the
values it is given into ``content="…"`` with only ``"`` escaped, so the ``og:title`` and
``og:description`` given here are HTML-escaped (a title ``A&copy`` would otherwise show as
``A©``). Other extensions put text into context values that the templates print as markup:
sphinx-book-theme's ``pagetitle`` (the print header of every page) and ``root_title``, ABlog's
``feed_title`` (the feed's ``<link title>``); :func:`escape_context_text` escapes them, so a post
titled ``<img src=x onerror=…>`` stays a title.
"""

from __future__ import annotations

import html
from typing import Any

from markupsafe import Markup, escape
from sphinx.application import Sphinx

from .. import pipeline

MAX_FALLBACK = 150


def _excerpt_text(info: dict[str, Any]) -> str:
    text = " ".join(node.astext() for node in info.get("excerpt") or ()).replace("\n", " ").strip()
    return text if len(text) <= MAX_FALLBACK else text[: MAX_FALLBACK - 1] + "…"


def add_meta(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    env = app.env
    tags = ['<meta name="twitter:card" content="summary">']
    if doctree is not None and context.get("title"):
        # sphinxext-opengraph takes og:* from the page's metadata before its own values, and
        # writes either into the attribute as it is: the title as escaped text.
        text = Markup(str(context["title"])).striptags()
        context["meta"] = dict(context.get("meta") or {}, **{"og:title": html.escape(text)})
    infos = getattr(env, "ablog_posts", {}).get(pagename)
    if infos and doctree is not None:
        info = infos[0]
        description = env.kb_front.get(pagename, {}).get("description") or _excerpt_text(info)
        context["meta"] = dict(
            context.get("meta") or {},
            **{"og:description": html.escape(description), "og:type": "article"},
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


# Context values that hold text but that templates print as markup, and who sets them.
TEXT_IN_MARKUP = (
    "pagetitle",  # sphinx-book-theme: the print-only page header, on every page
    "root_title",  # sphinx-book-theme: the home page's title in its navigation
    "feed_title",  # ABlog: <link rel="alternate" title="…"> (already HTML on collection pages)
)


def escape_context_text(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Escape the text that other extensions put into context values printed as markup
    (``Markup`` values are HTML already and stay as they are)."""
    for key in TEXT_IN_MARKUP:
        if isinstance(context.get(key), str):
            context[key] = escape(context[key])


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.blog.frontmatter")  # env.kb_front: the descriptions
    app.connect("html-page-context", add_meta, priority=pipeline.ADD_PAGE_META)
    app.connect("html-page-context", escape_context_text, priority=pipeline.ESCAPE_CONTEXT_TEXT)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
