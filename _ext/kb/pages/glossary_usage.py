"""Under each glossary term, the articles that use it.

Articles link a term with ``{term}`得分匹配``` (Sphinx's ``term`` role, resolved against the
``glossary`` directive). This extension records the terms each document links while it is read,
and when the glossary page is written appends to each definition the list of documents that
link any of the entry's names ("用到本术语的文章"). The list is marked ``no-search`` so the
glossary does not become a search hit for every article title.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from ..cross_page import changed_views, doc_links, is_whole_page, title, track_per_document

FEATURE = "glossary"


def note_terms(app: Sphinx, doctree: nodes.document) -> None:
    used = {
        ref["reftarget"].lower()
        for ref in doctree.findall(addnodes.pending_xref)
        if ref.get("refdomain") == "std" and ref.get("reftype") == "term"
    }
    if used:
        app.env.kb_term_uses[app.env.docname] = sorted(used)
    else:
        app.env.kb_term_uses.pop(app.env.docname, None)


def usage(env: BuildEnvironment) -> dict[str, dict[str, tuple[str, ...]]]:
    """Glossary page -> term label id -> documents that link the term."""
    # Lower-cased term -> (glossary docname, label id), from the standard domain's public object
    # list (the term role matches terms case-insensitively).
    terms = {
        name.lower(): (docname, anchor)
        for name, _shown, kind, docname, anchor, _priority in env.get_domain("std").get_objects()
        if kind == "term"
    }
    pages: dict[str, dict[str, set[str]]] = {}
    for doc in sorted(env.kb_term_uses):
        for target in env.kb_term_uses[doc]:
            found = terms.get(target)
            if found and found[0] != doc:
                glossary, labelid = found
                pages.setdefault(glossary, {}).setdefault(labelid, set()).add(doc)
    glossaries = {doc for doc, _label in terms.values()}
    return {
        page: {label: tuple(sorted(docs)) for label, docs in sorted(pages.get(page, {}).items())}
        for page in sorted(glossaries)
    }


def compute(app: Sphinx, env: BuildEnvironment) -> list[str]:
    uses = usage(env)
    env.kb_glossary_usage = uses
    views = {
        page: tuple((label, tuple((doc, title(env, doc)) for doc in docs)) for label, docs in labels.items())
        for page, labels in uses.items()
    }
    return changed_views(env, FEATURE, views)


def add_usage(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    labels = getattr(app.env, "kb_glossary_usage", {}).get(docname)
    if labels is None or not is_whole_page(app.env, doctree, docname):
        return
    for glossary in doctree.findall(addnodes.glossary):
        for item in glossary.findall(nodes.definition_list_item):
            docs: set[str] = set()
            for term in item.findall(nodes.term):
                for labelid in term["ids"]:
                    docs.update(labels.get(labelid, ()))
            if not docs:
                continue
            paragraph = nodes.paragraph(classes=["kb-term-usage", "no-search"])
            paragraph += nodes.inline("", "用到本术语的文章：", classes=["kb-term-usage-label"])
            paragraph.extend(doc_links(app, docname, sorted(docs, key=lambda d: (title(app.env, d), d))))
            item.next_node(nodes.definition).append(paragraph)


def setup(app: Sphinx) -> dict[str, Any]:
    track_per_document(app, "kb_term_uses")  # docname -> lower-cased terms it links
    app.connect("doctree-read", note_terms)
    app.connect("env-updated", compute)
    app.connect("doctree-resolved", add_usage)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
