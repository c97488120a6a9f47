# mypy: disable-error-code="arg-type,index,operator,type-var,return-value,misc"
# (parsed HTML: BeautifulSoup types attributes as str | list | None and lookups as Optional)
"""Whole-site checks on one clean strict build of the real site."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from ablog.blog import slugify
from bs4 import BeautifulSoup
from lxml import etree

from posts_source import SourcePost, source_posts
from sitebuild import BUNDLED_STYLESHEETS, Build, parse_html, site_config

pytestmark = pytest.mark.slow  # one clean build of the real site

ATOM = "{http://www.w3.org/2005/Atom}"
POSTS = source_posts()


soup = parse_html


def article(html_dir: Path, relpath: str) -> BeautifulSoup:
    page = soup(html_dir / relpath)
    node = page.select_one("article.bd-article")
    assert node is not None, relpath
    return node


def linked_posts(container, page_relpath: str) -> list[str]:
    """Post URLs (relative to the site root) linked from a container, in document order."""
    found = []
    for a in container.select("a[href]"):
        target = urljoin(page_relpath, a["href"]).split("#")[0]
        if target.startswith("posts/") and target not in found:
            found.append(target)
    return found


def test_there_are_posts_in_several_categories():
    assert len(POSTS) >= 3
    assert {"Generative Model", "Algorithm"} <= {p.category for p in POSTS}


def test_build_has_no_warnings(site: Build):
    if site.reused:
        pytest.skip("a reused build (--kb-built-site): its own run reported its warnings")
    assert site.warnings == [], "\n".join(site.warnings)
    assert site.returncode == 0, site.output[-3000:]


def test_every_post_has_a_page(html_dir: Path):
    for post in POSTS:
        assert (html_dir / post.url).is_file(), post.slug


# -- Homepage ----------------------------------------------------------------------------------


def test_homepage_lists_latest_posts_newest_first_with_date_category_excerpt(html_dir: Path):
    home = article(html_dir, "index.html")
    assert home.select_one("h1").get_text(strip=True).startswith("机器学习知识库")
    heading = [h for h in home.select("h2") if "最新更新" in h.get_text()]
    assert heading, "the homepage has a 最新更新 section"
    items = home.select("ul.postlist > li.ablog-post")
    expected = POSTS[:10]
    assert len(items) == len(expected)
    for item, post in zip(items, expected):
        title = item.select_one("p.ablog-post-title")
        assert title.select_one("a").get_text(strip=True) == post.title
        text = title.get_text(" ", strip=True)
        assert post.date.strftime("%Y-%m-%d") in text
        assert post.category in text
        excerpt = item.select_one(".ablog-post-excerpt")
        assert excerpt is not None and len(excerpt.get_text(strip=True)) > 40, post.slug


def test_homepage_links_to_collections_archive_and_feed(html_dir: Path):
    home = article(html_dir, "index.html")
    hrefs = {urljoin("index.html", a["href"]) for a in home.select("a[href]")}
    for target in ["blog.html", "blog/category.html", "blog/tag.html", "blog/archive.html", "blog/atom.xml"]:
        assert target in hrefs, target


# -- Post pages --------------------------------------------------------------------------------


@pytest.mark.parametrize("post", POSTS, ids=lambda p: p.slug)
def test_post_page_shows_metadata(html_dir: Path, post: SourcePost):
    page = article(html_dir, post.url)
    assert page.select_one("h1").get_text(strip=True).rstrip("#") == post.title
    meta = page.select_one("div.post-meta")
    assert meta is not None
    assert meta.select_one(".post-meta-date").get_text().endswith(post.date.strftime("%Y-%m-%d"))
    category = meta.select_one(".post-meta-category a")
    assert category.get_text(strip=True) == post.category
    tags = [a.get_text(strip=True) for a in meta.select(".post-meta-tags a")]
    assert tags == list(post.tags)
    assert re.search(r"约 \d+ 分钟", meta.select_one(".post-meta-reading-time").get_text())
    # The links go to the collection pages ABlog wrote.
    for a in meta.select("a[href]"):
        assert (html_dir / unquote(urljoin(post.url, a["href"]))).is_file(), a["href"]


# Reading time of three real articles, from plain prose to a dense derivation (sizes when this was
# written: Chinese characters of prose / formula symbols / non-blank lines of code). The floor is
# the prose alone read at 330 characters a minute, the fastest careful reading the sources in
# conf.py support (IReST: 255 a minute aloud; silent reading 1.3 times faster, Brysbaert 2019);
# the ceiling is prose and formula symbols read aloud (255 a minute) plus a second per line of
# code and 12 s per figure. Every one is far below the 74 minutes the old estimate gave DDIM.
READING_MINUTES = {
    "java-process-thread": (14, 26),  # 4,548 / 0 / 437; 2 figures
    "kd-tree": (16, 32),  # 5,235 / 777 / 463; 2 figures
    "ddim-sampling": (20, 50),  # 6,394 / 4,299 / 424; 3 figures
}
NOT_PROSE = "pre, .katex, .math, aside.footnote, .post-meta, .kb-series, .kb-related, .kb-license, .kb-cite, .headerlink"


@pytest.mark.parametrize("slug", sorted(READING_MINUTES))
def test_reading_time_and_length_of_real_articles(html_dir: Path, slug: str):
    page = article(html_dir, f"posts/{slug}/index.html")
    meta = page.select_one("div.post-meta")
    minutes = int(
        re.fullmatch(r"约 (\d+) 分钟", meta.select_one(".post-meta-reading-time > :last-child").get_text())[1]
    )
    low, high = READING_MINUTES[slug]
    assert low <= minutes <= high, (slug, minutes)
    shown = int(meta.select_one(".post-meta-length > :last-child").get_text())
    # 字数: the prose's Chinese characters and Latin words, as counted here on the page.
    for node in page.select(NOT_PROSE):
        node.decompose()
    prose = page.get_text(" ")
    chinese = len(re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", prose))
    words = len(re.findall(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*", prose))
    # (the page has a little more: titles of linked articles, "图" of figure references)
    assert abs(shown - (chinese + words)) <= 0.03 * shown, (shown, chinese, words)
    assert minutes >= chinese / 330  # never faster than the prose alone, however the article changes


@pytest.mark.parametrize("post", POSTS, ids=lambda p: p.slug)
def test_post_page_has_sidebar_lists_and_prev_next(html_dir: Path, post: SourcePost):
    page = soup(html_dir / post.url)
    sidebar = page.select_one(".bd-sidebar-primary")
    for css in [
        ".ablog__recentposts",
        ".ablog__categories",
        ".ablog__tagcloud",
        ".ablog__archives",
        ".kb-nav",
    ]:
        assert sidebar.select_one(css) is not None, css
    assert "最新文章" in sidebar.select_one(".ablog__recentposts").get_text()
    nav = page.select_one(".ablog__prev-next")
    index = POSTS.index(post)
    older = POSTS[index + 1] if index + 1 < len(POSTS) else None
    newer = POSTS[index - 1] if index > 0 else None
    linked = linked_posts(nav, post.url)
    assert linked == [p.url for p in (older, newer) if p is not None]


# -- Collections -------------------------------------------------------------------------------

PER_PAGE = int(str(site_config()["kb_posts_per_page"]))


def listed_pages(html_dir: Path, first: str) -> list[str]:
    """A post list's pages, from its first page along the rel="next" links in <head>."""
    pages = [first]
    while (link := soup(html_dir / pages[-1]).select_one('head link[rel="next"]')) is not None:
        pages.append(unquote(urljoin(pages[-1], link["href"])))
        assert len(pages) <= len(POSTS), pages
    return pages


def listed_posts(html_dir: Path, first: str) -> list[str]:
    """The posts a paginated list shows, page after page, as URLs relative to the site root."""
    found = []
    for relpath in listed_pages(html_dir, first):
        page = article(html_dir, relpath)
        titles = page.select("h2.ablog-post-title a")
        assert 1 <= len(titles) <= PER_PAGE, relpath
        found += [urljoin(relpath, a["href"]) for a in titles]
    return found


@pytest.mark.parametrize("category", sorted({p.category for p in POSTS}))
def test_category_page_lists_exactly_its_posts(html_dir: Path, category: str):
    relpath = f"blog/category/{slugify(category)}.html"
    assert listed_posts(html_dir, relpath) == [p.url for p in POSTS if p.category == category]
    assert category in article(html_dir, relpath).select_one("h1").get_text()


@pytest.mark.parametrize("tag", sorted({t for p in POSTS for t in p.tags}))
def test_tag_page_lists_exactly_its_posts_with_chinese_name_intact(html_dir: Path, tag: str):
    relpath = f"blog/tag/{slugify(tag)}.html"
    assert (html_dir / relpath).is_file(), relpath
    assert tag in article(html_dir, relpath).select_one("h1").get_text()
    assert listed_posts(html_dir, relpath) == [p.url for p in POSTS if tag in p.tags]


def test_the_post_list_is_paginated_newest_first(html_dir: Path):
    pages = listed_pages(html_dir, "blog.html")
    assert len(pages) == -(-len(POSTS) // PER_PAGE) >= 2
    assert pages == ["blog.html"] + [f"blog/page/{n}.html" for n in range(2, len(pages) + 1)]
    assert listed_posts(html_dir, "blog.html") == [p.url for p in POSTS]


@pytest.mark.parametrize("number", [1, 2, "last"])
def test_pages_of_the_post_list_link_to_each_other(html_dir: Path, number: int | str):
    pages = listed_pages(html_dir, "blog.html")
    index = len(pages) - 1 if number == "last" else number - 1
    relpath = pages[index]
    page = soup(html_dir / relpath)
    head = {
        link["rel"][0]: urljoin(relpath, link["href"])
        for link in page.select('head link[rel~="prev"], head link[rel~="next"]')
    }
    expected = {}
    if index > 0:
        expected["prev"] = pages[index - 1]
    if index + 1 < len(pages):
        expected["next"] = pages[index + 1]
    assert head == expected
    nav = page.select_one("nav.kb-pagination")
    body = {a["rel"][0]: urljoin(relpath, a["href"]) for a in nav.select("a[rel]")}
    assert body == expected
    numbers = [
        li.get_text(strip=True) for li in nav.select("li:not(.kb-pagination-prev):not(.kb-pagination-next)")
    ]
    assert numbers[0] == "1" and numbers[-1] == str(len(pages))
    assert nav.select_one('[aria-current="page"]').get_text() == str(index + 1)
    for a in nav.select("a[href]"):
        assert (html_dir / unquote(urljoin(relpath, a["href"]))).is_file(), a["href"]
    if index > 0:
        assert f"第 {index + 1} 页" in page.title.get_text()


def test_homepage_latest_posts_continue_on_page_2(html_dir: Path):
    home = article(html_dir, "index.html")
    links = {urljoin("index.html", a["href"]) for a in home.select("a[href]")}
    assert "blog/page/2.html" in links
    shown = len(home.select("ul.postlist > li.ablog-post"))
    second = article(html_dir, "blog/page/2.html").select("h2.ablog-post-title a")
    assert urljoin("blog/page/2.html", second[0]["href"]) == POSTS[shown].url  # no post skipped


def test_no_escaped_unicode_anywhere(html_dir: Path):
    escape = re.compile(r"\\u[0-9a-fA-F]{4}")
    for path in [*html_dir.rglob("*.html"), *html_dir.rglob("*.xml")]:
        assert not escape.search(path.read_text(encoding="utf-8")), path


def test_archive_lists_every_post_once_by_year(html_dir: Path):
    page = article(html_dir, "blog/archive.html")
    linked = [urljoin("blog/archive.html", a["href"]) for a in page.select(".ablog__catalog_post a[href]")]
    assert sorted(linked) == sorted(p.url for p in POSTS)
    years = [h.get_text(strip=True) for h in page.select(".ablog__catalog_header h2")]
    assert years == sorted(years, reverse=True)


def test_tag_and_category_indexes_cover_everything(html_dir: Path):
    tag_index = article(html_dir, "blog/tag.html").get_text()
    for tag in {t for p in POSTS for t in p.tags}:
        assert tag in tag_index
    category_index = article(html_dir, "blog/category.html").get_text()
    for category in {p.category for p in POSTS}:
        assert category in category_index


# -- Feeds -------------------------------------------------------------------------------------


def parse_feed(path: Path) -> list[etree._Element]:
    tree = etree.parse(str(path))
    assert tree.getroot().tag == f"{ATOM}feed"
    return tree.getroot().findall(f"{ATOM}entry")


def entry_slug(entry: etree._Element) -> str:
    link = entry.find(f"{ATOM}link").get("href")
    return urlsplit(link).path.rstrip("/").split("/")[-2]


def test_site_feed_has_every_post_once_newest_first_full_text(html_dir: Path):
    entries = parse_feed(html_dir / "blog" / "atom.xml")
    assert [entry_slug(e) for e in entries] == [p.slug for p in POSTS]
    for entry, post in zip(entries, POSTS):
        assert entry.findtext(f"{ATOM}title") == post.title
        updated = entry.findtext(f"{ATOM}updated")
        assert updated.startswith(post.date.strftime("%Y-%m-%dT%H:%M"))
        content = entry.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "html"
        body = BeautifulSoup(content.text, "lxml").get_text()
        # Full text, not the one-paragraph excerpt.
        assert len(body) > 2000, post.slug
        labels = {c.get("label") for c in entry.findall(f"{ATOM}category")}
        assert labels == set(post.tags)


def test_feed_formulas_are_mathml_with_their_tex(html_dir: Path):
    for entry in parse_feed(html_dir / "blog" / "atom.xml"):
        content = entry.find(f"{ATOM}content").text
        body = article(html_dir, f"posts/{entry_slug(entry)}/index.html")
        assert content.count("<math") == len(body.select("span.katex")), entry_slug(entry)
        assert content.count('<annotation encoding="application/x-tex">') == content.count("<math")
        assert "katex-html" not in content


def test_page_formulas_are_katex_html_named_by_their_tex(html_dir: Path):
    """A page shows each formula once, as KaTeX's HTML without its MathML copy (issue 21: the
    copy was a fifth of a formula-heavy article's elements); screen readers get it as math named
    by its TeX source, the same formulas the feed carries as MathML."""
    starred = re.compile(r"\{(equation|align|gather|alignat|multline)\*\}")
    for entry in parse_feed(html_dir / "blog" / "atom.xml"):
        body = article(html_dir, f"posts/{entry_slug(entry)}/index.html")
        formulas = body.select("span.katex")
        assert not body.select("math, .katex-mathml"), entry_slug(entry)
        assert all(f.get("role") == "math" and f.get("aria-label", "").strip() for f in formulas)
        assert all(f.select_one(":scope > .katex-html")["aria-hidden"] == "true" for f in formulas)
        feed = BeautifulSoup(entry.find(f"{ATOM}content").text, "lxml")
        assert [starred.sub(r"{\1}", "".join(f["aria-label"].split())) for f in formulas] == [
            starred.sub(r"{\1}", "".join(a.get_text().split())) for a in feed.select("annotation")
        ], entry_slug(entry)


def test_feed_parses_with_feedparser(html_dir: Path):
    import feedparser

    feed = feedparser.parse((html_dir / "blog" / "atom.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert len(feed.entries) == len(POSTS)
    assert all(entry.updated_parsed for entry in feed.entries)


@pytest.mark.parametrize("category", sorted({p.category for p in POSTS}))
def test_category_feed(html_dir: Path, category: str):
    entries = parse_feed(html_dir / "blog" / "category" / slugify(category) / "atom.xml")
    assert [entry_slug(e) for e in entries] == [p.slug for p in POSTS if p.category == category]


def test_category_feeds_carry_full_text_tag_feeds_summaries(html_dir: Path):
    post = POSTS[0]
    category = parse_feed(html_dir / "blog" / "category" / slugify(post.category) / "atom.xml")
    entry = next(e for e in category if entry_slug(e) == post.slug)
    assert len(BeautifulSoup(entry.find(f"{ATOM}content").text, "lxml").get_text()) > 2000
    tag = parse_feed(html_dir / "blog" / "tag" / slugify(post.tags[0]) / "atom.xml")
    entry = next(e for e in tag if entry_slug(e) == post.slug)
    assert entry.find(f"{ATOM}content") is None and entry.findtext(f"{ATOM}summary")


def test_feed_links_are_absolute(html_dir: Path):
    for entry in parse_feed(html_dir / "blog" / "atom.xml"):
        page = BeautifulSoup(entry.find(f"{ATOM}content").text, "lxml")
        for element in page.select("[href], [src]"):
            url = element.get("href") or element.get("src")
            assert urlsplit(url).scheme in {"http", "https", "mailto"}, (entry_slug(entry), url)


def test_pages_advertise_the_feed(html_dir: Path):
    head = soup(html_dir / "index.html").select_one('link[type="application/atom+xml"]')
    assert head is not None and head["href"].endswith("blog/atom.xml")


# -- Math, assets, links -----------------------------------------------------------------------


def all_pages(html_dir: Path) -> list[Path]:
    return sorted(html_dir.rglob("*.html"))


def test_math_is_prerendered_and_valid(html_dir: Path):
    rendered = 0
    for path in all_pages(html_dir):
        text = path.read_text(encoding="utf-8")
        assert "katex-error" not in text, path
        rendered += text.count('class="katex"')
    assert rendered > 100
    ddim = soup(html_dir / "posts/ddim-sampling/index.html")
    assert ddim.select(".math .katex"), "DDIM formulas are rendered to KaTeX HTML"
    assert ddim.select("div.math .katex-display")
    assert not ddim.find(string=re.compile(r"\\\(|\\\[")), "no unrendered delimiters"


def test_shared_macros_are_expanded(html_dir: Path):
    page = soup(html_dir / "posts/diffusion-sde/index.html")
    sources = [formula["aria-label"] for formula in page.select('.katex[role="math"]')]
    assert any("\\E" in s for s in sources) and any("\\dd" in s for s in sources)
    # Rendered, a macro leaves only its expansion behind: no raw macro, no error.
    for rendered in page.select(".katex-html"):
        assert "\\" not in rendered.get_text()
    assert page.select(".katex-html .mathbb")  # \E is \mathbb{E}


def test_katex_assets_are_served_by_the_site(html_dir: Path):
    css = html_dir / "_static/katex/katex.min.css"
    assert css.is_file()
    for font in re.findall(r"url\((fonts/[^)]+)\)", css.read_text(encoding="utf-8")):
        assert (css.parent / font).is_file(), font


THIRD_PARTY = re.compile(r"^(https?:)?//", re.IGNORECASE)


def test_no_third_party_assets(html_dir: Path):
    for path in all_pages(html_dir):
        page = soup(path)
        for tag, attr in [
            ("script", "src"),
            ("link", "href"),
            ("img", "src"),
            ("iframe", "src"),
            ("source", "src"),
        ]:
            for node in page.find_all(tag):
                value = node.get(attr)
                if not value:
                    continue
                if tag == "link" and not set(node.get("rel", [])) & {
                    "stylesheet",
                    "preload",
                    "icon",
                    "modulepreload",
                    "prefetch",
                }:
                    continue
                assert not THIRD_PARTY.match(value), f"{path}: {tag} {value}"
    for path in html_dir.rglob("*.css"):
        for url in re.findall(r"url\(['\"]?([^'\")]+)", path.read_text(encoding="utf-8")):
            assert not THIRD_PARTY.match(url), f"{path}: {url}"


def test_every_local_asset_a_page_loads_exists(html_dir: Path):
    missing, checked = set(), 0
    for path in all_pages(html_dir):
        if path.name == "404.html" and path.parent == html_dir:
            continue  # absolute links below the hosting prefix; test_browser_kb serves it there
        if path.relative_to(html_dir).parts[0] == "_static":
            continue  # the theme's Jinja macros, copied as static files, are not pages
        page = soup(path)
        for node in page.select("script[src], link[href][rel~=stylesheet], link[href][rel~=preload]"):
            value = node.get("src") or node["href"]
            if THIRD_PARTY.match(value) or value.startswith("data:"):
                continue
            checked += 1
            if not (path.parent / unquote(urlsplit(value).path)).is_file():
                missing.add(f"{path.relative_to(html_dir)} -> {value}")
    assert checked > 1000
    assert not missing, sorted(missing)[:20]


BUNDLE = "_static/styles/kb-site.css"


def _rules(css: str) -> str:
    """CSS without what the bundle changes (encoding, source map, url() paths) and spacing."""
    css = re.sub(r'@charset "[^"]*";|/\*# sourceMappingURL=[^*]*\*/', "", css)
    return re.sub(r"\s+", "", re.sub(r"url\([^)]*\)", "url()", css))


def test_the_stylesheet_bundle_holds_the_trimmed_stylesheets_in_the_pages_order(html_dir: Path):
    bundle = html_dir / BUNDLE
    text = bundle.read_text(encoding="utf-8")
    sections = re.split(r"^/\* ([\w./-]+\.css) \*/\n", text, flags=re.MULTILINE)
    assert sections[0] == '@charset "UTF-8";\n' and "@import" not in text
    assert sections[1::2] == BUNDLED_STYLESHEETS
    static = html_dir / "_static"
    for name, body in zip(BUNDLED_STYLESHEETS, sections[2::2]):
        source = (static / name).read_text(encoding="utf-8")
        # theme.css is @import "../basic.css": the bundle holds basic.css there.
        source = re.sub(
            r'@import "([^"]+)";',
            lambda m: (static / name).parent.joinpath(m[1]).read_text(encoding="utf-8"),  # noqa: B023
            source,
        )
        assert _rules(body) == _rules(source), name
    urls = set(re.findall(r"url\(['\"]?([^'\")]+)", text)) - {
        u for u in re.findall(r"url\(['\"]?(data:[^)]*)", text)
    }
    assert any("KaTeX_Main-Regular.woff2" in url for url in urls)
    for url in urls:
        if not url.startswith(("data:", "#")):
            assert (bundle.parent / url).resolve().is_file(), url


def test_every_page_links_the_one_stylesheet_bundle(html_dir: Path):
    checked = 0
    for path in all_pages(html_dir):
        if path.relative_to(html_dir).parts[0] == "_static":
            continue
        links = [node["href"] for node in soup(path).select("link[rel~=stylesheet]")]
        assert len(links) == 1 and urlsplit(links[0]).path.endswith(BUNDLE), f"{path}: {links}"
        assert soup(path).select_one(f"head > link[rel~=stylesheet][href='{links[0]}']"), path
        assert re.fullmatch(r"v=[0-9a-f]{8}", urlsplit(links[0]).query), links[0]
        checked += 1
    assert checked > 100


def test_output_has_no_unloaded_script_or_stale_source_map(html_dir: Path):
    # The layout drops the theme's fontawesome.js (icon_font subsets the web fonts instead).
    assert not list(html_dir.rglob("fontawesome.js*map")) and not list(html_dir.rglob("fontawesome.js"))
    assert not [
        path
        for path in all_pages(html_dir)
        if path.relative_to(html_dir).parts[0] != "_static"
        and "fontawesome.js" in path.read_text(encoding="utf-8")
    ]
    # unused_css rewrites the theme's stylesheets; their source maps described the originals.
    maps = sorted(html_dir.rglob("*.map"))
    assert maps, "the theme's scripts keep their source maps"
    for source_map in maps:
        source = source_map.with_suffix("")
        assert source.is_file(), source_map
        assert f"sourceMappingURL={source_map.name}" in source.read_text(encoding="utf-8"), source_map
    assert not (html_dir / "_static/styles/pydata-sphinx-theme.css.map").exists()


def test_no_script_blocks_the_first_paint_but_documentation_options(html_dir: Path):
    """kb/assets/deferred_scripts.py: every script a page names in its head is deferred, but
    documentation_options.js, which the inline scripts after it use at once (and then only
    inline scripts run while the page is parsed)."""
    for relpath in ["index.html", "posts/ddim-sampling/index.html", "search.html", "blog.html"]:
        head = parse_html(html_dir / relpath).head
        scripts = head.find_all("script", src=True)
        blocking = [s["src"].split("?")[0].rsplit("/", 1)[-1] for s in scripts if not s.has_attr("defer")]
        assert blocking == ["documentation_options.js"], (relpath, blocking)
        names = [s["src"].split("?")[0].rsplit("/", 1)[-1] for s in scripts]
        assert names.index("doctools.js") < names.index("translations.js"), relpath  # order kept
        tags = head.find_all("script")
        options = names.index("documentation_options.js")
        uses = [
            i for i, tag in enumerate(tags) if not tag.has_attr("src") and "DOCUMENTATION_OPTIONS" in tag.text
        ]
        assert uses and min(uses) > tags.index(scripts[options]), relpath


def test_build_log_has_no_jieba_debug_lines(site: Build):
    assert "prefix dict" not in site.output and "Loading model" not in site.output


def test_internal_links_and_anchors_resolve(html_dir: Path):
    ids_cache: dict[Path, set[str]] = {}

    def ids(path: Path) -> set[str]:
        if path not in ids_cache:
            ids_cache[path] = {n["id"] for n in soup(path).select("[id]")}
        return ids_cache[path]

    broken = []
    checked = 0
    for path in all_pages(html_dir):
        if path.name == "404.html" and path.parent == html_dir:
            continue  # absolute links below the hosting prefix; test_browser_kb serves it there
        for a in soup(path).select("a[href]"):
            href = a["href"]
            if THIRD_PARTY.match(href) or href.startswith(("mailto:", "javascript:", "data:")):
                continue
            parts = urlsplit(href)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.exists():
                broken.append(f"{path.relative_to(html_dir)} -> {href}")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in ids(target):
                broken.append(f"{path.relative_to(html_dir)} -> {href} (no such anchor)")
    assert checked > 200
    assert not broken, "\n".join(broken[:50])


def test_diffusion_articles_link_to_each_other(html_dir: Path):
    ddim = linked_posts(article(html_dir, "posts/ddim-sampling/index.html"), "posts/ddim-sampling/index.html")
    sde = linked_posts(article(html_dir, "posts/diffusion-sde/index.html"), "posts/diffusion-sde/index.html")
    assert "posts/diffusion-sde/index.html" in ddim
    assert "posts/ddim-sampling/index.html" in sde


def test_article_code_is_included_from_files(html_dir: Path):
    for post in POSTS:
        sources = Path(__file__).resolve().parent.parent / "posts" / post.slug
        code_files = [p for p in sources.glob("*.py") if not p.name.startswith("test_")]
        assert code_files, f"{post.slug} has no code file"
        page = article(html_dir, post.url)
        blocks = "\n".join(pre.get_text() for pre in page.select("pre"))
        for code in code_files:
            first_def = re.search(r"^def (\w+)", code.read_text(encoding="utf-8"), re.MULTILINE)
            assert first_def and f"def {first_def[1]}" in blocks, f"{code} is not shown on the page"


# -- Search index ------------------------------------------------------------------------------


def search_meta(html_dir: Path) -> dict:
    return json.loads((html_dir / "_search" / "index.json").read_text(encoding="utf-8"))


def search_entry(html_dir: Path, term: str):
    """A term's entry in the index, found the way the browser finds it (block boundaries)."""
    blocks = search_meta(html_dir)["blocks"]
    number = max(i for i, first in enumerate(blocks) if first <= term)
    block = json.loads((html_dir / "_search" / "t" / f"{number}.json").read_text(encoding="utf-8"))
    return block.get(term)


def search_pages(html_dir: Path) -> list[dict]:
    folder = html_dir / "_search" / "d"
    return [
        json.loads((folder / f"{i}.json").read_text(encoding="utf-8"))
        for i in range(len(list(folder.glob("*.json"))))
    ]


def test_search_index_holds_chinese_words_formula_terms_and_every_post(html_dir: Path):
    for word in [
        "扩散模型",
        "单调队列",
        "采样",
        "随机微分方程",
        "ddim",
        "fokker",
        "朗之万",
        "alpha_t",
        "nabla_x",
        "kl",
    ]:
        assert search_entry(html_dir, word) is not None, word
    assert search_entry(html_dir, "量子色动力学") is None
    pages = search_pages(html_dir)
    assert search_meta(html_dir)["n"] == len(pages)
    urls = [page["u"] for page in pages]
    for post in POSTS:
        assert post.url in urls
    # The homepage is a list of excerpts: it is not searched (the articles are).
    assert "index.html" not in urls
    # Posts first, newest first: equal scores keep this order.
    dates = [page["d"] for page in pages if page["d"]]
    assert dates == sorted(dates, reverse=True)
    assert not (html_dir / "searchindex.js").exists()
    assert not (html_dir / "_static" / "searchtools.js").exists()


def test_search_excerpts_hold_the_articles_prose_and_each_formula_once(html_dir: Path):
    """Each page's record for excerpts: its sections' text, without theme chrome, table of
    contents, related-articles list, references or footnotes, and every formula once, as TeX."""
    pages = {page["u"]: page for page in search_pages(html_dir)}
    for post in POSTS:
        record = pages[post.url]
        assert (
            record["t"] == post.title
            and record["c"] == post.category
            and list(record["g"]) == list(post.tags)
        )
        headings = [heading for _anchor, heading, _text, _code in record["s"]]
        assert "相关文章" not in headings and "参考文献" not in headings
        text = "\n".join(chunk[2] for chunk in record["s"])
        # (a word the article itself uses, such as 目录 for a directory, is not chrome)
        source = (Path(__file__).parent.parent / "posts" / post.slug / "index.md").read_text(encoding="utf-8")
        for chrome in ("亮色", "暗色", "Settings", "目录", "跳转至主要内容", "阅读"):
            assert chrome in source or chrome not in text, (post.slug, chrome)
        # Formulas: as many as the article shows outside the skipped sections, each once.
        page = article(html_dir, post.url)
        for section in page.select("section"):
            heading = section.find(["h2", "h3"])
            if heading and heading.get_text().strip().rstrip("#").strip() in ("相关文章", "参考文献"):
                section.decompose()
        # A heading's formulas are in the chunk's heading, as TeX.
        in_headings = sum(len(h.select("span.katex")) for h in page.select("h1, h2, h3, h4, h5, h6"))
        shown = len(page.select("span.katex")) - in_headings
        assert text.count("\ue000") == shown, (post.slug, text.count("\ue000"), shown)
        assert "\u200b" not in text and "katex" not in text
    anchors = [anchor for anchor, *_rest in pages[POSTS[0].url]["s"][1:]]
    assert anchors and all(anchors)


def test_search_scripts_are_served(html_dir: Path):
    stemmer = (html_dir / "_static" / "kb-search-stemmer.js").read_text(encoding="utf-8")
    assert "EnglishStemmer" in stemmer and "window.kbStemmer" in stemmer
    assert "kbSegmentChinese" in (html_dir / "_static" / "kb-search.js").read_text(encoding="utf-8")


def test_environment_holds_no_copies_of_post_doctrees(site: Build):
    """ABlog's full-text copy of each post lives in its own file, read back for the feeds; the
    environment (unpickled on every build) keeps a small stand-in and excerpts that no longer
    drag the original doctree along."""
    import pickle

    from kb.blog.bodies import BODIES_DIR, StoredBody

    doctrees = site.doctreedir
    env = pickle.loads((doctrees / "environment.pickle").read_bytes())
    posts = {name: infos for name, infos in env.ablog_posts.items() if infos}
    assert len(posts) == len(source_posts())
    StoredBody.directory = doctrees / BODIES_DIR
    for name, infos in posts.items():
        info = infos[0]
        assert isinstance(info["doctree"], StoredBody), name
        body = info["doctree"].deepcopy()
        assert str(info["title"]) in body.astext(), name
        assert all(node._document is None for excerpt in info["excerpt"] for node in excerpt.findall())
    per_post = len(pickle.dumps(env.ablog_posts, protocol=pickle.HIGHEST_PROTOCOL)) / len(posts)
    assert per_post < 8_000, f"{per_post:.0f} bytes per post in env.ablog_posts"


def test_katex_fonts_are_cut_to_every_character_the_formulas_show(html_dir: Path):
    """Each KaTeX woff2 font keeps every character of its own that some formula on the site
    shows, and drops the others except a few the subsetter keeps for a shown glyph's mirror or
    negation (∋ for ∈, ⊇ for ⊆ …). The cut is site-wide, so how much it saves depends on how
    varied the site's formulas are."""
    import io

    from fontTools.ttLib import TTFont
    from lxml import html as lxml_html

    from sitebuild import ROOT

    shown: set[int] = set()
    for page in html_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if "katex-html" not in text:  # parse only the pages with formulas (lxml: BeautifulSoup
            continue  # takes minutes over every listing page of the site)
        for formula in lxml_html.fromstring(text).find_class("katex-html"):
            shown |= {ord(char) for char in formula.text_content()}
    assert len(shown) > 100  # Latin and Greek letters, digits, operators, delimiters …
    original_dir = ROOT / "node_modules" / "katex" / "dist" / "fonts"
    total_original = total_subset = 0
    for original in sorted(original_dir.glob("*.woff2")):
        served = html_dir / "_static" / "katex" / "fonts" / original.name
        full = set(TTFont(io.BytesIO(original.read_bytes())).getBestCmap())
        kept = set(TTFont(io.BytesIO(served.read_bytes())).getBestCmap())
        assert full & shown <= kept, (original.name, sorted(map(hex, full & shown - kept)))
        assert len(kept - shown) <= 8, (original.name, sorted(map(hex, kept - shown)))
        total_original += original.stat().st_size
        total_subset += served.stat().st_size
    assert total_subset < total_original


def test_icon_font_holds_exactly_the_icons_the_pages_show(html_dir: Path):
    """The Font Awesome subset has a glyph for every icon class some page uses and every icon the
    theme's stylesheet still draws, and (nearly) nothing else: checked glyph by glyph against
    the theme's own CSS, not against what icon_font computed."""
    import io

    import pydata_sphinx_theme
    from fontTools.ttLib import TTFont

    from kb.assets.icon_font import FONT_DIR, THEME_CSS, icon_codepoints, theme_codepoints

    original_css = (
        Path(pydata_sphinx_theme.__file__).parent
        / "theme"
        / "pydata_sphinx_theme"
        / "static"
        / "styles"
        / "pydata-sphinx-theme.css"
    ).read_text(encoding="utf-8")
    table = icon_codepoints(original_css)
    used = set()
    for page in html_dir.rglob("*.html"):
        used |= set(
            re.findall(
                r"\bfa-[a-z0-9-]+", " ".join(re.findall(r'class="([^"]*)"', page.read_text(encoding="utf-8")))
            )
        )
    shown = {point for name in used & table.keys() for point in table[name]}
    shown |= theme_codepoints((html_dir / THEME_CSS).read_text(encoding="utf-8"))
    assert 0xF0C9 in shown  # fa-bars: the menu button on every page
    fonts = sorted((html_dir / FONT_DIR).glob("*.woff2"))
    assert fonts
    kept: set[int] = set()
    for font in fonts:
        kept |= set(TTFont(io.BytesIO(font.read_bytes())).getBestCmap())
    assert shown <= kept, sorted(map(hex, shown - kept))
    assert len(kept - shown) <= 4, sorted(map(hex, kept - shown))


# -- Figures (_ext/kb/figures/) -----------------------------------------------------------------


def post_figures(html_dir: Path, post: SourcePost) -> list:
    return article(html_dir, post.url).select("figure.kb-figure")


def test_every_post_has_numbered_figures_with_alt_text_and_caption(html_dir: Path):
    counts = {}
    for post in POSTS:
        figures = post_figures(html_dir, post)
        counts[post.slug] = len(figures)
        for number, figure in enumerate(figures, 1):
            assert figure["id"].startswith("fig-"), post.slug
            assert figure.select_one(".caption-number").get_text(strip=True) == f"图 {number}", post.slug
            caption = figure.select_one(".caption-text").get_text(strip=True)
            assert len(caption) >= 6, (post.slug, caption)
            for image in figure.select("img"):
                assert len(image["alt"]) >= 15 and image["alt"] != caption, (post.slug, image["alt"])
                assert (html_dir / post.url).parent.joinpath(image["src"]).resolve().is_file()
    assert all(counts.values()), [slug for slug, count in counts.items() if not count]
    assert sum(counts.values()) >= 70, counts


def test_every_figure_is_referred_to_by_its_number(html_dir: Path):
    for post in POSTS:
        body = article(html_dir, post.url)
        referred = {a["href"] for a in body.select("a.reference.internal") if a.select_one(".std-numref")}
        for figure in body.select("figure.kb-figure"):
            assert f"#{figure['id']}" in referred, (post.slug, figure["id"])


def test_figure_files_draw_every_glyph_with_a_real_font(html_dir: Path):
    """matplotlib names each outlined glyph ``<font>-<glyph index>``; index 0 is ``.notdef``, the
    empty box of a character the font lacks. Chinese is drawn from Noto Sans CJK SC."""
    files = sorted((html_dir / "_images" / "figures").glob("*.svg"))
    assert len(files) >= 140  # a light and a dark copy of each figure
    fonts = set()
    for path in files:
        ids = set(
            re.findall(r'<path id="([A-Za-z][A-Za-z-]*)-([0-9a-f]+)"', path.read_text(encoding="utf-8"))
        )
        assert not [font for font, index in ids if index == "0"], path.name
        fonts |= {font for font, _index in ids}
    assert "NotoSansCJKsc-Regular" in fonts and not [f for f in fonts if "CJKjp" in f]
