"""The site's bibliography page: every paper in the shared BibTeX file, with the articles citing it.

Articles cite with sphinxcontrib-bibtex (``{footcite}`key``` in the text, ``{footbibliography}``
under "参考文献"), so each article's reference list is generated from ``references.bib``. This
extension records which keys each document cites while it is read, and fills the page holding
``{bibliography-index}`` with every entry of the bibliography files, formatted by the same
pybtex style, sorted by first author and year, each with an anchor ``ref-<key>`` and the list of
citing articles. On a site with such a page, an entry nobody cites is reported as a warning at the bibliography file: a
paper in the shared file that no article uses is either a leftover or a missing citation (unless
a draft or scheduled post cites it: :mod:`kb.blog.drafts`).
"""

from __future__ import annotations

import functools
import importlib.metadata
import unicodedata
from typing import Any

import pybtex.plugin
from docutils import nodes
from docutils.nodes import make_id
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from ..blog.drafts import unpublished
from ..cross_page import (
    add_page_directive,
    changed_views,
    doc_links,
    is_whole_page,
    title,
    track_per_document,
)

logger = logging.getLogger(__name__)
FEATURE = "bibliography"


class bibliography_index(nodes.General, nodes.Element):
    """Placeholder for the full bibliography, filled in when the page is written."""


def _entries(env: BuildEnvironment) -> dict[str, Any]:
    return env.get_domain("cite").bibdata.data.entries


def _footnote_names(app: Sphinx) -> dict[str, str]:
    """Footnote name -> citation key, for every entry; made once per build, not per document."""
    names = getattr(app, "_kb_footnote_names", None)
    if names is None:
        template = app.config.bibtex_footcite_id or "footcite-{key}"
        names = {
            make_id(template.format(footbibliography_count=1, key=key)): key for key in _entries(app.env)
        }
        app._kb_footnote_names = names
    return names


def note_citations(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    by_name = _footnote_names(app)
    keys = {
        by_name[name]
        for footnote in doctree.findall(nodes.footnote)
        for name in footnote["names"]
        if name in by_name
    }
    domain = env.get_domain("cite")
    keys.update(
        target.key for ref in domain.citation_refs if ref.docname == env.docname for target in ref.targets
    )
    if keys:
        env.kb_citations[env.docname] = sorted(keys)
    else:
        env.kb_citations.pop(env.docname, None)


def _sort_key(key: str, entry: Any) -> tuple[str, str, str]:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    name = " ".join(persons[0].last_names) if persons else entry.fields.get("title", key)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return ascii_name.strip("{}"), entry.fields.get("year", ""), key


def cited_by(env: BuildEnvironment) -> dict[str, tuple[str, ...]]:
    citing: dict[str, set[str]] = {key: set() for key in _entries(env)}
    for doc in sorted(env.kb_citations):
        if doc not in env.found_docs:
            continue
        for key in env.kb_citations[doc]:
            citing.setdefault(key, set()).add(doc)
    return {key: tuple(sorted(docs)) for key, docs in sorted(citing.items())}


def compute(app: Sphinx, env: BuildEnvironment) -> list[str]:
    citing = cited_by(env)
    env.kb_cited_by = citing
    domain = env.get_domain("cite")
    # A paper that only unpublished posts cite is waiting for them, not a leftover.
    waiting = {key for post in unpublished(app).values() for key in post.citations}
    for key, docs in citing.items():
        # Only a site with a bibliography page promises that every entry is cited.
        if not docs and env.kb_bibliography_pages and key not in waiting:
            bibfile = next((path for path, info in domain.bibdata.bibfiles.items() if key in info.keys), None)
            logger.warning(
                "bibliography entry %r is not cited by any article",
                key,
                location=(str(bibfile), None) if bibfile else None,
                type="kb",
                subtype="bibliography",
            )
    bib_state = tuple(sorted((str(path), info.mtime) for path, info in domain.bibdata.bibfiles.items()))
    views = {
        page: (
            bib_state,
            tuple((key, tuple((d, title(env, d)) for d in docs)) for key, docs in citing.items()),
        )
        for page in env.kb_bibliography_pages
    }
    return changed_views(env, FEATURE, views)


def fill_bibliography(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    placeholders = list(doctree.findall(bibliography_index))
    if not placeholders or not is_whole_page(app.env, doctree, docname):
        return
    env = app.env
    domain = env.get_domain("cite")
    style = pybtex.plugin.find_plugin("pybtex.style.formatting", app.config.bibtex_default_style)()
    entries = _entries(env)
    listing = nodes.bullet_list(classes=["kb-bibliography"])
    for key in sorted(entries, key=lambda k: _sort_key(k, entries[k])):
        item = nodes.list_item(ids=["ref-" + make_id(key)], classes=["kb-bibliography-entry"])
        item += domain.backend.paragraph(style.format_entry(label="", entry=entries[key]))
        docs = env.kb_cited_by.get(key, ())
        if docs:
            cited = nodes.paragraph(classes=["kb-cited-by", "no-search"])
            cited += nodes.inline("", "引用它的文章：", classes=["kb-cited-by-label"])
            cited.extend(doc_links(app, docname, docs))
            item += cited
        listing += item
    count = nodes.paragraph("", f"共 {len(entries)} 篇文献。", classes=["kb-bibliography-count"])
    for placeholder in placeholders:
        placeholder.replace_self([count.deepcopy(), listing.deepcopy()])


@functools.cache
def _entry_points(**selection: str) -> tuple[importlib.metadata.EntryPoint, ...]:
    return tuple(importlib.metadata.entry_points(**selection))  # type: ignore[arg-type]


def cache_plugin_lookups() -> None:
    """pybtex finds its styles and backends through ``importlib.metadata.entry_points`` on every
    lookup, and sphinxcontrib-bibtex looks one up for every ``{footcite}``: 10 ms each, a scan
    of every installed distribution's metadata, 14 s of a clean build with 1,400 citations. The
    installed plugins do not change during a build, so each lookup is made once. (pybtex.plugin
    calls the module-level name ``entry_points``: tests/test_upstream_contracts.py.)"""
    pybtex.plugin.entry_points = _entry_points


def setup(app: Sphinx) -> dict[str, Any]:
    cache_plugin_lookups()
    app.setup_extension("sphinxcontrib.bibtex")
    add_page_directive(app, "bibliography-index", bibliography_index, "kb_bibliography_pages")
    track_per_document(app, "kb_citations")  # docname -> cited keys
    app.connect("doctree-read", note_citations)
    app.connect("env-updated", compute)
    app.connect("doctree-resolved", fill_bibliography)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
