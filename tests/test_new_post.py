"""``make post`` (scripts/new_post.py): a scaffold that passes, and bad arguments that write nothing.

The end-to-end test scaffolds a post into a copy of the site (the files Git tracks, as a fresh
clone has them), runs the strict build there, and then, on that build, the post's own tests, its
stored output, every per-post check of the site's tests (``--kb-posts``: metadata, sidebars and
prev/next, related articles, generated references, page metadata, licence and citation, content
guards) and the whole-site tests of the pages that list every post. The browser tests are left
out: the search tests' expectations come from each post's title, not from a list.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import new_post
from kb.blog.frontmatter import FrontMatter
from kb.figures.directive import CACHE_DIR as FIGURE_CACHE
from sitebuild import ROOT, Build, doctrees, parse_html, site_config, sphinx_build

SCRIPT = ROOT / "scripts" / "new_post.py"
CATEGORY = "Reinforcement Learning"


def scaffold(posts_dir: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT if cwd == ROOT else cwd / "scripts/new_post.py"), *args,
         "--posts-dir", str(posts_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def posts_dir(tmp_path: Path) -> Path:
    """A posts folder with one post, ``existing-post``, at position 1 of the RL series."""
    posts = tmp_path / "posts"
    (posts / "existing-post").mkdir(parents=True)
    (posts / "existing-post" / "index.md").write_text(
        "---\nblogpost: true\ndate: 2026-01-01\ncategory: Algorithm\ntags: 算法\nauthor: 站长\n"
        "series: 强化学习入门\nseries_order: 1\n---\n\n# 已有的文章\n",
        encoding="utf-8",
    )
    (posts / "existing-post" / "flow_matching_demo.py").write_text("def f():\n    pass\n", encoding="utf-8")
    return posts


GOOD = [
    "--slug",
    "policy-gradient",
    "--title",
    "策略梯度入门",
    "--category",
    CATEGORY,
    "--tags",
    "策略梯度, 强化学习",
]


def with_args(**changes: str) -> list[str]:
    args = list(GOOD)
    for key, value in changes.items():
        flag = "--" + key.replace("_", "-")
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    return args


@pytest.mark.parametrize(
    "args, message",
    [
        (with_args(category="Cooking"), "unknown category 'Cooking'; choose one of: Generative Model"),
        (with_args(slug="existing-post"), "posts/existing-post already exists"),
        (with_args(slug="Bad_Slug"), "slug 'Bad_Slug' must be lowercase ASCII words joined by '-'"),
        (with_args(slug="flow matching"), "slug 'flow matching' must be lowercase ASCII"),
        (with_args(slug=""), "give a slug: make post SLUG=my-topic"),
        (with_args(title="  "), "give a title"),
        (with_args(tags=" , "), "give at least one tag"),
        (with_args(tags="强化学习, 强化学习"), "duplicate tags in 强化学习, 强化学习"),
        (with_args(author="路人"), "unknown author '路人'"),
        (with_args(description="长" * 161), "description has 161 characters; keep it under 160"),
        (with_args(series="不存在的系列"), "unknown series '不存在的系列'; series are declared in kb_series"),
        (with_args(series="强化学习入门", series_order="1"), "position 1 of series '强化学习入门' is taken by posts/existing-post"),
        (with_args(series="强化学习入门", series_order="first"), "series order 'first' must be a positive whole number"),
        (with_args(series_order="2"), "a series order needs a series"),
        (with_args(slug="flow-matching"), "module name flow_matching_demo is used by posts/existing-post"),
    ],
)  # fmt: skip
def test_bad_arguments_give_a_one_line_error_and_write_nothing(
    posts_dir: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
):
    before = snapshot(posts_dir)
    assert new_post.main([*args, "--posts-dir", str(posts_dir)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("make post: error: ") and message in lines[0], lines
    assert snapshot(posts_dir) == before


def test_a_slug_taken_by_a_scaffolded_post_is_one_error(posts_dir: Path, capsys: pytest.CaptureFixture[str]):
    """Its module names are taken too, but the one thing to change is the slug: one line."""
    assert new_post.main([*GOOD, "--posts-dir", str(posts_dir)]) == 0
    capsys.readouterr()
    before = snapshot(posts_dir)
    assert new_post.main([*GOOD, "--posts-dir", str(posts_dir)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "make post: error: posts/policy-gradient already exists: choose another slug"
    ]
    assert snapshot(posts_dir) == before


def test_make_post_passes_its_arguments_as_text(tmp_path: Path):
    """Through make: quotes, `$` and backticks in a value are text, not shell."""
    result = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "-o", "node_modules/.installed", "-o", "system-deps", "post",
         "SLUG=Bad Slug", 'TITLE=say "hi" $$HOME `touch ' + str(tmp_path / "ran") + "`", f"CATEGORY={CATEGORY}",
         "TAGS=标签"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "make post: error: slug 'Bad Slug' must be lowercase ASCII" in result.stderr
    assert not (tmp_path / "ran").exists() and not (ROOT / "posts" / "Bad Slug").exists()


def test_a_scaffold_has_every_file_and_field_the_site_requires(posts_dir: Path):
    result = scaffold(posts_dir, *with_args(series="强化学习入门", title='标题里有 "引号"：与 #号'))
    assert result.returncode == 0, result.stderr
    folder = posts_dir / "policy-gradient"
    assert sorted(p.name for p in folder.iterdir()) == [
        "index.md",
        "policy_gradient_demo.output.txt",
        "policy_gradient_demo.py",
        "policy_gradient_figures.py",
        "test_policy_gradient_demo.py",
    ]
    text = (folder / "index.md").read_text(encoding="utf-8")
    front = FrontMatter.parse(text)
    assert front is not None
    assert front.values["category"] == CATEGORY
    assert front.values["series"] == "强化学习入门" and front.values["series_order"] == "2"  # the next free
    assert 0 < len(front.values["description"]) <= 160 and "标题里有" in front.values["description"]
    assert set(front.values) == {
        "blogpost",
        "date",
        "category",
        "tags",
        "author",
        "description",
        "series",
        "series_order",
    }
    assert front.values["author"] == site_config()["blog_default_author"]
    assert '\n# 标题里有 "引号"：与 #号\n' in text
    # References only from references.bib, through {footcite} and {footbibliography}.
    assert text.rstrip().endswith("## 参考文献\n\n```{footbibliography}\n```")
    assert "{footcite}`bottou2016optimization`" in text
    # The stored output is what the program prints, and the post's own tests pass.
    printed = subprocess.run(
        [sys.executable, "policy_gradient_demo.py"], cwd=folder, capture_output=True, text=True, check=True
    ).stdout
    assert (folder / "policy_gradient_demo.output.txt").read_text(encoding="utf-8") == printed
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder, capture_output=True, text=True,
    )  # fmt: skip
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout


def tracked_files(root: Path) -> list[str]:
    result = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:  # not a Git checkout (a tarball): everything but outputs and tools
        skip = {".git", ".venv", "node_modules", "_build", "__pycache__", ".pytest_cache"}
        return [
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(root).parts)
        ]
    return [name for name in result.stdout.split("\0") if name and (root / name).is_file()]


# Whole-site tests of the pages that list every post: the new post must be in each. (The tests
# that parse every article page cost minutes; what they check of the new post is checked below on
# its own page, and make test runs them on the real site.)
LISTINGS = [
    "tests/test_site.py::test_homepage_lists_latest_posts_newest_first_with_date_category_excerpt",
    "tests/test_site.py::test_category_page_lists_exactly_its_posts[Reinforcement Learning]",
    "tests/test_site.py::test_archive_lists_every_post_once_by_year",
    "tests/test_site.py::test_tag_and_category_indexes_cover_everything",
    "tests/test_site.py::test_search_index_holds_chinese_words_formula_terms_and_every_post",
    "tests/test_knowledge_base.py::test_series_page_lists_every_series_in_order",
    "tests/test_knowledge_base.py::test_bibliography_page_lists_every_entry_with_the_articles_citing_it",
    "tests/test_knowledge_base.py::test_sitemap_lists_every_page_with_absolute_urls",
]


@pytest.mark.slow
def test_a_scaffolded_post_passes_the_strict_build_and_the_tests(tmp_path: Path, site: Build):
    copy = tmp_path / "site"
    for name in tracked_files(ROOT):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    (copy / "node_modules").symlink_to(ROOT / "node_modules")
    title = "策略梯度入门：从 REINFORCE 到基线"
    result = scaffold(copy / "posts", *with_args(series="强化学习入门", title=title), cwd=copy)
    assert result.returncode == 0, result.stderr
    # make html: the strict build, with no warning. The real site's figures are not drawn again:
    # the figure cache is keyed by the contents of the code that draws them.
    figure_cache = site.doctreedir / FIGURE_CACHE
    if figure_cache.is_dir():
        shutil.copytree(figure_cache, doctrees(tmp_path / "html") / FIGURE_CACHE)
    build = sphinx_build(copy, tmp_path / "html")
    assert build.returncode == 0 and build.warnings == [], "\n".join(build.warnings) or build.output[-3000:]
    assert title in (build.outdir / "posts/policy-gradient/index.html").read_text(encoding="utf-8")
    output = next((copy / "posts/policy-gradient").glob("*.output.txt")).name

    def pytest_in_copy(*args: str) -> str:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", "-m", "not browser",
             f"--kb-built-site={build.outdir}", *args],
            cwd=copy, capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
        return run.stdout

    # The post's own tests, its stored output, and every per-post check of the site's tests.
    per_post = pytest_in_copy("--kb-posts=policy-gradient", "tests", "posts/policy-gradient")
    passed = re.search(r"(\d+) passed", per_post)
    assert passed and int(passed[1]) >= 10 and " failed" not in per_post and "skipped" not in per_post, (
        per_post[-2000:]
    )
    for expected in [
        f"test_stored_output_is_what_the_program_prints[policy-gradient/{output}]",
        "posts/policy-gradient/test_policy_gradient_demo.py::test_gradient_descent_reaches_the_least_squares_line",
        "test_post_page_shows_metadata[policy-gradient]",
        "test_references_section_is_generated_from_the_bibliography[policy-gradient]",
        "test_every_post_ends_with_related_articles[policy-gradient]",
        "test_every_post_ends_with_its_licence_and_a_citation[policy-gradient]",
    ]:
        assert any(
            line.startswith("PASSED ") and line.endswith(expected) for line in per_post.splitlines()
        ), expected
    # The pages that list every post list it too.
    listings = pytest_in_copy(*LISTINGS)
    assert f"{len(LISTINGS)} passed" in listings, listings[-2000:]
    # What the tests over every article page check, on this one: a numbered figure referred to by
    # its number, the code files shown, the series box, the feed entry.
    page = parse_html(build.outdir / "posts/policy-gradient/index.html")
    figure = page.select_one("figure.kb-figure#fig-policy-gradient-loss")
    assert figure.select_one(".caption-number").get_text(strip=True) == "图 1"
    assert page.select_one('a.reference.internal[href="#fig-policy-gradient-loss"] .std-numref')
    shown = "\n".join(pre.get_text() for pre in page.select("pre"))
    assert (
        "def make_data" in shown and "def plot_loss" in shown and "def test_the_loss_never_increases" in shown
    )
    assert re.search(
        r"第 (\d+) 篇，共 \1 篇", page.select_one(".kb-series").get_text()
    )  # the next free position
    feed = (build.outdir / "blog/atom.xml").read_text(encoding="utf-8")
    assert f"<title>{title}</title>" in feed
