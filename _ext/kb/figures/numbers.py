"""Figure numbers for posts, which are outside the toctree, and cheap {numref} resolution.

Sphinx numbers figures only in documents reached through the toctree from the root document;
posts are deliberately outside it, so each post numbers its own figures here. And Sphinx resolves
every ``{numref}`` by unpickling the whole target document (``StandardDomain._resolve_numref_xref``
calls ``env.get_doctree``): 30 ms per reference, 7 s of a build with 220 references, nearly all
to the document being written. :func:`cache_numref_targets` keeps the two most recently used
documents for those lookups only.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.domains.std import StandardDomain

NUMBERED = ("figure", "table")  # code listings keep their file-name captions, unnumbered


def number_enumerables(app: Sphinx, doctree: nodes.document) -> None:
    """Number the document's labelled, captioned figures and tables, each kind from 1.

    Sphinx numbers figures only in documents reached through the toctree from the root document
    (``TocTreeCollector.assign_figure_numbers``); posts are deliberately outside the toctree (the
    theme renders the whole toctree into every page), so without this every ``{numref}`` to a
    post's figure fails with "no number is assigned". Each post numbers its own figures from 1,
    computed when it is read and handed to Sphinx at ``env-get-updated``.
    """
    std = app.env.domains.standard_domain
    numbers: dict[str, dict[str, tuple[int, ...]]] = {}
    for node in doctree.findall(nodes.Element):
        figtype = std.get_enumerable_node_type(node)
        if figtype in NUMBERED and node["ids"] and std.get_numfig_title(node):
            counter = numbers.setdefault(figtype, {})
            counter[node["ids"][0]] = (len(counter) + 1,)
    app.env.kb_fignumbers[app.env.docname] = numbers


def assign_numbers(app: Sphinx, env: Any) -> list[str]:
    """Give Sphinx the numbers of documents its toctree walk did not reach; return the documents
    that show a number of another document which changed (a {numref} across articles)."""
    if not app.config.numfig:
        return []
    for docname, numbers in env.kb_fignumbers.items():
        if numbers and docname not in env.toc_fignumbers:
            env.toc_fignumbers[docname] = numbers
    previous = env.__dict__.get("kb_fignumbers_shown", {})
    current = {doc: numbers for doc, numbers in env.kb_fignumbers.items() if numbers}
    env.kb_fignumbers_shown = current
    changed = {doc for doc in previous.keys() | current.keys() if previous.get(doc) != current.get(doc)}
    if not changed:
        return []
    std = env.domains.standard_domain
    readers = []
    for doc, links in getattr(env, "kb_outlinks", {}).items():
        for reftype, target in links:
            found = std.labels.get(target.lower()) if reftype == "numref" else None
            if found and found[0] in changed and found[0] != doc:
                readers.append(doc)
                break
    return sorted(set(readers))


_RECENT: OrderedDict[str, nodes.document] = OrderedDict()
_KEEP = 2


def cache_numref_targets() -> None:
    """Make Sphinx's numref resolution reuse the target documents it unpickled last. The cached
    trees are only looked into (``ids``, the target's type and caption), never written out;
    tests/test_upstream_contracts.py checks that the resolver still reads them through
    ``env.get_doctree``."""
    original = StandardDomain._resolve_numref_xref
    if getattr(original, "kb_cached", False):
        return

    def resolve(self: StandardDomain, env: Any, *args: Any, **kwargs: Any) -> Any:
        load = env.get_doctree

        def recent(docname: str) -> nodes.document:
            if docname not in _RECENT:
                _RECENT[docname] = load(docname)
                while len(_RECENT) > _KEEP:
                    _RECENT.popitem(last=False)
            _RECENT.move_to_end(docname)
            return _RECENT[docname]

        env.get_doctree = recent
        try:
            return original(self, env, *args, **kwargs)
        finally:
            del env.get_doctree

    resolve.kb_cached = True
    StandardDomain._resolve_numref_xref = resolve  # type: ignore[method-assign]


def forget_numref_targets(*_args: Any) -> None:
    """Between reading and writing, and at the end: documents may have been read again."""
    _RECENT.clear()
