"""What a page shares with other pages, rendered once per build instead of once per page:
post excerpts on collection pages (kb/blog/excerpts.py) and the theme's check for empty
sidebar templates (kb/empty_templates.py). Each must give exactly what rendering per page gave."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ablog.blog
import pytest
from docutils import nodes
from jinja2 import DictLoader, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment
from sphinx import addnodes
from sphinx.util.docutils import docutils_namespace

from kb import empty_templates
from kb.blog import excerpts
from sitebuild import make_site

# -- the theme's check for empty templates -------------------------------------------------------

TEMPLATES = {
    "text.html": "{# a comment #}\n<nav>{{ x }}</nav>\n",
    "guard.html": "{% if items %}\n<div>{% for i in items %}{{ i }}{% endfor %}</div>\n{% endif %}\n",
    "guard-attr.html": "{#- c -#}\n{%- if a.b %}\n<ul></ul>\n{%- else %}   \n{% endif %}\n",
    "expression.html": "{{ maybe }}",
    "elif.html": "{% if a %}<p>{% elif b %}<q>{% endif %}",
    "else-text.html": "{% if a %}<p>{% else %}<q>{% endif %}",
    "blank-body.html": "{% if a %}  {{ maybe }} {% endif %}",
    "two-ifs.html": "{% if a %}<p>{% endif %}{% if b %}<q>{% endif %}",
    "extends.html": "{% extends 'expression.html' %}",
    "set-then-if.html": "{% set t = a %}{% if t %}<p>{% endif %}",
    "loop.html": "{% for i in items %}<li>{% endfor %}",
    "reads-section.html": "{% if 'loop.html' in sidebars %}<p>{% endif %}",
    "pure-calls.html": "{% if a %}<a href='{{ pathto(a.get('b')) }}'>{{ _('x') }}</a>{% endif %}",
    # What a skipped rendering would leave undone (the theme's unique_html_id counts calls).
    "counts.html": "{% set id = next_id('x') %}<div id='{{ id }}'></div>",
    "counts-in-guard.html": "{% if a %}<div id='{{ next_id('x') }}'></div>{% endif %}",
    "method.html": "{% if items %}<p>{{ items.pop() }}</p>{% endif %}",
    "includes.html": "<p>{% include 'counts.html' %}</p>",
}
KINDS = {
    "text.html": empty_templates.ALWAYS,
    "guard.html": "guard",
    "guard-attr.html": "guard",
    "reads-section.html": "guard",
    "pure-calls.html": "guard",
}
CONTEXTS = [
    {"x": "", "items": [], "a": {"b": 0}, "b": False, "maybe": ""},
    {"x": "1", "items": [1, 2], "a": {"b": 1}, "b": True, "maybe": "  "},
    {"items": "", "a": None, "maybe": "text"},
    {"items": [0], "a": {"b": []}, "b": 1, "maybe": 0},
]


def _theme_app(rendered: list[str]) -> Any:
    """What the theme's function uses of the app, counting the templates it renders."""
    environment = SandboxedEnvironment(loader=DictLoader(TEMPLATES))

    def render(name: str, context: dict) -> str:
        rendered.append(name)
        return environment.get_template(name).render(context)

    environment.globals.update(pathto=lambda name: f"../{name}.html", _=str.upper)
    return SimpleNamespace(
        builder=SimpleNamespace(
            format="html", templates=SimpleNamespace(environment=environment, render=render)
        )
    )


class Counter:
    """The theme's unique_html_id: each call gives the next id."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, base: str) -> str:
        self.calls += 1
        return f"{base}-{self.calls}"


def test_templates_are_classified_by_what_their_source_decides():
    environment = SandboxedEnvironment(loader=DictLoader(TEMPLATES))
    for name, source in TEMPLATES.items():
        kind = empty_templates.classify(environment, source, name)
        expected = KINDS.get(name, empty_templates.UNKNOWN)
        assert (kind if isinstance(kind, str) else "guard") == expected, name


@pytest.mark.parametrize("context", CONTEXTS)
def test_the_same_templates_are_kept_as_by_the_theme_with_fewer_renders(context: dict):
    """pydata-sphinx-theme's own function against this module's, on every template at once
    and one by one; the decided templates are never rendered."""
    names = list(TEMPLATES)
    cases: list[list[str] | str] = [names, *([name] for name in names), ",".join(name[:-5] for name in names)]
    for templates in cases:
        theirs: list[str] = []
        ours: list[str] = []
        their_ids, our_ids = Counter(), Counter()
        expected = empty_templates._upstream(
            _theme_app(theirs), dict(copy.deepcopy(context), next_id=their_ids), templates, "sidebars"
        )
        empty_templates._kinds.clear()
        kept = empty_templates.update_and_remove_templates(
            _theme_app(ours), dict(copy.deepcopy(context), next_id=our_ids), templates, "sidebars"
        )
        assert kept == expected, templates
        assert our_ids.calls == their_ids.calls  # the page renders the same ids afterwards
        assert not set(ours) & set(KINDS), ours
    # The theme's own list of templates never checked is honoured too.
    ours = []
    kept = empty_templates.update_and_remove_templates(
        _theme_app(ours), dict(context), ["loop.html", "guard.html"], "sidebars", ["loop.html"]
    )
    assert kept[0] == "loop.html" and "loop.html" not in ours


def test_a_missing_template_fails_as_the_theme_fails():
    empty_templates._kinds.clear()
    for function in (empty_templates._upstream, empty_templates.update_and_remove_templates):
        with pytest.raises(TemplateNotFound):
            function(_theme_app([]), {}, ["missing.html"], "sidebars")


# -- post excerpts ---------------------------------------------------------------------------------


def _post(*children: nodes.Node) -> SimpleNamespace:
    return SimpleNamespace(excerpt=[nodes.paragraph("", "", *children)])


def test_only_excerpts_without_links_or_paths_count_as_the_same_on_every_page():
    math = nodes.math("", "x^2")
    assert excerpts.is_page_independent(
        _post(nodes.Text("正文"), nodes.emphasis("", "强调"), nodes.literal("", "code"), math)
    )
    assert excerpts.is_page_independent(_post(nodes.strong("", "", nodes.subscript("", "2"))))
    for child in [
        nodes.reference("", "链接", refuri="../other.html"),
        addnodes.pending_xref("", nodes.Text("文章"), refdoc="posts/a/index", reftarget="/posts/b/index"),
        nodes.image(uri="_images/a.png"),
        nodes.footnote_reference("", "1", refid="f1"),
        nodes.strong("", "", nodes.reference("", "嵌套", refuri="x.html")),
    ]:
        assert not excerpts.is_page_independent(_post(nodes.Text("正文"), child)), child


POSTS = 13  # more than a page of the post list (10): excerpts on pages of two depths


def _write_posts(site: Path) -> None:
    for number in range(1, POSTS + 1):
        if number == 1:  # every node type kept once per build
            excerpt = "正文有*强调*、**加粗**、`代码`、公式 $x^2$ 和 {sub}`2` {sup}`n`。"
        elif number == 2:  # a link: rendered for each page, relative to it
            excerpt = "它接着{doc}`第三篇 </posts/p03/index>`讲。"
        else:
            excerpt = f"第 {number} 篇的摘要。"
        (site / "posts" / f"p{number:02d}").mkdir(parents=True)
        (site / "posts" / f"p{number:02d}" / "index.md").write_text(
            textwrap.dedent(
                f"""\
                ---
                blogpost: true
                date: 2026-01-{number:02d} 10:00
                category: Generative Model
                tags: 扩散模型, 采样
                author: 站长
                ---

                # 第 {number} 篇

                {excerpt}

                ## 正文

                第 {number} 篇的正文。
                """
            ),
            encoding="utf-8",
        )


@pytest.mark.slow
def test_excerpts_rendered_once_are_what_each_page_would_render(tmp_path: Path):
    """On every collection page of a small site, the excerpt a page shows is what ABlog renders
    for that page; an excerpt with a link differs between pages and is never shared.

    Built in this process inside ``docutils_namespace`` and with ABlog's shared blog emptied
    afterwards, as tests/test_upstream_contracts.py builds: the warm builds of
    tests/test_incremental.py are forked from this process and must not inherit the site."""
    site = make_site(tmp_path / "src")
    _write_posts(site)
    try:
        with docutils_namespace():
            _check_excerpts(site, tmp_path)
    finally:
        ablog.blog.Blog._dict.clear()


def _check_excerpts(site: Path, tmp_path: Path) -> None:
    from sphinx.application import Sphinx

    app = Sphinx(
        str(site),
        str(site),
        str(tmp_path / "out"),
        str(tmp_path / "doctrees"),
        "html",
        status=None,
        warning=None,
    )
    app.build()
    assert app.statuscode == 0
    pages = [
        (pagename, context, template)
        for pagename, context, template in excerpts_pages(app)
        if "collection" in context and context.get("posts")
    ]
    assert {pagename.count("/") for pagename, _context, _template in pages} >= {0, 1, 2, 3}
    by_post: dict[str, set[str]] = {}
    for pagename, context, _template in pages:
        for post in context["posts"]:
            shown = excerpts.to_html(post, pagename)
            assert shown == excerpts._upstream_to_html(post, pagename), (pagename, post.docname)
            by_post.setdefault(post.docname, set()).add(shown)
    assert len(by_post["posts/p02/index"]) > 1  # relative links: one rendering per depth
    assert all(len(shown) == 1 for docname, shown in by_post.items() if docname != "posts/p02/index")
    assert ("posts/p02/index", "") not in excerpts._rendered
    first = by_post["posts/p01/index"].pop()
    assert all(tag in first for tag in ("<em>", "<strong>", "<code", "katex", "<sub>", "<sup>"))
    assert ("posts/p01/index", "") in excerpts._rendered

    # Rendered ahead in forked processes: the same HTML as rendering in this one.
    kept = dict(excerpts._rendered)
    excerpts._rendered.clear()
    app.parallel = 2
    excerpts.prerender(app, pages)
    assert excerpts._rendered == kept

    # The site's sidebars are decided from their source, not rendered twice on every page.
    kinds = {name: empty_templates._kind(app, name) for name in app.config.html_sidebars["**"]}
    assert all(kind != empty_templates.UNKNOWN for kind in kinds.values()), kinds


def excerpts_pages(app):
    from kb.blog.collections import archive_pages

    return list(archive_pages(app))
