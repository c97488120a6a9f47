"""ABlog's collection pages (archive, category, tag, year, author pages and the post list),
paginated, each written only when what it shows changed, and the pages that show the site's posts
rewritten when the post list changed.

ABlog regenerates every collection page on every build, so an edit to one post costs as much as
a clean build of those pages, while Sphinx rewrites only the pages it re-read, so the sidebars
(recent posts, categories, tags, archives), prev/next links and the homepage's post list of the
other pages go stale when a post is added, removed, retitled or redated. After reading, this
module asks Sphinx to rewrite every page when the site-wide list of posts changed, and the pages
with a ``postlist`` when an excerpt changed; at ``html-collect-pages`` it replaces ABlog's two
handlers (collection pages, feeds) with its own.

The pages are ABlog's (``generate_archive_pages``), with two differences. A list of more than
``kb_posts_per_page`` posts (the post list, a category, tag, year or author) is split into pages:
the first keeps the collection's address (``blog.html``, ``blog/tag/x.html``), page *n* is
``<collection>/page/<n>.html``, and each page links to the others ("1 2 … N", previous and next,
``rel="prev"``/``"next"``); at 1,000 posts ``blog.html`` alone would be 1.5 MB. The catalogs of
tags, categories and authors show each one's ``kb_catalog_latest`` latest posts and a link to
all of them, the archive every post by year. And every title
handed to the templates is HTML, as Sphinx's templates expect of a page's ``title`` (they print
it as markup): ABlog hands them the raw name of a tag or category, so a tag ``<script>`` ran in
the reader's browser. ABlog's drafts page is not written: :mod:`kb.blog.drafts` decides what is
published, and ABlog's drafts list is always empty.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ablog
import ablog.blog
import ablog.post
from ablog.blog import Blog
from ablog.post import PostList
from docutils import nodes
from markupsafe import escape
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.docutils import new_document
from sphinx.util.parallel import ParallelTasks, make_chunks, parallel_available

from .drafts import preview_marks
from .excerpts import prerender
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
    # Each excerpt's digest once per reading of its post (kept in env.kb_excerpt_digests, which
    # forgets a post when it is read again); the collection pages that list a post reuse it.
    digests = env.kb_excerpt_digests
    app._kb_excerpts = {}
    for info in posts:
        key = (info["docname"], info["section"])
        post_digests = digests.setdefault(info["docname"], {})
        if info["section"] not in post_digests:
            post_digests[info["section"]] = _excerpt(info)
        app._kb_excerpts[key] = post_digests[info["section"]]
    # A preview's marks are shown beside the titles in every sidebar and list.
    site_key = digest(_build_key(app), [_listed(info) for info in posts], sorted(preview_marks(app).items()))
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


@dataclass(frozen=True)
class Pagination:
    """Where a page of a paginated collection sits: what ``kb-pagination.html`` draws."""

    number: int  # this page, from 1
    count: int  # pages of the collection
    pagenames: tuple[str, ...]  # every page's name, page 1 first
    label: str  # the navigation's accessible name

    @property
    def prev(self) -> str | None:
        return self.pagenames[self.number - 2] if self.number > 1 else None

    @property
    def next(self) -> str | None:
        return self.pagenames[self.number] if self.number < self.count else None

    @property
    def links(self) -> list[tuple[int | None, str | None]]:
        """(page number, page name) for each link, ``(None, None)`` for a gap ("…")."""
        return [
            (n, self.pagenames[n - 1]) if n else (None, None) for n in page_numbers(self.number, self.count)
        ]


def page_numbers(current: int, count: int, around: int = 2) -> list[int | None]:
    """The page numbers to link, ``None`` for "…": the first and last pages and ``around`` pages
    either side of the current one ("1 2 3 … 50" on page 1, "1 … 8 9 10 11 12 … 50" on page 10).
    A gap of one page shows that page instead of "…"."""
    shown = sorted({1, count, *range(current - around, current + around + 1)} & set(range(1, count + 1)))
    numbers: list[int | None] = []
    previous = 0
    for number in shown:
        if number - previous == 2:
            numbers.append(number - 1)
        elif number - previous > 2:
            numbers.append(None)
        numbers.append(number)
        previous = number
    return numbers


def page_name(first: str, number: int) -> str:
    """Page ``number`` of the collection whose first page is ``first``: a stable address."""
    return first if number == 1 else f"{first}/page/{number}"


def paginate(
    posts: list[Any], first: str, per_page: int, title: str, context: dict[str, Any]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The pages of a post list: each page's name and context (``posts`` on that page,
    ``pagination``, ``title`` as HTML), the rest of ``context`` shared."""
    count = max(1, math.ceil(len(posts) / per_page))
    pagenames = tuple(page_name(first, number) for number in range(1, count + 1))
    for number, pagename in enumerate(pagenames, 1):
        shown = title if number == 1 else f"{title}（第 {number} 页）"
        yield (
            pagename,
            dict(
                context,
                title=escape(shown),
                posts=posts[(number - 1) * per_page : number * per_page],
                pagination=Pagination(number, count, pagenames, f"{title}：分页"),
            ),
        )


PAGE_LABEL = re.compile(r"^blog-posts-page-([1-9][0-9]*)$")


def resolve_page_links(app: Sphinx, env: BuildEnvironment, node: Any, contnode: nodes.Node) -> Any:
    """``missing-reference``: ``{ref}`更早的文章 <blog-posts-page-2>``` links to page 2 of the
    post list (the homepage's latest posts continue there), or to its last page while the list
    has fewer pages."""
    match = PAGE_LABEL.match(node.get("reftarget", "")) if node.get("reftype") == "ref" else None
    if match is None or not ablog.builder_support(app):
        return None
    blog = Blog(app)
    if not blog:
        ablog.post.register_posts(app)
    count = max(1, math.ceil(len(blog.posts) / app.config.kb_posts_per_page))
    target = page_name(blog.posts.docname, min(int(match[1]), count))
    uri = app.builder.get_relative_uri(node.get("refdoc", env.docname), target)
    reference = nodes.reference("", "", internal=True, refuri=uri)
    reference += contnode
    return reference


def archive_pages(app: Sphinx) -> Iterator[tuple[str, dict[str, Any], str]]:
    """ABlog 0.11.13's ``generate_archive_pages``, paginated, with escaped titles (the module's
    docstring says why) and without the drafts page."""
    blog = Blog(app)
    if not blog:
        ablog.post.register_posts(app)
    for post in blog.posts:
        for redirect in post.redirect:
            yield (redirect, {"redirect": post.docname, "post": post}, "ablog/redirect.html")
    found_docs = app.env.found_docs
    atom_feed = bool(blog.blog_baseurl)
    feed_archives = blog.blog_feed_archives
    per_page = app.config.kb_posts_per_page
    for title, header, catalog in [
        (_("Authors"), _("Posts by"), blog.author),
        (_("Locations"), _("Posts from"), blog.location),
        (_("Languages"), _("Posts in"), blog.language),
        (_("Categories"), _("Posts in"), blog.category),
        (_("All posts"), _("Posted in"), blog.archive),
        (_("Tags"), _("Posts tagged"), blog.tags),
    ]:
        if not catalog:
            continue
        if catalog.docname not in found_docs:
            context = {
                "parents": [],
                "title": escape(title),
                "header": header,
                "catalog": catalog,
                "summary": True,
                # The archive lists every post by year; the other catalogs each collection's
                # latest posts and a link to the rest (the tag catalog would list every post
                # once per tag: 680 KB at 1,000 posts).
                "latest": None if catalog is blog.archive else app.config.kb_catalog_latest,
            }
            yield (catalog.docname, context, "ablog/catalog.html")
        for collection in catalog:
            if not collection or collection.docname in found_docs:
                continue
            heading = f"{header} {collection}"
            shared = {
                "parents": [],
                "header": header,
                "collection": collection,
                "summary": True,
                "feed_path": collection.path if feed_archives else blog.blog_path,
                "archive_feed": atom_feed and feed_archives,
                "feed_title": escape(heading),
            }
            for pagename, context in paginate(
                list(collection), collection.docname, per_page, heading, shared
            ):
                yield (pagename, context, "ablog/collection.html")
    shared = {
        "parents": [],
        "header": _("All"),
        "collection": blog.posts,
        "summary": True,
        "atom_feed": atom_feed,
        "feed_path": blog.blog_path,
        "feed_title": escape(blog.blog_title),
    }
    for pagename, context in paginate(list(blog.posts), blog.posts.docname, per_page, _("All Posts"), shared):
        yield (pagename, context, "ablog/collection.html")


def collection_pagenames(app: Sphinx) -> list[str]:
    """Every collection page of the current site, written by this build or kept from an earlier one."""
    state = getattr(app, "_kb_state", None)
    return sorted(state.pages) if state is not None else []


def _page_key(app: Sphinx, context: dict[str, Any], template: str) -> str:
    state: State = app._kb_state
    described = {
        key: value for key, value in context.items() if isinstance(value, (str, bool, int)) or value is None
    }
    listed = context.get("posts", ())
    if "collection" in context:
        # A collection page shows each post's listed facts (in site_key) and its excerpt, not
        # its body: an edit below the first paragraph does not rewrite it.
        shown: list[Any] = [(post.docname, post.section) for post in listed]
        shown.append(repr(context.get("pagination")))
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
        [excerpts.get((post.docname, post.section), "") for post in listed],
    )


MIN_PARALLEL_PAGES = 64  # fewer collection pages to write are written by the main process


def _collections_key(app: Sphinx) -> str:
    """What every collection page's key (:func:`_page_key`) is made of, for all of them at once:
    the listing key (the posts' listed facts, excerpts, templates and configuration), each post's
    redirects, and the documents found (a source document takes a collection page's place)."""
    blog = Blog(app)
    if not blog:
        ablog.post.register_posts(app)
    return digest(
        app._kb_state.listing_key,
        [(post.docname, list(post.redirect)) for post in blog.posts],
        sorted(app.env.found_docs),
    )


def _output_files(app: Sphinx, pagenames: Iterable[str]) -> Iterator[str]:
    """``builder.get_outfilename`` of each page, as strings joined here: a tenth of the time
    (0.07 s for the 7,028 collection pages of a 10,000-post site); tests/test_upstream_contracts.py
    states that the two agree."""
    outdir, suffix = str(app.builder.outdir), app.builder.out_suffix
    return (os.path.join(outdir, *pagename.split("/")) + suffix for pagename in pagenames)


def collect_pages(app: Sphinx) -> Iterator[tuple[str, dict[str, Any], str]]:
    state: State = app._kb_state
    skipped = 0
    if not ablog.builder_support(app):
        return
    # An edit that changes no listed fact or excerpt (most edits) leaves every collection page as
    # it was: the last build's pages are kept without making their contexts and keys (0.03-0.04 s
    # of a warm edit at 1,000 posts, 733 pages), unless one of their files is gone.
    key = _collections_key(app)
    if key == state.collections_key and all(map(os.path.isfile, _output_files(app, state.pages))):
        app._kb_written.update(state.pages)
        logger.info("blog: all %d collection pages unchanged", len(state.pages))
        write_feeds(app)
        return
    state.collections_key = key
    pages = []
    for pagename, context, template in archive_pages(app):
        key = _page_key(app, context, template)
        app._kb_written.add(pagename)
        target = Path(app.builder.get_outfilename(pagename))
        if state.pages.get(pagename) == key and target.is_file():
            skipped += 1
            continue
        state.pages[pagename] = key
        pages.append((pagename, context, template))
    if skipped:
        logger.info("blog: %d unchanged collection pages kept", skipped)
    if app.parallel > 1 and parallel_available and len(pages) >= MIN_PARALLEL_PAGES:
        write_pages_in_parallel(app, pages)
    else:
        yield from pages
    write_feeds(app)


def write_pages_in_parallel(app: Sphinx, pages: list[tuple[str, dict[str, Any], str]]) -> None:
    """Write collection pages in forked processes, as Sphinx writes documents with ``-j``.

    Sphinx renders the pages that ``html-collect-pages`` yields one by one in the main process;
    at 1,000 posts there are ~700 of them (every tag, category, year and author, paginated), a
    third of a clean build's time after the documents are written. A page is rendered by the
    builder's own ``handle_page``, which is what Sphinx calls for them too, and whose
    ``html-page-context`` handlers all declare themselves safe for parallel writing: the pages
    are the same (tests/test_reproducible.py compares ``-j auto`` with ``-j 1``)."""

    def write(chunk: list[tuple[str, dict[str, Any], str]]) -> None:
        for pagename, context, template in chunk:
            app.builder.handle_page(pagename, context, template)

    # Every writer inherits the excerpts, each rendered once (a post is listed on ~7 pages).
    prerender(app, pages)

    # The first page of each template is written here, so its compiled template is inherited.
    first: dict[str, tuple[str, dict[str, Any], str]] = {}
    for page in pages:
        first.setdefault(page[2], page)
    write(list(first.values()))
    rest = [page for page in pages if first[page[2]] is not page]
    tasks = ParallelTasks(app.parallel)
    for chunk in make_chunks(rest, app.parallel, maxbatch=MIN_PARALLEL_PAGES):  # type: ignore[arg-type]
        tasks.add_task(write, chunk)
    tasks.join()
    logger.info("blog: %d collection pages written in %d processes", len(pages), app.parallel)


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
