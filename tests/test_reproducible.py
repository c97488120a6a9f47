"""Two clean builds of the same sources produce the same bytes.

The second build goes to another output folder, with its own doctree cache, started at another
time and with another hash seed, so anything taken from the clock, the output path, a random
seed or the order of a dict or set shows up as a difference: HTML pages, feeds, the search index,
the sitemap, fonts and every other file. The first build reads and writes in parallel as `make html`
does (``-j auto``), the second in one process, so whatever depends on how the pages were shared
between processes shows up too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sitebuild import BUILD_TIMEOUT, ROOT, Build, output_files, sphinx_argv

pytestmark = pytest.mark.slow  # two clean builds of the real site


@pytest.fixture(scope="module")
def second_build(tmp_path_factory: pytest.TempPathFactory, site: Build) -> Path:
    outdir = tmp_path_factory.mktemp("second-build") / "elsewhere" / "html"
    command = [sys.executable, "-m", "sphinx", *sphinx_argv(ROOT, outdir, "-j", "1")]
    env = dict(os.environ, PYTHONHASHSEED="12345")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT, cwd=ROOT)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return outdir


def test_two_clean_builds_are_byte_identical(site: Build, second_build: Path):
    first, second = output_files(site.outdir), output_files(second_build)
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == [], different[:20]


def test_the_comparison_covers_pages_feeds_and_search_index(site: Build):
    names = set(output_files(site.outdir))
    assert {
        "index.html",
        "_search/index.json",
        "blog/atom.xml",
        "sitemap.xml",
        "map.html",
        "bibliography.html",
        "glossary.html",
        "posts/dpo/index.html",
        "blog/page/2.html",  # pages of the post list (kb/blog/collections.py)
        "_static/scripts/pydata-sphinx-theme.js",  # patched after the build (kb/assets/theme_script.py)
        "_static/kb-section-anchors.js",
    } <= names
    assert sum(name.endswith(".html") for name in names) > 100
    # what a post page shows from the build itself: 字数, reading time, licence and citation
    page = (site.outdir / "posts/dpo/index.html").read_text(encoding="utf-8")
    assert all(css in page for css in ["post-meta-length", "post-meta-reading-time", "kb-license", "kb-cite"])
