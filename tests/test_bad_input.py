"""Every kind of bad input fails the strict build and names the file and line.

Each case is a tiny site: the real configuration plus the files in ``tests/roots/test-<case>``.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from sitebuild import ROOTS, Build, make_site, sphinx_build

pytestmark = pytest.mark.slow  # builds a tiny site per case

# case -> (file, line, message pattern), or a list of them for a root with several bad posts
BAD_INPUT: dict[str, tuple[str, int, str] | list[tuple[str, int, str]]] = {
    "missing-date": ("posts/no-date/index.md", 6, r"front matter is missing 'date'"),
    "bad-date": ("posts/bad-date/index.md", 3, r"date '2026-13-45' is not a date"),
    "bad-draft": ("posts/bad-draft/index.md", 7, r"draft must be true or false, not 'maybe'"),
    "tag-without-letters": (
        "posts/symbol-tag/index.md",
        5,
        r"tag '<>' has no letter or digit to make its page's URL from",
    ),
    # A published post links to a draft and to a label in a scheduled post (kb/blog/drafts.py).
    "draft-link": [
        (
            "posts/linking-post/index.md",
            15,
            r"links to posts/draft-target/index.md, which is a draft \(draft: true\) and not published",
        ),
        (
            "posts/linking-post/index.md",
            17,
            r"links to posts/scheduled-target/index.md, which is scheduled for 2999-01-01 10:00 and not "
            r"published",
        ),
    ],
    "unknown-category": (
        "posts/unknown-category/index.md",
        4,
        r"unknown category 'Cooking'; choose one of: Generative Model",
    ),
    "two-categories": ("posts/two-categories/index.md", 4, r"exactly one category is allowed"),
    "missing-title": ("posts/missing-title/index.md", 7, r"post has no title"),
    "missing-tags": ("posts/missing-tags/index.md", 6, r"front matter is missing 'tags'"),
    "unknown-author": ("posts/unknown-author/index.md", 6, r"unknown author '路人'"),
    "misspelt-key": ("posts/misspelt-key/index.md", 7, r"unknown front matter key 'catgory'"),
    "broken-yaml": ("posts/broken-yaml/index.md", 5, r"front matter is not valid YAML"),
    "no-front-matter": ("posts/no-front-matter/index.md", 1, r"post has no front matter"),
    "bad-slug": ("posts/Bad_Slug/index.md", 1, r"slug 'Bad_Slug' must be lowercase ASCII"),
    "not-index": ("posts/loose-file.md", 1, r"a post must be a file named posts/<slug>/index.md"),
    "duplicate-slug": (
        "posts/ml/same-name/index.md",
        1,
        r"duplicate slug 'same-name': \S*posts/dl/same-name/index.md uses it too",
    ),
    "invalid-formula": (
        "posts/invalid-formula/index.md",
        19,
        r'invalid formula "\\frac\{1\}\{2": KaTeX parse error',
    ),
    "undefined-macro": (
        "posts/undefined-macro/index.md",
        17,
        r'invalid formula "\\foo\{x\}": .*Undefined control sequence: \\foo',
    ),
    "bad-search-queries": (
        "posts/bad-search-queries/index.md",
        7,
        r"search_queries must be a list of queries",
    ),
    "dangling-ref": ("posts/dangling-ref/index.md", 17, r"undefined label: 'sec-does-not-exist'"),
    "dangling-doc": ("posts/dangling-doc/index.md", 17, r"unknown document: '\.\./no-such-post/index'"),
    "unknown-series": (
        "posts/unknown-series/index.md",
        7,
        r"unknown series '不存在的系列'; series are declared in kb_series",
    ),
    "bad-series-order": (
        "posts/bad-series-order/index.md",
        8,
        r"series_order 'first' must be a positive whole number",
    ),
    "duplicate-series-order": (
        "posts/series-b/index.md",
        8,
        r"series '扩散模型系列' already has a post at position 2: \S*posts/series-a/index.md",
    ),
    "long-description": ("posts/long-description/index.md", 7, r"description has 200 characters"),
    "unknown-citation": (
        "posts/unknown-citation/index.md",
        15,
        r'could not find bibtex key "nosuchauthor2020nothing"',
    ),
    "unknown-term": ("posts/unknown-term/index.md", 15, r"term not in glossary: '不存在的术语'"),
    # Figures (_ext/kb/figures/): one post per way a figure can be wrong.
    "bad-figures": [
        (
            "posts/figure-raises/index.md",
            13,
            r"code-figure fig-raises: raising\.py:plot\(\) raised \(raising\.py:6 in plot\): "
            r"ValueError: 样本数必须为正",
        ),
        ("posts/figure-no-alt/index.md", 13, r"code-figure: needs :alt: text"),
        (
            "posts/figure-unreferenced/index.md",
            13,
            r"figure fig-unreferenced is never referred to: add \{numref\}`fig-unreferenced`",
        ),
        ("posts/figure-dangling-numref/index.md", 11, r"undefined label: 'fig-does-not-exist'"),
        (
            "posts/figure-missing-glyph/index.md",
            13,
            r"code-figure fig-missing-glyph: glyphs\.py:plot\(\): no font can draw '🧠' \(U\+1F9E0\)",
        ),
        (
            "posts/figure-torch/index.md",
            13,
            r"code-figure fig-torch: torch_plot\.py imports torch \(torch_plot\.py:2 in <module>\)",
        ),
        (
            "posts/figure-raster/index.md",
            13,
            r"image posts/figure-raster/exported\.png is an exported raster file that can go stale",
        ),
        (
            "posts/figure-missing-image/index.md",
            13,
            r"image file not readable: posts/figure-missing-image/diagram\.svg",
        ),
    ],
}
GOOD_INPUT = ["tags-list", "figures"]
# Roots built by their own test modules (several builds each, or a browser).
ELSEWHERE = {"titles-as-text": "test_titles_as_text.py", "drafts": "test_drafts.py"}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Build]:
    """Build every test root, two at a time (each build is one process)."""
    cases = sorted(BAD_INPUT) + GOOD_INPUT

    # Temporary folders are made here, not in the threads: pytest's first mktemp creates the
    # base folder and is not thread-safe (two threads can get different bases).
    bases = [tmp_path_factory.mktemp(case) for case in cases]

    def build(case: str, base: Path) -> Build:
        return sphinx_build(make_site(base / "src", case), base / "html")

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(cases, pool.map(build, cases, bases)))


def test_every_root_is_tested():
    roots = {path.name.removeprefix("test-") for path in ROOTS.iterdir() if path.is_dir()}
    assert roots == set(BAD_INPUT) | set(GOOD_INPUT) | set(ELSEWHERE)
    for root, module in ELSEWHERE.items():
        assert f'"{root}"' in (Path(__file__).parent / module).read_text(encoding="utf-8"), module


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_fails_with_file_line_message(builds: dict[str, Build], case: str):
    build = builds[case]
    expectations = BAD_INPUT[case]
    assert build.returncode != 0, f"{case} built without error"
    for file, line, message in expectations if isinstance(expectations, list) else [expectations]:
        expected = re.compile(re.escape(f"{build.srcdir}/{file}:{line}: WARNING: ") + message)
        assert any(expected.match(w) for w in build.warnings), f"{file}:{line}: {message}\n" + "\n".join(
            build.warnings
        )


def test_a_link_to_a_draft_gets_one_clear_message(builds: dict[str, Build]):
    """Sphinx's own "unknown document" / "undefined label" for the same links would only confuse."""
    warnings = builds["draft-link"].warnings
    assert len(warnings) == 2, "\n".join(warnings)
    assert not [w for w in warnings if "unknown document" in w or "undefined label" in w]


def test_tags_as_yaml_list_or_string_keep_chinese_intact(builds: dict[str, Build]):
    build = builds["tags-list"]
    assert build.returncode == 0, build.output[-3000:]
    html = Path(build.outdir)
    for tag in ["扩散模型", "采样加速", "强化学习", "策略梯度"]:
        page = html / "blog" / "tag" / f"{tag}.html"
        assert page.is_file(), tag
        assert (
            tag in BeautifulSoup(page.read_text(encoding="utf-8"), "lxml").select_one("article h1").get_text()
        )
    post = (html / "posts/tags-list/index.html").read_text(encoding="utf-8")
    tags = [a.get_text() for a in BeautifulSoup(post, "lxml").select(".post-meta-tags a")]
    assert tags == ["扩散模型", "采样加速"]
    assert not re.search(r"\\u[0-9a-fA-F]{4}", post)


def test_no_katex_renderer_outlives_its_build(builds: dict[str, Build]):
    """The renderer gets pipes, never the build's own output, and exits with the build."""
    # Only the renderers of these builds: other builds may run on the machine at the same time.
    sites = [str(build.srcdir).encode() for build in builds.values()]
    leftovers = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(
            argument.endswith(b"katex_render.js") and argument.startswith(tuple(sites))
            for argument in arguments
        ):
            leftovers.append(cmdline.parent.name)
    assert not leftovers, f"katex_render.js still running: pids {leftovers}"
