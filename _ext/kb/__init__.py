"""The site's own Sphinx extensions, one package per subsystem.

``conf.py`` loads them as ``kb.blog``, ``kb.math``, ``kb.figures``, ``kb.search``, ``kb.pages``
and ``kb.assets``; each package's ``setup`` loads its modules (and the third-party extensions it
builds on) with ``app.setup_extension``, so loading one never depends on the order of the list.

* ``blog``: what ABlog does, checked and incremental: front matter, the metadata line, links
  that survive ABlog's copies, collection pages and Atom feeds written only when they change.
* ``math``: every formula rendered by KaTeX at build time (strict, with the site's macros) and
  its fonts cut to the characters used.
* ``figures``: figures drawn by each article's own code, for light and dark mode.
* ``search``: Chinese full-text search (jieba at index time, the site dictionary, ranking).
* ``pages``: the knowledge-base pages, which show facts from other pages: series, related
  articles, glossary and bibliography usage, the knowledge map, page metadata, sitemap.
* ``assets``: what every page loads, made smaller: stylesheets trimmed to the rules the site
  uses, icon and math fonts subset, compiled templates kept between builds.

The extensions talk through Sphinx's events; :mod:`kb.pipeline` names, in one place, every
handler whose order matters and the priority that gives it that order.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


@functools.cache
def source_version(root: Path = PACKAGE) -> int:
    """A number that changes with the content of any file of the site's extensions (``root``,
    ``_ext/kb``; compiled caches aside), which every package gives Sphinx as its ``env_version``.

    Sphinx keeps a saved environment only while each extension's ``env_version`` is the one it was
    saved with, and otherwise reads every document again and writes every page. Without it, a
    change to this code (code blocks written another way, say) left every page as the old code
    wrote it until its own source changed: Sphinx compares the configuration, not the
    extensions' code."""
    digest = hashlib.blake2b(digest_size=4)
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return int.from_bytes(digest.digest(), "big")
