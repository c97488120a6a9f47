# mypy: disable-error-code="arg-type,index,operator,type-var,return-value,misc"
# (parsed HTML: BeautifulSoup types attributes as str | list | None and lookups as Optional)
"""版权声明 and 引用本文 at the end of every post; the licence in every page head and every feed.

The expectations come from ``conf.py`` (``kb_license``, ``project``, ``site_url``) and the posts'
sources; the BibTeX entries are parsed back with pybtex, as a reader's reference manager would.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin

import pybtex.database
import pytest
from bs4 import BeautifulSoup
from lxml import etree

import new_post
from kb.blog.citation import bibtex_entry, bibtex_escape, gbt7714_citation
from posts_source import SourcePost, source_posts
from sitebuild import make_site, parse_html, site_config, site_url, sphinx_build

ATOM = "{http://www.w3.org/2005/Atom}"
LICENSE = site_config()["kb_license"]
PROJECT = site_config()["project"]
KEY_PREFIX = site_config()["kb_citation_key_prefix"]
POSTS = source_posts()


LATEX_WORDS = {"textbackslash": "\\", "textasciitilde": "~", "textasciicircum": "^"}


def latex_text(value: str) -> str:
    """A BibTeX field's text as LaTeX typesets it: escaped characters as themselves, grouping
    braces dropped. Fails on a character LaTeX would read as markup, or unbalanced braces.
    (pybtex's own rendering knows neither \\{ nor \\textasciicircum.)"""
    markup = re.sub(r"\\(?:[a-z]+\{\}|.)", "", value)  # what is left without the escapes
    assert not re.search(r"[&%$#_~^\\]", markup), f"unescaped markup in {value!r}"
    depth = 0
    for char in markup:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, f"unbalanced braces in {value!r}"
    assert depth == 0, f"unbalanced braces in {value!r}"
    text = re.sub(r"\\([a-z]+)\{\}", lambda m: LATEX_WORDS[m[1]], value)
    text = re.sub(r"(?<!\\)[{}]", "", text)
    return re.sub(r"\\([{}&%$#_])", r"\1", text)


# -- the entry and the citation line --------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "DDIM：用非马尔可夫过程加速扩散模型采样",
        "A&B 与 {x}：100% 覆盖 #1_2 的 $5 方案",
        r"反斜杠 \ 与 ~^ 记号",
    ],
)
def test_bibtex_entry_reads_back_as_the_same_title(title: str):
    url = "https://example.org/posts/a-b/index.html"
    entry = bibtex_entry("kb:a-b", ["站长"], title, "机器学习知识库", datetime(2026, 3, 9), url)
    parsed = pybtex.database.parse_string(entry, "bibtex").entries["kb:a-b"]
    assert parsed.type == "misc"
    assert latex_text(parsed.fields["title"]) == title
    assert latex_text(str(parsed.persons["author"][0])) == "站长"
    assert (parsed.fields["year"], parsed.fields["month"].lower()) == ("2026", "march")
    assert parsed.fields["url"] == url and parsed.fields["howpublished"] == "机器学习知识库"


def test_bibtex_escape_escapes_every_special_character_once():
    assert bibtex_escape("a&b%c$d#e_f{g}h") == r"a\&b\%c\$d\#e\_f\{g\}h"
    assert bibtex_escape("~^\\") == r"\textasciitilde{}\textasciicircum{}\textbackslash{}"
    assert bibtex_escape("扩散模型 DDIM") == "扩散模型 DDIM"


def test_every_author_is_named_and_kept_whole():
    entry = bibtex_entry(
        "kb:x", ["站长", "Jane van Doe"], "题目", "站", datetime(2026, 1, 1), "https://x.org/"
    )
    persons = pybtex.database.parse_string(entry, "bibtex").entries["kb:x"].persons["author"]
    assert [latex_text(str(person)) for person in persons] == ["站长", "Jane van Doe"]
    assert gbt7714_citation(["站长", "Jane van Doe"], "题目", "站", datetime(2026, 1, 1), "u") == (
        "站长, Jane van Doe. 题目[EB/OL]. 站, (2026-01-01). u"
    )


def test_one_line_citation_follows_gbt7714_for_electronic_resources():
    line = gbt7714_citation(
        ["站长"], "标题", "机器学习知识库", datetime(2026, 1, 10, 10, 0), "https://x.org/p.html"
    )
    assert line == "站长. 标题[EB/OL]. 机器学习知识库, (2026-01-10). https://x.org/p.html"


# -- the real site ------------------------------------------------------------------------------------


def blocks(html_dir: Path, post: SourcePost) -> tuple[BeautifulSoup, BeautifulSoup, BeautifulSoup]:
    page = parse_html(html_dir / post.url)
    return (
        page,
        page.select_one("article.bd-article .kb-license"),
        page.select_one("article.bd-article .kb-cite"),
    )


@pytest.mark.slow
@pytest.mark.parametrize("post", POSTS, ids=lambda p: p.slug)
def test_every_post_ends_with_its_licence_and_a_citation(html_dir: Path, post: SourcePost):
    page, notice, cite = blocks(html_dir, post)
    assert notice is not None and cite is not None
    # After the article's own content, before the related articles (and ABlog's comments box).
    article = page.select_one("article.bd-article")
    order = [
        next((c for c in child.get("class", []) if c.startswith(("kb-", "ablog__"))), child.name)
        for child in article.find_all(recursive=False)
    ]
    assert order[-4:] == ["kb-license", "kb-cite", "kb-related", "ablog__blog_comments"], order
    assert notice.select_one(".rubric").get_text() == "版权声明"
    licence = [a for a in notice.select("a") if a["href"] == LICENSE["url"]]
    assert [a.get_text() for a in licence] == [LICENSE["name"]]
    assert LICENSE["title"] in notice.get_text()
    url = f"{site_url()}{post.url}"
    permalink = notice.select_one("a.kb-permalink")
    assert permalink["href"] == permalink.get_text() == url
    assert page.select_one('meta[property="og:url"]')["content"] == url
    author = site_config()["blog_authors"][post.author][0]
    assert author in notice.get_text()

    assert cite.select_one(".rubric").get_text() == "引用本文"
    # Both are code blocks, which sphinx-copybutton gives a copy button (its selector).
    line, bibtex = (pre.get_text() for pre in cite.select("div.highlight pre"))
    assert line.strip() == f"{author}. {post.title}[EB/OL]. {PROJECT}, ({post.date:%Y-%m-%d}). {url}"
    entries = pybtex.database.parse_string(bibtex, "bibtex").entries
    key = f"{KEY_PREFIX}:{post.slug}"
    assert list(entries) == [key]
    fields = entries[key].fields
    assert latex_text(fields["title"]) == post.title
    assert [latex_text(str(person)) for person in entries[key].persons["author"]] == [author]
    assert fields["year"] == str(post.date.year) and fields["url"] == url


@pytest.mark.slow
def test_every_page_and_every_feed_states_the_licence(html_dir: Path):
    pages = [p for p in html_dir.rglob("*.html") if p.relative_to(html_dir).parts[0] != "_static"]
    assert len(pages) > 100
    for path in pages:
        links = [link["href"] for link in parse_html(path).select('head link[rel="license"]')]
        assert links == [LICENSE["url"]], path
    feeds = sorted(html_dir.rglob("atom.xml"))
    assert len(feeds) > 20
    for path in feeds:
        root = etree.parse(str(path)).getroot()
        rights = root.findtext(f"{ATOM}rights")
        assert rights and LICENSE["name"] in rights and LICENSE["url"] in rights, path
        assert [link.get("href") for link in root.findall(f"{ATOM}link[@rel='license']")] == [LICENSE["url"]]


@pytest.mark.slow
def test_the_licence_and_citation_are_not_search_terms(html_dir: Path):
    """Every post has them: indexed, they would make every post a hit for "引用本文"."""
    import json

    terms: set[str] = set()
    for block in (html_dir / "_search" / "t").glob("*.json"):
        terms |= set(json.loads(block.read_text(encoding="utf-8")))
    assert "ddim" in terms  # the index is there
    assert not {"howpublished", "mlkb", "eb", "版权声明", "引用本文"} & terms
    for record in (html_dir / "_search" / "d").glob("*.json"):
        assert "引用本文" not in record.read_text(encoding="utf-8"), record.name


# -- titles with BibTeX's and HTML's special characters ---------------------------------------------


@pytest.mark.slow
def test_a_title_full_of_markup_characters_is_cited_as_text(tmp_path: Path):
    site = make_site(tmp_path / "src")
    title = "A&B 与 {x}：100% 覆盖 #1 的 ~^ 方案"
    code = new_post.main(
        [
            "--slug",
            "markup-title",
            "--title",
            title,
            "--category",
            "Algorithm",
            "--tags",
            "A&B, 记号",
            "--posts-dir",
            str(site / "posts"),
        ]
    )
    assert code == 0
    build = sphinx_build(site, tmp_path / "html")
    assert build.returncode == 0 and not build.warnings, build.output[-3000:]
    page = parse_html(build.outdir / "posts/markup-title/index.html")
    cite = page.select_one(".kb-cite")
    line, bibtex = (pre.get_text() for pre in cite.select("div.highlight pre"))
    assert f" {title}[EB/OL]. " in line
    entry = pybtex.database.parse_string(bibtex, "bibtex").entries[f"{KEY_PREFIX}:markup-title"]
    assert latex_text(entry.fields["title"]) == title
    permalink = page.select_one(".kb-license a.kb-permalink")["href"]
    assert permalink == urljoin(site_url(), "posts/markup-title/index.html")
