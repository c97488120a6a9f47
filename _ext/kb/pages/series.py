"""Ordered article series: a box on every member and one page that lists every series.

A series is declared once in ``kb_series`` (name, URL slug, one-line description); a post
joins it with ``series: <name>`` and ``series_order: <n>`` in its front matter (checked by
``frontmatter.py``). Each member gets, under its metadata line, a box with its position
("第 3 篇，共 12 篇"), the previous and next members and a link to the series on the series
page; the page that holds ``{series-index}`` lists every series in order. Two posts claiming the
same position in a series fail the build at the second one's ``series_order`` line.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from ..cross_page import add_page_directive, changed_views, doc_link, is_whole_page, post_docnames, title

logger = logging.getLogger(__name__)
FEATURE = "series"


class series_index(nodes.General, nodes.Element):
    """Placeholder for the list of all series, filled in when the page is written."""


def members(env: BuildEnvironment, config: Any) -> dict[str, list[str]]:
    """Series name -> member docnames in series order (every declared series, maybe empty)."""
    result: dict[str, list[str]] = {entry["name"]: [] for entry in config.kb_series}
    seen: dict[tuple[str, int], str] = {}
    for doc in post_docnames(env):
        declared = env.kb_front.get(doc, {}).get("series")
        if not declared:
            continue
        name, order, line = declared
        if (name, order) in seen:
            logger.warning(
                "series %r already has a post at position %d: %s",
                name,
                order,
                env.doc2path(seen[name, order]),
                location=(doc, line),
                type="kb",
                subtype="series",
            )
            continue
        seen[name, order] = doc
    for (name, _order), doc in sorted(seen.items()):
        result[name].append(doc)
    return result


def compute(app: Sphinx, env: BuildEnvironment) -> list[str]:
    series = members(env, app.config)
    listed = {name: tuple((doc, title(env, doc)) for doc in docs) for name, docs in series.items()}
    env.kb_series_members = listed
    views: dict[str, Any] = {}
    for name, docs in listed.items():
        for position, (doc, _title) in enumerate(docs):
            views[doc] = (
                name,
                position,
                len(docs),
                docs[position - 1] if position else None,
                docs[position + 1] if position + 1 < len(docs) else None,
                _series_page(env),
                _notation(app, name),
            )
    for page in env.kb_series_pages:
        views[page] = tuple(sorted(listed.items()))
    return changed_views(env, FEATURE, views)


def _series_page(env: BuildEnvironment) -> str | None:
    pages = sorted(env.kb_series_pages)
    return pages[0] if pages else None


def _entry(app: Sphinx, name: str) -> dict[str, str]:
    return next(entry for entry in app.config.kb_series if entry["name"] == name)


def _notation(app: Sphinx, name: str) -> tuple[str, str] | None:
    """The series' notation page (``notation`` in its ``kb_series`` entry) and its title."""
    page = _entry(app, name).get("notation")
    if not page:
        return None
    if page not in app.env.found_docs:
        return None  # reported once per build by check_notation_pages
    return page, title(app.env, page)


def check_notation_pages(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """A series whose members would link a notation page that does not exist (once per build)."""
    for entry in app.config.kb_series:
        page = entry.get("notation")
        if page and page not in env.found_docs and env.kb_series_members.get(entry["name"]):
            logger.warning(
                "kb_series %r: notation page %r does not exist",
                entry["name"],
                page,
                type="kb",
                subtype="series",
            )
    return []


def add_series_box(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    env = app.env
    if not is_whole_page(env, doctree, docname):
        return
    for node in list(doctree.findall(series_index)):
        node.replace_self(_series_listing(app, docname))
    for name, docs in getattr(env, "kb_series_members", {}).items():
        names = [doc for doc, _t in docs]
        if docname not in names:
            continue
        position = names.index(docname)
        box = nodes.container(classes=["kb-series", "no-search"])
        head = nodes.paragraph(classes=["kb-series-title"])
        page = _series_page(env)
        head += nodes.Text("本文属于系列")
        if page:
            head += doc_link(app, docname, page, f"「{name}」", "series-" + _entry(app, name)["slug"])
        else:
            head += nodes.Text(f"「{name}」")
        head += nodes.Text(f"：第 {position + 1} 篇，共 {len(names)} 篇")
        box += head
        steps = nodes.paragraph(classes=["kb-series-steps"])
        if position > 0:
            prev_doc, prev_title = docs[position - 1]
            steps += nodes.inline("", "上一篇：", classes=["kb-series-label"])
            steps += doc_link(app, docname, prev_doc, prev_title)
        if position + 1 < len(names):
            next_doc, next_title = docs[position + 1]
            if position > 0:
                steps += nodes.Text("　")
            steps += nodes.inline("", "下一篇：", classes=["kb-series-label"])
            steps += doc_link(app, docname, next_doc, next_title)
        box += steps
        notation = _notation(app, name)
        if notation:
            line = nodes.paragraph(classes=["kb-series-notation"])
            line += nodes.inline("", "记号：", classes=["kb-series-label"])
            line += doc_link(app, docname, notation[0], notation[1])
            box += line
        _insert_after_meta(doctree, box)


def _insert_after_meta(doctree: nodes.document, box: nodes.Element) -> None:
    for meta in doctree.findall(nodes.container):
        if "post-meta" in meta["classes"]:
            meta.parent.insert(meta.parent.index(meta) + 1, box)
            return
    section = next(doctree.findall(nodes.section), None)
    if section is not None:
        section.insert(1, box)


def _series_listing(app: Sphinx, docname: str) -> list[nodes.Node]:
    env = app.env
    result: list[nodes.Node] = []
    for entry in app.config.kb_series:
        docs = env.kb_series_members.get(entry["name"], ())
        block = nodes.container(ids=["series-" + entry["slug"]], classes=["kb-series-entry"])
        block += nodes.rubric(entry["name"], entry["name"])
        block += nodes.paragraph(entry["description"], entry["description"])
        notation = _notation(app, entry["name"])
        if notation:
            line = nodes.paragraph()
            line += nodes.Text("全系列的记号见")
            line += doc_link(app, docname, notation[0], f"「{notation[1]}」")
            line += nodes.Text("。")
            block += line
        listing = nodes.enumerated_list(enumtype="arabic", prefix="", suffix=".")
        for doc, text in docs:
            paragraph = nodes.paragraph()
            paragraph += doc_link(app, docname, doc, text)
            date = env.ablog_posts[doc][0]["date"]
            if date:
                stamp = date.strftime("%Y-%m-%d")
                paragraph += nodes.inline(stamp, stamp, classes=["kb-series-date"])
            listing += nodes.list_item("", paragraph)
        block += listing if docs else nodes.paragraph("", "（这个系列还没有文章。）")
        result.append(block)
    return result


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.blog.frontmatter")  # env.kb_front: each post's series and position
    add_page_directive(app, "series-index", series_index, "kb_series_pages")
    app.connect("env-updated", compute)
    app.connect("env-updated", check_notation_pages)
    app.connect("doctree-resolved", add_series_box)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
