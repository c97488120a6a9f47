# mypy: disable-error-code="arg-type,index,union-attr,operator"
# (parsed HTML: BeautifulSoup types attributes as str | list | None and lookups as Optional)
"""Titles, tags, categories and authors are text everywhere, however much they look like HTML.

A tiny site (``tests/roots/test-titles-as-text``) has a post titled
``标题 <img src=x onerror=alert(1)> 测试`` tagged ``<script>alert(1)</script>`` and ``A&B``, a post
titled ``Java 泛型：List<T> 与 List<?>`` (a realistic title: Markdown reads ``<T>`` as an HTML
tag), and a plain post in the category ``C&C++ <模板>`` by the author ``<b>Ann</b> & Co`` (both
added to the configuration); the three share a series, a glossary term, a citation and links, so
their titles appear in every kind of place a title is shown. Each place must show the exact text:
the post's heading and ``<title>``, link-preview meta, the print header, the recent-posts
sidebar, the tag cloud, collection and catalog pages and their ``<title>`` and ``<link title>``,
prev/next, the homepage list, feeds, series boxes and page, related lists, glossary and
bibliography usage, the knowledge map, the search index and search results. No page may contain
the markup itself, and in Chromium no page opens a dialog.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from lxml import etree

from sitebuild import Build, make_site, parse_html, serve, sphinx_build

# Every test here reads a site built for it (make check skips them).
pytestmark = pytest.mark.slow

MARKUP_TITLE = "标题 <img src=x onerror=alert(1)> 测试"
JAVA_TITLE = "Java 泛型：List<T> 与 List<?>"
PLAIN_TITLE = "一篇普通的文章"
SCRIPT_TAG = "<script>alert(1)</script>"
AMP_TAG = "A&B"
CATEGORY = "C&C++ <模板>"
AUTHOR = "<b>Ann</b> & Co"
ATOM = "{http://www.w3.org/2005/Atom}"
# What the markup above would leave in a page if it were not escaped.
RAW = re.compile(r"<img src=x|<script>alert|List<T>|<b>标记</b>|<模板>|<b>Ann</b>")


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    base = tmp_path_factory.mktemp("titles")
    site = make_site(base / "src", "titles-as-text")
    # A category and an author (both declared in conf.py) that look like markup too.
    with (site / "conf.py").open("a", encoding="utf-8") as conf:
        conf.write(f"\nkb_categories = [*kb_categories, {CATEGORY!r}]\n")
        conf.write(f"blog_authors = {{**blog_authors, 'ann': ({AUTHOR!r}, None)}}\n")
    return sphinx_build(site, base / "html")


@pytest.fixture(scope="module")
def out(build: Build) -> Path:
    assert build.returncode == 0, build.output[-3000:]
    return build.outdir


def page(out: Path, relpath: str) -> BeautifulSoup:
    return parse_html(out / relpath)


def texts(soup: BeautifulSoup, selector: str) -> list[str]:
    return [node.get_text(" ", strip=True) for node in soup.select(selector)]


def test_builds_without_a_warning(build: Build):
    assert build.warnings == [], "\n".join(build.warnings)
    assert build.returncode == 0


def test_no_output_file_contains_the_markup(out: Path):
    """The raw markup is nowhere: not in a page, feed, sitemap or script (the search index holds
    the titles as JSON strings, checked separately)."""
    checked = 0
    for path in sorted(out.rglob("*")):
        if path.suffix not in {".html", ".xml", ".txt", ".js"} or path.name == "searchindex.js":
            continue
        if "_static" in path.relative_to(out).parts:
            continue
        checked += 1
        found = RAW.search(path.read_text(encoding="utf-8"))
        assert found is None, f"{path.relative_to(out)}: {found and found[0]}"
    assert checked > 20


def test_no_page_has_an_element_made_from_a_title(out: Path):
    for path in sorted(out.rglob("*.html")):
        if "_static" in path.relative_to(out).parts:
            continue
        soup = parse_html(path)
        assert not soup.select("img[src=x], [onerror], t"), path
        assert not [s for s in soup.find_all("script") if "alert(" in s.get_text()], path


def test_post_page_heading_title_and_meta(out: Path):
    soup = page(out, "posts/markup-title/index.html")
    assert soup.select_one("article h1").get_text().rstrip("#") == MARKUP_TITLE
    assert soup.title.get_text() == f"{MARKUP_TITLE} — 机器学习知识库"
    assert soup.select_one('meta[property="og:title"]')["content"] == MARKUP_TITLE
    assert soup.select_one('meta[name="description"]')["content"] == "描述里也有 <b>标记</b> 与 & 符号"
    assert soup.select_one('meta[property="og:description"]')["content"] == "描述里也有 <b>标记</b> 与 & 符号"
    assert [m["content"] for m in soup.select('meta[property="article:tag"]')] == [SCRIPT_TAG, AMP_TAG]
    # sphinx-book-theme's print-only header (hidden on screen, but its markup would still run).
    assert soup.select_one("#jb-print-docs-body h1").get_text() == MARKUP_TITLE
    assert texts(soup, ".post-meta-tags a") == [SCRIPT_TAG, AMP_TAG]
    java = page(out, "posts/java-generics/index.html")
    assert java.select_one("article h1").get_text().rstrip("#") == JAVA_TITLE
    assert java.title.get_text().startswith(JAVA_TITLE)


def test_sidebars_and_prev_next(out: Path):
    soup = page(out, "posts/plain-post/index.html")
    recent = texts(soup, ".ablog__recentposts li")
    assert recent == [f"2026-01-06 - {JAVA_TITLE}", f"2026-01-05 - {MARKUP_TITLE}"]
    assert set(texts(soup, ".ablog__tagcloud li a")) == {SCRIPT_TAG, AMP_TAG, "泛型", "算法"}
    assert texts(soup, ".ablog__prev-next a") == [JAVA_TITLE]
    java = page(out, "posts/java-generics/index.html")
    assert texts(java, ".ablog__prev-next a") == [MARKUP_TITLE, PLAIN_TITLE]


def test_collection_pages_headings_titles_and_feed_links(out: Path):
    soup = page(out, "blog/tag/scriptalert1script.html")
    assert SCRIPT_TAG in soup.select_one("article h1").get_text()
    assert SCRIPT_TAG in soup.title.get_text()
    assert SCRIPT_TAG in soup.select_one('link[rel="alternate"]')["title"]
    assert texts(soup, "h2.ablog-post-title a") == [MARKUP_TITLE]
    assert texts(soup, "li[id*=ablog__tags] a") == [SCRIPT_TAG, AMP_TAG]
    amp = page(out, "blog/tag/ab.html")
    assert amp.select_one('link[rel="alternate"]')["title"].endswith(AMP_TAG)
    assert texts(amp, "h2.ablog-post-title a") == [PLAIN_TITLE, JAVA_TITLE, MARKUP_TITLE]
    listing = page(out, "blog.html")
    assert texts(listing, "h2.ablog-post-title a") == [PLAIN_TITLE, JAVA_TITLE, MARKUP_TITLE]
    catalog = page(out, "blog/tag.html")
    assert {SCRIPT_TAG, AMP_TAG} <= set(texts(catalog, ".ablog__catalog_header h2 a"))
    assert MARKUP_TITLE in texts(catalog, ".ablog__catalog_post a")
    archive = page(out, "blog/archive.html")
    assert texts(archive, ".ablog__catalog_post a") == [PLAIN_TITLE, JAVA_TITLE, MARKUP_TITLE]


def test_category_and_author(out: Path):
    """A category and an author name come from conf.py, but are printed the same ways."""
    post = page(out, "posts/plain-post/index.html")
    assert texts(post, ".post-meta-category a") == [CATEGORY]
    assert texts(post, ".post-meta-author") == [f"作者 {AUTHOR}"]
    category = page(out, "blog/category/cc-模板.html")
    assert category.title.get_text() == f"收录于 {CATEGORY} — 机器学习知识库"
    assert category.select_one("article h1").get_text(" ", strip=True) == f"收录于 {CATEGORY}"
    assert category.select_one('link[rel="alternate"]')["title"].endswith(CATEGORY)
    author = page(out, "blog/author/bannb-co.html")
    assert author.select_one("article h1").get_text(" ", strip=True).endswith(AUTHOR)
    assert texts(page(out, "blog/category.html"), ".ablog__catalog_header h2 a") == [CATEGORY, "Java"]
    assert texts(page(out, "blog/author.html"), ".ablog__catalog_header h2 a") == [AUTHOR, "站长"]
    entry = etree.parse(str(out / "blog/atom.xml")).getroot().find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == AUTHOR
    feed = etree.parse(str(out / "blog/category/cc-模板/atom.xml")).getroot()
    assert feed.findtext(f"{ATOM}title").endswith(CATEGORY)


def test_homepage_list(out: Path):
    soup = page(out, "index.html")
    assert texts(soup, "li.ablog-post p.ablog-post-title a") == [PLAIN_TITLE, JAVA_TITLE, MARKUP_TITLE]


def test_feeds(out: Path):
    root = etree.parse(str(out / "blog/atom.xml")).getroot()
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [PLAIN_TITLE, JAVA_TITLE, MARKUP_TITLE]
    labels = {c.get("label") for c in entries[2].findall(f"{ATOM}category")}
    assert labels == {SCRIPT_TAG, AMP_TAG}
    tag_feed = etree.parse(str(out / "blog/tag/scriptalert1script/atom.xml")).getroot()
    assert tag_feed.findtext(f"{ATOM}title").endswith(SCRIPT_TAG)


def test_knowledge_base_pages(out: Path):
    post = page(out, "posts/markup-title/index.html")
    assert texts(post, ".kb-series-steps a") == [JAVA_TITLE]
    assert set(texts(post, ".kb-related a")) == {JAVA_TITLE, PLAIN_TITLE}
    series = page(out, "series.html")
    assert texts(series, "#series-pytorch li a") == [MARKUP_TITLE, JAVA_TITLE]
    glossary = page(out, "glossary.html")
    assert set(texts(glossary, ".kb-term-usage a")) == {MARKUP_TITLE, JAVA_TITLE, PLAIN_TITLE}
    bibliography = page(out, "bibliography.html")
    assert set(texts(bibliography, ".kb-cited-by a")) == {MARKUP_TITLE, JAVA_TITLE}
    knowledge_map = page(out, "map.html")
    nodes = texts(knowledge_map, ".kb-map-node title")
    assert f"{MARKUP_TITLE}（1 条引用关系）" in nodes and f"{JAVA_TITLE}（2 条引用关系）" in nodes
    assert set(texts(knowledge_map, ".kb-map-lists li > p > a:first-child")) == {
        MARKUP_TITLE,
        JAVA_TITLE,
        PLAIN_TITLE,
    }


def test_search_index_holds_the_titles_as_text(out: Path):
    records = [json.loads(p.read_text(encoding="utf-8")) for p in (out / "_search" / "d").glob("*.json")]
    titles = {record["u"]: record["t"] for record in records}
    assert titles["posts/markup-title/index.html"] == MARKUP_TITLE
    assert titles["posts/java-generics/index.html"] == JAVA_TITLE


PAGES = [
    "index.html",
    "posts/markup-title/index.html",
    "posts/java-generics/index.html",
    "posts/plain-post/index.html",
    "blog.html",
    "blog/tag.html",
    "blog/tag/scriptalert1script.html",
    "blog/tag/ab.html",
    "blog/category/java.html",
    "blog/category/cc-模板.html",
    "blog/category.html",
    "blog/author/bannb-co.html",
    "blog/archive.html",
    "blog/2026.html",
    "series.html",
    "glossary.html",
    "bibliography.html",
    "map.html",
]


@pytest.mark.browser
def test_no_page_opens_a_dialog_in_chromium(out: Path, browser):
    httpd, url = serve(out)
    dialogs: list[str] = []
    try:
        context = browser.new_context()
        tab = context.new_page()

        def dismiss(dialog) -> None:
            dialogs.append(f"{tab.url}: {dialog.message}")
            dialog.dismiss()

        tab.on("dialog", dismiss)
        for relpath in PAGES:
            assert (out / relpath).is_file(), relpath
            tab.goto(f"{url}/{relpath}", wait_until="load")
            tab.wait_for_timeout(100)
            assert tab.evaluate("document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
        # Search results: the site's search script writes each result's title into the page.
        for query, title in [("标题 测试", MARKUP_TITLE), ("泛型", JAVA_TITLE)]:
            tab.goto(f"{url}/search.html?q={quote(query)}", wait_until="load")
            tab.wait_for_selector("#kb-search-status[data-state=done]", timeout=20_000)
            shown = tab.eval_on_selector_all(
                "#kb-search-results .kb-hit-title", "titles => titles.map(t => t.textContent)"
            )
            assert title in shown, (query, shown)
            assert tab.evaluate("document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
        context.close()
    finally:
        httpd.shutdown()
    assert dialogs == []
