"""Each post's excerpt rendered once per build, not once per collection page that lists it.

A collection page (the post list, a category, tag, year or author page) shows each of its posts'
excerpts through ABlog's ``Post.to_html(pagename)``: the excerpt's nodes copied into a new
document, its references resolved relative to the page (Sphinx's post-transforms and every
``doctree-resolved`` handler), then written by the HTML translator. A post is listed on about
seven collection pages, so a clean build at 1,000 posts rendered some 7,000 excerpts for 1,000
different outputs: over a quarter of the collection pages' time.

An excerpt whose nodes are all plain text and inline markup (:data:`PAGE_INDEPENDENT`: no
reference, image, footnote or other node whose output names a page or a path) is written the
same on every page, so its HTML is kept per post and section for the rest of the build (in
memory, inherited by the processes that write collection pages). Any other excerpt is rendered
for each page as before. :func:`prerender` renders the excerpts the collection pages need in
forked processes before those pages are written, so every writer starts with all of them.
"""

from __future__ import annotations

from typing import Any

import ablog.blog
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.osutil import relative_uri
from sphinx.util.parallel import ParallelTasks, make_chunks

logger = logging.getLogger(__name__)

# Node types the HTML translator writes without looking at the page (or a path): an excerpt made
# only of these is the same HTML on every page. Exact types: a subclass (a pending cross-reference
# is an inline element too) may render differently.
PAGE_INDEPENDENT: frozenset[type] = frozenset(
    {
        nodes.Text,
        nodes.paragraph,
        nodes.emphasis,
        nodes.strong,
        nodes.literal,
        nodes.inline,
        nodes.subscript,
        nodes.superscript,
        nodes.math,  # KaTeX's rendering stored at read time (kb.math.prerender)
    }
)

# (docname, section) -> the excerpt's HTML as ``to_html(pagename)`` returns it; this build only.
_rendered: dict[tuple[str, str | None], str] = {}
# ABlog's own method (``__wrapped__``: this module imported again, as a test may, finds its own).
_upstream_to_html = getattr(ablog.blog.Post.to_html, "__wrapped__", ablog.blog.Post.to_html)


def is_page_independent(post: Any) -> bool:
    """Whether the post's excerpt renders to the same HTML on every page."""
    return all(
        type(node) in PAGE_INDEPENDENT for part in post.excerpt for node in part.findall(include_self=True)
    )


def to_html(
    self: Any, pagename: str, fulltext: bool = False, drop_h1: Any = True, img_url: bool = False
) -> str:
    """``ablog.blog.Post.to_html``, with a page-independent excerpt rendered once per build."""
    if fulltext or img_url or drop_h1 is not True or not is_page_independent(self):
        return _upstream_to_html(self, pagename, fulltext=fulltext, drop_h1=drop_h1, img_url=img_url)
    key = (self.docname, self.section)
    html = _rendered.get(key)
    if html is None:
        html = _rendered[key] = _upstream_to_html(self, pagename)
    else:
        # What ABlog's html_builder_write_doc leaves on the builder, as if it had run for this page.
        builder = self._blog.app.builder
        builder.secnumbers = {}
        builder.fignumbers = {}
        builder.imgpath = relative_uri(builder.get_target_uri(pagename), "_images")
        builder.dlpath = relative_uri(builder.get_target_uri(pagename), "_downloads")
        builder.current_docname = pagename
    return html


to_html.__wrapped__ = _upstream_to_html


def forget(app: Sphinx) -> None:
    """A new build renders its excerpts afresh (``make livehtml`` forks each build from one
    server process; a test may build several sites in one)."""
    _rendered.clear()


def prerender(app: Sphinx, pages: list[tuple[str, dict[str, Any], str]]) -> None:
    """Render, in ``app.parallel`` forked processes, every page-independent excerpt that the
    collection ``pages`` (``html-collect-pages`` triples) show and that is not rendered yet."""
    needed: dict[tuple[str, str | None], tuple[Any, str]] = {}
    for pagename, context, _template in pages:
        if "collection" not in context:
            continue
        for post in context.get("posts", ()):
            key = (post.docname, post.section)
            if key not in _rendered and key not in needed and is_page_independent(post):
                needed[key] = (post, pagename)
    if not needed:
        return

    def render(chunk: list[tuple[Any, str]]) -> dict[tuple[str, str | None], str]:
        return {(post.docname, post.section): post.to_html(pagename) for post, pagename in chunk}

    tasks = ParallelTasks(app.parallel)
    for chunk in make_chunks(list(needed.values()), app.parallel, maxbatch=len(needed)):  # type: ignore[arg-type]
        tasks.add_task(render, chunk, lambda _chunk, rendered: _rendered.update(rendered))
    tasks.join()


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("ablog")
    # ABlog's templates call post.to_html(pagename) for every excerpt they list
    # (tests/test_upstream_contracts.py checks the method this replaces).
    ablog.blog.Post.to_html = to_html
    app.connect("builder-inited", forget)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
