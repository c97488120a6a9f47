"""Incremental builds of the blog that are both fast and the same as a clean build.

ABlog regenerates every archive, category, tag and year page and every Atom feed on every build,
and renders each post's full text once per feed it appears in (site, category, each tag, year,
author), so an edit to one post costs as much as a clean build of those pages. At the same time
Sphinx rewrites only the pages it re-read, so ABlog's sidebars (recent posts, categories, tags,
archives), the prev/next links and the homepage's post list on every other page go stale when a
post is added, removed, retitled or redated.

This extension replaces ABlog's two ``html-collect-pages`` handlers with

* the same collection pages, each written only when what it shows changed (a key made of the
  posts it lists, their excerpts, and the site-wide list of posts);
* the same Atom feeds, written only when one of their posts changed, with each post's full text
  rendered once per build (and cached between builds) relative to the post itself, its links
  made absolute so they work in a feed reader, its formulas as MathML alone (a feed reader has
  no KaTeX CSS for KaTeX's HTML rendering), and the feed's ``updated`` taken from the posts
  (not from the clock), so the same sources give the same bytes; full text goes into the site
  and category feeds, tag/year/author feeds carry summaries;

and, after reading, asks Sphinx to rewrite

* every page, when the site-wide list of posts (titles, dates, tags, categories, authors) changed,
  because every page shows it in a sidebar;
* the pages with a ``postlist``, when an excerpt changed.

Output files of removed posts and of collections that no longer exist are deleted, so an
incremental build leaves the same files as a clean one (:mod:`kb.blog.state`), and ABlog's copy of
every post's doctree lives in its own file, not in the environment (:mod:`kb.blog.bodies`).

This module connects the parts: :mod:`kb.blog.collections` (collection pages, pages to rewrite),
:mod:`kb.blog.feeds` (Atom feeds), :mod:`kb.blog.bodies` and :mod:`kb.blog.state`.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from .. import pipeline
from ..cross_page import track_per_document
from .bodies import store_post_bodies
from .collections import (
    collect_pages,
    note_postlists,
    note_removed,
    pages_to_rewrite,
    replace_ablog_handlers,
    resolve_page_links,
)
from .feeds import wait_for_feeds
from .state import remove_stale_outputs, save_state


def save_state_when_feeds_are_written(app: Sphinx, exception: Exception | None) -> None:
    wait_for_feeds(app)  # the feeds' entries and keys go into the state
    save_state(app, exception)


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("ablog")
    app.setup_extension("kb.blog.drafts")  # what is published; a preview's marks
    app.setup_extension("kb.blog.citation")  # kb_license, which the feeds state
    # Posts on one page of the post list and of each category, tag, year and author page.
    app.add_config_value("kb_posts_per_page", 10, "html", types=[int])
    # Posts shown under each tag, category and author on their catalog pages (blog/tag.html …).
    app.add_config_value("kb_catalog_latest", 5, "html", types=[int])
    # The newest posts whose full text a full-text feed carries (older entries: summary and link).
    app.add_config_value("kb_feed_full_text_posts", 50, "html", types=[int])
    app.connect("builder-inited", replace_ablog_handlers)
    track_per_document(app, "kb_postlist_docs", set)  # the pages with a postlist
    track_per_document(app, "kb_excerpt_digests")  # docname -> {section: digest of its excerpt}
    app.connect("doctree-read", note_postlists)
    app.connect("doctree-read", store_post_bodies, priority=pipeline.STORE_POST_BODIES)
    app.connect("env-get-outdated", note_removed)
    app.connect("env-updated", pages_to_rewrite)
    app.connect("html-collect-pages", collect_pages)
    app.connect("missing-reference", resolve_page_links)
    app.connect("build-finished", remove_stale_outputs, priority=pipeline.REMOVE_STALE_BLOG_OUTPUTS)
    app.connect("build-finished", save_state_when_feeds_are_written, priority=pipeline.SAVE_BLOG_STATE)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
        "env_version": 2,
    }  # 2: ABlog's post bodies stored outside the environment
