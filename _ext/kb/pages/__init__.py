"""Knowledge-base pages: what a page shows of other pages, kept right on incremental builds.

* :mod:`kb.pages.series` — the series box on every member and the series page;
* :mod:`kb.pages.related_posts` — "相关文章" at the end of every post;
* :mod:`kb.pages.glossary_usage` — under each glossary term, the articles that use it;
* :mod:`kb.pages.bibliography_index` — the bibliography with the articles citing each entry;
* :mod:`kb.pages.knowledge_map` — the map of articles and their links (``knowledge_map.js``);
* :mod:`kb.pages.page_meta` — Open Graph, description and article metadata for search engines
  and previews;
* :mod:`kb.pages.last_updated` — each page's last-updated date, from one ``git log``;
* :mod:`kb.pages.site_files` — ``sitemap.xml`` and ``robots.txt``;
* :mod:`kb.pages.notfound` — the 404 page's text.

Each computes, after reading, a view per page and has Sphinx rewrite the pages whose view
changed (:mod:`kb.cross_page`).
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from .. import source_version

MODULES = [
    "series",
    "related_posts",
    "glossary_usage",
    "bibliography_index",
    "knowledge_map",
    "page_meta",
    "last_updated",
    "site_files",
    "notfound",
]


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.cross_page")
    for module in MODULES:
        app.setup_extension(f"kb.pages.{module}")
    return {
        "version": "1.0",
        "env_version": source_version(),  # a saved environment is only good for the code that made it
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
