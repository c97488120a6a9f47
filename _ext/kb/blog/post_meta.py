"""A line of post metadata under each post's title: date, category, tags, author, reading time
(and, in a preview, the "草稿" / "定时发布" mark of an unpublished post).

The line is inserted after ABlog has taken the excerpt and the feed copy of the post (ABlog's
``doctree-read`` handler runs at priority 500), so neither repeats it. Category and tag
links are ``pending_xref`` nodes to ABlog's collection labels (``category-<slug>``,
``tag-<slug>``), resolved by ABlog's ``missing-reference`` handler, so their URLs always agree
with the pages ABlog writes; with ``nitpicky`` a link that ABlog cannot resolve fails the build.
ABlog fills the registry those links resolve from only in ``doctree-resolved``, i.e. after the
first page written in a build has had its links resolved; when that page is a post (an
incremental build that rewrites only posts, or ``sphinx-build`` given one post's file) its links
failed. :func:`register_posts_first` fills the registry before ABlog's handler looks.

Reading time and length (字数) are measured on the document as read, with the rates that
``conf.py`` states and sources (``kb_reading_*``): Chinese characters and Latin words of the prose
at reading speeds for careful silent reading, each formula by its number of symbols (TeX tokens:
``\\frac{a}{b}`` is three), each non-blank line of code at a skimming rate, and each figure the
way Medium counts images (12 s for the first, a second less for each next one, at least 3 s). The
reference list, comments and raw markup are not read. 字数 is the number of Chinese characters
plus Latin words of the prose, as Chinese blogs count it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import ablog
from ablog.blog import Blog, slugify
from ablog.post import register_posts
from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx

from .. import pipeline
from .drafts import preview_marks, status_mark

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
# A formula's symbols: a command (\alpha, \frac), an escaped character, or any other character
# but spaces, braces, sub/superscript marks and alignment tabs; TEX_LAYOUT draws nothing to read.
TEX_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[^\s{}^_&]")
TEX_LAYOUT = {
    *r"\left \right \big \Big \bigg \Bigg \quad \qquad \displaystyle \tag \label".split(),
    *r"\nonumber \notag \text \textrm \operatorname \mathrm \mathbf \mathcal \mathbb \mathsf".split(),
    *r"\mathit \boldsymbol \bm \, \; \: \! \\".split(),
    "\\ ",
}
NOT_READ = (
    nodes.literal_block,
    nodes.math,
    nodes.math_block,
    nodes.footnote,
    nodes.citation,
    nodes.comment,
    nodes.raw,
)


@dataclass(frozen=True)
class Length:
    """What a reader of the post reads: prose, formulas, code and figures."""

    cjk: int = 0  # Chinese characters of the prose
    words: int = 0  # Latin words (and numbers) of the prose
    math_symbols: int = 0
    code_lines: int = 0  # non-blank lines of code blocks (and of shown program output)
    figures: int = 0

    @property
    def characters(self) -> int:
        """字数: Chinese characters plus Latin words of the prose."""
        return self.cjk + self.words


TEX_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{[^}]*\}")


def tex_symbols(tex: str) -> int:
    """The symbols a reader reads in a formula's TeX source."""
    tokens = TEX_TOKEN.findall(TEX_ENVIRONMENT.sub(" ", tex))
    return sum(1 for token in tokens if token not in TEX_LAYOUT)


def _read(node: nodes.Node) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, NOT_READ):
            return False
        parent = parent.parent
    return True


def measure(doctree: nodes.Node) -> Length:
    cjk = words = 0
    for node in doctree.findall(nodes.Text):
        if _read(node):
            text = node.astext()
            cjk += len(CJK.findall(text))
            words += len(LATIN_WORD.findall(text))
    code_lines = sum(
        1
        for block in doctree.findall(nodes.literal_block)
        for line in block.astext().splitlines()
        if line.strip()
    )
    math_symbols = sum(tex_symbols(n.astext()) for n in doctree.findall(nodes.math))
    math_symbols += sum(tex_symbols(n.astext()) for n in doctree.findall(nodes.math_block))
    figures = sum(1 for _ in doctree.findall(nodes.figure))
    figures += sum(1 for image in doctree.findall(nodes.image) if not isinstance(image.parent, nodes.figure))
    return Length(cjk, words, math_symbols, code_lines, figures)


def reading_seconds(length: Length, config: Any) -> float:
    first, least = config.kb_reading_first_image_seconds, config.kb_reading_least_image_seconds
    return (
        60 * length.cjk / config.kb_reading_cjk_per_minute
        + 60 * length.words / config.kb_reading_words_per_minute
        + 60 * length.math_symbols / config.kb_reading_math_symbols_per_minute
        + 60 * length.code_lines / config.kb_reading_code_lines_per_minute
        + sum(max(least, first - i) for i in range(length.figures))
    )


def reading_minutes(doctree: nodes.Node, config: Any) -> int:
    return max(1, math.ceil(reading_seconds(measure(doctree), config) / 60))


def _xref(target: str, text: str, docname: str) -> addnodes.pending_xref:
    ref = addnodes.pending_xref(
        "",
        refdomain="std",
        reftype="ref",
        reftarget=target,
        refexplicit=True,
        refwarn=True,
        refdoc=docname,
    )
    ref += nodes.inline(text, text)
    return ref


def _item(css_class: str, label: str, *content: nodes.Node) -> nodes.inline:
    item = nodes.inline(classes=["post-meta-item", css_class])
    item += nodes.inline(label, label, classes=["post-meta-label"])
    item.extend(content)
    return item


def add_post_meta(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    posts = getattr(app.env, "ablog_posts", {}).get(docname)
    if not posts:
        return
    post = posts[0]
    meta = nodes.container(classes=["post-meta"])
    mark = preview_marks(app).get(docname)
    if mark:  # only a preview builds unpublished posts
        meta += status_mark(mark)
    if post["date"]:
        date = post["date"].strftime("%Y-%m-%d")
        meta += _item("post-meta-date", "发布于 ", nodes.inline(date, date))
    for category in post["category"]:
        meta += _item(
            "post-meta-category", "分类 ", _xref("category-" + slugify(category), category, docname)
        )
    if post["tags"]:
        links: list[nodes.Node] = []
        for i, tag in enumerate(post["tags"]):
            if i:
                links.append(nodes.Text("、"))
            links.append(_xref("tag-" + slugify(tag), tag, docname))
        meta += _item("post-meta-tags", "标签 ", *links)
    for author in post["author"]:
        name = app.config.blog_authors.get(author, (author, None))[0]
        meta += _item("post-meta-author", "作者 ", nodes.inline(name, name))
    length = measure(doctree)
    minutes = max(1, math.ceil(reading_seconds(length, app.config) / 60))
    meta += _item("post-meta-length", "字数 ", nodes.inline(str(length.characters), str(length.characters)))
    meta += _item("post-meta-reading-time", "阅读 ", nodes.inline(f"约 {minutes} 分钟", f"约 {minutes} 分钟"))
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not isinstance(section[0], nodes.title):
        return  # frontmatter.py reports the missing title
    section.insert(1, meta)


def register_posts_first(app: Sphinx, env: Any, node: nodes.Element, contnode: nodes.Node) -> None:
    """``missing-reference``, before ABlog's handler: register the posts if ABlog has not."""
    if not Blog(app):
        register_posts(app)


def register_posts_before_writing(app: Sphinx, builder: Any) -> None:
    """``write-started``: register the posts before any page is written. A build that writes
    no document (only an output file was deleted, or ``sphinx-build`` found nothing to read)
    otherwise wrote the index and 404 pages, which come before the collection pages, without
    ABlog's sidebars, unlike a clean build."""
    if ablog.builder_support(app) and not Blog(app):
        register_posts(app)


def setup(app: Sphinx) -> dict[str, Any]:
    # Defaults as conf.py sets them (it names the sources).
    app.add_config_value("kb_reading_cjk_per_minute", 300, "env", types=[int, float])
    app.add_config_value("kb_reading_words_per_minute", 200, "env", types=[int, float])
    app.add_config_value("kb_reading_math_symbols_per_minute", 300, "env", types=[int, float])
    app.add_config_value("kb_reading_code_lines_per_minute", 120, "env", types=[int, float])
    app.add_config_value("kb_reading_first_image_seconds", 12, "env", types=[int, float])
    app.add_config_value("kb_reading_least_image_seconds", 3, "env", types=[int, float])
    app.connect("doctree-read", add_post_meta, priority=pipeline.ADD_POST_META)
    app.connect("missing-reference", register_posts_first, priority=pipeline.REGISTER_POSTS_FIRST)
    app.connect("write-started", register_posts_before_writing)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
