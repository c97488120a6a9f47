# mypy: disable-error-code="arg-type,index,operator,type-var,return-value,misc"
# (parsed HTML: BeautifulSoup types attributes as str | list | None and lookups as Optional)
"""The knowledge-base features on the real site, checked against what the sources say.

Each expectation is computed here from the Markdown sources, the BibTeX file or the built HTML
of the articles, independently of the extension that produced the page under test.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urljoin
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pybtex.database
import pytest
from bs4 import BeautifulSoup
from pybtex.richtext import Text

from posts_source import FrontMatter, source_posts
from sitebuild import ROOT, parse_html, site_prefix, site_url

pytestmark = pytest.mark.slow  # one clean build of the real site

POSTS = source_posts()
SLUGS = sorted(post.slug for post in POSTS)
TITLES = {post.slug: post.title for post in POSTS}
SITE_URL = site_url()
CITE = re.compile(r"\{footcite(?::[pt])?\}`([^`]+)`")
TERM = re.compile(r"\{term\}`([^`]+)`")


parse = parse_html  # a fresh tree, to modify


@cache
def soup(path: Path) -> BeautifulSoup:
    """A page's parsed HTML, parsed once; read it, do not modify it (see ``parse``)."""
    return parse(path)


def source(slug: str) -> str:
    return (ROOT / "posts" / slug / "index.md").read_text(encoding="utf-8")


def front(slug: str) -> dict[str, str]:
    parsed = FrontMatter.parse(source(slug))
    assert parsed is not None
    return parsed.values


def slug_of(page: str, href: str) -> str | None:
    target = urljoin(page, href).split("#")[0]
    match = re.fullmatch(r"posts/([a-z0-9-]+)/index\.html", target)
    return match[1] if match else None


def article_body(html_dir: Path, slug: str) -> BeautifulSoup:
    """The article's own content: without the boxes the knowledge-base extensions add."""
    body = parse(html_dir / f"posts/{slug}/index.html").select_one("article.bd-article")
    for extra in body.select(".kb-related, .kb-series, .post-meta, .ablog__prev-next"):
        extra.decompose()
    return body


# -- related articles ---------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_every_post_ends_with_related_articles(html_dir: Path, slug: str):
    page = f"posts/{slug}/index.html"
    box = soup(html_dir / page).select_one("article.bd-article .kb-related")
    assert box is not None, "no related-articles list"
    assert box.select_one(".rubric").get_text() == "相关文章"
    related = [slug_of(page, a["href"]) for a in box.select("li > p > a")]
    assert 3 <= len(related) <= 5
    assert slug not in related and len(set(related)) == len(related)
    assert all(other in TITLES for other in related), related
    assert [a.get_text() for a in box.select("li > p > a")] == [TITLES[s] for s in related]
    assert "no-search" in box["class"]
    # the list comes after the article's content: only ABlog's prev/next links follow it
    assert all("ablog__blog_comments" in node.get("class", []) for node in box.find_next_siblings())


def test_related_articles_follow_tags_links_and_text(html_dir: Path):
    """Posts that share tags and link to each other come first (they have reasons to)."""

    def related(slug: str) -> list[str]:
        page = f"posts/{slug}/index.html"
        return [slug_of(page, a["href"]) for a in soup(html_dir / page).select(".kb-related li > p > a")]

    assert "diffusion-sde" in related("ode-diffusion-derivation")
    assert "rl-basics-grid-world" in related("monte-carlo-rl")
    assert "pytorch-ddp" in related("ring-allreduce")
    assert not {"stable-diffusion", "controlnet"} & set(related("java-process-thread"))


# -- series -------------------------------------------------------------------------------------


def declared_series() -> dict[str, list[str]]:
    series: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for slug in SLUGS:
        values = front(slug)
        if "series" in values:
            series[values["series"]].append((int(values["series_order"]), slug))
    return {name: [slug for _order, slug in sorted(members)] for name, members in series.items()}


def test_the_diffusion_series_is_declared_in_reading_order():
    assert declared_series()["扩散模型系列"][:4] == [
        "score-based-models",
        "diffusion-continuous-limit",
        "diffusion-sde",
        "ode-diffusion-derivation",
    ]
    assert declared_series()["扩散模型系列"][-1] == "edm-design-space"


def test_series_box_on_every_member(html_dir: Path):
    for name, members in declared_series().items():
        for position, slug in enumerate(members):
            page = f"posts/{slug}/index.html"
            box = soup(html_dir / page).select_one("article.bd-article .kb-series")
            assert box is not None, slug
            text = box.get_text()
            assert f"「{name}」" in text and f"第 {position + 1} 篇，共 {len(members)} 篇" in text, text
            links = {a.get_text(): slug_of(page, a["href"]) for a in box.select(".kb-series-steps a")}
            expected = {}
            if position:
                expected[TITLES[members[position - 1]]] = members[position - 1]
            if position + 1 < len(members):
                expected[TITLES[members[position + 1]]] = members[position + 1]
            assert links == expected, slug
            series_link = box.select_one(".kb-series-title a")["href"]
            assert series_link.split("#")[0].endswith("series.html")
            anchor = series_link.split("#")[1]
            assert soup(html_dir / "series.html").select_one(f"#{anchor} .rubric").get_text() == name


def test_every_diffusion_series_member_links_the_notation_table(html_dir: Path):
    """The series' notation page (kb_series "notation") is linked from every member's box and from
    the series page; the other series have none."""
    notation = soup(html_dir / "notation.html")
    assert notation.select_one("#notation-table table") is not None
    for name, members in declared_series().items():
        for slug in members:
            page = f"posts/{slug}/index.html"
            links = [
                urljoin(page, a["href"])
                for a in soup(html_dir / page).select("article.bd-article .kb-series-notation a")
            ]
            assert links == (["notation.html"] if name == "扩散模型系列" else []), slug
    entry = next(
        e
        for e in soup(html_dir / "series.html").select(".kb-series-entry")
        if e.select_one(".rubric").get_text() == "扩散模型系列"
    )
    assert any(a["href"] == "notation.html" for a in entry.select("a"))


def test_posts_outside_series_have_no_series_box(html_dir: Path):
    members = {slug for slugs in declared_series().values() for slug in slugs}
    for slug in set(SLUGS) - members:
        assert soup(html_dir / f"posts/{slug}/index.html").select_one(".kb-series") is None, slug


def test_series_page_lists_every_series_in_order(html_dir: Path):
    page = soup(html_dir / "series.html")
    for name, members in declared_series().items():
        entry = next(e for e in page.select(".kb-series-entry") if e.select_one(".rubric").get_text() == name)
        listed = [slug_of("series.html", a["href"]) for a in entry.select("ol li a")]
        assert listed == members


# -- glossary -----------------------------------------------------------------------------------


def term_name(dt) -> str:
    return "".join(t for t in dt.find_all(string=True) if not t.find_parent("a", class_="headerlink")).strip()


def test_glossary_entries_have_chinese_and_english_names_and_a_definition(html_dir: Path):
    page = soup(html_dir / "glossary.html")
    dls = page.select("dl.glossary")
    assert len(dls) >= 5
    entries = 0
    for dl in dls:
        for dd in dl.find_all("dd", recursive=False):
            names = []
            node = dd.find_previous_sibling()
            while node is not None and node.name == "dt":
                names.append(term_name(node))
                node = node.find_previous_sibling()
            assert any(re.search(r"[\u4e00-\u9fff]", n) for n in names) or names == ["Transformer"], names
            assert any(re.fullmatch(r"[A-Za-z][A-Za-z0-9 ,.'’()–-]*", n) for n in names), names
            definition = "".join(
                t for t in dd.find("p").find_all(string=True) if not t.find_parent(class_="katex")
            )  # prose, not formulas
            assert 15 <= len(definition) <= 120, definition
            entries += 1
    assert entries >= 50


def test_glossary_lists_exactly_the_articles_using_each_term(html_dir: Path):
    page = soup(html_dir / "glossary.html")
    expected: dict[str, set[str]] = defaultdict(set)
    for slug in SLUGS:
        for match in TERM.finditer(source(slug)):
            text = match[1]
            target = re.search(r"<([^>]+)>\s*$", text)[1] if "<" in text else text
            expected[target.strip().lower()].add(slug)
    assert len(expected) >= 40, "articles link few glossary terms"
    for dl in page.select("dl.glossary"):
        for dd in dl.find_all("dd", recursive=False):
            names = set()
            node = dd.find_previous_sibling()
            while node is not None and node.name == "dt":
                names.add(term_name(node).lower())
                node = node.find_previous_sibling()
            wanted = set().union(*(expected.get(n, set()) for n in names))
            usage = dd.select_one(".kb-term-usage")
            shown = {slug_of("glossary.html", a["href"]) for a in usage.select("a")} if usage else set()
            assert shown == wanted, names


def test_term_links_in_articles_point_into_the_glossary(html_dir: Path):
    links = 0
    glossary = soup(html_dir / "glossary.html")
    for slug in SLUGS:
        page = f"posts/{slug}/index.html"
        for a in soup(html_dir / page).select("article.bd-article a.reference.internal"):
            if "glossary.html#term-" in a["href"]:
                target = urljoin(page, a["href"])
                anchor = target.split("#")[1]
                assert glossary.find(id=anchor) is not None, a["href"]
                links += 1
    assert links >= 150


# -- knowledge map ------------------------------------------------------------------------------


def test_knowledge_map_has_every_post_and_every_cross_reference(html_dir: Path):
    page = soup(html_dir / "map.html")
    svg = page.select_one(".kb-map svg")
    nodes = {slug_of("map.html", a["href"]): a for a in svg.select("a.kb-map-node")}
    assert set(nodes) == set(SLUGS)
    for slug, node in nodes.items():
        assert node.find("title").get_text().startswith(TITLES[slug] + "（")  # its accessible name
    # Edges: the links between articles found in the built articles themselves.
    expected = set()
    for slug in SLUGS:
        page_path = f"posts/{slug}/index.html"
        for a in article_body(html_dir, slug).select("a[href]"):
            other = slug_of(page_path, a["href"])
            if other and other != slug:
                expected.add(tuple(sorted((slug, other))))
    drawn = {
        tuple(sorted((e["data-a"].split("/")[1], e["data-b"].split("/")[1])))
        for e in svg.select("path.kb-map-edge")
    }
    assert drawn == expected
    assert len(drawn) >= 60


def test_knowledge_map_groups_nodes_by_category(html_dir: Path):
    svg = soup(html_dir / "map.html").select_one(".kb-map svg")
    categories = [g.select_one(".kb-map-category-name").get_text() for g in svg.select(".kb-map-category")]
    assert sorted(categories) == sorted({post.category for post in POSTS})
    colour = {}
    for g in svg.select(".kb-map-category"):
        colour[g.select_one(".kb-map-category-name").get_text()] = [
            c for c in g["class"] if c.startswith("kb-cat-")
        ][0]
    for post in POSTS:
        node = svg.select_one(f'a.kb-map-node[data-doc="posts/{post.slug}/index"]')
        assert colour[post.category] in node["class"], post.slug


def test_knowledge_map_needs_no_network(html_dir: Path):
    page = soup(html_dir / "map.html")
    scripts = [s["src"] for s in page.select("script[src]")]
    assert "_static/knowledge-map.js" in scripts
    assert all(not re.match(r"https?://", src) for src in scripts)
    assert (html_dir / "_static/knowledge-map.js").is_file()


# -- bibliography -------------------------------------------------------------------------------

BIB = pybtex.database.parse_file(str(ROOT / "references.bib"))


def cited_keys(slug: str) -> list[str]:
    keys = []
    for match in CITE.finditer(source(slug)):
        for key in match[1].split(","):
            if key.strip() not in keys:
                keys.append(key.strip())
    return keys


@pytest.mark.parametrize("slug", SLUGS)
def test_references_section_is_generated_from_the_bibliography(html_dir: Path, slug: str):
    text = source(slug)
    section = re.search(r"^## 参考文献\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert section and section[1].strip() == "```{footbibliography}\n```", "hand-written references"
    keys = cited_keys(slug)
    assert keys and all(key in BIB.entries for key in keys)
    page = soup(html_dir / f"posts/{slug}/index.html")
    notes = page.select("article.bd-article aside.footnote")
    assert len(notes) == len(keys)
    for note, key in zip(notes, keys):
        title = Text.from_latex(BIB.entries[key].fields["title"]).render_as("text")
        assert title.split()[0].lower() in note.get_text().lower(), (key, note.get_text())


def test_bibliography_page_lists_every_entry_with_the_articles_citing_it(html_dir: Path):
    page = soup(html_dir / "bibliography.html")
    entries = page.select("li.kb-bibliography-entry")
    assert len(entries) == len(BIB.entries)
    citing: dict[str, set[str]] = defaultdict(set)
    for slug in SLUGS:
        for key in cited_keys(slug):
            citing[key].add(slug)
    for key in BIB.entries:
        item = page.find(id=f"ref-{key}")
        assert item is not None, key
        shown = {slug_of("bibliography.html", a["href"]) for a in item.select(".kb-cited-by a")}
        assert shown == citing[key], key
    assert all(citing[key] for key in BIB.entries), "an entry nobody cites"


def test_shared_papers_are_entered_once():
    """The same paper under two keys would split its "cited by" list."""
    seen: dict[str, str] = {}
    for key, entry in BIB.entries.items():
        eprint = entry.fields.get("eprint")
        if eprint:
            assert eprint not in seen, (key, seen.get(eprint))
            seen[eprint] = key


# -- reader conveniences ------------------------------------------------------------------------


def test_sitemap_lists_every_page_with_absolute_urls(html_dir: Path):
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ElementTree.parse(html_dir / "sitemap.xml").getroot()
    locs = [url.findtext("s:loc", namespaces=ns) for url in root.findall("s:url", ns)]
    assert locs == sorted(locs) and len(set(locs)) == len(locs)
    assert all(loc.startswith(SITE_URL) for loc in locs)
    paths = {loc.removeprefix(SITE_URL) for loc in locs}
    for path in paths:
        assert (html_dir / unquote(path)).is_file(), path
    expected = {post.url for post in POSTS} | {
        "index.html",
        "glossary.html",
        "map.html",
        "series.html",
        "bibliography.html",
        "blog.html",
        "blog/page/2.html",  # every page of the paginated lists
        "blog/archive.html",
    }
    assert expected <= paths
    listed_pages = {unquote(path) for path in paths if "/page/" in path}
    assert listed_pages == {str(page.relative_to(html_dir)) for page in html_dir.glob("blog/**/page/*.html")}
    assert {"search.html", "genindex.html", "404.html"}.isdisjoint(paths)
    for url in root.findall("s:url", ns):
        if "/posts/" in url.findtext("s:loc", namespaces=ns):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", url.findtext("s:lastmod", namespaces=ns))


def test_robots_txt_names_the_sitemap(html_dir: Path):
    lines = (html_dir / "robots.txt").read_text(encoding="utf-8").splitlines()
    assert "User-agent: *" in lines and f"Sitemap: {SITE_URL}sitemap.xml" in lines


@pytest.mark.parametrize("slug", SLUGS)
def test_open_graph_and_twitter_meta(html_dir: Path, slug: str):
    page = soup(html_dir / f"posts/{slug}/index.html")

    def meta(key: str) -> list[str]:
        return [m["content"] for m in page.find_all("meta", attrs={"property": key})] + [
            m["content"] for m in page.find_all("meta", attrs={"name": key})
        ]

    description = front(slug)["description"]
    assert meta("og:title") == [TITLES[slug]]
    assert meta("og:description") == [description]
    assert meta("description") == [description]
    assert meta("og:type") == ["article"]
    assert meta("og:url") == [f"{SITE_URL}posts/{slug}/index.html"]
    assert meta("twitter:card") == ["summary"]
    assert meta("article:published_time")[0].startswith(front(slug)["date"][:10])
    assert meta("article:tag") == [tag.strip() for tag in front(slug)["tags"].split(",")]


def git_timestamp(*paths: Path) -> int | None:
    out = subprocess.run(
        ["git", "log", "-1", "--format=%ct", "--", *map(str, paths)], cwd=ROOT, capture_output=True, text=True
    )
    return int(out.stdout) if out.returncode == 0 and out.stdout.strip() else None


def shallow() -> bool:
    out = subprocess.run(
        ["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True, text=True
    )
    return out.returncode != 0 or out.stdout.strip() != "false"


def test_last_updated_comes_from_git(html_dir: Path):
    """The footer date is the last commit of the post or a file it includes; with no full Git
    history (a shallow clone, a tarball) no date is shown rather than a wrong one."""
    zone = ZoneInfo("Asia/Shanghai")
    for slug in SLUGS:
        text = " ".join(
            p.get_text(" ", strip=True)
            for p in soup(html_dir / f"posts/{slug}/index.html").select(".footer-item")
        )
        shown = re.search(r"最后更新于 (\d{4}-\d{2}-\d{2})", text)
        folder = ROOT / "posts" / slug
        lowest, highest = git_timestamp(folder / "index.md"), git_timestamp(folder)
        if shallow() or lowest is None:
            assert shown is None or lowest is not None, slug
            continue
        assert shown, slug
        date = shown[1]
        low = datetime.fromtimestamp(lowest, UTC).astimezone(zone).strftime("%Y-%m-%d")
        high = datetime.fromtimestamp(highest, UTC).astimezone(zone).strftime("%Y-%m-%d")
        assert low <= date <= high, (slug, low, date, high)


def test_404_page_uses_absolute_links(html_dir: Path):
    page = soup(html_dir / "404.html")
    assert "页面不存在" in page.select_one("article").get_text()
    prefix = site_prefix()
    for tag, attr in (("link", "href"), ("script", "src"), ("a", "href"), ("img", "src")):
        for node in page.find_all(tag):
            value = node.get(attr)
            # A URL with a scheme (the site's own, the licence's) works at any depth; a relative
            # one must be absolute below the hosting prefix.
            if value and not value.startswith("#") and not re.match(r"[a-z][a-z0-9+.-]*:", value):
                assert value.startswith(prefix), (tag, value)
