"""Make relative document links in posts absolute while the post is read.

ABlog copies a post's content into other pages (homepage excerpts, archives, the full-text
feed) and resolves its references again there, with ``refdoc`` set to the page being
written. A relative target such as ``{doc}`../diffusion-sde/index``` then resolves against the
wrong folder: the link is broken in the feed and every page that shows the excerpt, and the
build warns once per page. Rewriting each relative ``doc`` target to the absolute document
name at read time keeps the author's natural relative links working everywhere.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import docname_join


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


def setup(app: Sphinx) -> dict[str, Any]:
    # Before ABlog (priority 500) copies the excerpt and the feed version of the post.
    app.connect("doctree-read", absolutize_doc_links, priority=450)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
