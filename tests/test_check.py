"""``make check`` (scripts/check.py): which posts it checks and which tests it runs for them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import check
from sitebuild import ROOT


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def write_post(repo: Path, slug: str, text: str = "# 文章\n") -> None:
    (repo / "posts" / slug).mkdir(parents=True, exist_ok=True)
    (repo / "posts" / slug / "index.md").write_text(text, encoding="utf-8")


def test_changed_posts_are_those_with_changes_relative_to_head(tmp_path: Path):
    repo = tmp_path / "site"
    for slug in ["edited", "code-edited", "untouched", "renamed-from", "deleted"]:
        write_post(repo, slug)
    (repo / "posts" / "code-edited" / "model.py").write_text("x = 1\n", encoding="utf-8")
    (repo / "conf.py").write_text("", encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "posts")
    assert check.changed_posts(repo) == []
    write_post(repo, "edited", "# 改过的文章\n")  # modified, not staged
    (repo / "posts" / "code-edited" / "model.py").write_text("x = 2\n", encoding="utf-8")
    write_post(repo, "brand-new")  # untracked
    write_post(repo, "staged-new")
    git(repo, "add", "posts/staged-new")
    git(repo, "mv", "posts/renamed-from", "posts/renamed-to")  # staged rename
    git(repo, "rm", "-rq", "posts/deleted")  # nothing left to check
    (repo / "conf.py").write_text("# not a post\n", encoding="utf-8")
    assert check.changed_posts(repo) == ["brand-new", "code-edited", "edited", "renamed-to", "staged-new"]


def test_named_posts_must_exist():
    assert check.named_posts("kd-tree, posts/dpo/ kd-tree") == ["dpo", "kd-tree"]
    with pytest.raises(check.CheckError, match="no post 'no-such-post'"):
        check.named_posts("dpo no-such-post")


def test_kb_posts_selects_each_posts_own_tests_output_and_per_post_checks():
    """pytest --kb-posts keeps the tests of the named posts and nothing else."""
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
            "--kb-posts=kd-tree", "tests/test_content_guards.py", "tests/test_post_outputs.py",
            "tests/test_site.py", "tests/test_citation.py", "posts/kd-tree", "posts/dpo",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    selected = [line for line in result.stdout.splitlines() if "::" in line]
    assert selected and all("kd-tree" in line for line in selected), selected
    assert any(line.startswith("posts/kd-tree/test_") for line in selected)
    assert (
        "tests/test_post_outputs.py::test_stored_output_is_what_the_program_prints[kd-tree/kdtree_search.output.txt]"
        in selected
    )
    assert "tests/test_site.py::test_post_page_shows_metadata[kd-tree]" in selected
    assert "tests/test_citation.py::test_every_post_ends_with_its_licence_and_a_citation[kd-tree]" in selected
    assert (
        "tests/test_content_guards.py::test_prose_recites_no_timings_or_test_logs_and_no_hedges[kd-tree]"
        in selected
    )
    assert not [line for line in selected if "posts/dpo" in line]


def test_a_test_that_builds_must_be_marked_slow():
    """The fast tests (`make check`) never start a build: sitebuild refuses to in a test that is
    not marked slow or browser, so a mismarked test fails instead of silently slowing it."""
    import sitebuild

    assert sitebuild.BUILDS_ALLOWED is False  # this test is not marked
    with pytest.raises(RuntimeError, match="must be marked @pytest.mark.slow"):
        sitebuild.sphinx_build(ROOT, ROOT / "_build" / "never")
