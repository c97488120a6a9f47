"""Drafts and scheduled posts: left out of the published site, built and marked in a preview.

A post is *unpublished* while its front matter says ``draft: true`` or its ``date`` is later
than the build's date (a scheduled post). The build's date is ``SOURCE_DATE_EPOCH`` when that is
set (so a reproducible build stays reproducible), the clock otherwise, taken in ``kb_timezone``,
the zone in which post dates are written.

**Published build** (``kb_drafts = False``: ``make html``). Before Sphinx looks for its sources,
the front matter of every post is read (about 0.1 s of CPU at 1,000 posts) and each
unpublished post is added to ``exclude_patterns`` for that one look. To Sphinx the post does not
exist, so nothing downstream sees it: no page, post list, sidebar, feed, collection page, search
entry, sitemap entry, related list, series box, glossary or bibliography usage, map node. An
incremental build handles publishing a post like adding a file and taking it back like deleting
one, as it handles any file. The patterns are taken out again as soon as Sphinx has its list of
documents, before the environment (with its copy of the configuration) is saved: a list of drafts
that changed would otherwise count as a changed configuration and re-read every document.

**Preview** (``kb_drafts = True``: ``make livehtml``, ``DRAFTS=1 make html``, built into
``_build/preview`` so a preview never lands in the output that gets published). Every post is
built; an unpublished one is marked "草稿" or "定时发布 <date>" on its page, in post lists, the
collection pages and the recent-posts sidebar. A post whose mark changes with the clock alone
(a scheduled post that became due) is read again.

In both modes a published document that links to an unpublished post (``{doc}`` to it;
``{ref}``, ``{numref}`` or ``{eq}`` to a label in it, labels found in its source by pattern)
fails the build at the link, saying that the target is not published; Sphinx's own "unknown
document" or "undefined label" warning for that link is left out.

ABlog has its own notion of drafts (a post dated after the day ABlog was imported goes to its
drafts page and out of the listings); the decision is made here instead, so ABlog is told that
every post it sees is published (``ablog.blog.TOMORROW``).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ablog.blog
from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import docname_join, logging
from sphinx.util.matching import Matcher

from .. import pipeline
from ..cross_page import track_per_document
from .frontmatter import POSTS_DIR, FrontMatter, parse_bool, parse_date, post_slug

logger = logging.getLogger(__name__)

LINK_TYPES = ("doc", "ref", "numref", "eq")
DRAFT_MARK = "草稿"
SCHEDULED_MARK = "定时发布"
# Labels a post can define, as an author writes them: a MyST target line ``(sec-x)=``, a
# directive's ``:label:`` or ``:name:`` option, a labelled display formula ``$$ … $$ (eq-x)``.
LABEL_PATTERNS = (
    re.compile(r"^\s*\(([^()\s]+)\)=\s*$", re.MULTILINE),
    re.compile(r"^\s*:(?:label|name):\s*(\S+)\s*$", re.MULTILINE),
    re.compile(r"\$\$\s*\(([^()\s]+)\)\s*$", re.MULTILINE),
)
CITATION = re.compile(r"\{(?:foot)?cite(?::[a-z]+)?\}`([^`]+)`")  # {footcite}`a2020b,c2021d`


@dataclass(frozen=True)
class Unpublished:
    """A post left out of the published site, and why."""

    docname: str
    draft: bool  # ``draft: true``; otherwise scheduled for ``date``
    date: datetime | None
    labels: frozenset[str]  # lower-cased labels defined in it, its slug included
    citations: frozenset[str] = frozenset()  # the BibTeX keys it cites

    @property
    def mark(self) -> str:
        """What a preview shows beside the post's title."""
        if self.draft or self.date is None:
            return DRAFT_MARK
        return f"{SCHEDULED_MARK} {self.date:%Y-%m-%d %H:%M}"

    @property
    def reason(self) -> str:
        if self.draft or self.date is None:
            return "a draft (draft: true)"
        return f"scheduled for {self.date:%Y-%m-%d %H:%M}"


def build_date(timezone: str, environ: Any = os.environ) -> datetime:
    """The build's date and time in ``timezone``, without zone, as post dates are written:
    ``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC) when set, the clock otherwise."""
    epoch = environ.get("SOURCE_DATE_EPOCH")
    seconds = int(epoch) if epoch else time.time()
    return datetime.fromtimestamp(seconds, ZoneInfo(timezone)).replace(tzinfo=None)


def _labels(text: str, docname: str) -> frozenset[str]:
    found = {label.lower() for pattern in LABEL_PATTERNS for label in pattern.findall(text)}
    slug = post_slug(docname)
    if slug:
        found.add(slug.lower())  # ABlog labels every post with its folder's name
    return frozenset(found)


FACTS_CACHE = "kb-draft-facts.pickle"  # beside the doctrees: each post's draft flag and date
Facts = tuple  # (draft: bool | None, date: datetime | None), or () when there is no front matter


def _post_files(folder: Path) -> list[str]:
    """Every ``.md`` file under ``folder``, as sorted paths (``os.walk``: ~3x faster than
    ``Path.rglob``, which matters at thousands of posts)."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        found.extend(os.path.join(dirpath, name) for name in filenames if name.endswith(".md"))
    return sorted(found)


def _facts(path: str) -> Facts:
    try:
        front = FrontMatter.read(Path(path))
    except (ValueError, OSError, UnicodeDecodeError):
        return ()
    if front is None:
        return ()
    raw_date = front.values.get("date")
    return parse_bool(front.values.get("draft", "false")), parse_date(raw_date) if isinstance(
        raw_date, str
    ) else None


def find_unpublished(
    srcdir: Path,
    now: datetime,
    excluded: Matcher,
    cache: dict[str, tuple[tuple[int, int], Facts]] | None = None,
) -> dict[str, Unpublished]:
    """The posts under ``srcdir/posts`` that are drafts or dated after ``now``.

    A post whose front matter cannot be read, or whose ``draft`` or ``date`` is not valid, counts
    as published: it is then read, and the front-matter check fails the build at its line.
    ``cache`` (updated in place) keeps each file's draft flag and date by its size and mtime, so
    a build reads the front matter of the files that changed only."""
    cache = {} if cache is None else cache
    found: dict[str, Unpublished] = {}
    folder = srcdir / POSTS_DIR
    seen = set()
    prefix = len(os.path.join(str(srcdir), ""))  # _post_files gives paths under str(srcdir)
    folder_excluded: dict[str, bool] = {}  # a folder's answer, asked once for all its posts

    def is_excluded(relpath: str) -> bool:
        parent, _, _name = relpath.rpartition("/")
        if parent and parent not in folder_excluded:
            folder_excluded[parent] = is_excluded(parent)
        return (bool(parent) and folder_excluded[parent]) or excluded(relpath)

    for path in _post_files(folder) if folder.is_dir() else ():
        relpath = path[prefix:].replace(os.sep, "/")
        if is_excluded(relpath):
            continue  # the file or a folder it is in (Sphinx prunes excluded folders)
        try:
            stat = os.stat(path)
        except OSError:
            continue
        stamp = (stat.st_mtime_ns, stat.st_size)
        seen.add(relpath)
        if relpath in cache and cache[relpath][0] == stamp:
            facts = cache[relpath][1]
        else:
            facts = _facts(path)
            cache[relpath] = (stamp, facts)
        if not facts:
            continue
        draft, date = facts
        if draft is None or not (draft or (date is not None and date > now)):
            continue
        docname = relpath.removesuffix(".md")
        text = Path(path).read_text(encoding="utf-8")
        citations = frozenset(key.strip() for keys in CITATION.findall(text) for key in keys.split(","))
        found[docname] = Unpublished(docname, draft, date, _labels(text, docname), citations)
    for relpath in cache.keys() - seen:
        del cache[relpath]
    return found


def _load_facts(path: Path) -> dict[str, tuple[tuple[int, int], Facts]]:
    try:
        loaded = pickle.loads(path.read_bytes())
    except Exception:  # missing or damaged: every front matter is read again
        return {}
    return loaded if isinstance(loaded, dict) else {}


def unpublished(app: Sphinx) -> dict[str, Unpublished]:
    """This build's unpublished posts (read before the build; empty before that)."""
    return getattr(app, "_kb_unpublished", {})


def preview_marks(app: Sphinx) -> dict[str, str]:
    """docname -> "草稿" / "定时发布 …" for the posts a preview shows marked; empty when the
    build publishes (the unpublished posts are not in it)."""
    if not app.config.kb_drafts:
        return {}
    return {docname: post.mark for docname, post in sorted(unpublished(app).items())}


def _glob_escape(path: str) -> str:
    return re.sub(r"([*?[])", r"[\1]", path)


NEXT_SCHEDULED = "kb-next-scheduled.json"  # beside the doctrees; read by scripts/build_site.py


def note_next_scheduled(doctreedir: Path, found: dict[str, Unpublished], timezone: str) -> None:
    """Write when the clock alone next changes this build's output: the earliest date of a
    scheduled post (seconds since 1970), or null. ``make html`` (``scripts/build_site.py``) skips
    Sphinx when no file changed, unless that date has come."""
    dates = [post.date for post in found.values() if not post.draft and post.date is not None]
    due = min(dates).replace(tzinfo=ZoneInfo(timezone)).timestamp() if dates else None
    path = doctreedir / NEXT_SCHEDULED
    text = json.dumps({"next": due})
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def leave_out_unpublished(app: Sphinx) -> None:
    """``builder-inited``: find the unpublished posts; in a published build, exclude them from
    the sources for Sphinx's coming search for documents."""
    # ABlog's own draft rule (a date after the day it was imported) is replaced by this module's.
    ablog.blog.TOMORROW = datetime.max
    config = app.config
    now = build_date(config.kb_timezone)
    app._kb_build_date = now
    cache_path = Path(app.doctreedir) / FACTS_CACHE
    cache = _load_facts(cache_path)
    before = dict(cache)
    found = find_unpublished(Path(app.srcdir), now, Matcher(config.exclude_patterns), cache)
    if cache != before:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_bytes(pickle.dumps(cache, protocol=pickle.HIGHEST_PROTOCOL))
    app._kb_unpublished = found
    note_next_scheduled(Path(app.doctreedir), found, config.kb_timezone)
    app._kb_excluded_patterns = []
    if not config.kb_drafts and found:
        patterns = [_glob_escape(docname + ".md") for docname in found]
        config.exclude_patterns.extend(patterns)
        app._kb_excluded_patterns = patterns
    if found:
        kinds = sum(post.draft for post in found.values()), sum(not post.draft for post in found.values())
        logger.info(
            "drafts: %d draft(s), %d scheduled post(s) %s",
            *kinds,
            "built and marked (preview)" if config.kb_drafts else "left out of the published site",
        )


def restore_patterns(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """``env-get-outdated``, right after Sphinx found its documents: take the patterns out of the
    configuration again, and have Sphinx re-read the posts whose preview mark changed."""
    for pattern in getattr(app, "_kb_excluded_patterns", ()):
        app.config.exclude_patterns.remove(pattern)
    app._kb_excluded_patterns = []
    marks = preview_marks(app)
    previous = env.__dict__.get("kb_preview_marks", {})
    env.kb_preview_marks = marks
    return sorted(
        doc
        for doc in marks.keys() | previous.keys()
        if marks.get(doc) != previous.get(doc) and doc in env.found_docs
    )


# -- links to unpublished posts --------------------------------------------------------------------


def _line(node: nodes.Node) -> int | None:
    while node is not None:
        if node.line:
            return node.line
        node = node.parent
    return None


def _absolute(docname: str, target: str) -> str:
    return target[1:] if target.startswith("/") else docname_join(docname, target)


def note_link_lines(app: Sphinx, doctree: nodes.document) -> None:
    """Record the document's cross-references with their lines (checked after every read, since
    a post can become unpublished while the document linking to it stays unchanged)."""
    docname = app.env.docname
    links = []
    for ref in doctree.findall(addnodes.pending_xref):
        reftype, target = ref.get("reftype"), ref.get("reftarget")
        if reftype in LINK_TYPES and target:
            target = _absolute(docname, target) if reftype == "doc" else target.lower()
            links.append((reftype, target, _line(ref)))
    if links:
        app.env.kb_link_lines[docname] = tuple(links)
    else:
        app.env.kb_link_lines.pop(docname, None)


def _target(app: Sphinx, reftype: str, target: str) -> Unpublished | None:
    posts = unpublished(app)
    if reftype == "doc":
        return posts.get(target)
    return next((post for post in posts.values() if target in post.labels), None)


def check_links_to_unpublished(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """``env-updated``: a published document must not link to an unpublished post. Checked on
    every build, also when nothing was read (Sphinx checks consistency only after a read), so a
    build stays failed until the link or the draft changes."""
    posts = unpublished(app)
    if not posts:
        return []
    for docname in sorted(env.kb_link_lines):
        if docname in posts or docname not in env.found_docs:
            continue
        for reftype, target, line in env.kb_link_lines[docname]:
            post = _target(app, reftype, target)
            if post is not None:
                logger.warning(
                    "links to %s, which is %s and not published: the link would break in the "
                    "published site (publish that post first, or remove the link)",
                    env.doc2path(post.docname, False)
                    if post.docname in env.found_docs
                    else post.docname + ".md",
                    post.reason,
                    location=(docname, line),
                    type="kb",
                    subtype="draft-link",
                )
    return []


def link_text_only(
    app: Sphinx, env: BuildEnvironment, node: addnodes.pending_xref, contnode: nodes.Node
) -> nodes.Node | None:
    """``missing-reference``: a link to an unpublished post is reported, more clearly, by
    :func:`check_links_to_unpublished`; it becomes its text, without Sphinx's own "unknown
    document" or "undefined label" warning (which the standard domain gives in
    ``warn-missing-reference``, whatever other handlers of that event return)."""
    reftype, target = node.get("reftype"), node.get("reftarget", "")
    if reftype not in LINK_TYPES or not unpublished(app):
        return None
    key = _absolute(node.get("refdoc", ""), target) if reftype == "doc" else target.lower()
    return contnode if _target(app, reftype, key) is not None else None


# -- marks in a preview ----------------------------------------------------------------------------


def add_marks_to_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """The templates (post lists, sidebars) mark posts listed in ``kb_preview_marks``."""
    context["kb_preview_marks"] = preview_marks(app)


def mark_postlists(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Mark the unpublished posts in ABlog's post lists (the homepage's latest posts), which
    ABlog has just turned into links."""
    marks = preview_marks(app)
    if not marks:
        return
    by_uri = {app.builder.get_relative_uri(docname, post): mark for post, mark in marks.items()}
    for listing in doctree.findall(nodes.bullet_list):
        if "postlist" not in listing["classes"]:
            continue
        for ref in listing.findall(nodes.reference):
            mark = by_uri.get(ref.get("refuri", ""))
            # The title's link, not the "阅读全文" one under the excerpt.
            if mark is not None and "ablog-post-title" in ref.parent["classes"]:
                ref.parent.insert(ref.parent.index(ref) + 1, status_mark(mark))


def status_mark(mark: str) -> nodes.inline:
    """The "草稿" / "定时发布 …" badge."""
    return nodes.inline(mark, mark, classes=["kb-status-mark"])


def setup(app: Sphinx) -> dict[str, Any]:
    # Preview: build unpublished posts and mark them (make livehtml, DRAFTS=1 make html).
    app.add_config_value("kb_drafts", False, "env", types=[bool])
    app.add_config_value("kb_timezone", "Asia/Shanghai", "env", types=[str])
    track_per_document(app, "kb_link_lines")  # docname -> ((reftype, target, line), …)
    app.connect("builder-inited", leave_out_unpublished)
    app.connect("env-get-outdated", restore_patterns)
    app.connect("doctree-read", note_link_lines)
    app.connect("env-updated", check_links_to_unpublished)
    app.connect("missing-reference", link_text_only)
    app.connect("html-page-context", add_marks_to_context)
    app.connect("doctree-resolved", mark_postlists, priority=pipeline.MARK_UNPUBLISHED_POSTS)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
