"""Chinese full-text search that works in the browser.

Sphinx's own Chinese search language indexes jieba words, but

* on Sphinx 9.0 its ``language_data.js`` sets ``window.Stemmer = ChineseStemmer``, which does
  not exist, so the search page never returns (sphinx-doc/sphinx#14229, fixed in 9.1.1);
* the browser splits a query only on non-letters, so ``扩散模型`` or ``DDIM采样`` is one
  "word" that is not in the index and nothing is found.

This module replaces the ``zh`` search language with one that

* indexes with jieba's search-engine mode as before, plus the site's own dictionary of
  domain terms (``kb_search_dictionary``); passing it as the ``dict`` option also stops
  Sphinx from loading jieba's big default dictionary a second time;
* ships the English Snowball stemmer that the index was built with;
* segments the query in the browser (``zh_splitter.js``): Latin runs stay words, and each
  run of Chinese characters is cut into the words the index really holds, choosing the cut
  with the fewest pieces by dynamic programming, so a mixed query such as ``DDIM采样`` or
  ``扩散模型 ODE`` becomes ``ddim`` + ``采样`` or ``扩散模型`` + ``ode``.
"""

from __future__ import annotations

import logging as pylogging
from pathlib import Path
from typing import Any

import jieba
import sphinx.search
from sphinx.application import Sphinx
from sphinx.search.zh import SearchChinese
from sphinx.util import logging

logger = logging.getLogger(__name__)

SPLITTER_JS = Path(__file__).with_name("zh_splitter.js")
STEMMER_JS = Path(sphinx.search.__file__).parent / "minified-js"


class SearchChineseSegmented(SearchChinese):
    """Sphinx's Chinese search with a query splitter that matches its index."""

    # Sphinx 9.0 ends language_data.js with `window.Stemmer = ChineseStemmer`, a class that
    # does not exist (sphinx-doc/sphinx#14229); ship the English stemmer the index was built with.
    js_stemmer_rawcode = ""
    js_stemmer_code = "\n".join(
        (
            (STEMMER_JS / "base-stemmer.js").read_text(encoding="utf-8"),
            (STEMMER_JS / "english-stemmer.js").read_text(encoding="utf-8"),
            "window.Stemmer = EnglishStemmer;",
        )
    )
    js_splitter_code = SPLITTER_JS.read_text(encoding="utf-8")
    # Set at builder-inited: the ``dict`` option is relative to the configuration directory.
    confdir: Path = Path()

    def __init__(self, options: dict[str, str]) -> None:
        # Sphinx loads the dictionary here, i.e. on every build, even when no page changed and
        # nothing is split (1–2 s of a no-op rebuild). Load it on the first split instead.
        self._dictionary = str(self.confdir / options["dict"]) if options.get("dict") else None
        super().__init__({**options, "dict": ""})

    def split(self, input: str) -> list[str]:
        if self._dictionary is not None:
            jieba.load_userdict(self._dictionary)
            self._dictionary = None
        return super().split(input)


def check_dictionary(app: Sphinx) -> None:
    SearchChineseSegmented.confdir = Path(app.confdir)
    dictionary = app.config.html_search_options.get("dict")
    if dictionary and not Path(app.confdir, dictionary).is_file():
        logger.warning("search dictionary %s does not exist", dictionary, type="kb", subtype="search")


def drop_emptied_search_terms(app: Sphinx) -> list[tuple[str, dict[str, Any], str]]:
    """Sphinx prunes removed and re-read pages from the loaded search index but keeps their
    words with an empty page list, so the index of an incremental build differs from a clean
    one (and grows with every edit). Drop those words before the index is written.

    Reads the indexer's private ``_mapping`` and ``_title_mapping`` (word -> pages); their
    existence is asserted by tests/test_upstream_contracts.py."""
    # IndexBuilder.prune() (sphinx/search/__init__.py) leaves the emptied sets; no upstream issue.
    indexer = getattr(app.builder, "indexer", None)  # None when the builder makes no index
    if indexer is not None:
        for mapping in (indexer._mapping, indexer._title_mapping):
            for word in [word for word, docs in mapping.items() if not docs]:
                del mapping[word]
    return []  # an html-collect-pages handler: it adds no page


def setup(app: Sphinx) -> dict[str, Any]:
    # jieba logs "Building prefix dict ..." at DEBUG level to its own stderr handler, on every
    # build that splits text; that is not the build's output.
    jieba.setLogLevel(pylogging.WARNING)
    app.add_search_language(SearchChineseSegmented)
    app.connect("builder-inited", check_dictionary)
    # The index is dumped after the extra pages are collected; every page is indexed by then.
    app.connect("html-collect-pages", drop_emptied_search_terms)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
