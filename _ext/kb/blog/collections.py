"""ABlog's collection pages (archive, category, tag, year, author pages and the post list),
each written only when what it shows changed, and the pages that show the site's posts rewritten
when the post list changed.

ABlog regenerates every collection page on every build, so an edit to one post costs as much as
a clean build of those pages, while Sphinx rewrites only the pages it re-read, so the sidebars
(recent posts, categories, tags, archives), prev/next links and the homepage's post list of the
other pages go stale when a post is added, removed, retitled or redated. After reading, this
module asks Sphinx to rewrite every page when the site-wide list of posts changed, and the pages
with a ``postlist`` when an excerpt changed; at ``html-collect-pages`` it replaces ABlog's two
handlers (collection pages, feeds) with its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ablog
import ablog.blog
import ablog.post
from ablog.post import PostList
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import new_document

from .feeds import write_feeds
from .state import State, digest, load_state

logger = logging.getLogger(__name__)

# ABlog's handlers that this module replaces (connected in ablog.setup).
ABLOG_HANDLERS = (ablog.post.generate_archive_pages, ablog.post.generate_atom_feeds)


def _posts(env: BuildEnvironment) -> list[dict[str, Any]]:
    return [info for docname in sorted(getattr(env, "ablog_posts", {})) for info in env.ablog_posts[docname]]


def _listed(info: dict[str, Any]) -> tuple:
    """The facts of a post that sidebars, prev/next links and collection indexes show."""
    return (
        info["docname"],
        info["section"],
        str(info["title"]),
        str(info["date"]),
        str(info["update"]),
        tuple(info["tags"] or ()),
        tuple(info["category"] or ()),
        tuple(info["author"] or ()),
        tuple(info["location"] or ()),
        tuple(info["language"] or ()),
        bool(info["exclude"]),
    )


def _excerpt(info: dict[str, Any]) -> str:
    return digest("".join(node.pformat() for node in info["excerpt"]))


def _build_key(app: Sphinx) -> tuple:
    """Templates and configuration: when they change, every generated page changes too."""
    builder = app.builder
    if builder.format != "html":  # no pages of ours to write
        return (builder.name,)
    # Attribute errors here are wanted: a renamed internal must not quietly disable the check
    # (tests/test_upstream_contracts.py states both).
    return (builder.templates.newest_template_mtime(), builder.build_info.config_hash)


def note_postlists(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    if any(doctree.findall(PostList)):
        env.kb_postlist_docs.add(env.docname)
    else:
        env.kb_postlist_docs.discard(env.docname)


def note_removed(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    app._kb_removed.update(removed)
    return []


def pages_to_rewrite(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Pages that were not re-read but show something that changed."""
    state: State = app._kb_state
    posts = _posts(env)
    # Each excerpt's digest once per build; the collection pages that list a post reuse it.
    app._kb_excerpts = {(info["docname"], info["section"]): _excerpt(info) for info in posts}
    site_key = digest(_build_key(app), [_listed(info) for info in posts])
    listing_key = digest(site_key, list(app._kb_excerpts.values()))
    incremental = bool(state.site_key)
    rewrite: set[str] = set()
    if incremental and site_key != state.site_key:
        rewrite = set(env.found_docs)
    elif incremental and listing_key != state.listing_key:
        rewrite = env.kb_postlist_docs & env.found_docs
    state.site_key, state.listing_key = site_key, listing_key
    if rewrite:
        logger.info("blog: %d pages show changed posts and will be rewritten", len(rewrite))
    return sorted(rewrite)


# -- collection pages ----------------------------------------------------------------------------


def collection_pagenames(app: Sphinx) -> list[str]:
    """Every collection page of the current site, written by this build or kept from an earlier one."""
    state = getattr(app, "_kb_state", None)
    return sorted(state.pages) if state is not None else []


def _page_key(app: Sphinx, context: dict[str, Any], template: str) -> str:
    state: State = app._kb_state
    described = {
        key: value for key, value in context.items() if isinstance(value, (str, bool, int)) or value is None
    }
    if "collection" in context:
        # A collection page shows each post's listed facts (in site_key) and its excerpt, not
        # its body: an edit below the first paragraph does not rewrite it.
        shown: list[Any] = [(post.docname, post.section) for post in context["collection"]]
        base = state.site_key
    else:  # a catalog (every collection with its posts) or a redirect
        shown = [str(context.get("redirect", ""))]
        base = state.listing_key
    excerpts = app._kb_excerpts
    return digest(
        base,
        template,
        sorted(described.items()),
        shown,
        [excerpts.get((post.docname, post.section), "") for post in context.get("collection", ())],
    )


def collect_pages(app: Sphinx) -> Iterator[tuple[str, dict[str, Any], str]]:
    state: State = app._kb_state
    skipped = 0
    for pagename, context, template in ablog.post.generate_archive_pages(app):
        key = _page_key(app, context, template)
        app._kb_written.add(pagename)
        target = Path(app.builder.get_outfilename(pagename))
        if state.pages.get(pagename) == key and target.is_file():
            skipped += 1
            continue
        state.pages[pagename] = key
        yield pagename, context, template
    if skipped:
        logger.info("blog: %d unchanged collection pages kept", skipped)
    write_feeds(app)


def replace_ablog_handlers(app: Sphinx) -> None:
    """Take over ABlog's collection pages and feeds (connected in ablog.setup)."""
    # ABlog renders every excerpt and feed entry into a ``docutils.utils.new_document``, which
    # builds docutils' default settings (an OptionParser) each time: 2 ms per call, about 8,000
    # calls at 1,000 posts. Sphinx's drop-in ``new_document`` caches those settings.
    ablog.blog.new_document = new_document
    # Sphinx keeps each event's listeners in ``EventManager.listeners`` (private); removing ABlog's
    # by handler identity must remove exactly its two, or ABlog writes its own pages and feeds
    # again, slowly and unseen. A mismatch is an error, not a silent fallback.
    listeners = app.events.listeners["html-collect-pages"]
    kept = [listener for listener in listeners if listener.handler not in ABLOG_HANDLERS]
    removed = {listener.handler for listener in listeners} - {listener.handler for listener in kept}
    if removed != set(ABLOG_HANDLERS):
        raise HandlersNotFound(
            "ABlog's html-collect-pages handlers changed: expected to replace "
            f"{sorted(h.__name__ for h in ABLOG_HANDLERS)}, found "
            f"{sorted(getattr(listener.handler, '__name__', repr(listener.handler)) for listener in listeners)}"
        )
    listeners[:] = kept
    load_state(app)


class HandlersNotFound(RuntimeError):
    """ABlog no longer connects the handlers this module replaces (an ABlog upgrade)."""
