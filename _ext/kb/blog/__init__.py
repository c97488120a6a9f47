"""The blog: ABlog's posts, checked, with their metadata, and built incrementally.

* :mod:`kb.blog.titles` keeps titles text (Markdown would pass ``List<T>`` through as HTML);
* :mod:`kb.blog.frontmatter` validates each post's front matter (``file:line`` errors);
* :mod:`kb.blog.drafts` leaves drafts and scheduled posts out of the published site (a preview
  builds and marks them);
* :mod:`kb.blog.post_meta` writes the metadata line under each post's title;
* :mod:`kb.blog.post_links` makes relative document links absolute, so ABlog's copies keep them;
* :mod:`kb.blog.incremental` takes over ABlog's collection pages and Atom feeds;
* :mod:`kb.blog.excerpts` renders each post's excerpt once per build, not once per page listing it;
* :mod:`kb.blog.citation` ends every post with its licence and how to cite it;
* :mod:`kb.blog.parallel` merges ABlog's post records, so the site can be read in parallel.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from .. import source_version

MODULES = [
    "titles",
    "frontmatter",
    "drafts",
    "post_meta",
    "post_links",
    "incremental",
    "excerpts",
    "citation",
    "parallel",
]


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.cross_page")
    app.setup_extension("kb.rebuilds")
    app.setup_extension("kb.found_documents")  # the search for documents, kept between builds
    app.setup_extension("kb.warned_documents")
    app.setup_extension("kb.empty_templates")  # ABlog's sidebars, on every page
    for module in MODULES:
        app.setup_extension(f"kb.blog.{module}")
    return {
        "version": "1.0",
        "env_version": source_version(),  # a saved environment is only good for the code that made it
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
