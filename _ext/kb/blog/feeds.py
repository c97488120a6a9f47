"""ABlog's Atom feeds, written only when one of their posts changed.

Each post's full text is rendered once per change (cached as its serialised entry beside the
doctrees) relative to the post itself, with its links made absolute so they work in a feed
reader, its formulas as MathML alone (a feed reader has no KaTeX CSS for KaTeX's HTML rendering),
its figures in their light copy alone, and the feed's ``updated`` taken from the posts (not from
the clock), so the same sources give the same bytes. Every feed states the articles' licence
(``kb_license``) in ``<rights>`` and a ``rel="license"`` link. Full text goes into the site and category
feeds; tag, year and author feeds carry summaries.
"""

from __future__ import annotations

import os
import re
from functools import partial
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urljoin

import ablog
import ablog.post
from ablog.blog import Blog, os_path_join
from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree
from sphinx.application import Sphinx
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.parallel import ParallelTasks, make_chunks, parallel_available

from .. import background
from ..figures.directive import light_only
from ..math.mathml import mathml_only, rendering_for_feed
from .state import State, digest, entry_path

logger = logging.getLogger(__name__)
MIN_PARALLEL_ENTRIES = 64  # fewer feed entries to make are made by the main process
MIN_PARALLEL_FEEDS = 16  # ... and so are the entries of fewer feeds to write
BACKGROUND = "feeds"  # the forked writing of the feeds (kb.background)

_URL_ATTR = re.compile(r'(\s(?:href|src)=")([^"]*)(")')
_ABSOLUTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|/|//)")


def post_key(app: Sphinx, post: Any) -> tuple:
    return (post.docname, post.section, app.env.all_docs.get(post.docname, 0))


def _absolute_links(html: str, page_url: str) -> str:
    def fix(match: re.Match[str]) -> str:
        url = match.group(2)
        if not url or _ABSOLUTE.match(url):
            return match.group(0)
        return match.group(1) + urljoin(page_url, url) + match.group(3)

    return _URL_ATTR.sub(fix, html)


def post_html(app: Sphinx, post: Any, post_url: str) -> str:
    """A post's full text for feeds (cached in its feed entry): its links made absolute, its
    formulas as MathML (a feed reader has no KaTeX CSS for the rest of KaTeX's output), its
    figures in their light copy alone (nor has it the CSS that hides one of the two)."""
    with rendering_for_feed():
        html = post.to_html(post.docname, fulltext=True, img_url=True)
    return _absolute_links(light_only(mathml_only(html)), post_url)


def full_text(app: Sphinx, fulltext: bool, position: int) -> bool:
    """Whether the entry at ``position`` (0 = newest) of a feed carries the post's full text.

    Every post is in the feeds, but only the newest ``kb_feed_full_text_posts`` entries of a
    full-text feed carry the post itself; older ones carry its summary and link, as in a tag
    feed. A feed reader reads the newest entries; at 1,000 posts the site feed with every post's
    full text was 26 MB (and growing with every post), and its entries, each post rendered a
    second time, cost more of a clean build than all the collection pages."""
    return fulltext and position < app.config.kb_feed_full_text_posts


def _feeds(app: Sphinx, blog: Blog) -> list[tuple[Any, str, str, str, bool]]:
    """(posts, feed file relative to outdir, title, url, full text): the feeds ABlog writes.

    The site feed and the category feeds carry the full text of their newest posts
    (``blog_feed_fulltext``, :func:`full_text`); tag, year and author feeds carry the summary and
    the link. With full text everywhere each
    post would be written into six or more feeds, and at 1,000 posts the feeds alone would be
    larger than the rest of the site.
    """
    base_url = blog.blog_baseurl
    fulltext = blog.blog_feed_fulltext
    feeds = [
        (
            blog.posts,
            os.path.join(blog.blog_path, f"{root}.xml"),
            blog.blog_title,
            os_path_join(base_url, blog.blog_path, f"{root}.xml"),
            fulltext,
        )
        for root in blog.blog_feed_templates
    ]
    if blog.blog_feed_archives:
        for header, catalog in [
            (_("Posts by"), blog.author),
            (_("Posts from"), blog.location),
            (_("Posts in"), blog.language),
            (_("Posts in"), blog.category),
            (_("Posted in"), blog.archive),
            (_("Posts tagged"), blog.tags),
        ]:
            for collection in catalog:
                if not len(collection):
                    continue
                for root in blog.blog_feed_templates:
                    feeds.append(
                        (
                            collection,
                            os.path.join(collection.path, f"{root}.xml"),
                            f"{blog.blog_title} - {header} {collection}",
                            os_path_join(base_url, collection.path, f"{root}.xml"),
                            fulltext and catalog is blog.category,
                        )
                    )
    return feeds


def write_feeds(app: Sphinx) -> None:
    if not ablog.builder_support(app):
        return
    blog = Blog(app)
    if not blog:
        ablog.post.register_posts(app)
    if (
        not blog.blog_baseurl
        or blog.blog_feed_titles
        or set(blog.blog_feed_templates) != {"atom"}
        or any(blog.blog_feed_templates["atom"].values())
    ):
        # Options this writer does not implement: let ABlog write its own feeds.
        list(ablog.post.generate_atom_feeds(app))
        return
    state: State = app._kb_state
    outdir = str(app.builder.outdir)
    listed = _feeds(app, blog)
    # Which feeds an edit can change: a feed's key is made of the site's listed facts, its own
    # title, address and kind, and the keys of its posts (post_key). While the first two are as
    # the last build left them, only the feeds that list a post whose key changed are keyed again
    # (at 10,000 posts 3,500 feeds, each sorting its posts: 0.3 s of every edit).
    base = digest(
        state.site_key,
        app.config.kb_feed_full_text_posts,
        blog.blog_feed_length,
        [(relpath, title, url, fulltext) for _posts, relpath, title, url, fulltext in listed],
    )
    post_keys = {_post_name(post): post_key(app, post) for post in [*blog.posts, *blog.drafts]}
    changed = (
        {name for name, key in post_keys.items() if state.post_keys.get(name) != key}
        if base == state.feeds_base
        else None
    )
    state.feeds_base, state.post_keys = base, post_keys

    def on_disk(relpath: str) -> bool:
        return os.path.isfile(os.path.join(outdir, relpath))

    feeds = []
    keyed = 0
    for posts, relpath, title, url, fulltext in listed:
        app._kb_written.add(relpath)
        if (
            changed is not None
            and relpath in state.feeds
            and not _lists_any(posts, changed)
            and on_disk(relpath)
        ):
            continue
        keyed += 1
        ordered = sorted(posts, key=lambda post: post.date, reverse=True)
        if blog.blog_feed_length:
            ordered = ordered[: blog.blog_feed_length]
        key = digest(
            state.site_key,
            title,
            url,
            fulltext,
            app.config.kb_feed_full_text_posts,
            [post_key(app, post) for post in ordered],
        )
        if state.feeds.get(relpath) == key and on_disk(relpath):
            continue
        feeds.append((ordered, relpath, title, url, fulltext, key))
    logger.info("blog: %d of %d feeds keyed again, %d to write", keyed, len(listed), len(feeds))

    if app.parallel > 1 and parallel_available and len(feeds) >= MIN_PARALLEL_FEEDS:
        # An edit rewrites a handful of feeds with one changed entry: checking every entry's
        # cache twice would cost more than making that entry here.
        make_entries_in_parallel(app, blog, feeds)
    if not feeds:
        return
    if background.can_fork(app):
        # Nothing after this step reads the feeds: they are put together in a forked process
        # while the build's last steps run, and wait_for_feeds takes back what it cached.
        background.start(
            app, BACKGROUND, partial(_write_feed_files, app, blog, feeds), partial(_take_back, state)
        )
    else:
        _take_back(state, _write_feed_files(app, blog, feeds))


def _post_name(post: Any) -> str:
    """The name an ABlog collection knows a post by (``Collection.add``)."""
    return f"{post.docname}#{post.section}" if post.section else post.docname


def _lists_any(posts: Any, names: set[str]) -> bool:
    """Whether a feed's posts (an ABlog collection: the blog's posts, a tag's, a year's …)
    include one of ``names`` (:func:`_post_name`)."""
    return any(name in posts for name in names)


def _write_feed_files(app: Sphinx, blog: Blog, feeds: list[tuple[Any, ...]]) -> tuple[dict, dict]:
    """Write ``feeds``; return the entries they cached and each feed's key (for the state)."""
    state: State = app._kb_state
    before = dict(state.entries)
    outdir = Path(app.builder.outdir)
    written = {}
    entries: dict[tuple[str, str, bool], str] = {}  # each entry read or made once for all feeds
    for ordered, relpath, title, url, fulltext, key in feeds:
        target = outdir / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", encoding="utf-8", newline="") as out:
            _write_atom(out, app, blog, ordered, title, url, fulltext, entries)
        written[relpath] = key
    logger.info("blog: %d Atom feeds written", len(feeds))
    return {entry: key for entry, key in state.entries.items() if before.get(entry) != key}, written


def _take_back(state: State, result: tuple[dict, dict]) -> None:
    entries, feeds = result
    state.entries.update(entries)
    state.feeds.update(feeds)


def wait_for_feeds(app: Sphinx) -> None:
    """The feeds written in a forked process (:func:`write_feeds`), waited for; their entries
    and keys are in the state once this returns. Called however the build ended."""
    background.wait(app, BACKGROUND)


def make_entries_in_parallel(app: Sphinx, blog: Blog, feeds: list[tuple[Any, ...]]) -> None:
    """Make the feed entries that these feeds need and that are not cached, in forked processes,
    as Sphinx writes documents with ``-j``; the feeds are then put together from the cache.

    A full-text entry renders its post a second time (``post_html``): at 1,000 posts the site
    feed alone costs more than all the collection pages. Entries are split by post, so each is
    made once (the site feed and a category feed share a post's full-text entry)."""
    state: State = app._kb_state
    needed: dict[tuple[str, str, bool], Any] = {}
    for ordered, _relpath, _title, _url, fulltext, _key in feeds:
        for position, post in enumerate(ordered):
            full = full_text(app, fulltext, position)
            entry = (post.docname, post.section, full)
            if entry not in needed and not _entry_cached(app, blog, post, full):
                needed[entry] = post
    if len(needed) < MIN_PARALLEL_ENTRIES:
        return  # made one by one as the feeds are written

    def make(chunk: list[tuple[tuple[str, str, bool], Any]]) -> dict[tuple[str, str, bool], str]:
        for (_docname, _section, fulltext), post in chunk:
            _entry_xml(app, blog, post, fulltext)
        return {entry: state.entries[entry] for entry, _post in chunk}

    tasks = ParallelTasks(app.parallel)
    for chunk in make_chunks(sorted(needed.items(), key=lambda item: item[0]), app.parallel, maxbatch=64):  # type: ignore[arg-type]
        tasks.add_task(make, chunk, lambda chunk, made: state.entries.update(made))
    tasks.join()


def _write_atom(
    out: TextIO,
    app: Sphinx,
    blog: Blog,
    posts: list[Any],
    title: str,
    url: str,
    fulltext: bool,
    entries: dict[tuple[str, str, bool], str],
) -> None:
    """The feed: its head from feedgen, then each post's entry (see :func:`_entry_xml`), written
    one by one (the site feed with every post's full text is tens of MB at 1,000 posts).
    ``entries`` keeps each entry this process wrote, for the other feeds that list the post: an
    edit at 1,000 posts rewrites six feeds (the site's and the author's list every post), 2,400
    entries of 1,090 posts, each read from its file once instead of each time (0.09 against
    0.15 s of CPU)."""
    base_url = blog.blog_baseurl
    feed = FeedGenerator()
    feed.id(base_url)
    feed.title(title)
    feed.link(href=base_url)
    feed.subtitle(blog.blog_feed_subtitle)
    feed.link(href=url, rel="self")
    feed.language(app.config.language)
    feed.generator("ABlog", ablog.__version__, "https://ablog.readthedocs.io/")
    # The licence (kb_license), as text and as a link (RFC 4946); entries inherit the feed's rights.
    license_ = app.config.kb_license
    feed.rights(
        f"© {app.config.copyright}。文章采用 {license_['name']}（{license_['title']}）许可：{license_['url']}"
    )
    feed.link(href=license_["url"], rel="license")
    if posts:  # the newest change of a post, not the time of the build
        feed.updated(max(post.update for post in posts).astimezone())
    head = feed.atom_str(pretty=True).decode("utf-8")
    end = head.rindex("</feed>")
    out.write(head[:end])
    for position, post in enumerate(posts):
        full = full_text(app, fulltext, position)
        entry = (post.docname, post.section, full)
        xml = entries.get(entry)
        if xml is None:
            xml = entries[entry] = _entry_xml(app, blog, post, full)
        out.write(f"  {xml}\n")
    out.write(head[end:])


def _entry_address(app: Sphinx, blog: Blog, post: Any, fulltext: bool) -> tuple[str, str, Path]:
    """A post's address in feeds, the key of its entry and the entry's cache file."""
    post_url = os_path_join(blog.blog_baseurl, app.builder.get_target_uri(post.docname))
    if post.section:
        post_url += "#" + post.section
    key = digest(post_key(app, post), app._kb_state.site_key, post_url)
    return post_url, key, entry_path(app, post.docname, post.section, fulltext)


def _entry_cached(app: Sphinx, blog: Blog, post: Any, fulltext: bool) -> bool:
    _post_url, key, path = _entry_address(app, blog, post, fulltext)
    return _is_current(app, post, fulltext, key, path)


def _is_current(app: Sphinx, post: Any, fulltext: bool, key: str, path: Path) -> bool:
    """Whether the entry file at ``path`` was made from the post as it is now (``key``)."""
    return app._kb_state.entries.get((post.docname, post.section, fulltext)) == key and path.is_file()


def _entry_xml(app: Sphinx, blog: Blog, post: Any, fulltext: bool) -> str:
    """A post's Atom entry, made by feedgen and serialised once per change of the post.

    The site feed lists every post: building and serialising all its entries costs a second
    per build at 1,000 posts, so an edit serialises only the changed post's entry in each feed
    that lists it. Entries are unqualified elements, as feedgen makes them, inside the feed's
    default namespace."""
    post_url, key, path = _entry_address(app, blog, post, fulltext)
    state: State = app._kb_state
    if _is_current(app, post, fulltext, key, path):
        return path.read_text(encoding="utf-8")
    entry = FeedEntry()
    entry.id(post_url)
    entry.link(href=post_url)
    entry.author([{"name": author.name} for author in post.author])  # every author, not the last
    entry.pubDate(post.date.astimezone())
    entry.updated(post.update.astimezone())
    for tag in sorted(post.tags):
        entry.category({"term": tag.name.strip().replace(" ", ""), "label": tag.label})
    entry.title(post.title)
    summary = "".join(paragraph.astext() for paragraph in post.excerpt)
    if summary:
        entry.summary(summary)
    if fulltext:
        entry.content(content=post_html(app, post, post_url), type="html")
    element = entry.atom_entry()
    etree.indent(element, space="  ", level=1)
    xml = etree.tostring(element, encoding="unicode")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole or not at all: a build stopped halfway leaves no truncated entry behind.
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(xml, encoding="utf-8")
    partial.replace(path)
    state.entries[(post.docname, post.section, fulltext)] = key
    return xml
