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

import math
import re
from collections import Counter
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from cross_page import changed_views, doc_link, is_whole_page, post_docnames, title, track_per_document
from post_links import links_between_posts
from post_meta import CJK

logger = logging.getLogger(__name__)

CJK_RUN = re.compile(CJK.pattern + "+")  # the characters the reading time counts as Chinese
LATIN_WORD = re.compile(r"[a-z][a-z0-9]+(?:-[a-z0-9]+)*")  # terms: no digits-only words
SKIPPED = (nodes.literal_block, nodes.math, nodes.math_block, nodes.comment, nodes.footnote,
           nodes.citation, nodes.raw)
TOP_TERMS = 200
FEATURE = "related"


def text_terms(doctree: nodes.Node) -> dict[str, int]:
    """Term counts of a document's prose: CJK bigrams and Latin words."""
    counts: Counter[str] = Counter()
    for text in doctree.findall(nodes.Text):
        if any(isinstance(parent, SKIPPED) for parent in _ancestors(text)):
            continue
        value = text.astext()
        for run in CJK_RUN.findall(value):
            counts.update(run[i:i + 2] for i in range(len(run) - 1))
        counts.update(LATIN_WORD.findall(value.lower()))
    return dict(counts)


def _ancestors(node: nodes.Node):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


def note_terms(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    if env.docname in getattr(env, "ablog_posts", {}):
        env.kb_post_terms[env.docname] = text_terms(doctree)
    else:
        env.kb_post_terms.pop(env.docname, None)


def tfidf_vectors(terms: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    """Unit-length TF-IDF vectors (sublinear tf), each cut to its TOP_TERMS heaviest terms."""
    docs = sorted(terms)
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(terms[doc].keys())
    n = len(docs)
    vectors = {}
    for doc in docs:
        weights = {term: (1 + math.log(count)) * math.log(n / df[term])
                   for term, count in terms[doc].items() if df[term] < n}
        top = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:TOP_TERMS]
        norm = math.sqrt(sum(w * w for _t, w in top)) or 1.0
        vectors[doc] = {term: w / norm for term, w in top}
    return vectors


def cosine_matrix(vectors: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Pairwise cosine similarities through an inverted index (only pairs that share a term)."""
    postings: dict[str, list[tuple[str, float]]] = {}
    for doc in sorted(vectors):
        for term, weight in sorted(vectors[doc].items()):
            postings.setdefault(term, []).append((doc, weight))
    scores: dict[str, dict[str, float]] = {doc: {} for doc in vectors}
    for term in sorted(postings):
        plist = postings[term]
        for i, (a, wa) in enumerate(plist):
            row = scores[a]
            for b, wb in plist[i + 1:]:
                row[b] = row.get(b, 0.0) + wa * wb
    for a in sorted(scores):
        for b, value in scores[a].items():
            scores[b][a] = value
    return scores


def related(env: BuildEnvironment, config: Any) -> dict[str, tuple[tuple[str, str], ...]]:
    """For each post, up to ``kb_related_count`` (post, reason) pairs, most related first."""
    posts = post_docnames(env)
    terms = {doc: env.kb_post_terms.get(doc, {}) for doc in posts}
    similarity = cosine_matrix(tfidf_vectors(terms)) if len(posts) > 1 else {}
    tags = {doc: set(env.ablog_posts[doc][0]["tags"] or ()) for doc in posts}
    links = links_between_posts(env, posts)
    linked = {(a, b) for a in posts for b in links[a]}
    w_text, w_tags, w_links = (config.kb_related_weights[k] for k in ("text", "tags", "links"))
    result = {}
    for a in posts:
        scored = []
        for b in posts:
            if b == a:
                continue
            shared = tags[a] & tags[b]
            union = tags[a] | tags[b]
            text = similarity.get(a, {}).get(b, 0.0)
            link = 1.0 if (a, b) in linked or (b, a) in linked else 0.0
            score = w_text * text + w_tags * (len(shared) / len(union) if union else 0.0) \
                + w_links * link
            if score <= 0:
                continue
            scored.append((-round(score, 9), b, _reason(shared, link, text)))
        scored.sort()
        result[a] = tuple((b, reason) for _s, b, reason in scored[:config.kb_related_count])
    return result


def _reason(shared: set[str], link: float, text: float) -> str:
    parts = []
    if link:
        parts.append("文中互有引用")
    if shared:
        parts.append("共同标签：" + "、".join(sorted(str(tag) for tag in shared)))
    if not parts:
        parts.append("内容相近")
    return "；".join(parts)


def compute(app: Sphinx, env: BuildEnvironment) -> list[str]:
    lists = related(env, app.config)
    views = {doc: tuple((b, title(env, b), reason) for b, reason in items)
             for doc, items in lists.items()}
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
    app.add_config_value("kb_related_count", 5, "html", types=[int])
    app.add_config_value("kb_related_weights", {"text": 0.5, "tags": 0.3, "links": 0.2}, "html",
                         types=[dict])
    track_per_document(app, "kb_post_terms")  # docname -> term counts of a post's prose
    app.connect("doctree-read", note_terms, priority=600)  # after ABlog has registered the post
    app.connect("env-updated", compute)
    app.connect("doctree-resolved", add_related)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
