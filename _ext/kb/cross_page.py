"""Pages that show facts read from other pages, kept correct on incremental builds.

Sphinx rewrites only the documents it re-read. A post's series box, its related-articles list,
the glossary's "used in" lists, the bibliography's "cited by" lists and the knowledge map all show
facts that live in *other* documents, so after an edit they would go stale. Each such feature
computes, after reading, a *view* per page (a picklable, comparable value: exactly what the page
will show) and calls :func:`changed_views`; the pages whose view changed are returned from
``env-updated`` and Sphinx rewrites them. The views are stored in the environment, so a build
with nothing changed rewrites nothing.

The helpers below are what every such feature needs: per-document data in the environment,
directives that mark the page to fill in, and links to other documents by title.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import CONFIG_OK, BuildEnvironment
from sphinx.util.docutils import SphinxDirective


def sources_changed(env: BuildEnvironment) -> bool:
    """True when this build read or removed a document (or this environment is new). When it is
    False, every view computed from the environment equals the one stored by the last build."""
    return env.__dict__.get("kb_sources_changed", True)


def _note_purged(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    # Sphinx purges every document it removes and every document it is about to read again.
    env.kb_sources_changed = True


def _reset(app: Sphinx) -> None:
    # A new environment, or one whose reading configuration changed, counts as changed. (The
    # features' own options are "env" options, so changing one re-reads every document.)
    env = app.env
    env.kb_sources_changed = not hasattr(env, "kb_views") or env.config_status != CONFIG_OK


def changed_views(env: BuildEnvironment, feature: str, views: dict[str, Any]) -> list[str]:
    """Remember this build's views of ``feature``; return the pages whose view changed."""
    store: dict[str, dict[str, Any]] = env.__dict__.setdefault("kb_views", {})
    old = store.get(feature, {})
    store[feature] = views
    return sorted(
        name
        for name in views.keys() | old.keys()
        if name in env.found_docs and old.get(name) != views.get(name)
    )


def post_docnames(env: BuildEnvironment) -> list[str]:
    """The published posts, in a stable order."""
    posts = getattr(env, "ablog_posts", {})
    return sorted(
        name
        for name, infos in posts.items()
        if name in env.found_docs and infos and not infos[0].get("exclude")
    )


def title(env: BuildEnvironment, docname: str) -> str:
    node = env.titles.get(docname)
    return node.astext() if node is not None else docname


def is_whole_page(env: BuildEnvironment, doctree: nodes.document, docname: str) -> bool:
    """True for the doctree of the page being written, not for the copies of a post that ABlog
    resolves for excerpts and feeds (those are resolved with the post's name too)."""
    return str(doctree.get("source", "")) == str(env.doc2path(docname))


# -- what every such feature needs ----------------------------------------------------------------


def track_per_document(app: Sphinx, attr: str, factory: type = dict) -> None:
    """Keep ``env.<attr>`` across builds: a dict keyed by docname, or a set of docnames. It is
    created when missing, loses a document's entry when the document is re-read or removed, and
    takes other processes' entries when documents are read in parallel."""

    def init(app: Sphinx) -> None:
        if not hasattr(app.env, attr):
            setattr(app.env, attr, factory())

    def purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
        store = getattr(env, attr)
        if isinstance(store, set):
            store.discard(docname)
        else:
            store.pop(docname, None)

    def merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
        store, theirs = getattr(env, attr), getattr(other, attr)
        if isinstance(store, set):
            store |= theirs & docnames
        else:
            store.update({name: theirs[name] for name in docnames if name in theirs})

    app.connect("builder-inited", init)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)


def add_page_directive(app: Sphinx, name: str, placeholder: type[nodes.Element], pages_attr: str) -> None:
    """A content-less directive that leaves ``placeholder`` for the feature to fill when the page
    is written, and records the page in ``env.<pages_attr>`` (a set of docnames)."""

    class PageDirective(SphinxDirective):
        has_content = False

        def run(self) -> list[nodes.Node]:
            getattr(self.env, pages_attr).add(self.env.docname)
            return [placeholder()]

    app.add_node(placeholder)
    app.add_directive(name, PageDirective)
    track_per_document(app, pages_attr, set)


def doc_link(
    app: Sphinx, fromdoc: str, todoc: str, text: str | None = None, anchor: str = ""
) -> nodes.reference:
    """A link from the page being written to another document (its title unless ``text``)."""
    text = title(app.env, todoc) if text is None else text
    uri = app.builder.get_relative_uri(fromdoc, todoc) + (f"#{anchor}" if anchor else "")
    return nodes.reference(text, text, refuri=uri, internal=True)


def doc_links(app: Sphinx, fromdoc: str, todocs: Iterable[str]) -> list[nodes.Node]:
    """Links to ``todocs`` by title, in the given order, separated by "、"."""
    result: list[nodes.Node] = []
    for todoc in todocs:
        if result:
            result.append(nodes.Text("、"))
        result.append(doc_link(app, fromdoc, todoc))
    return result


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _reset)
    app.connect("env-purge-doc", _note_purged)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
