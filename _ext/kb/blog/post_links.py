"""Make relative document links in posts absolute while the post is read.

ABlog copies a post's content into other pages (homepage excerpts, archives, the full-text
feed) and resolves its references again there, with ``refdoc`` set to the page being
written. A relative target such as ``{doc}`../diffusion-sde/index``` then resolves against the
wrong folder: the link is broken in the feed and every page that shows the excerpt, and the
build warns once per page. Rewriting each relative ``doc`` target to the absolute document
name at read time keeps the author's natural relative links working everywhere.

It also records every cross-reference a document makes (``doc``, ``ref``, ``numref``, ``eq``),
so :func:`links_between_posts` can tell which posts link to which: the edges of the knowledge
map and one signal of the related-articles list.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import docname_join

from .. import pipeline
from ..cross_page import track_per_document


def absolutize_doc_links(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    for ref in doctree.findall(addnodes.pending_xref):
        target = ref.get("reftarget", "")
        if ref.get("reftype") != "doc" or not target or target.startswith("/"):
            continue
        absolute = docname_join(docname, target)
        # A link to a missing document keeps its text, so Sphinx's warning quotes the author.
        if absolute in app.env.found_docs:
            ref["reftarget"] = "/" + absolute


LINK_TYPES = ("doc", "ref", "numref", "eq")


def note_links(app: Sphinx, doctree: nodes.document) -> None:
    links = {
        (ref["reftype"], ref["reftarget"])
        for ref in doctree.findall(addnodes.pending_xref)
        if ref.get("reftype") in LINK_TYPES and ref.get("reftarget")
    }
    app.env.kb_outlinks[app.env.docname] = sorted(links)


def _target_doc(env: BuildEnvironment, reftype: str, target: str) -> str | None:
    if reftype == "doc":
        return target.lstrip("/")
    if reftype == "eq":
        found = env.get_domain("math").data["objects"].get(target)
        return found[0] if found else None
    std = env.get_domain("std")
    found = std.labels.get(target.lower()) or std.anonlabels.get(target.lower())
    return found[0] if found else None


def links_between_posts(env: BuildEnvironment, posts: list[str]) -> dict[str, list[str]]:
    """For each post, the other posts it links to (sorted)."""
    wanted = set(posts)
    graph = {}
    for post in posts:
        targets = {_target_doc(env, reftype, target) for reftype, target in env.kb_outlinks.get(post, ())}
        graph[post] = sorted(t for t in targets if t in wanted and t != post)
    return graph


def setup(app: Sphinx) -> dict[str, Any]:
    track_per_document(app, "kb_outlinks")  # docname -> sorted (reftype, target) pairs
    # Before ABlog copies the excerpt and the feed version of the post.
    app.connect("doctree-read", absolutize_doc_links, priority=pipeline.ABSOLUTIZE_DOC_LINKS)
    app.connect("doctree-read", note_links, priority=pipeline.NOTE_LINKS)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
