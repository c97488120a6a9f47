"""Pages that show facts read from other pages, kept correct on incremental builds.

Sphinx rewrites only the documents it re-read. A post's series box, its related-articles list,
the glossary's "used in" lists, the bibliography's "cited by" lists and the knowledge map all show
facts that live in *other* documents, so after an edit they would go stale. Each such feature
computes, after reading, a *view* per page (a picklable, comparable value: exactly what the page
will show) and calls :func:`changed_views`; the pages whose view changed are returned from
``env-updated`` and Sphinx rewrites them. The views are stored in the environment, so a build
with nothing changed rewrites nothing.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.environment import BuildEnvironment


def changed_views(env: BuildEnvironment, feature: str, views: dict[str, Any]) -> list[str]:
    """Remember this build's views of ``feature``; return the pages whose view changed."""
    store: dict[str, dict[str, Any]] = env.__dict__.setdefault("kb_views", {})
    old = store.get(feature, {})
    store[feature] = views
    return sorted(name for name in views.keys() | old.keys()
                  if name in env.found_docs and old.get(name) != views.get(name))


def post_docnames(env: BuildEnvironment) -> list[str]:
    """The published posts, in a stable order."""
    posts = getattr(env, "ablog_posts", {})
    return sorted(name for name, infos in posts.items()
                  if name in env.found_docs and infos and not infos[0].get("exclude"))


def title(env: BuildEnvironment, docname: str) -> str:
    node = env.titles.get(docname)
    return node.astext() if node is not None else docname


def is_whole_page(env: BuildEnvironment, doctree: nodes.document, docname: str) -> bool:
    """True for the doctree of the page being written, not for the copies of a post that ABlog
    resolves for excerpts and feeds (those are resolved with the post's name too)."""
    return str(doctree.get("source", "")) == str(env.doc2path(docname))
