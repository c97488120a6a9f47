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
incremental build leaves the same files as a clean one.

ABlog keeps, for every post, a deep copy of its doctree in the environment (for full-text
feeds), and the copy and the excerpt still point at the original document, so the environment
pickle held two doctrees per post: 55 MB at 1,000 posts, unpickled on every build and pickled
again after every edit. Each copy now goes to its own file next to the doctrees
(:class:`StoredBody`), read back only when a feed needs that post's full text, and the excerpt
forgets the original document.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, TextIO
from urllib.parse import urljoin

import ablog
import ablog.blog
import ablog.post
from ablog.blog import Blog, os_path_join
from ablog.post import PostList
from docutils import nodes
from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.docutils import new_document

from cross_page import track_per_document
from code_figures import light_only
from katex_prerender import mathml_only

logger = logging.getLogger(__name__)

STATE_FILE = "kb_blog_incremental.pickle"
# Each post's serialised Atom entry (with its full text: 40 MB at 1,000 posts), one file per post
# and kind, read only when a feed that lists the post is written.
ENTRIES_DIR = "kb_feed_entries"
BODIES_DIR = "kb_post_bodies"
STATE_VERSION = 6  # 4: feed entries serialised one by one, in files; 5: formulas as MathML;
# 6: figures in their light copy alone
_URL_ATTR = re.compile(r'(\s(?:href|src)=")([^"]*)(")')
_ABSOLUTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|/|//)")


@dataclass
class State:
    """What the previous build wrote; kept in the doctree directory between builds."""

    version: int = STATE_VERSION
    site_key: str = ""
    listing_key: str = ""
    pages: dict[str, str] = field(default_factory=dict)   # collection pagename -> key
    entries: dict[tuple[str, str, bool], str] = field(default_factory=dict)  # feed entry -> key
    feeds: dict[str, str] = field(default_factory=dict)   # feed file (relative) -> key


def _digest(*parts: Any) -> str:
    return hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()


def _state_path(app: Sphinx) -> Path:
    return Path(app.doctreedir) / STATE_FILE


def load_state(app: Sphinx) -> None:
    state = State()
    path = _state_path(app)
    if path.is_file():
        try:
            loaded = pickle.loads(path.read_bytes())
            if isinstance(loaded, State) and loaded.version == STATE_VERSION:
                state = loaded
        except Exception:  # a damaged state only costs a full regeneration
            state = State()
    app._kb_state = state          # type: ignore[attr-defined]
    app._kb_written = set()        # type: ignore[attr-defined]  collection pages and feeds this build
    app._kb_removed = set()        # type: ignore[attr-defined]  docs removed since the last build
    app._kb_excerpts = {}          # type: ignore[attr-defined]  (docname, section) -> excerpt digest
    StoredBody.directory = Path(app.doctreedir) / BODIES_DIR


def _entry_path(app: Sphinx, docname: str, section: str, fulltext: bool) -> Path:
    kind = "full" if fulltext else "summary"
    return Path(app.doctreedir) / ENTRIES_DIR / docname / f"{section or '_'}.{kind}.xml"


def save_state(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or not hasattr(app, "_kb_state"):
        return
    _delete_stale_outputs(app)
    path = _state_path(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(app._kb_state, protocol=pickle.HIGHEST_PROTOCOL))
    # The feed HTML cache of earlier versions (tens of MB); the entry files replace it.
    (path.parent / "kb_feed_html.pickle").unlink(missing_ok=True)


# -- ABlog's copies of the posts, outside the environment ---------------------------------------

class StoredBody:
    """Stands in for ABlog's copy of a post's body (``info["doctree"]``): ABlog only ever calls
    ``deepcopy()`` on it, which reads a fresh copy from the file."""

    directory: Path = Path()  # set when the builder starts

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def deepcopy(self) -> nodes.Node:
        body = pickle.loads((self.directory / self.filename).read_bytes())
        if isinstance(body, list):  # the children of a whole-document post
            document = new_document("")
            document.extend(body)
            return document
        return body


def _forget_document(node: nodes.Node) -> None:
    for each in node.findall():
        each._document = None


def store_post_bodies(app: Sphinx, doctree: nodes.document) -> None:
    """Move the copies ABlog just made of this document's posts into files."""
    env = app.env
    for index, info in enumerate(env.ablog_posts.get(env.docname, ())):
        for node in info["excerpt"]:
            _forget_document(node)
        body = info["doctree"]
        if isinstance(body, StoredBody):
            continue
        if isinstance(body, nodes.document):  # its settings point at the environment
            children = list(body.children)
            for child in children:
                child.parent = None
                _forget_document(child)
            stored: Any = children
        else:
            body.parent = None
            _forget_document(body)
            stored = body
        filename = f"{env.docname}.{index}.pickle"
        path = StoredBody.directory / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(stored, protocol=pickle.HIGHEST_PROTOCOL))
        info["doctree"] = StoredBody(filename)


# -- what the site shows of its posts ------------------------------------------------------------

def _posts(env: BuildEnvironment) -> list[dict[str, Any]]:
    return [info for docname in sorted(getattr(env, "ablog_posts", {}))
            for info in env.ablog_posts[docname]]


def _listed(info: dict[str, Any]) -> tuple:
    """The facts of a post that sidebars, prev/next links and collection indexes show."""
    return (info["docname"], info["section"], str(info["title"]), str(info["date"]), str(info["update"]),
            tuple(info["tags"] or ()), tuple(info["category"] or ()), tuple(info["author"] or ()),
            tuple(info["location"] or ()), tuple(info["language"] or ()), bool(info["exclude"]))


def _excerpt(info: dict[str, Any]) -> str:
    return _digest("".join(node.pformat() for node in info["excerpt"]))


def _build_key(app: Sphinx) -> tuple:
    """Templates and configuration: when they change, every generated page changes too."""
    builder = app.builder
    return (builder.templates.newest_template_mtime() if hasattr(builder, "templates") else 0,
            getattr(getattr(builder, "build_info", None), "config_hash", ""))


def note_postlists(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    if any(doctree.findall(PostList)):
        env.kb_postlist_docs.add(env.docname)
    else:
        env.kb_postlist_docs.discard(env.docname)


def note_removed(app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str],
                 removed: set[str]) -> list[str]:
    app._kb_removed.update(removed)
    return []


def pages_to_rewrite(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Pages that were not re-read but show something that changed."""
    state: State = app._kb_state
    posts = _posts(env)
    # Each excerpt's digest once per build; the collection pages that list a post reuse it.
    app._kb_excerpts = {(info["docname"], info["section"]): _excerpt(info) for info in posts}
    site_key = _digest(_build_key(app), [_listed(info) for info in posts])
    listing_key = _digest(site_key, list(app._kb_excerpts.values()))
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


def _post_key(app: Sphinx, post: Any) -> tuple:
    return (post.docname, post.section, app.env.all_docs.get(post.docname, 0))


def _page_key(app: Sphinx, context: dict[str, Any], template: str) -> str:
    state: State = app._kb_state
    described = {key: value for key, value in context.items()
                 if isinstance(value, (str, bool, int)) or value is None}
    if "collection" in context:
        # A collection page shows each post's listed facts (in site_key) and its excerpt, not
        # its body: an edit below the first paragraph does not rewrite it.
        shown = [(post.docname, post.section) for post in context["collection"]]
        base = state.site_key
    else:  # a catalog (every collection with its posts) or a redirect
        shown = [str(context.get("redirect", ""))]
        base = state.listing_key
    excerpts = app._kb_excerpts
    return _digest(base, template, sorted(described.items()), shown,
                   [excerpts.get((post.docname, post.section), "")
                    for post in context.get("collection", ())])


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
    drop_emptied_search_terms(app)


def drop_emptied_search_terms(app: Sphinx) -> None:
    """Sphinx prunes removed and re-read pages from the loaded search index but keeps their
    words with an empty page list, so the index of an incremental build differs from a clean
    one (and grows with every edit). Drop those words before the index is written."""
    indexer = getattr(app.builder, "indexer", None)
    for mapping in (getattr(indexer, "_mapping", None), getattr(indexer, "_title_mapping", None)):
        if mapping is not None:
            for word in [word for word, docs in mapping.items() if not docs]:
                del mapping[word]


# -- feeds ---------------------------------------------------------------------------------------

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
    html = post.to_html(post.docname, fulltext=True, img_url=True)
    return _absolute_links(light_only(mathml_only(html)), post_url)


def _feeds(app: Sphinx, blog: Blog) -> list[tuple[Any, str, str, str, bool]]:
    """(posts, feed file relative to outdir, title, url, full text): the feeds ABlog writes.

    The site feed and the category feeds carry each post's full text (``blog_feed_fulltext``);
    tag, year and author feeds carry the summary and the link. With full text everywhere each
    post would be written into six or more feeds, and at 1,000 posts the feeds alone would be
    larger than the rest of the site.
    """
    base_url = blog.blog_baseurl
    fulltext = blog.blog_feed_fulltext
    feeds = [(blog.posts, os.path.join(blog.blog_path, f"{root}.xml"), blog.blog_title,
              os_path_join(base_url, blog.blog_path, f"{root}.xml"), fulltext)
             for root in blog.blog_feed_templates]
    if blog.blog_feed_archives:
        for header, catalog in [
            (_("Posts by"), blog.author), (_("Posts from"), blog.location),
            (_("Posts in"), blog.language), (_("Posts in"), blog.category),
            (_("Posted in"), blog.archive), (_("Posts tagged"), blog.tags),
        ]:
            for collection in catalog:
                if not len(collection):
                    continue
                for root in blog.blog_feed_templates:
                    feeds.append((collection, os.path.join(collection.path, f"{root}.xml"),
                                  f"{blog.blog_title} - {header} {collection}",
                                  os_path_join(base_url, collection.path, f"{root}.xml"),
                                  fulltext and catalog is blog.category))
    return feeds


def write_feeds(app: Sphinx) -> None:
    if not ablog.builder_support(app):
        return
    blog = Blog(app)
    if not blog:
        ablog.post.register_posts(app)
    if not blog.blog_baseurl or blog.blog_feed_titles or set(blog.blog_feed_templates) != {"atom"} \
            or any(blog.blog_feed_templates["atom"].values()):
        # Options this writer does not implement: let ABlog write its own feeds.
        list(ablog.post.generate_atom_feeds(app))
        return
    state: State = app._kb_state
    outdir = Path(app.builder.outdir)
    written = 0
    for posts, relpath, title, url, fulltext in _feeds(app, blog):
        ordered = sorted(posts, key=lambda post: post.date, reverse=True)
        if blog.blog_feed_length:
            ordered = ordered[: blog.blog_feed_length]
        key = _digest(state.site_key, title, url, fulltext,
                      [_post_key(app, post) for post in ordered])
        app._kb_written.add(relpath)
        target = outdir / relpath
        if state.feeds.get(relpath) == key and target.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", encoding="utf-8", newline="") as out:
            _write_atom(out, app, blog, ordered, title, url, fulltext)
        state.feeds[relpath] = key
        written += 1
    if written:
        logger.info("blog: %d Atom feeds written", written)


def _write_atom(out: TextIO, app: Sphinx, blog: Blog, posts: list[Any], title: str, url: str,
                fulltext: bool) -> None:
    """The feed: its head from feedgen, then each post's entry (see :func:`_entry_xml`), written
    one by one (the site feed with every post's full text is tens of MB at 1,000 posts)."""
    base_url = blog.blog_baseurl
    feed = FeedGenerator()
    feed.id(base_url)
    feed.title(title)
    feed.link(href=base_url)
    feed.subtitle(blog.blog_feed_subtitle)
    feed.link(href=url, rel="self")
    feed.language(app.config.language)
    feed.generator("ABlog", ablog.__version__, "https://ablog.readthedocs.io/")
    if posts:  # the newest change of a post, not the time of the build
        feed.updated(max(post.update for post in posts).astimezone())
    head = feed.atom_str(pretty=True).decode("utf-8")
    end = head.rindex("</feed>")
    out.write(head[:end])
    for post in posts:
        out.write(f"  {_entry_xml(app, blog, post, fulltext)}\n")
    out.write(head[end:])


def _entry_xml(app: Sphinx, blog: Blog, post: Any, fulltext: bool) -> str:
    """A post's Atom entry, made by feedgen and serialised once per change of the post.

    The site feed lists every post, so at 1,000 posts building and serialising its entries
    took a second of every edit; now an edit serialises one entry per feed it is in. Entries
    are unqualified elements, as feedgen makes them, inside the feed's default namespace."""
    post_url = os_path_join(blog.blog_baseurl, app.builder.get_target_uri(post.docname))
    if post.section:
        post_url += "#" + post.section
    state: State = app._kb_state
    key = _digest(_post_key(app, post), state.site_key, post_url)
    path = _entry_path(app, post.docname, post.section, fulltext)
    if state.entries.get((post.docname, post.section, fulltext)) == key and path.is_file():
        return path.read_text(encoding="utf-8")
    entry = FeedEntry()
    entry.id(post_url)
    entry.link(href=post_url)
    entry.author({"name": author.name for author in post.author})
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
    path.write_text(xml, encoding="utf-8")
    state.entries[(post.docname, post.section, fulltext)] = key
    return xml


# -- leaving the same files as a clean build -----------------------------------------------------

def _delete_stale_outputs(app: Sphinx) -> None:
    state: State = app._kb_state
    outdir = Path(app.builder.outdir)
    written = app._kb_written
    stale: list[Path] = []
    for pagename in [name for name in state.pages if name not in written]:
        stale.append(Path(app.builder.get_outfilename(pagename)))
        del state.pages[pagename]
    for relpath in [path for path in state.feeds if path not in written]:
        stale.append(outdir / relpath)
        del state.feeds[relpath]
    for docname in app._kb_removed:
        stale.append(Path(app.builder.get_outfilename(docname)))
        stale.extend((outdir / "_sources").glob(f"{docname}.*"))
        for body in StoredBody.directory.glob(f"{docname}.*.pickle"):
            body.unlink()
        for key in [key for key in state.entries if key[0] == docname]:
            del state.entries[key]
        shutil.rmtree(Path(app.doctreedir) / ENTRIES_DIR / docname, ignore_errors=True)
    for path in stale:
        path.unlink(missing_ok=True)
        folder = path.parent
        while folder != outdir and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def replace_ablog_handlers(app: Sphinx) -> None:
    """Take over ABlog's collection pages and feeds (connected in ablog.setup)."""
    # ABlog renders every excerpt and feed entry into a ``docutils.utils.new_document``, which
    # builds docutils' default settings (an OptionParser) each time: 2 ms per call, about 8,000
    # calls at 1,000 posts. Sphinx's drop-in ``new_document`` caches those settings.
    ablog.blog.new_document = new_document
    listeners = app.events.listeners["html-collect-pages"]
    ours = {ablog.post.generate_archive_pages, ablog.post.generate_atom_feeds}
    listeners[:] = [listener for listener in listeners if listener.handler not in ours]
    load_state(app)


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("ablog")
    app.connect("builder-inited", replace_ablog_handlers)
    track_per_document(app, "kb_postlist_docs", set)  # the pages with a postlist
    app.connect("doctree-read", note_postlists)
    app.connect("doctree-read", store_post_bodies, priority=900)  # after ABlog made its copies
    app.connect("env-get-outdated", note_removed)
    app.connect("env-updated", pages_to_rewrite)
    app.connect("html-collect-pages", collect_pages)
    app.connect("build-finished", save_state)
    return {"version": "1.0", "parallel_read_safe": False, "parallel_write_safe": True,
            "env_version": 2}  # 2: post bodies stored outside the environment
