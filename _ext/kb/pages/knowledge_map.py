"""The knowledge map: every post drawn as a node, grouped by category, joined by its links.

The page holding ``{knowledge-map}`` gets, when it is written, a static SVG computed at build
time (no network, no layout library in the browser): one box per category (in ``kb_categories``
order) listing its posts by date, and one curve per pair of posts that link to each other in
their text (``{doc}``, ``{ref}``, ``{eq}`` … as recorded by ``post_links.py``). Every node is a
link to its post. A small self-hosted script highlights a node's neighbours on hover or keyboard
focus; without it the map is still complete. Under the map, the same graph as lists (each post
and the posts it links to) serves screen readers and narrow screens.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.osutil import relative_uri

from ..blog.post_links import links_between_posts
from ..cross_page import (
    add_page_directive,
    changed_views,
    doc_link,
    doc_links,
    is_whole_page,
    post_docnames,
    title,
)

FEATURE = "knowledge-map"
SCRIPT = "_static/knowledge-map.js"
SCRIPT_SOURCE = Path(__file__).with_name("knowledge_map.js")
COLUMNS = 4
BOX_WIDTH, ROW_HEIGHT, HEAD, GAP, PAD = 210, 24, 34, 26, 12
LABEL_CHARS = 11


class knowledge_map(nodes.General, nodes.Element):
    """Placeholder for the map, filled in when the page is written."""


def graph(env: BuildEnvironment, config: Any) -> tuple[list[tuple[str, list[str]]], list[tuple[str, str]]]:
    """(category, posts by date) for each non-empty category, and the undirected edges."""
    posts = post_docnames(env)
    by_category: dict[str, list[str]] = {}
    for doc in posts:
        info = env.ablog_posts[doc][0]
        category = str(info["category"][0]) if info["category"] else "未分类"
        by_category.setdefault(category, []).append(doc)
    order = list(config.kb_categories) + sorted(set(by_category) - set(config.kb_categories))
    groups = [
        (cat, sorted(by_category[cat], key=lambda d: (env.ablog_posts[d][0]["date"], d)))
        for cat in order
        if cat in by_category
    ]
    links = links_between_posts(env, posts)
    edges = sorted({(min(a, b), max(a, b)) for a in posts for b in links[a]})
    return groups, edges


def compute(app: Sphinx, env: BuildEnvironment) -> list[str]:
    groups, edges = graph(env, app.config)
    env.kb_map = (groups, edges)
    view = (tuple((cat, tuple((d, title(env, d)) for d in docs)) for cat, docs in groups), tuple(edges))
    return changed_views(env, FEATURE, {page: view for page in env.kb_map_pages})


def _label(text: str) -> str:
    """The node's visible label: the title up to its colon, cut to LABEL_CHARS. The link's
    accessible name is the full title, from its ``<title>`` (an ``aria-label`` would have to
    contain the cut label, ellipsis included: WCAG 2.5.3)."""
    short = text.split("：")[0].split(":")[0].strip()
    return short if len(short) <= LABEL_CHARS else short[: LABEL_CHARS - 1] + "…"


def layout(
    groups: list[tuple[str, list[str]]],
) -> tuple[dict[str, tuple[float, float]], list[tuple[str, int, float, float, float]], float, float]:
    """Node positions, category boxes (name, index, x, y, height), width and height."""
    positions: dict[str, tuple[float, float]] = {}
    boxes: list[tuple[str, int, float, float, float]] = []
    rows = [groups[i : i + COLUMNS] for i in range(0, len(groups), COLUMNS)]
    y: float = GAP
    index = 0
    for row in rows:
        height = HEAD + ROW_HEIGHT * max(len(docs) for _c, docs in row) + PAD
        for column, (category, docs) in enumerate(row):
            x = GAP + column * (BOX_WIDTH + 2 * GAP)
            boxes.append((category, index, x, y, HEAD + ROW_HEIGHT * len(docs) + PAD))
            for i, doc in enumerate(docs):
                positions[doc] = (x + PAD + 6, y + HEAD + ROW_HEIGHT * i + ROW_HEIGHT / 2)
            index += 1
        y += height + GAP
    width: float = GAP + min(COLUMNS, len(groups)) * (BOX_WIDTH + 2 * GAP) - GAP
    return positions, boxes, width, y


def _edge_path(a: tuple[float, float], b: tuple[float, float]) -> str:
    (x1, y1), (x2, y2) = a, b
    if abs(x1 - x2) < 1:  # same box: bow out to the left
        bend = 14 + 0.25 * abs(y2 - y1)
        return f"M{x1:.1f},{y1:.1f} C{x1 - bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    dx = (x2 - x1) * 0.4
    dy = 0.0 if abs(y1 - y2) > 1 else -30.0
    return f"M{x1:.1f},{y1:.1f} C{x1 + dx:.1f},{y1 + dy:.1f} {x2 - dx:.1f},{y2 + dy:.1f} {x2:.1f},{y2:.1f}"


def render_svg(app: Sphinx, docname: str) -> str:
    env = app.env
    groups, edges = env.kb_map
    positions, boxes, width, height = layout(groups)
    category_of = {doc: index for index, (_c, docs) in enumerate(groups) for doc in docs}
    out = [
        f'<svg class="kb-map-svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="group" '
        f'aria-label="知识图谱：{len(positions)} 篇文章，{len(edges)} 条引用关系">'
    ]
    for category, index, x, y, box_height in boxes:
        out.append(
            f'<g class="kb-map-category kb-cat-{index}">'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_WIDTH}" height="{box_height:.0f}" rx="8"/>'
            f'<text x="{x + PAD:.0f}" y="{y + 22:.0f}" class="kb-map-category-name">'
            f"{html.escape(category)}</text></g>"
        )
    out.append('<g class="kb-map-edges">')
    for a, b in edges:
        out.append(
            f'<path class="kb-map-edge kb-cat-{category_of[a]}" data-a="{html.escape(a)}" '
            f'data-b="{html.escape(b)}" d="{_edge_path(positions[a], positions[b])}"/>'
        )
    out.append("</g>")
    degree = {doc: 0 for doc in positions}
    for a, b in edges:
        degree[a] += 1
        degree[b] += 1
    for doc, (x, y) in sorted(positions.items(), key=lambda item: (item[1][1], item[1][0])):
        text = title(env, doc)
        uri = html.escape(app.builder.get_relative_uri(docname, doc))
        radius = 4 + min(4.0, math.sqrt(degree[doc]))
        out.append(
            f'<a class="kb-map-node kb-cat-{category_of[doc]}" href="{uri}" '
            f'data-doc="{html.escape(doc)}">'
            f"<title>{html.escape(text)}（{degree[doc]} 条引用关系）</title>"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}"/>'
            f'<text x="{x + 12:.1f}" y="{y + 4.5:.1f}">{html.escape(_label(text))}</text></a>'
        )
    out.append("</svg>")
    script = relative_uri(app.builder.get_target_uri(docname), SCRIPT)
    return (
        f'<div class="kb-map" data-edges="{len(edges)}">' + "".join(out) + "</div>"
        f'<script defer src="{html.escape(script)}"></script>'
    )


def _as_lists(app: Sphinx, docname: str) -> nodes.Element:
    env = app.env
    groups, edges = env.kb_map
    neighbours: dict[str, set[str]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    box = nodes.container(classes=["kb-map-lists", "no-search"])
    box += nodes.rubric("以列表查看", "以列表查看")
    for category, docs in groups:
        box += nodes.paragraph(category, category, classes=["kb-map-list-category"])
        listing = nodes.bullet_list()
        for doc in docs:
            paragraph = nodes.paragraph()
            paragraph += doc_link(app, docname, doc)
            linked = sorted(neighbours.get(doc, ()), key=lambda d: (title(env, d), d))
            if linked:
                paragraph += nodes.Text(" — 关联：")
                paragraph.extend(doc_links(app, docname, linked))
            listing += nodes.list_item("", paragraph)
        box += listing
    return box


def fill_map(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    placeholders = list(doctree.findall(knowledge_map))
    if not placeholders or not is_whole_page(app.env, doctree, docname):
        return
    for placeholder in placeholders:
        svg = nodes.raw("", render_svg(app, docname), format="html", classes=["no-search"])
        placeholder.replace_self([svg, _as_lists(app, docname)])


def copy_script(app: Sphinx) -> list[tuple[str, dict[str, Any], str]]:
    """Serve the map's script (it lives beside this module) when some page shows the map."""
    if app.builder.format == "html" and app.env.kb_map_pages:
        target = Path(app.outdir) / SCRIPT
        data = SCRIPT_SOURCE.read_bytes()
        if not target.is_file() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return []  # an html-collect-pages handler: it adds no page


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.blog.post_links")  # env.kb_outlinks: the map's edges
    add_page_directive(app, "knowledge-map", knowledge_map, "kb_map_pages")
    app.connect("html-collect-pages", copy_script)
    app.connect("env-updated", compute)
    app.connect("doctree-resolved", fill_map)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
