"""A build reports again the warnings of the last build (``_ext/kb/warned_documents.py``).

Sphinx gives a document's warnings only when it reads the document, and ``-W --keep-going``
saves the environment of a failed build: without this extension a second ``make html`` with
nothing changed succeeded. These builds use Sphinx directly (no ``scripts/build_site.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from corpus import make_corpus, write_sphinx
from kb.warned_documents import WARNED, documents_of
from sitebuild import PARALLEL, doctrees, make_site, sphinx_build

MESSAGE = "posts/dangling-doc/index.md:17: WARNING: unknown document: '../no-such-post/index'"


@pytest.mark.slow
def test_a_failed_build_fails_again_until_the_cause_is_gone(tmp_path: Path):
    site = make_site(tmp_path / "src", "dangling-doc")
    write_sphinx(make_corpus(12), site)  # enough documents to be read in parallel at first
    outdir = tmp_path / "html"
    for attempt in range(2):
        build = sphinx_build(site, outdir, *PARALLEL)
        assert build.returncode == 1, (attempt, build.output)
        assert any(MESSAGE in line for line in build.warnings), (attempt, build.warnings)
    warned = json.loads((doctrees(outdir) / WARNED).read_text(encoding="utf-8"))
    assert warned == ["posts/dangling-doc/index"]

    post = site / "posts" / "dangling-doc" / "index.md"
    post.write_text(
        post.read_text(encoding="utf-8").replace("{doc}`../no-such-post/index`", "别处"), encoding="utf-8"
    )
    fixed = sphinx_build(site, outdir, *PARALLEL)
    assert fixed.returncode == 0, fixed.output
    assert not (doctrees(outdir) / WARNED).exists()
    again = sphinx_build(site, outdir, *PARALLEL)
    assert again.returncode == 0 and "0 added, 0 changed, 0 removed" in again.output, again.output


def test_the_documents_of_a_warning():
    srcdir = Path("/site")
    env = SimpleNamespace(
        srcdir=srcdir,
        all_docs={"index": 0.0, "posts/a/index": 0.0, "posts/b/index": 0.0},
        dependencies={"posts/a/index": {"posts/a/plot.py"}, "posts/b/index": {"posts/b/x.py"}},
        path2doc=lambda path: {
            "/site/posts/a/index.md": "posts/a/index",
            "posts/b/index.md": "posts/b/index",
        }.get(str(path)),
    )
    assert documents_of(env, "posts/a/index") == {"posts/a/index"}
    assert documents_of(env, ("posts/b/index", 3)) == {"posts/b/index"}
    assert documents_of(env, "/site/posts/a/index.md:17") == {"posts/a/index"}
    assert documents_of(env, "posts/b/index.md") == {"posts/b/index"}
    assert documents_of(env, "/site/posts/a/plot.py:4") == {"posts/a/index"}  # an included file
    assert documents_of(env, None) == set()
    assert documents_of(env, "/elsewhere/file.txt:1") == set()
