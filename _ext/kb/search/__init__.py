"""Search: Chinese full-text search over the site, as a product.

* :mod:`kb.search.zh`: jieba words (with the site dictionary ``search_dict.txt``) and stemmed
  Latin words, the same rules the browser applies to a query;
* :mod:`kb.search.tex`: terms of a formula's TeX (``\\bar\\alpha_t`` -> ``alpha_t``);
* :mod:`kb.search.extract`: a page's record (sections, prose, formulas once, code, terms by tier);
* :mod:`kb.search.index`: the index in pieces loaded on demand plus an excerpt record per page,
  written to ``_search/``; Sphinx's own ``searchindex.js`` is switched off;
* ``search.js`` beside them: the results page and the instant results of the Ctrl+K dialog.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from .. import source_version


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.search.index")
    return {
        "version": "2.0",
        "env_version": source_version(),  # a saved environment is only good for the code that made it
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
