"""What the search knows about one page: its sections' prose, formulas and code, and its terms.

Read from the doctree right after Sphinx and ABlog have read the page, so it holds the author's
text and nothing the theme or the site adds around it: no navigation, no table of contents, no
metadata line, no series box, no related-articles list, no footnote or bibliography entries.
A formula is kept once, as its TeX source between :data:`MATH_OPEN` and :data:`MATH_CLOSE`
(the browser shows it as code), never as KaTeX's two renderings.

A page becomes *chunks*: the text before its first section, then one chunk per section (its
own paragraphs, not its subsections'). Each chunk keeps its anchor and heading, so a hit can
name the section and link to it. The terms of the page are counted per *tier*, which orders
the ranking: the page title, then section headings and tags, then prose, then formulas and
code (:data:`TIERS`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from docutils import nodes
from sphinx import addnodes

from .tex import tex_terms
from .zh import latin_surfaces, latin_term, split_text

MATH_OPEN, MATH_CLOSE = "\ue000", "\ue001"
# A link to another page, whose title is put in when the index is assembled (it may change).
LINK_OPEN, LINK_CLOSE = "\ue002", "\ue003"
LINK = re.compile(f"{LINK_OPEN}([^{LINK_CLOSE}]*){LINK_CLOSE}")
# Tiers of a term's best occurrence in a page, highest first.
TITLE, HEADING, PROSE, FORMULA = 3, 2, 1, 0
TIERS = {"title": TITLE, "heading": HEADING, "prose": PROSE, "formula": FORMULA}
MAX_CODE = 1500  # characters of code kept per chunk for showing a hit inside code
MASK_BITS = 31  # chunks beyond the 31st share the last bit of a term's chunk mask

# Nodes whose text is not the article's prose (or is resolved from another page later).
SKIPPED = (
    nodes.footnote,
    nodes.citation,
    nodes.footnote_reference,
    nodes.citation_reference,
    nodes.target,
    nodes.comment,
    nodes.raw,
    nodes.substitution_definition,
    nodes.system_message,
    nodes.image,
    nodes.title,  # a section's title is its chunk's heading
    addnodes.toctree,
    addnodes.index,
)
SKIPPED_CLASSES = {"post-meta", "kb-series", "kb-related", "no-search"}
# Cross-references whose text is only known once the target is resolved: left out.
UNRESOLVED_TEXT = {"doc", "ref", "numref", "eq"}
BLOCK = (
    nodes.paragraph,
    nodes.list_item,
    nodes.term,
    nodes.definition,
    nodes.entry,
    nodes.caption,
    nodes.line,
    nodes.field_name,
    nodes.field_body,
)
SECTION_ID = re.compile(r"id\d+")


@dataclass
class Chunk:
    anchor: str
    heading: str
    parts: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    formulas: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return re.sub(r"[ \t]*\n[\s]*", "\n", "".join(self.parts)).strip()


def _anchor(section: nodes.section) -> str:
    ids = section.get("ids", [])
    readable = [i for i in ids if not SECTION_ID.fullmatch(i)]
    return (readable or ids or [""])[0]


def _walk(node: nodes.Node, chunk: Chunk, chunks: list[Chunk], skip: frozenset[str]) -> None:
    if isinstance(node, nodes.Text):
        chunk.parts.append(node.astext())
        return
    if isinstance(node, SKIPPED):
        return
    if isinstance(node, nodes.Element) and SKIPPED_CLASSES & set(node.get("classes", [])):
        return
    if isinstance(node, addnodes.pending_xref):
        if node.get("reftype") == "doc" and not node.get("refexplicit"):
            # kb.blog.post_links made the target absolute ("/posts/x/index").
            chunk.parts.append(f"{LINK_OPEN}{str(node.get('reftarget', '')).lstrip('/')}{LINK_CLOSE}")
            return
        if node.get("reftype") in UNRESOLVED_TEXT and not node.get("refexplicit"):
            return
    if isinstance(node, nodes.section):
        title = node.next_node(nodes.title)
        heading = title.astext() if title is not None else ""
        if heading in skip:
            return
        sub = Chunk(_anchor(node), heading)
        if title is not None:  # the heading keeps its formulas as TeX; math search finds them too
            sub.formulas.extend(math.astext() for math in title.findall(nodes.math))
        chunks.append(sub)
        for child in node.children:
            _walk(child, sub, chunks, skip)
        return
    if isinstance(node, nodes.math_block):
        chunk.formulas.append(node.astext())
        chunk.parts.append(f"\n{MATH_OPEN}{node.astext().strip()}{MATH_CLOSE}\n")
        return
    if isinstance(node, nodes.math):
        chunk.formulas.append(node.astext())
        chunk.parts.append(f"{MATH_OPEN}{node.astext().strip()}{MATH_CLOSE}")
        return
    if isinstance(node, nodes.literal_block):
        chunk.code.append(node.astext())
        return
    block = isinstance(node, BLOCK)
    if block:
        chunk.parts.append("\n")
    for child in node.children:
        _walk(child, chunk, chunks, skip)
    if block:
        chunk.parts.append("\n")


def page_chunks(doctree: nodes.document, skip: frozenset[str] = frozenset()) -> list[Chunk]:
    """The page's chunks in document order, without the sections headed by a name in ``skip``
    (the author's list of related articles, the references); chunks without text or code are
    dropped."""
    first = Chunk("", "")
    chunks = [first]
    for child in doctree.children:
        if isinstance(child, nodes.section) and child.parent is doctree:
            # The page's own top section: its title is the page title, its direct text the
            # first chunk, its subsections the following chunks.
            for grandchild in child.children:
                _walk(grandchild, first, chunks, skip)
        else:
            _walk(child, first, chunks, skip)
    return [c for c in chunks if c.text or c.code]


def page_record(
    doctree: nodes.document,
    title: str,
    metadata: dict[str, Any],
    macros: dict[str, str],
    skip_headings: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The page's search record: what its search result shows and the terms it is found by.

    ``terms`` maps each term to ``[tier, count, mask]``: the best tier it occurs in, how often
    it occurs (all tiers together) and a bit mask of the chunks holding it (title terms mark
    chunk 0)."""
    return record_of_chunks(page_chunks(doctree, skip_headings), title, metadata, macros)


def record_of_chunks(
    chunks: list[Chunk], title: str, metadata: dict[str, Any], macros: dict[str, str]
) -> dict[str, Any]:
    """:func:`page_record` from the page's chunks: the part that needs no doctree (and is
    most of the work: the words of every chunk, jieba's dictionary loaded for the first)."""
    tags = [t.strip() for t in str(metadata.get("tags", "")).split(",") if t.strip()]
    description = str(metadata.get("description", "")).strip()
    best: dict[str, int] = {}
    counts: Counter[str] = Counter()
    masks: dict[str, int] = {}

    def note(terms: list[str], tier: int, index: int) -> None:
        bit = 1 << min(index, MASK_BITS - 1)
        for term in terms:
            counts[term] += 1
            if best.get(term, -1) < tier:
                best[term] = tier
            masks[term] = masks.get(term, 0) | bit

    note(split_text(title), TITLE, 0)
    for tag in tags:
        note(split_text(tag), HEADING, 0)
    note(split_text(description), PROSE, 0)
    for index, chunk in enumerate(chunks):
        note(split_text(chunk.heading), HEADING, index)
        prose = LINK.sub(" ", re.sub(f"{MATH_OPEN}.*?{MATH_CLOSE}", " ", chunk.text, flags=re.S))
        note(split_text(prose), PROSE, index)
        for formula in chunk.formulas:
            note([latin_term(t) for t in tex_terms(formula, macros)], FORMULA, index)
        for code in chunk.code:
            note(split_text(code), FORMULA, index)
    return {
        "title": title,
        "date": str(metadata.get("date", ""))[:10] if metadata.get("blogpost") else "",
        "category": str(metadata.get("category", "")) if metadata.get("blogpost") else "",
        "tags": tags if metadata.get("blogpost") else [],
        "post": bool(metadata.get("blogpost")),
        "chunks": [[c.anchor, c.heading, c.text, "\n".join(c.code)[:MAX_CODE]] for c in chunks],
        "terms": {term: [best[term], counts[term], masks[term]] for term in sorted(counts)},
        # stem -> the word as written, for "showing results for ..." after a typo
        "surfaces": latin_surfaces(
            LINK.sub(" ", " ".join([title, description, *(c.heading + " " + c.text for c in chunks)]))
        ),
    }
