"""A "相关文章" list at the end of every post, computed at build time.

Three signals, each in [0, 1], are combined with the weights in ``kb_related_weights``:

* **text**: cosine similarity of TF-IDF vectors. Chinese has no spaces, so the terms are
  overlapping character bigrams of each run of CJK characters (the usual segmentation-free
  representation for Chinese retrieval) plus lower-cased Latin words; code, formulas and the
  references section are left out, and each vector keeps its ``TOP_TERMS`` heaviest terms;
* **tags**: Jaccard overlap of the two posts' tags;
* **links**: 1 when either post links to the other (``{doc}``, ``{ref}``, ``{eq}`` …).

Only *candidate* pairs are scored, so the cost grows linearly with the site (see ``related``);
with at most ``CAP`` posts every pair that shares anything is a candidate.

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
from collections.abc import Set as AbstractSet
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

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

logger = logging.getLogger(__name__)
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
CAP = 32  # how many posts a term or tag pairs each post with (see related())
DENSE_UP_TO = 2000  # posts: up to this many, related() scores every pair in n x n arrays
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


def tfidf_matrix(
    terms: dict[str, TermCounts], docs: list[str], top: int = TOP_TERMS, columns: tuple | None = None
) -> Any:
    """Row ``i``: the unit-length TF-IDF vector (sublinear tf) of ``docs[i]``, cut to its
    ``top`` heaviest terms (ties go to the smaller term key). Terms found in every document
    carry no information and are dropped. Returns a ``scipy.sparse.csr_matrix``.

    ``columns``, when given, is what :func:`_term_numbers` gives for the documents' keys one
    after another (:func:`term_columns` keeps it from build to build)."""
    import numpy as np

    pairs = [
        (np.frombuffer(keys, np.uint64), np.frombuffer(counts, np.uint32))
        for keys, counts in (terms.get(doc, (b"", b"")) for doc in docs)
    ]
    if columns is None:
        columns = _term_numbers(np.concatenate([keys for keys, _counts in pairs]))
    col, df = columns
    kept, values, lengths = _unit_rows([counts for _keys, counts in pairs], col, df, len(docs), top)
    return _rows_matrix(values, col[kept], lengths, len(df))


def _unit_rows(counts: list[Any], col: Any, df: Any, n: int, top: int) -> tuple[Any, Any, Any]:
    """:func:`tfidf_matrix`'s rows for the documents with these term counts (their entries one
    document after another, each document's in term-key order; ``col``: each entry's column), in
    a site of ``n`` documents whose terms have the document frequencies ``df``. Returns which
    entries the rows keep, the kept entries' values (in entry order) and each row's number of
    them. A row depends on nothing but its document's counts, ``n`` and its terms' frequencies:
    rows computed apart are the same numbers as rows computed together
    (:func:`kept_tfidf_matrix` relies on it)."""
    import numpy as np

    m = len(counts)
    row = np.repeat(np.arange(m), [len(c) for c in counts])
    count = np.concatenate(counts) if m else np.zeros(0, np.uint32)
    informative = np.flatnonzero((df < n)[col])
    row, count = row[informative], count[informative]
    # log(count) and the IDF per distinct value, then looked up: the same numbers as computing
    # them entry by entry, with a few thousand logarithms instead of a million.
    sublinear_tf = 1 + np.log(np.arange(1, count.max(initial=1) + 1, dtype=np.float64))
    weight = sublinear_tf[count - 1] * np.log(n / df)[col[informative]]
    # A document's entries are in term order: ties go to the smaller term key.
    keep = _largest_in_segments(weight, np.searchsorted(row, np.arange(m + 1)), top)
    weight = weight[keep]
    lengths = np.bincount(row[keep], minlength=m)
    # Each row's norm: the root of the sum of its squares, each row summed on its own (as SciPy's
    # row sums do), so that a row's norm does not depend on the rows computed with it.
    norms = np.zeros(m)
    filled = np.flatnonzero(lengths)
    if filled.size:
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        norms[filled] = np.sqrt(np.add.reduceat(weight * weight, starts[filled]))
    norms[norms == 0] = 1.0
    kept = np.zeros(len(col), bool)
    kept[informative[keep]] = True
    return kept, weight * np.repeat(1 / norms, lengths), lengths


def _largest_in_segments(values: Any, bounds: Any, k: int) -> Any:
    """Which of ``values`` are among the ``k`` largest of their segment (segment ``i``:
    ``values[bounds[i]:bounds[i + 1]]``): those above the segment's k-th largest value and, of
    those equal to it, the first. That is what a stable sort by value, largest first, keeps,
    without the sort. Only segments of more than ``k`` values are cut, one partition each."""
    import numpy as np

    keep = np.ones(values.size, bool)
    for segment in np.flatnonzero(np.diff(bounds) > k):
        start, stop = bounds[segment], bounds[segment + 1]
        part = values[start:stop]
        threshold = np.partition(part, part.size - k)[part.size - k]
        chosen = part > threshold
        chosen[np.flatnonzero(part == threshold)[: k - np.count_nonzero(chosen)]] = True
        keep[start:stop] = chosen
    return keep


def _rows_matrix(values: Any, columns: Any, lengths: Any, width: int) -> Any:
    """The CSR matrix whose row ``i`` holds the next ``lengths[i]`` of ``values``, in
    ``columns`` (ascending in each row)."""
    import numpy as np
    from scipy import sparse

    indptr = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return sparse.csr_matrix((values, np.asarray(columns, np.int64), indptr), shape=(len(lengths), width))


def kept_tfidf_matrix(env: BuildEnvironment, docs: list[str], top: int = TOP_TERMS) -> Any:
    """``tfidf_matrix(env.kb_post_terms, docs, top, term_columns(env, docs))``, with the rows of
    the last computation where they still hold.

    A row depends on nothing but its post's term counts, the number of posts and its terms'
    document frequencies (:func:`_unit_rows`). ``env.kb_post_tfidf`` keeps each post's row
    (which of its entries it keeps, and their values) and loses it when the post is read again;
    ``env.kb_tfidf_basis`` keeps the number of posts, ``top`` and each term's frequency. A row is
    computed again when its post was read again, when the number of posts changed, or when the
    frequency of one of its terms did. An edit that only changes how often a post uses its terms
    computes that post's row; one that adds or removes a term, the rows of the posts that have
    it too. Rows are kept for ``docs`` only."""
    import numpy as np

    number, df, keys = _term_columns(env, docs)
    n = len(docs)
    counts = [np.frombuffer(env.kb_post_terms.get(doc, (b"", b""))[1], np.uint32) for doc in docs]
    lengths = np.array([c.size for c in counts], np.int64)
    starts = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=starts[1:])
    rows: dict[str, tuple[bytes, bytes]] = env.__dict__.setdefault("kb_post_tfidf", {})
    stale = np.array([doc not in rows for doc in docs], bool)
    basis = env.__dict__.get("kb_tfidf_basis")
    if basis is None or basis[:2] != (n, top):
        stale[:] = True
    else:
        old_keys, old_df = np.frombuffer(basis[2], np.uint64), np.frombuffer(basis[3], np.int64)
        place = np.minimum(np.searchsorted(old_keys, keys), max(old_keys.size - 1, 0))
        changed = (
            (old_keys[place] != keys) | (old_df[place] != df) if old_keys.size else np.ones(keys.size, bool)
        )
        if changed.any():  # the posts that have one of these terms
            stale[np.searchsorted(starts, np.flatnonzero(changed[number]), side="right") - 1] = True
    redo = np.flatnonzero(stale)
    if redo.size:
        entries = np.flatnonzero(np.repeat(stale, lengths))
        kept, values, kept_lengths = _unit_rows([counts[i] for i in redo], number[entries], df, n, top)
        places = (entries[kept] - np.repeat(starts[redo], kept_lengths)).astype(np.uint32)
        cuts = np.cumsum(kept_lengths)[:-1]
        for i, place_of, value in zip(redo.tolist(), np.split(places, cuts), np.split(values, cuts)):
            rows[docs[i]] = (place_of.tobytes(), value.tobytes())
    if len(rows) > n:  # every post has its row now: the others are of posts gone
        wanted = set(docs)
        for doc in [doc for doc in rows if doc not in wanted]:
            del rows[doc]
    env.kb_tfidf_basis = (n, top, keys.tobytes(), df.tobytes())
    logger.info("related articles: %d of %d TF-IDF rows computed", redo.size, n)
    places_of = [np.frombuffer(rows[doc][0], np.uint32) for doc in docs]
    kept_lengths = np.array([p.size for p in places_of], np.int64)
    entries = np.repeat(starts[:-1], kept_lengths) + np.concatenate(places_of) if n else np.zeros(0, np.int64)
    values = np.concatenate([np.frombuffer(rows[doc][1], np.float64) for doc in docs]) if n else np.zeros(0)
    return _rows_matrix(values, number[entries], kept_lengths, len(df))


def _term_numbers(keys: Any) -> tuple[Any, Any]:
    """Each key's number in the sorted vocabulary, and how often each term occurs: what
    ``np.unique(keys, return_inverse=True)`` and a ``bincount`` give, in less time. Equal keys
    get one number whatever order the sort leaves them in, so NumPy's default sort does
    (vectorised: half the time of its stable one here)."""
    import numpy as np

    order = np.argsort(keys)
    ordered = keys[order]
    starts = np.ones(len(keys), bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    number = np.empty(len(keys), np.int64)
    number[order] = np.cumsum(starts) - 1
    return number, np.diff(np.append(np.flatnonzero(starts), len(keys)))


def term_columns(env: BuildEnvironment, docs: list[str]) -> tuple[Any, Any]:
    """:func:`_term_columns`' numbers and frequencies."""
    number, df, _keys = _term_columns(env, docs)
    return number, df


def _term_columns(env: BuildEnvironment, docs: list[str]) -> tuple[Any, Any, Any]:
    """:func:`_term_numbers` of the ``docs``' term keys one after another (each entry's number in
    their sorted vocabulary, and each term's document frequency), without sorting them all.

    Each term gets an id the first time a document that has it is read: ``env.kb_term_ids``
    holds the keys by id, ``env.kb_post_term_ids`` each post's ids (in the order of its keys), and
    a post read again loses its ids with its other data. The frequencies are then a count of the
    ids, and an entry's number is its id's place among the ids in use, in key order: a sort of
    the vocabulary, not of every entry (the benchmark's 1,000 posts: 5,800 terms against 1.15
    million entries, 0.005 against 0.045 s). The ids depend on the order documents were read in; the
    numbers do not. When fewer than half the ids are still in use, they are given anew. Also
    returns the terms' keys, in column order."""
    import numpy as np

    known: dict[str, bytes] = env.__dict__.setdefault("kb_post_term_ids", {})
    vocabulary = np.frombuffer(env.__dict__.get("kb_term_ids", b""), np.uint64)
    new = [doc for doc in docs if doc not in known]
    if new:
        vocabulary = _give_term_ids(env, vocabulary, new)
    if not docs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint64)
    ids = np.concatenate([np.frombuffer(known[doc], np.uint32) for doc in docs])
    frequency = np.bincount(ids, minlength=vocabulary.size)
    in_use = np.flatnonzero(frequency)
    if 2 * in_use.size < vocabulary.size:
        env.kb_term_ids = b""
        known.clear()
        return _term_columns(env, docs)
    by_key = in_use[np.argsort(vocabulary[in_use])]
    number = np.zeros(vocabulary.size, np.int64)
    number[by_key] = np.arange(by_key.size)
    return number[ids], frequency[by_key], vocabulary[by_key]


def _give_term_ids(env: BuildEnvironment, vocabulary: Any, docs: list[str]) -> Any:
    """Ids for the terms of ``docs`` (kept in ``env.kb_post_term_ids``): a known term's id, and
    new ids, in key order, for the others. Returns the vocabulary with the new terms."""
    import numpy as np

    keys_of = [np.frombuffer(env.kb_post_terms.get(doc, (b"", b""))[0], np.uint64) for doc in docs]
    keys = np.concatenate(keys_of)
    ids = np.empty(keys.size, np.uint32)
    seen = np.zeros(keys.size, bool)  # terms that have an id already
    if vocabulary.size and keys.size:
        order = np.argsort(vocabulary)
        place = np.minimum(np.searchsorted(vocabulary[order], keys), vocabulary.size - 1)
        seen = vocabulary[order][place] == keys
        ids[seen] = order[place[seen]]
    if not seen.all():
        number, df = _term_numbers(keys[~seen])
        added = np.empty(df.size, np.uint64)
        added[number] = keys[~seen]
        ids[~seen] = vocabulary.size + number
        vocabulary = np.concatenate([vocabulary, added])
        env.kb_term_ids = vocabulary.tobytes()
    stored = env.kb_post_term_ids
    for doc, chunk in zip(docs, np.split(ids, np.cumsum([k.size for k in keys_of])[:-1])):
        stored[doc] = chunk.tobytes()
    return vocabulary


def related(env: BuildEnvironment, config: Any) -> dict[str, tuple[tuple[str, str], ...]]:
    """For each post, up to ``kb_related_count`` (post, reason) pairs, most related first.

    Scoring every pair of posts is quadratic (17 s of every build at 10,000 posts), so a pair is
    scored only when it is a *candidate*: the two posts link to each other, or they share a term
    and both are among the ``CAP`` posts that weigh it most, or they share a tag (or two tags)
    and are at most ``CAP`` places apart in the date order of the posts that have it. Each post
    then has a bounded number of candidates, whatever the size of the site.

    The text score is the cosine over the same shared terms: a term kept by more than ``CAP``
    posts counts only between its ``CAP`` heaviest (a term that common says little about a pair,
    and its IDF is low). The tag and link scores are exact. With at most ``CAP`` posts nothing is
    cut, and the lists are the ones that scoring every pair gives.

    Up to ``DENSE_UP_TO`` posts nearly every pair is a candidate all the same (83 % of them at
    1,000 posts), and the pairs are scored as ``n x n`` arrays (:func:`_best_dense`): the same
    lists, 0.07 s sooner at 1,000 posts than going through the candidates' sparse lists."""
    import numpy as np

    posts = post_docnames(env)
    if len(posts) < 2:
        return {doc: () for doc in posts}
    n = len(posts)
    position = {doc: i for i, doc in enumerate(posts)}
    infos = [env.ablog_posts[doc][0] for doc in posts]
    tags = [sorted({str(tag) for tag in info["tags"] or ()}) for info in infos]
    text = capped_columns(kept_tfidf_matrix(env, posts), CAP)
    cosine = (text @ text.T).tocsr()  # nonzero only where two posts share a term both are capped in
    links = links_between_posts(env, posts)
    linked = _symmetric([(position[a], position[b]) for a in posts for b in links[a]], n)
    near = _symmetric(_near_in_tags(tags, [str(info["date"] or "") for info in infos], CAP), n)
    weights = tuple(config.kb_related_weights[k] for k in ("text", "tags", "links"))
    if n <= DENSE_UP_TO:
        return _with_reasons(
            posts, tags, _best_dense(cosine, linked, near, tags, weights, config.kb_related_count)
        )
    # The candidate pairs: the union of the three patterns, found by adding the three matrices
    # with each one's entries coded as a bit (1 shared terms, 2 a link, 4 near in a tag), rows
    # and columns in order. The cosines are those of the entries with bit 1, in the same order.
    # The product's rows come out unsorted. It is symmetric to the bit (both entries of a pair
    # add the same products in the same order), so its transpose converted to CSR is the same
    # matrix with each row sorted: a linear pass instead of a sort of every row (0.06 against
    # 0.17 s at 10,000 posts).
    cosine = cosine.T.tocsr()
    cosine.eliminate_zeros()
    shares_terms = cosine.copy()
    shares_terms.data[:] = 1.0
    union = (shares_terms + 2 * linked + 4 * near).tocsr()
    union.sum_duplicates()
    if not union.nnz:
        return {doc: () for doc in posts}  # no two posts share a term, a tag or a link
    code = union.data.astype(np.int64)
    text_score = np.zeros(union.nnz)
    text_score[(code & 1) != 0] = cosine.data
    link = ((code & 2) != 0).astype(np.float64)
    first = np.repeat(np.arange(n, dtype=np.int64), np.diff(union.indptr))
    second = union.indices.astype(np.int64)
    jaccard = _jaccard(tags, first, second)
    w_text, w_tags, w_links = weights
    scores = np.round(w_text * text_score + w_tags * jaccard + w_links * link, 9)
    scores[first == second] = 0.0  # a post is not related to itself (a zero score is no candidate)
    count = config.kb_related_count
    bounds = union.indptr
    best: list[list[tuple[int, bool]]] = []
    for a in range(n):
        span = slice(bounds[a], bounds[a + 1])
        candidates = np.flatnonzero(scores[span] > 0) + span.start
        rounded = scores[candidates]
        if len(candidates) > count:
            # Only what can reach the top `count` is sorted: the count-th largest score and up
            # (ties included, so the order among them is the same as sorting them all).
            kept = rounded >= np.partition(rounded, len(rounded) - count)[len(rounded) - count]
            candidates, rounded = candidates[kept], rounded[kept]
        chosen = candidates[np.lexsort((second[candidates], -rounded))[:count]]
        best.append([(int(second[i]), bool(link[i])) for i in chosen])
    return _with_reasons(posts, tags, best)


def _with_reasons(
    posts: list[str], tags: list[list[str]], best: list[list[tuple[int, bool]]]
) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each post's list: for the chosen posts (index, whether the two link), best first, their
    names and the reason shown beside them."""
    # Each post's tags as a set once, and each reason once (the benchmark's 1,000 posts: 5,000
    # pairs, 786 distinct reasons; 0.005 against 0.009 s).
    sets = [frozenset(names) for names in tags]
    reasons: dict[tuple[frozenset[str], bool], str] = {}

    def reason(shared: frozenset[str], linked: bool) -> str:
        if (shared, linked) not in reasons:
            reasons[shared, linked] = _reason(shared, linked)
        return reasons[shared, linked]

    return {
        posts[a]: tuple((posts[b], reason(sets[a] & sets[b], linked)) for b, linked in row)
        for a, row in enumerate(best)
    }


def _tag_numbers(tags: list[list[str]]) -> dict[str, int]:
    """Each tag of the site, numbered in name order."""
    return {tag: i for i, tag in enumerate(sorted(set().union(*map(set, tags))))}


def _best_dense(
    cosine: Any, linked: Any, near: Any, tags: list[list[str]], weights: tuple[float, ...], count: int
) -> list[list[tuple[int, bool]]]:
    """:func:`related`'s scores and lists for a site of at most ``DENSE_UP_TO`` posts, where
    nearly every pair is a candidate (83 % at 1,000 posts): every pair in ``n x n`` arrays, the
    same numbers by the same operations, then each row's ``count`` best at once. For each post,
    its chosen posts (index, whether the two link), best first."""
    import numpy as np
    from scipy import sparse

    n = cosine.shape[0]
    # In place where it can be (a few n x n arrays at a time: 8 MB each at 1,000 posts), in the
    # order of the sparse path's operations, so that every score is the same number.
    text = cosine.toarray()
    link = linked.toarray()
    candidate = text != 0
    candidate |= link != 0
    candidate |= near.toarray() != 0
    np.fill_diagonal(candidate, False)
    number = _tag_numbers(tags)
    sizes = np.array([len(names) for names in tags], np.float64)
    incidence = sparse.csr_matrix(
        (
            np.ones(int(sizes.sum())),
            (
                [i for i, names in enumerate(tags) for _ in names],
                [number[t] for names in tags for t in names],
            ),
        ),
        shape=(n, max(1, len(number))),
    )
    # Small whole numbers, exact in floating point. A sparse product: a dense one would go
    # through BLAS, whose threads a forked build starts again (0.02-0.03 s of a warm edit).
    shared = (incidence @ incidence.T).toarray()
    union = np.add.outer(sizes, sizes)
    union -= shared
    jaccard = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
    del shared, union
    w_text, w_tags, w_links = weights
    scores = text
    scores *= w_text
    jaccard *= w_tags
    scores += jaccard
    del jaccard
    scores += w_links * link
    np.round(scores, 9, out=scores)
    scores[~candidate] = 0.0
    # Each row's count-th largest score (0 when it has fewer positive ones): what reaches the
    # list is at least that, and positive; ties at the edge are ordered by name below.
    edge = np.partition(scores, n - count, axis=1)[:, n - count] if n > count else np.zeros(n)
    rows, cols = np.nonzero((scores > 0) & (scores >= edge[:, None]))
    order = np.lexsort((cols, -scores[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    rank = np.arange(rows.size) - np.searchsorted(rows, rows)
    chosen: list[list[tuple[int, bool]]] = [[] for _ in range(n)]
    for a, b, is_linked in zip(
        rows[rank < count].tolist(),
        cols[rank < count].tolist(),
        (link[rows, cols][rank < count] != 0).tolist(),
    ):
        chosen[a].append((b, is_linked))
    return chosen


def capped_columns(matrix: Any, cap: int) -> Any:
    """``matrix`` (CSR) with only the ``cap`` largest entries of each column kept (ties go to the
    smaller row)."""
    import numpy as np
    from scipy import sparse

    columns = matrix.tocsc()
    columns.sort_indices()  # rows in order in each column (the conversion leaves them so)
    data, bounds = columns.data, columns.indptr
    # One partition per crowded column: a sort of every entry by column and value took 0.53
    # against 0.08 s at 10,000 posts.
    keep = _largest_in_segments(data, bounds, cap)
    indptr = np.concatenate([[0], np.cumsum(keep)])[bounds]  # empty columns included
    kept = sparse.csc_matrix((data[keep], columns.indices[keep], indptr), shape=matrix.shape)
    return kept.tocsr()


def _near_in_tags(tags: list[list[str]], dates: list[str], reach: int) -> Any:
    """Pairs (i, j) of posts that share a tag, or two tags, and are at most ``reach`` places
    apart in the date order of the posts that have that tag, or those two tags. (Posts sharing
    two tags are the best tag matches, and few posts share any two, so they are reached even
    where a tag alone is too common.)"""
    import itertools

    import numpy as np

    by_group: dict[tuple[str, ...], list[int]] = {}
    for i in sorted(range(len(tags)), key=lambda i: (dates[i], i)):
        for group in itertools.chain(((tag,) for tag in tags[i]), itertools.combinations(tags[i], 2)):
            by_group.setdefault(group, []).append(i)
    # The groups one after another: a pair is two members of one group at most `reach` apart.
    members = np.array([i for grouped in by_group.values() for i in grouped], np.int64)
    group_of = np.repeat(np.arange(len(by_group)), [len(grouped) for grouped in by_group.values()])
    pairs = [np.zeros((0, 2), np.int64)]
    for step in range(1, min(reach, len(members) - 1) + 1):
        same = np.flatnonzero(group_of[step:] == group_of[:-step])
        pairs.append(np.stack([members[same], members[same + step]], axis=1))
    return np.concatenate(pairs)


def _symmetric(pairs: Any, n: int) -> Any:
    """The 0/1 ``n x n`` CSR matrix with ones at the pairs (i, j) and (j, i)."""
    import numpy as np
    from scipy import sparse

    index = np.asarray(pairs, np.int64).reshape(-1, 2)
    rows, cols = np.concatenate([index[:, 0], index[:, 1]]), np.concatenate([index[:, 1], index[:, 0]])
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    matrix.data[:] = 1.0  # repeated pairs count once
    return matrix


def _jaccard(tags: list[list[str]], first: Any, second: Any) -> Any:
    """Jaccard overlap of the tag sets of each pair ``(first[k], second[k])``, from bit masks."""
    import numpy as np

    number = _tag_numbers(tags)
    masks = np.zeros((len(tags), max(1, -(-len(number) // 64))), np.uint64)
    counts = [len(names) for names in tags]
    post = np.repeat(np.arange(len(tags)), counts)
    tag = np.fromiter((number[name] for names in tags for name in names), np.int64, sum(counts))
    np.bitwise_or.at(masks, (post, tag // 64), np.left_shift(np.uint64(1), (tag % 64).astype(np.uint64)))
    sizes = np.bitwise_count(masks).sum(axis=1, dtype=np.int64)
    shared = np.zeros(len(first), np.int64)
    for word in range(masks.shape[1]):
        shared += np.bitwise_count(masks[first, word] & masks[second, word])
    union = sizes[first] + sizes[second] - shared
    return np.divide(shared, union, out=np.zeros(len(first)), where=union > 0)


def _reason(shared: AbstractSet[str], link: float) -> str:
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
    titles = {doc: title(env, doc) for doc in lists}  # each once: a post is in about five lists
    views = {doc: tuple((b, titles[b], reason) for b, reason in items) for doc, items in lists.items()}
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
    track_per_document(app, "kb_post_term_ids")  # docname -> its terms' ids (term_columns)
    track_per_document(app, "kb_post_tfidf")  # docname -> its TF-IDF row (kept_tfidf_matrix)
    app.connect("doctree-read", note_terms, priority=pipeline.NOTE_RELATED_TERMS)
    app.connect("env-updated", compute)
    app.connect("doctree-resolved", add_related)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
        "env_version": 4,
    }  # 2: term counts as hashed arrays; 3: as the arrays' bytes; 4: term ids
