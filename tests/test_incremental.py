"""An incremental build must leave exactly the files a clean build of the same sources leaves.

A small site (the real configuration, synthetic posts from tests/corpus.py) is built, then
changed the way an author changes it — a post added, one edited, one retitled, one re-tagged, one
deleted, a draft published, a post taken back to draft, and a scheduled post reaching its date
(the build's date comes from ``SOURCE_DATE_EPOCH``) — and rebuilt in place. Post lists have two
posts a page, so pages of the lists come and go too. A clean build of the final sources must produce the same files,
byte for byte: post pages with their sidebars and prev/next links, the homepage list, archive,
category and tag pages, every Atom feed and the search index (``_search/``: vocabulary blocks,
postings, excerpt records) — and the pages that show facts
from other pages: series boxes and the series page, related-articles lists, the glossary's
"used in" lists, the bibliography's "cited by" lists and the knowledge map.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from corpus import make_corpus, write_sphinx
from kb.assets import unused_css
from livehtml import WarmSphinx
from sitebuild import (
    PARALLEL,
    ROOT,
    ROOTS,
    Build,
    doctrees,
    make_site,
    output_files,
    source_date_epoch,
    sphinx_argv,
    sphinx_build,
)

pytestmark = pytest.mark.slow  # builds small sites, clean and incremental


def post_file(site: Path, slug: str) -> Path:
    return site / "posts" / slug / "index.md"


def replace_line(path: Path, prefix: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    lines[index] = new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


THEME_CSS = Path("_static", "styles", "pydata-sphinx-theme.css")
BUNDLE = Path("_static", "styles", "kb-site.css")  # every stylesheet, trimmed (kb/assets/css_bundle.py)
# Every build of this module: two posts on each page of the post lists.
OPTIONS = ("-D", "kb_posts_per_page=2")


# The first build's date, and the date of every later build: the scheduled post (2026-02-15)
# is published in between.
BEFORE, AFTER = source_date_epoch(2026, 2, 1), source_date_epoch(2026, 3, 1)
# Three entries of the real bibliography, each cited by one synthetic post.
BIB_KEYS = ["ho2020denoising", "song2020scorebased", "rafailov2023direct"]


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def add_front_matter(path: Path, *lines: str) -> None:
    head, body = path.read_text(encoding="utf-8").split("\n---\n", 1)
    path.write_text(head + "".join("\n" + line for line in lines) + "\n---\n" + body, encoding="utf-8")


def cite(path: Path, key: str) -> None:
    append(path, f"\n这里引用一篇论文{{footcite}}`{key}`。\n")


def add_knowledge_base(site: Path) -> None:
    """The site pages of the knowledge base, and posts that use them."""
    for page in ["glossary.md", "series.md", "map.md", "bibliography.md"]:
        shutil.copy2(ROOT / page, site / page)
    # The series' notation page (kb_series), without the real one's links to the real articles.
    (site / "notation.md").write_text(
        "---\norphan: true\n---\n\n# 记号约定\n\n测试用的记号页。\n", encoding="utf-8"
    )
    import pybtex.database

    full = pybtex.database.parse_file(str(ROOT / "references.bib"))
    small = pybtex.database.BibliographyData({key: full.entries[key] for key in BIB_KEYS})
    (site / "references.bib").write_text(small.to_string("bibtex"), encoding="utf-8")
    for order, slug in enumerate(["bench-0001", "bench-0002", "bench-0003", "bench-0004"], 1):
        add_front_matter(post_file(site, slug), "series: 扩散模型系列", f"series_order: {order}")
    for slug, key in zip(["bench-0001", "bench-0002", "bench-0003"], BIB_KEYS):
        cite(post_file(site, slug), key)
    append(post_file(site, "bench-0002"), "\n这里用到{term}`扩散模型`。\n")
    append(post_file(site, "bench-0003"), "\n详见{doc}`../bench-0004/index`。\n")
    for slug in ["bench-0001", "bench-0002", "bench-0003"]:
        append(post_file(site, slug), "\n## 参考文献\n\n```{footbibliography}\n```\n")


def change_like_an_author(site: Path) -> None:
    replace_line(post_file(site, "bench-0007"), "draft:", "draft: false")  # the draft is published
    add_front_matter(post_file(site, "bench-0000"), "draft: true")  # back to draft
    new = site / "posts" / "bench-new"
    shutil.copytree(site / "posts" / "bench-0001", new)
    replace_line(new / "index.md", "date:", "date: 2026-01-05 09:00")  # the newest post
    replace_line(new / "index.md", "# ", "# 新加的一篇文章")
    replace_line(new / "index.md", "series_order:", "series_order: 5")  # joins the series last
    edited = post_file(site, "bench-0002")
    text = edited.read_text(encoding="utf-8").replace(
        "\n## 参考文献",
        "\n补充的一段话，说明一个新的细节：{term}`得分匹配`，"
        f"另见{{footcite}}`{BIB_KEYS[2]}`。\n\n## 参考文献",
    )
    edited.write_text(text, encoding="utf-8")
    append(post_file(site, "bench-0006"), "\n新加的链接：{doc}`../bench-0001/index`。\n")
    replace_line(post_file(site, "bench-0003"), "# ", "# 改过标题的文章")
    replace_line(post_file(site, "bench-0004"), "tags:", "tags: 新标签, 扩散模型")
    shutil.rmtree(site / "posts" / "bench-0005")
    excerpt = post_file(site, "bench-0006")  # the first paragraph: homepage, archives, feeds
    lines = excerpt.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("# ")) + 2
    lines[first] = "改写过的摘要段落。" + lines[first]
    excerpt.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Figures: one redrawn because the code it plots changed, one removed with its reference.
    figures = site / "posts" / "figure-demo"
    model = figures / "demo_model.py"
    model.write_text(
        model.read_text(encoding="utf-8").replace("np.cos(x)", "np.cos(3 * x)"), encoding="utf-8"
    )
    page = figures / "index.md"
    text = page.read_text(encoding="utf-8")
    text = text.replace("，{numref}`图 %s <fig-demo-grid>` 是一张网格图", "")
    page.write_text(text[: text.index(":::{code-figure} demo_figures.py:plot_grid")], encoding="utf-8")


def repeat_first_paragraph(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("# ")) + 2
    append(path, "\n" + lines[first] + "\n")


def checked(build: Build) -> Build:
    assert build.returncode == 0, build.output[-3000:]
    return build


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("incremental")
    site = make_changing_site(base)
    outdir = base / "incremental"
    # Built and rebuilt in two processes (as `make html` on two cores), compared with a clean
    # build in one: the pages must not depend on how they were shared between processes.
    checked(sphinx_build(site, outdir, *OPTIONS, "-j", "2", environ=BEFORE))
    # The post deleted below is the only one with a "see also" box: its rules leave the CSS.
    assert ".seealso" in (outdir / THEME_CSS).read_text(encoding="utf-8")
    assert ".seealso" in (outdir / BUNDLE).read_text(encoding="utf-8")  # pages link the bundle
    assert not (outdir / "posts/bench-scheduled").exists() and not (outdir / "posts/bench-0007").exists()
    change_like_an_author(site)
    rebuild = checked(sphinx_build(site, outdir, *OPTIONS, "-j", "2", environ=AFTER))
    assert ".seealso" not in (outdir / THEME_CSS).read_text(encoding="utf-8")
    assert_pages_scanned_as_written(rebuild, outdir, clean=False)
    assert ".seealso" not in (outdir / BUNDLE).read_text(encoding="utf-8")
    # A paragraph said twice: the post's terms are the same, only their counts change, so the
    # related articles compute its TF-IDF row and take every other post's from the last build.
    repeat_first_paragraph(post_file(site, "bench-0006"))
    rebuild = checked(sphinx_build(site, outdir, *OPTIONS, "-j", "2", environ=AFTER))
    posts = len(list((site / "posts").glob("*/index.md"))) - 1  # bench-0000 is a draft now
    assert f"related articles: 1 of {posts} TF-IDF rows computed" in rebuild.output, rebuild.output[-3000:]

    clean_site = make_site(base / "clean-site")
    for name in [
        "index.md",
        "glossary.md",
        "series.md",
        "map.md",
        "bibliography.md",
        "notation.md",
        "references.bib",
    ]:
        shutil.copy2(site / name, clean_site / name)
    shutil.copytree(site / "posts", clean_site / "posts")
    clean_out = base / "clean"
    clean = checked(sphinx_build(clean_site, clean_out, *OPTIONS, "-j", "1", environ=AFTER))
    assert_pages_scanned_as_written(clean, clean_out, clean=True)
    return outdir, clean_out


def assert_pages_scanned_as_written(build: Build, outdir: Path, *, clean: bool) -> None:
    """The stylesheet trim (kb.assets.unused_css) took every page the build wrote from its writer
    and read again only HTML files the builder copies (the theme's, under ``_static``)."""
    found = re.search(r"stylesheet trim: (\d+) pages scanned as written, (\d+) read again", build.output)
    assert found, build.output[-3000:]
    scanned, read = map(int, found.groups())
    pages = [path for path in outdir.rglob("*.html") if path.relative_to(outdir).parts[0] != "_static"]
    assert scanned == len(pages) if clean else 0 < scanned <= len(pages), (scanned, read, len(pages))
    assert read <= len(list((outdir / "_static").rglob("*.html")))


def make_changing_site(base: Path) -> Path:
    site = make_site(base / "site")
    write_sphinx(make_corpus(8, seed=1), site)
    shutil.copy2(ROOT / "index.md", site / "index.md")
    add_knowledge_base(site)
    append(post_file(site, "bench-0005"), "\n```{seealso}\n只有这篇文章有“另见”框。\n```\n")
    add_front_matter(post_file(site, "bench-0007"), "draft: true")
    scheduled = site / "posts" / "bench-scheduled"
    shutil.copytree(site / "posts" / "bench-0000", scheduled)
    replace_line(scheduled / "index.md", "date:", "date: 2026-02-15 10:00")
    replace_line(scheduled / "index.md", "# ", "# 定时发布的一篇")
    shutil.copytree(ROOTS / "test-figures" / "posts" / "figure-demo", site / "posts" / "figure-demo")
    return site


@pytest.fixture(scope="module")
def warm_builds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same clean build and author's changes, built the way ``make livehtml`` builds."""
    base = tmp_path_factory.mktemp("warm")
    site = make_changing_site(base)
    outdir = base / "warm"
    # Each build is forked from the server, with the server's environment: the later date.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", AFTER["SOURCE_DATE_EPOCH"])
        warm = WarmSphinx(site)
    with warm:  # with make html's -j, as make livehtml builds
        assert warm.build(sphinx_argv(site, outdir, *OPTIONS, *PARALLEL), cwd=site) == 0
        change_like_an_author(site)
        assert warm.build(sphinx_argv(site, outdir, *OPTIONS, *PARALLEL), cwd=site) == 0
        repeat_first_paragraph(post_file(site, "bench-0006"))  # as in `builds`
        assert warm.build(sphinx_argv(site, outdir, *OPTIONS, *PARALLEL), cwd=site) == 0
    return outdir


def test_incremental_build_leaves_the_same_files(builds: tuple[Path, Path]):
    incremental, clean = (output_files(outdir) for outdir in builds)
    assert sorted(set(incremental) - set(clean)) == [], "stale files left by the incremental build"
    assert sorted(set(clean) - set(incremental)) == [], "files the incremental build did not write"
    different = [name for name in clean if incremental[name] != clean[name]]
    assert different == []


def test_the_stylesheet_trim_knows_each_page_as_reading_its_file_finds(builds: tuple[Path, Path]):
    """The stylesheet trim's record of what each page uses (kb/assets/unused_css.py), made
    partly from the pages' text as their writers (forked with -j 2) wrote them, is what reading
    every page of the output finds."""
    for outdir in builds:
        kept = unused_css.load_registry(doctrees(outdir) / unused_css.REGISTRY_FILE)
        read = unused_css.Registry()
        unused_css.update_registry(read, outdir)
        assert kept.pages and kept.pages == read.pages
        assert not (doctrees(outdir) / unused_css.WRITTEN_DIR).exists()


def test_warm_rebuilds_leave_the_same_files(builds: tuple[Path, Path], warm_builds: Path):
    """``make livehtml`` forks each build from a process that has imported everything already;
    its output must be a clean build's, like ``make html``'s."""
    warm, clean = output_files(warm_builds), output_files(builds[1])
    assert sorted(warm) == sorted(clean)
    assert [name for name in clean if warm[name] != clean[name]] == []


def test_warm_build_reports_a_failed_build(tmp_path: Path):
    site = make_site(tmp_path / "site", "bad-date")
    with WarmSphinx(site) as warm:
        assert warm.build(sphinx_argv(site, tmp_path / "out"), cwd=site) != 0
        # The server outlives a failed build: the next save is built again.
        assert warm.build(["--version"], cwd=site) == 0


def test_a_post_written_alone_resolves_its_category_and_tag_links(tmp_path: Path):
    """ABlog registers its posts only after the first page written has had its links resolved;
    a build that writes one post and nothing else must still resolve the post's tag links."""
    site = make_site(tmp_path / "site")
    write_sphinx(make_corpus(3, seed=3), site)
    outdir = tmp_path / "out"
    checked(sphinx_build(site, outdir))
    post = post_file(site, "bench-0001")
    build = checked(sphinx_build(site, outdir, files=(str(post),)))
    assert "undefined label" not in build.output
    page = BeautifulSoup((outdir / "posts/bench-0001/index.html").read_text(encoding="utf-8"), "lxml")
    tags = page.select(".post-meta-tags a")
    assert tags and all(a["href"].startswith("../../blog/tag/") for a in tags)


def test_the_changes_are_visible(builds: tuple[Path, Path]):
    incremental, _ = builds
    home = (incremental / "index.html").read_text(encoding="utf-8")
    assert "新加的一篇文章" in home
    assert not (incremental / "posts" / "bench-0005").exists()
    assert not (incremental / "posts" / "bench-0000").exists()  # back to draft
    assert (incremental / "posts" / "bench-0007" / "index.html").is_file()  # published
    assert "定时发布的一篇" in (incremental / "index.html").read_text(encoding="utf-8")  # its date came
    assert (incremental / "blog" / "page" / "4.html").is_file()  # 9 posts, 2 a page
    assert not (incremental / "blog" / "page" / "6.html").exists()
    assert (incremental / "blog" / "tag" / "新标签.html").is_file()
    feed = (incremental / "blog" / "atom.xml").read_text(encoding="utf-8")
    assert "改过标题的文章" in feed and "补充的一段话" in feed
    sidebar_page = (incremental / "posts" / "bench-0006" / "index.html").read_text(encoding="utf-8")
    assert "新加的一篇文章" in sidebar_page  # recent-posts sidebar on a page that was not edited
    post_list = ["blog.html", *(f"blog/page/{n}.html" for n in range(2, 6))]  # wherever bench-0006 is
    assert "改写过的摘要段落" in "".join(
        (incremental / page).read_text(encoding="utf-8") for page in post_list
    )
    for listing in ["index.html", "blog/atom.xml"]:
        assert "改写过的摘要段落" in (incremental / listing).read_text(encoding="utf-8"), listing
    # Pages that were not re-read but show the retitled series member, the new link, term and citation.
    series_box = BeautifulSoup(
        (incremental / "posts/bench-0004/index.html").read_text(encoding="utf-8"), "lxml"
    ).select_one(".kb-series")
    assert "改过标题的文章" in series_box.get_text() and "第 4 篇，共 5 篇" in series_box.get_text()
    assert "新加的一篇文章" in series_box.get_text()  # the new next post
    series_page = (incremental / "series.html").read_text(encoding="utf-8")
    assert "改过标题的文章" in series_page
    knowledge_map = BeautifulSoup((incremental / "map.html").read_text(encoding="utf-8"), "lxml")
    edges = {(e["data-a"], e["data-b"]) for e in knowledge_map.select(".kb-map-edge")}
    assert edges == {
        ("posts/bench-0003/index", "posts/bench-0004/index"),
        ("posts/bench-0001/index", "posts/bench-0006/index"),
    }
    glossary = BeautifulSoup((incremental / "glossary.html").read_text(encoding="utf-8"), "lxml")
    used = [p.get_text() for p in glossary.select(".kb-term-usage")]
    assert len(used) == 2, used  # 扩散模型 and 得分匹配, each used by bench-0002
    bibliography = BeautifulSoup((incremental / "bibliography.html").read_text(encoding="utf-8"), "lxml")
    cited_by = [a["href"] for a in bibliography.select(f"#ref-{BIB_KEYS[2]} .kb-cited-by a")]
    assert cited_by == ["posts/bench-0002/index.html", "posts/bench-0003/index.html"]
    # The search index: the new post, the retitled one under its new title, the
    # deleted one gone, the edited one's new words findable.
    search_pages = {
        record["u"]: record
        for record in (
            json.loads(path.read_text(encoding="utf-8"))
            for path in (incremental / "_search" / "d").glob("*.json")
        )
    }
    assert search_pages["posts/bench-new/index.html"]["t"] == "新加的一篇文章"
    assert search_pages["posts/bench-0003/index.html"]["t"] == "改过标题的文章"
    assert "posts/bench-0005/index.html" not in search_pages
    assert "新标签" in search_pages["posts/bench-0004/index.html"]["g"]
    edited = search_pages["posts/bench-0002/index.html"]
    assert any("补充的一段话" in text for _anchor, _heading, text, _code in edited["s"])
    # The retitled post cites itself (引用本文) by its new title.
    retitled = BeautifulSoup(
        (incremental / "posts/bench-0003/index.html").read_text(encoding="utf-8"), "lxml"
    )
    assert "改过标题的文章[EB/OL]" in retitled.select_one(".kb-cite").get_text()


def test_a_new_licence_reaches_every_page_and_feed(tmp_path: Path):
    """kb_license is stated on every page and in every feed: changing it in conf.py rewrites
    them all, as a clean build would write them."""
    site = make_site(tmp_path / "site")
    write_sphinx(make_corpus(3, seed=5), site)
    outdir = tmp_path / "out"
    checked(sphinx_build(site, outdir))
    new = "https://creativecommons.org/licenses/by/4.0/"
    append(site / "conf.py", f'\nkb_license = {{"name": "CC BY 4.0", "title": "署名 4.0", "url": "{new}"}}\n')
    checked(sphinx_build(site, outdir))
    pages = [p for p in outdir.rglob("*.html") if "_static" not in p.parts]
    feeds = list(outdir.rglob("atom.xml"))
    assert pages and feeds
    stale = [str(p.relative_to(outdir)) for p in pages + feeds if "by-nc-sa" in p.read_text(encoding="utf-8")]
    assert stale == []
    assert all(new in p.read_text(encoding="utf-8") for p in pages + feeds)
    clean = checked(sphinx_build(site, tmp_path / "clean"))
    incremental, fresh = output_files(outdir), output_files(clean.outdir)
    # Sphinx keeps the previous .buildinfo when the configuration changed: not a page.
    assert sorted(set(incremental) ^ set(fresh)) == [".buildinfo.bak"]
    assert [name for name in fresh if incremental[name] != fresh[name]] == []


def test_collection_pages_are_kept_whole_until_what_they_show_changes(tmp_path: Path):
    """kb/blog/collections.py: an edit below a post's excerpt keeps every collection page without
    making their keys; a redirect (which no listing shows) and a deleted collection page are
    still noticed, and the pages are those of a clean build."""
    site = make_site(tmp_path / "site")
    write_sphinx(make_corpus(4, seed=4), site)
    outdir = tmp_path / "out"
    checked(sphinx_build(site, outdir, *OPTIONS, *PARALLEL))
    append(post_file(site, "bench-0001"), "\n文末补充的一段。\n")
    kept = checked(sphinx_build(site, outdir, *OPTIONS, *PARALLEL))
    assert re.search(r"blog: all \d+ collection pages unchanged", kept.output), kept.output[-3000:]
    # kb/blog/feeds.py: only the feeds that list the edited post are keyed again, and those with
    # its full text (the site's, its category's) are written.
    keyed, listed, written = map(
        int, re.search(r"blog: (\d+) of (\d+) feeds keyed again, (\d+) to", kept.output).groups()
    )
    assert 0 < written <= keyed < listed, (written, keyed, listed)
    add_front_matter(post_file(site, "bench-0002"), "redirect: old/moved-post")
    redirected = checked(sphinx_build(site, outdir, *OPTIONS, *PARALLEL))
    assert "collection pages unchanged" not in redirected.output
    assert "bench-0002" in (outdir / "old" / "moved-post.html").read_text(encoding="utf-8")
    archive = outdir / "blog" / "archive.html"
    archive.unlink()
    rewritten = checked(sphinx_build(site, outdir, *OPTIONS, *PARALLEL))
    assert "collection pages unchanged" not in rewritten.output and archive.is_file()
    clean = checked(sphinx_build(site, tmp_path / "clean", *OPTIONS, *PARALLEL))
    incremental, fresh = output_files(outdir), output_files(clean.outdir)
    assert sorted(set(incremental) ^ set(fresh)) == []
    assert [name for name in fresh if incremental[name] != fresh[name]] == []


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_nothing_changed_rewrites_nothing(tmp_path: Path, jobs: str):
    """With ``-j 2`` the feeds are written and the search index assembled in forked processes;
    what they cached must reach the saved state, or the next build writes them again."""
    site = make_site(tmp_path / "site")
    write_sphinx(make_corpus(4, seed=2), site)
    # Unpublished posts are left out of the sources for each build, and that must not count as a
    # change of the configuration (which would re-read every document).
    add_front_matter(post_file(site, "bench-0001"), "draft: true")
    replace_line(post_file(site, "bench-0002"), "date:", "date: 2999-01-01 10:00")
    outdir = tmp_path / "out"
    checked(sphinx_build(site, outdir, "-j", jobs))
    before = {path: path.stat().st_mtime_ns for path in outdir.rglob("*.html")}
    before.update({path: path.stat().st_mtime_ns for path in outdir.rglob("atom.xml")})
    before.update({path: path.stat().st_mtime_ns for path in (outdir / "_search").rglob("*.json")})
    checked(sphinx_build(site, outdir, "-j", jobs))
    rewritten = sorted(
        str(path.relative_to(outdir)) for path, mtime in before.items() if path.stat().st_mtime_ns != mtime
    )
    # Sphinx always regenerates its index pages and sphinx-notfound-page its 404 page (one page
    # each, from templates); nothing of ours may be rewritten.
    assert [name for name in rewritten if name not in {"genindex.html", "search.html", "404.html"}] == []


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_edit_reaches_the_search_index(tmp_path: Path, jobs: str):
    """An edit rebuild reads its few pages in the main process; with ``-j 2`` their words are cut
    in the forked process that assembles the index (kb.search.index.store_record), with ``-j 1``
    where the page is read. Either way the edited words are found and nothing is left pending."""
    site = make_site(tmp_path / "site")
    write_sphinx(make_corpus(4, seed=3), site)
    outdir = tmp_path / "out"
    checked(sphinx_build(site, outdir, "-j", jobs))
    append(post_file(site, "bench-0001"), "\n袋鼠科的 quokka 出现在这里。\n")
    checked(sphinx_build(site, outdir, "-j", jobs))
    blocks = [json.loads(path.read_bytes()) for path in sorted((outdir / "_search/t").glob("*.json"))]
    assert any("quokka" in block for block in blocks)
    shown = "".join(path.read_text(encoding="utf-8") for path in (outdir / "_search/d").glob("*.json"))
    assert "袋鼠科的 quokka 出现在这里。" in shown
    assert not list(doctrees(outdir).rglob("*.pending.pickle"))
