"""Per-page ``<head>`` metadata for search engines and link previews.

Every page that has a document gets the Open Graph tags: ``og:title``, ``og:type``
(``website``, or ``article`` for a post), ``og:url`` (``html_baseurl`` plus the page's address),
``og:site_name`` (the project) and ``og:description`` with ``<meta name="description">``. A
post's description is its front matter's ``description`` (checked by ``frontmatter.py``), else
its excerpt; another page's is the start of its prose. A post also gets
``article:published_time``, ``article:section`` (the category) and one ``article:tag`` per tag,
and every page a ``twitter:card`` of type ``summary`` (Twitter/X reads the ``og:`` tags).

These tags were sphinxext-opengraph's. It imports matplotlib for its social cards even when
they are off (``ogp_social_cards``), 0.7 s of every build, more than the rest of a rebuild
with nothing changed, to write six tags this module already half wrote.

Titles, tags and names are text wherever they reach the page: every value is HTML-escaped once
into ``content="…"`` (a title ``A&copy`` stays ``A&copy``). Other extensions put text into
context values that the templates print as markup: sphinx-book-theme's ``pagetitle`` (the
print header of every page) and ``root_title``, ABlog's ``feed_title`` (the feed's
``<link title>``); :func:`escape_context_text` escapes them, so a post titled
``<img src=x onerror=…>`` stays a title.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urljoin

from docutils import nodes
from markupsafe import Markup, escape
from sphinx.application import Sphinx

from .. import pipeline

MAX_DESCRIPTION = 150  # characters of an excerpt or of a page's prose
NOT_PROSE = (nodes.Admonition, nodes.Invisible, nodes.literal_block, nodes.raw, nodes.math_block, nodes.title)


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def _excerpt_text(info: dict[str, Any]) -> str:
    return _cut(" ".join(node.astext() for node in info.get("excerpt") or ()))


def prose_start(doctree: nodes.Node) -> str:
    """The first paragraphs' text of a page, up to :data:`MAX_DESCRIPTION` characters."""
    parts: list[str] = []
    length = 0
    for paragraph in doctree.findall(nodes.paragraph):
        node = paragraph.parent
        while node is not None and not isinstance(node, NOT_PROSE):
            node = node.parent
        if node is not None:
            continue
        parts.append(paragraph.astext())
        length += len(parts[-1])
        if length > MAX_DESCRIPTION:
            break
    return _cut(" ".join(parts))


def _tag(attribute: str, name: str, value: str) -> str:
    return f'<meta {attribute}="{name}" content="{html.escape(value)}">'


def add_meta(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    env = app.env
    tags = ['<meta name="twitter:card" content="summary">']
    infos = getattr(env, "ablog_posts", {}).get(pagename)
    post = infos[0] if infos and doctree is not None else None
    if doctree is not None and context.get("title"):
        if post is not None:
            description = env.kb_front.get(pagename, {}).get("description") or _excerpt_text(post)
        else:
            description = prose_start(doctree)
        tags += [
            _tag("property", "og:title", Markup(str(context["title"])).striptags()),
            _tag("property", "og:type", "article" if post is not None else "website"),
            _tag(
                "property", "og:url", urljoin(app.config.html_baseurl, app.builder.get_target_uri(pagename))
            ),
            _tag("property", "og:site_name", app.config.project),
        ]
        if description:
            tags += [
                _tag("property", "og:description", description),
                _tag("name", "description", description),
            ]
    if post is not None:
        if post["date"]:
            tags.append(
                _tag("property", "article:published_time", post["date"].strftime("%Y-%m-%dT%H:%M:00"))
            )
        tags += [_tag("property", "article:section", str(category)) for category in post["category"] or ()]
        tags += [_tag("property", "article:tag", str(tag)) for tag in post["tags"] or ()]
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
