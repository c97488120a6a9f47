"""Search: Chinese full-text search over the site (:mod:`kb.search.zh`).

Beside the module: ``zh_splitter.js`` (the query segmenter shipped with the index),
``search_scorer.js`` (title-aware ranking, ``html_search_scorer``) and ``search_dict.txt`` (the
site's dictionary of domain terms for jieba, ``html_search_options["dict"]``).
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.search.zh")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
