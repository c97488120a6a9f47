"""A "相关文章" list at the end of every post, computed at build time.

Three signals, each in [0, 1], are combined with the weights in ``kb_related_weights``:

* **text**: cosine similarity of TF-IDF vectors. Chinese has no spaces, so the terms are
  overlapping character bigrams of each run of CJK characters (the usual segmentation-free
  representation for Chinese retrieval) plus lower-cased Latin words; code, formulas and the
  references section are left out, and each vector keeps its ``TOP_TERMS`` heaviest terms;
* **tags**: Jaccard overlap of the two posts' tags;
* **links**: 1 when either post links to the other (``{doc}``, ``{ref}``, ``{eq}`` …).

A post is never related to itself, ties are broken by document name, and scores are rounded
before sorting, so the lists are the same on every build of the same sources, clean or
incremental. The list is marked ``no-search`` so other posts' titles do not become search hits
for this page, and it is added after ABlog has copied the post into the feed.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from .. import pipeline
from ..blog.post_links import links_between_posts
from ..blog.post_meta import CJK
from ..cross_page import (
    changed_views,
    doc_link,
    is_whole_page,
    post_docnames,
    sources_changed,
    title,
    track_per_document,
)

CJK_RUN = re.compile(CJK.pattern + "+")  # the characters the reading time counts as Chinese
LATIN_WORD = re.compile(r"[a-z][a-z0-9]+(?:-[a-z0-9]+)*")  # terms: no digits-only words
SKIPPED = (
    nodes.literal_block,
    nodes.math,
    nodes.math_block,
    nodes.comment,
    nodes.footnote,
    nodes.citation,
    nodes.raw,
)
TOP_TERMS = 200
BLOCK = 256  # rows of the score matrix held at once
FEATURE = "related"
TermCounts = tuple  # (bytes of sorted uint64 term keys, bytes of uint32 counts)


def text_terms(doctree: nodes.Node) -> dict[str, int]:
    """Term counts of a document's prose: CJK bigrams and Latin words."""
    counts: Counter[str] = Counter()
    for text in doctree.findall(nodes.Text):
        if any(isinstance(parent, SKIPPED) for parent in _ancestors(text)):
            continue
        value = text.astext()
        for run in CJK_RUN.findall(value):
            counts.update(run[i : i + 2] for i in range(len(run) - 1))
        counts.update(LATIN_WORD.findall(value.lower()))
    return dict(counts)


def _ancestors(node: nodes.Node):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


@functools.lru_cache(maxsize=1 << 18)  # posts share most of their terms
def term_key(term: str) -> int:
    """A stable 64-bit key of a term (the same in every process and build)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "little")


def term_counts(terms: dict[str, int]) -> TermCounts:
    """A document's term counts as two arrays sorted by term key, kept as their bytes: compact in
    the pickled environment, combined across posts without Python loops, and unpickled without
    NumPy (which every build loads the environment for, and most builds need for nothing else)."""
    import numpy as np  # NumPy and SciPy are imported when needed: a build with nothing to read skips them

    keys = np.fromiter((term_key(term) for term in terms), np.uint64, len(terms))
    counts = np.fromiter(terms.values(), np.uint32, len(terms))
    order = np.argsort(keys, kind="stable")
    return keys[order].tobytes(), counts[order].tobytes()


def note_terms(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    if env.docname in getattr(env, "ablog_posts", {}):
        env.kb_post_terms[env.docname] = term_counts(text_terms(doctree))
    else:
        env.kb_post_terms.pop(env.docname, None)


def tfidf_matrix(terms: dict[str, TermCounts], docs: list[str], top: int = TOP_TERMS) -> Any:
    """Row ``i``: the unit-length TF-IDF vector (sublinear tf) of ``docs[i]``, cut to its
    ``top`` heaviest terms (ties go to the smaller term key). Terms found in every document
    carry no information and are dropped. Returns a ``scipy.sparse.csr_matrix``."""
    import numpy as np
    from scipy import sparse

    pairs = [
        (np.frombuffer(keys, np.uint64), np.frombuffer(counts, np.uint32))
        for keys, counts in (terms.get(doc, (b"", b"")) for doc in docs)
    ]
    row = np.repeat(np.arange(len(docs)), [len(keys) for keys, _counts in pairs])
    vocabulary, col = np.unique(np.concatenate([keys for keys, _counts in pairs]), return_inverse=True)
    count = np.concatenate([counts for _keys, counts in pairs]).astype(np.float64)
    n = len(docs)
    df = np.bincount(col, minlength=len(vocabulary))
    informative = df[col] < n
    row, col, count = row[informative], col[informative], count[informative]
    weight = (1 + np.log(count)) * np.log(n / df[col])
    order = np.lexsort((col, -weight, row))  # by document, heaviest first, then by term
    row, col, weight = row[order], col[order], weight[order]
    rank = np.arange(row.size) - np.searchsorted(row, row)  # position within the document
    kept = rank < top
    matrix = sparse.csr_matrix((weight[kept], (row[kept], col[kept])), shape=(n, len(vocabulary)))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1 / norms) @ matrix)


def related(env: BuildEnvironment, config: Any) -> dict[str, tuple[tuple[str, str], ...]]:
    """For each post, up to ``kb_related_count`` (post, reason) pairs, most related first.

    The pairwise scores are computed with sparse matrix products, a block of rows at a time, so
    time and memory stay near linear in the number of posts for a fixed block (each block is a
    dense ``BLOCK x posts`` array)."""
    import numpy as np

    posts = post_docnames(env)
    if len(posts) < 2:
        return {doc: () for doc in posts}
    n = len(posts)
    text = tfidf_matrix(env.kb_post_terms, posts)
    tags = {doc: sorted({str(tag) for tag in env.ablog_posts[doc][0]["tags"] or ()}) for doc in posts}
    tag_index = {tag: i for i, tag in enumerate(sorted(set().union(*tags.values())))}
    tagged = _indicator(
        [(r, tag_index[tag]) for r, doc in enumerate(posts) for tag in tags[doc]], (n, len(tag_index))
    )
    tag_count = np.asarray(tagged.sum(axis=1)).ravel()
    position = {doc: i for i, doc in enumerate(posts)}
    links = links_between_posts(env, posts)
    pairs = [(position[a], position[b]) for a in posts for b in links[a]]
    pairs += [(b, a) for a, b in pairs]
    linked = _indicator(pairs, (n, n))
    w_text, w_tags, w_links = (config.kb_related_weights[k] for k in ("text", "tags", "links"))
    count = config.kb_related_count
    result = {}
    for start in range(0, n, BLOCK):
        rows = slice(start, min(start + BLOCK, n))
        shared = (tagged[rows] @ tagged.T).toarray()
        union = tag_count[rows, None] + tag_count[None, :] - shared
        jaccard = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
        similarity = (text[rows] @ text.T).toarray()
        link = linked[rows].toarray()
        scores = w_text * similarity + w_tags * jaccard + w_links * link
        for offset, a in enumerate(range(rows.start, rows.stop)):
            row = scores[offset]
            row[a] = 0.0  # never the post itself
            candidates = np.flatnonzero(row > 0)
            rounded = np.round(row[candidates], 9)
            if len(candidates) > count:
                # Only what can reach the top `count` is sorted: the count-th largest score and up
                # (ties included, so the order among them is the same as sorting them all).
                kept = rounded >= np.partition(rounded, len(rounded) - count)[len(rounded) - count]
                candidates, rounded = candidates[kept], rounded[kept]
            order = np.lexsort((candidates, -rounded))[:count]
            result[posts[a]] = tuple(
                (posts[b], _reason(set(tags[posts[a]]) & set(tags[posts[b]]), link[offset, b]))
                for b in candidates[order]
            )
    return result


def _indicator(cells: list[tuple[int, int]], shape: tuple[int, int]) -> Any:
    """A 0/1 ``scipy.sparse.csr_matrix`` with ones at ``cells`` (repeated cells count once)."""
    import numpy as np
    from scipy import sparse

    index = np.array(cells, np.int64).reshape(-1, 2)
    matrix = sparse.csr_matrix((np.ones(len(index)), (index[:, 0], index[:, 1])), shape=shape)
    matrix.data[:] = 1.0
    return matrix


def _reason(shared: set[str], link: float) -> str:
    parts = []
    if link:
        parts.append("文中互有引用")
    if shared:
        parts.append("共同标签：" + "、".join(sorted(str(tag) for tag in shared)))
    if not parts:
        parts.append("内容相近")
    return "；".join(parts)


def compute(app: Sphinx, env: BuildEnvironment) -> list[str]:
    if not sources_changed(env) and hasattr(env, "kb_related"):
        return []  # every input is read from the documents: the stored lists still hold
    lists = related(env, app.config)
    views = {doc: tuple((b, title(env, b), reason) for b, reason in items) for doc, items in lists.items()}
    env.kb_related = views
    return changed_views(env, FEATURE, views)


def add_related(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    items = getattr(app.env, "kb_related", {}).get(docname)
    if not items or not is_whole_page(app.env, doctree, docname):
        return
    box = nodes.container(classes=["kb-related", "no-search"])
    box += nodes.rubric("相关文章", "相关文章")
    listing = nodes.bullet_list()
    for target, text, reason in items:
        paragraph = nodes.paragraph()
        paragraph += doc_link(app, docname, target, text)
        paragraph += nodes.inline(reason, reason, classes=["kb-related-reason"])
        listing += nodes.list_item("", paragraph)
    box += listing
    doctree += box


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.cross_page")
    app.setup_extension("kb.blog.post_links")  # env.kb_outlinks: the links between posts
    app.add_config_value("kb_related_count", 5, "env", types=[int])
    app.add_config_value("kb_related_weights", {"text": 0.5, "tags": 0.3, "links": 0.2}, "env", types=[dict])
    track_per_document(app, "kb_post_terms")  # docname -> TermCounts of a post's prose
    app.connect("doctree-read", note_terms, priority=pipeline.NOTE_RELATED_TERMS)
    app.connect("env-updated", compute)
    app.connect("doctree-resolved", add_related)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
        "env_version": 3,
    }  # 2: term counts as hashed arrays; 3: as the arrays' bytes
