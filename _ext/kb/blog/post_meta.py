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

Reading time is estimated for Chinese technical text: Chinese characters at
``kb_reading_cjk_per_minute``, Latin words at ``kb_reading_words_per_minute``, code lines at a
small fixed cost (code is skimmed), formulas by the length of their LaTeX source plus a fixed
cost per display formula (a long derivation takes longer than ``$k$``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from ablog.blog import Blog, slugify
from ablog.post import register_posts
from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx

from .. import pipeline
from .drafts import preview_marks, status_mark

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")


def reading_minutes(doctree: nodes.Node, config: Any) -> int:
    cjk = words = code_lines = 0
    for node in doctree.findall(nodes.Text):
        parent = node.parent
        if isinstance(parent, (nodes.literal_block, nodes.math, nodes.math_block)):
            continue
        text = node.astext()
        cjk += len(CJK.findall(text))
        words += len(LATIN_WORD.findall(text))
    for block in doctree.findall(nodes.literal_block):
        code_lines += block.astext().count("\n") + 1
    math_chars = sum(len(n.astext()) for n in doctree.findall(nodes.math))
    math_chars += sum(len(n.astext()) for n in doctree.findall(nodes.math_block))
    display_math = sum(1 for _n in doctree.findall(nodes.math_block))
    seconds = (
        60 * cjk / config.kb_reading_cjk_per_minute
        + 60 * words / config.kb_reading_words_per_minute
        + config.kb_reading_seconds_per_code_line * code_lines
        + config.kb_reading_seconds_per_math_char * math_chars
        + config.kb_reading_seconds_per_display_math * display_math
    )
    return max(1, math.ceil(seconds / 60))


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
    minutes = reading_minutes(doctree, app.config)
    meta += _item("post-meta-reading-time", "阅读 ", nodes.inline(f"约 {minutes} 分钟", f"约 {minutes} 分钟"))
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not isinstance(section[0], nodes.title):
        return  # frontmatter.py reports the missing title
    section.insert(1, meta)


def register_posts_first(app: Sphinx, env: Any, node: nodes.Element, contnode: nodes.Node) -> None:
    """``missing-reference``, before ABlog's handler: register the posts if ABlog has not."""
    if not Blog(app):
        register_posts(app)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("kb_reading_cjk_per_minute", 400, "env", types=[int, float])
    app.add_config_value("kb_reading_words_per_minute", 200, "env", types=[int, float])
    app.add_config_value("kb_reading_seconds_per_code_line", 0.5, "env", types=[int, float])
    app.add_config_value("kb_reading_seconds_per_math_char", 0.25, "env", types=[int, float])
    app.add_config_value("kb_reading_seconds_per_display_math", 5.0, "env", types=[int, float])
    app.connect("doctree-read", add_post_meta, priority=pipeline.ADD_POST_META)
    app.connect("missing-reference", register_posts_first, priority=pipeline.REGISTER_POSTS_FIRST)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
