"""ABlog, read in parallel (``sphinx-build -j``).

ABlog declares itself not safe for parallel reading (sunpy/ablog#327): it records each post in
``env.ablog_posts`` while the document is read, and never merges the records that Sphinx's
reader processes send back. That record is all ABlog keeps from reading
(tests/test_upstream_contracts.py checks its source for other writes to the environment), so
merging it makes ABlog safe. The posts are kept in document order, so what follows does not
depend on which reader process finished first.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from .. import pipeline


def merge_posts(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    posts = env.__dict__.setdefault("ablog_posts", {})
    theirs = getattr(other, "ablog_posts", {})
    posts.update({docname: theirs[docname] for docname in sorted(docnames) if docname in theirs})


def order_posts(app: Sphinx, env: BuildEnvironment) -> list[str]:
    if hasattr(env, "ablog_posts"):
        env.ablog_posts = dict(sorted(env.ablog_posts.items()))
    return []


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("ablog")
    app.extensions["ablog"].parallel_read_safe = True  # what merge_posts makes true
    app.connect("env-merge-info", merge_posts)
    app.connect("env-updated", order_posts, priority=pipeline.ORDER_ABLOG_POSTS)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
