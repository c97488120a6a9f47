# mypy: disable-error-code="arg-type,index,union-attr,operator"
# (parsed HTML: BeautifulSoup types attributes as str | list | None and lookups as Optional)
"""Drafts and scheduled posts (``_ext/kb/blog/drafts.py``).

A tiny site (``tests/roots/test-drafts``) has two published posts, a draft and a post scheduled
for 2026-06-01 10:00 (Beijing time). The draft and the scheduled post join the published posts'
series, use their glossary term, cite a paper and link to them, so every kind of page would show
them if they leaked. Builds take their date from ``SOURCE_DATE_EPOCH``:

* published, in March 2026: neither post is anywhere in the output (no page, listing, sidebar,
  feed, collection page, search entry, sitemap entry, series box, related list, glossary or
  bibliography usage, map node, inventory entry);
* published, in July 2026: the scheduled post is published, the draft still is not;
* preview (``-D kb_drafts=1``, as ``make livehtml`` and ``DRAFTS=1 make html`` build): both
  are built and marked 草稿 / 定时发布 on their page and wherever posts are listed;
* incremental: a published build in July rebuilt in March (the scheduled post goes back out,
  a page of the post list disappears) leaves the files of a clean build in March.

Every build uses one post per page of the post lists, so pagination is part of what is compared.
"""

from __future__ import annotations

import shutil
import zlib
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from sphinx.util.matching import Matcher

from kb.blog.collections import Pagination, page_numbers
from kb.blog.drafts import build_date, find_unpublished
from kb.blog.frontmatter import parse_date
from sitebuild import Build, make_site, output_files, parse_html, source_date_epoch, sphinx_build

# Every test here builds a site or reads the real site's build (make check skips them).
pytestmark = pytest.mark.slow

ATOM = "{http://www.w3.org/2005/Atom}"
ONE_PER_PAGE = ("-D", "kb_posts_per_page=1")
PREVIEW = ("-D", "kb_drafts=1")
# What would show that the two unpublished posts leaked into a published build.
DRAFT = ["draft-post", "草稿文章的标题", "草稿文章的摘要段落", "草稿专用标签", "category/llm"]
SCHEDULED = [
    "scheduled-post",
    "定时发布文章的标题",
    "定时发布文章的摘要段落",
    "定时专用标签",
    "sec-scheduled-only",
]


MARCH, JULY = source_date_epoch(2026, 3, 1), source_date_epoch(2026, 7, 1)


def checked(build: Build) -> Build:
    assert build.returncode == 0, build.output[-3000:]
    assert build.warnings == [], "\n".join(build.warnings)
    return build


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("drafts") / "src", "drafts")


@pytest.fixture(scope="module")
def march(site: Path) -> Path:
    return checked(sphinx_build(site, site.parent / "march", *ONE_PER_PAGE, environ=MARCH)).outdir


@pytest.fixture(scope="module")
def july(site: Path) -> Path:
    return checked(sphinx_build(site, site.parent / "july", *ONE_PER_PAGE, environ=JULY)).outdir


@pytest.fixture(scope="module")
def preview(site: Path) -> Path:
    return checked(sphinx_build(site, site.parent / "preview", *ONE_PER_PAGE, *PREVIEW, environ=MARCH)).outdir


def text_files(outdir: Path) -> dict[str, str]:
    """Every file of the output as text: pages, feeds, sitemap, search index, the inventory
    (decompressed); fonts, images and the theme's static files left out."""
    found = {}
    for name, data in output_files(outdir).items():
        if name.startswith("_static/"):
            continue
        if name == "objects.inv":
            compressed = data.split(b"\n", 4)[4]  # after its four header lines
            found[name] = zlib.decompress(compressed).decode("utf-8")
            continue
        try:
            found[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return found


def leaks(outdir: Path, words: list[str]) -> list[str]:
    return sorted(
        f"{name}: {word}"
        for name, text in text_files(outdir).items()
        for word in words
        if word in text.lower()
    )


def test_a_published_build_has_no_trace_of_unpublished_posts(march: Path):
    assert leaks(march, [word.lower() for word in DRAFT + SCHEDULED]) == []
    assert not (march / "posts/draft-post").exists() and not (march / "posts/scheduled-post").exists()


def test_the_published_site_is_complete_without_them(march: Path):
    """The pages that would show them show the published posts (the checks above would pass
    on an empty site)."""
    first = parse_html(march / "posts/first-post/index.html")
    assert "第 1 篇，共 1 篇" in first.select_one(".kb-series").get_text()
    assert [a.get_text() for a in first.select(".kb-related a")] == ["第二篇已发布的文章"]
    glossary = parse_html(march / "glossary.html")
    assert {a.get_text() for a in glossary.select(".kb-term-usage a")} == {
        "第一篇已发布的文章",
        "第二篇已发布的文章",
    }
    knowledge_map = parse_html(march / "map.html")
    assert {n["data-doc"] for n in knowledge_map.select(".kb-map-node")} == {
        "posts/first-post/index",
        "posts/second-post/index",
    }
    feed = etree.parse(str(march / "blog/atom.xml")).getroot()
    assert [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")] == [
        "第二篇已发布的文章",
        "第一篇已发布的文章",
    ]
    # A paper only the draft cites is no leftover: listed, uncited, no warning (checked()).
    bibliography = parse_html(march / "bibliography.html")
    assert bibliography.select_one("#ref-song2020scorebased") is not None
    assert bibliography.select_one("#ref-song2020scorebased .kb-cited-by") is None
    assert (march / "blog/page/2.html").is_file() and not (march / "blog/page/3.html").exists()


def test_a_scheduled_post_is_published_from_its_date_on(july: Path):
    assert (july / "posts/scheduled-post/index.html").is_file()
    assert leaks(july, [word.lower() for word in DRAFT]) == []
    feed = etree.parse(str(july / "blog/atom.xml")).getroot()
    assert feed.findall(f"{ATOM}entry")[0].findtext(f"{ATOM}title") == "定时发布文章的标题"
    series = parse_html(july / "posts/scheduled-post/index.html").select_one(".kb-series")
    assert "第 2 篇，共 2 篇" in series.get_text()
    related = parse_html(july / "posts/first-post/index.html").select(".kb-related a")
    assert sorted(a.get_text() for a in related) == sorted(["第二篇已发布的文章", "定时发布文章的标题"])
    assert (july / "blog/page/3.html").is_file()
    assert not parse_html(july / "posts/scheduled-post/index.html").select(".kb-status-mark")


def marks(page: BeautifulSoup, selector: str) -> list[str]:
    return [mark.get_text() for mark in page.select(f"{selector} .kb-status-mark")]


def test_a_preview_builds_and_marks_them(preview: Path):
    draft = parse_html(preview / "posts/draft-post/index.html")
    assert marks(draft, ".post-meta") == ["草稿"]
    scheduled = parse_html(preview / "posts/scheduled-post/index.html")
    assert marks(scheduled, ".post-meta") == ["定时发布 2026-06-01 10:00"]
    first = parse_html(preview / "posts/first-post/index.html")
    assert marks(first, ".ablog__recentposts") == ["定时发布 2026-06-01 10:00", "草稿"]
    assert marks(first, ".post-meta") == []
    assert "第 1 篇，共 3 篇" in first.select_one(".kb-series").get_text()
    home = parse_html(preview / "index.html")
    assert marks(home, "ul.postlist") == ["定时发布 2026-06-01 10:00", "草稿"]
    listing = [parse_html(preview / name) for name in ["blog.html", "blog/page/2.html", "blog/page/3.html"]]
    assert [marks(page, "h2.ablog-post-title") for page in listing] == [
        ["定时发布 2026-06-01 10:00"],
        ["草稿"],
        [],
    ]
    catalog = parse_html(preview / "blog/archive.html")
    assert marks(catalog, ".ablog__catalog_post") == ["定时发布 2026-06-01 10:00", "草稿"]
    assert (preview / "blog/category/llm.html").is_file()


def test_incremental_builds_follow_the_date_both_ways(site: Path, march: Path, tmp_path: Path):
    """Built in July, then again in March: the scheduled post goes back out of the site and
    the third page of the post list with it, as if the site had been built in March."""
    outdir = tmp_path / "html"
    shutil.copytree(site, tmp_path / "src")
    checked(sphinx_build(tmp_path / "src", outdir, *ONE_PER_PAGE, environ=JULY))
    assert (outdir / "posts/scheduled-post/index.html").is_file()
    checked(sphinx_build(tmp_path / "src", outdir, *ONE_PER_PAGE, environ=MARCH))
    incremental, clean = output_files(outdir), output_files(march)
    assert sorted(set(incremental) ^ set(clean)) == []
    assert [name for name in clean if incremental[name] != clean[name]] == []


def test_a_preview_reports_a_link_to_a_draft_too(tmp_path: Path):
    build = sphinx_build(make_site(tmp_path / "src", "draft-link"), tmp_path / "html", *PREVIEW)
    assert build.returncode != 0
    assert [w.split(": WARNING: ")[1][:40] for w in build.warnings] == [
        "links to posts/draft-target/index.md, wh",
        "links to posts/scheduled-target/index.md",
    ]


# -- the parts ---------------------------------------------------------------------------------


def test_build_date_comes_from_source_date_epoch_in_the_sites_timezone():
    assert build_date("Asia/Shanghai", {"SOURCE_DATE_EPOCH": "0"}) == datetime(1970, 1, 1, 8, 0)
    assert build_date("UTC", {"SOURCE_DATE_EPOCH": "86400"}) == datetime(1970, 1, 2, 0, 0)
    now = build_date("Asia/Shanghai", {})
    assert abs((now - datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)).total_seconds()) < 60


POST = "---\nblogpost: true\ndate: {date}\n{extra}---\n\n# 标题\n\n(sec-label-one)=\n## 一节\n\n$$\nx\n$$ (eq-label-two)\n\n引用{{footcite}}`a2020b,c2021d`。\n"


@pytest.mark.parametrize(
    "date,extra,unpublished",
    [
        ("2026-01-01", "", False),
        ("2026-03-01 08:00", "", True),  # later than 2026-03-01 07:59
        ("2026-03-01 07:59", "", False),  # the very minute: published
        ("2026-01-01", "draft: true\n", True),
        ("2026-01-01", "draft: True\n", True),
        ("2026-01-01", "draft: false\n", False),
        ("2099-01-01", "draft: false\n", True),
        ("2026-01-01", "draft: maybe\n", False),  # invalid: read, and the check fails the build
        ("not a date", "", False),  # invalid: read, and the check fails the build
        ("2099-01-01", "tags: [unclosed\n", False),  # unreadable front matter: read, and reported
    ],
)
def test_find_unpublished(tmp_path: Path, date: str, extra: str, unpublished: bool):
    post = tmp_path / "posts" / "some-post" / "index.md"
    post.parent.mkdir(parents=True)
    post.write_text(POST.format(date=date, extra=extra), encoding="utf-8")
    found = find_unpublished(tmp_path, datetime(2026, 3, 1, 7, 59), Matcher([]))
    assert ("posts/some-post/index" in found) is unpublished
    if unpublished:
        entry = found["posts/some-post/index"]
        assert entry.labels == {"some-post", "sec-label-one", "eq-label-two"}
        assert entry.citations == {"a2020b", "c2021d"}
        draft = extra.lower().startswith("draft: true")
        assert entry.mark == ("草稿" if draft else f"定时发布 {parse_date(date):%Y-%m-%d %H:%M}")


def test_find_unpublished_reads_again_only_the_front_matter_that_changed(tmp_path: Path, monkeypatch):
    """The cache of draft flags and dates (kept beside the doctrees) answers for unchanged files,
    notices an edit by the file's size and mtime, and forgets removed files."""
    import os

    from kb.blog import drafts

    post = tmp_path / "posts" / "some-post" / "index.md"
    post.parent.mkdir(parents=True)
    post.write_text(POST.format(date="2026-01-01", extra="draft: true\n"), encoding="utf-8")
    now = datetime(2026, 3, 1)
    cache: dict = {}
    assert "posts/some-post/index" in find_unpublished(tmp_path, now, Matcher([]), cache)
    assert set(cache) == {"posts/some-post/index.md"}

    def unexpected(path: str):
        raise AssertionError(f"{path}: front matter read again although unchanged")

    with monkeypatch.context() as patched:
        patched.setattr(drafts, "_facts", unexpected)
        assert "posts/some-post/index" in find_unpublished(tmp_path, now, Matcher([]), cache)
    post.write_text(POST.format(date="2026-01-01", extra="draft: false\n"), encoding="utf-8")
    stat = post.stat()
    os.utime(post, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a later edit, always
    assert find_unpublished(tmp_path, now, Matcher([]), cache) == {}
    post.unlink()
    assert find_unpublished(tmp_path, now, Matcher([]), cache) == {} and cache == {}


def test_find_unpublished_skips_excluded_files(tmp_path: Path):
    post = tmp_path / "posts" / ".pytest_cache" / "index.md"
    post.parent.mkdir(parents=True)
    post.write_text(POST.format(date="2099-01-01", extra=""), encoding="utf-8")
    assert find_unpublished(tmp_path, datetime(2026, 1, 1), Matcher(["**/.pytest_cache"])) == {}
    # A folder two levels up, a file by name, and their siblings, which are found.
    for name in ("old/a/index.md", "old/b/index.md", "new/a/index.md", "new/a/notes.md", "new/b/index.md"):
        path = tmp_path / "posts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(POST.format(date="2099-01-01", extra=""), encoding="utf-8")
    found = find_unpublished(
        tmp_path, datetime(2026, 1, 1), Matcher(["**/.pytest_cache", "posts/old", "**/notes.md"])
    )
    assert sorted(found) == ["posts/new/a/index", "posts/new/b/index"]


@pytest.mark.parametrize(
    "current,count,expected",
    [
        (1, 1, [1]),
        (1, 4, [1, 2, 3, 4]),
        (1, 50, [1, 2, 3, None, 50]),
        (10, 50, [1, None, 8, 9, 10, 11, 12, None, 50]),
        (5, 50, [1, 2, 3, 4, 5, 6, 7, None, 50]),  # a gap of one page shows the page
        (50, 50, [1, None, 48, 49, 50]),
    ],
)
def test_page_numbers(current: int, count: int, expected: list[int | None]):
    assert page_numbers(current, count) == expected


def test_pagination_neighbours():
    names = ("blog", "blog/page/2", "blog/page/3")
    first, middle, last = (Pagination(n, 3, names, "x") for n in (1, 2, 3))
    assert (first.prev, first.next) == (None, "blog/page/2")
    assert (middle.prev, middle.next) == ("blog", "blog/page/3")
    assert (last.prev, last.next) == ("blog/page/2", None)
    assert middle.links == [(1, "blog"), (2, "blog/page/2"), (3, "blog/page/3")]


def test_full_text_feeds_carry_the_newest_posts_full_text_and_every_post(site: Path, tmp_path: Path):
    """kb_feed_full_text_posts (kb/blog/feeds.py): every published post is in the site feed and in
    its category's feed, the newest ones with their full text, older ones with summary and link."""
    out = checked(
        sphinx_build(site, tmp_path / "html", "-D", "kb_feed_full_text_posts=1", environ=JULY)
    ).outdir
    entries = ElementTree.parse(out / "blog/atom.xml").getroot().findall(f"{ATOM}entry")
    slugs = [entry.findtext(f"{ATOM}id").rstrip("/").split("/")[-2] for entry in entries]
    assert slugs == ["scheduled-post", "second-post", "first-post"]
    assert [entry.find(f"{ATOM}content") is not None for entry in entries] == [True, False, False]
    assert all(entry.findtext(f"{ATOM}summary") for entry in entries[1:])
    assert len(entries[0].findtext(f"{ATOM}content")) > len(entries[0].findtext(f"{ATOM}summary"))
