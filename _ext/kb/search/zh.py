"""Words of Chinese and mixed Chinese/English text, as the search indexes and queries them.

* Chinese: jieba's search-engine mode (as ``cut_for_search``: ``扩散模型`` gives ``扩散``,
  ``模型`` and ``扩散模型``) with the site's dictionary of domain terms
  (``kb_search_dictionary``, loaded on the first split, not on every build), plus every other
  dictionary word the text contains (jieba's full mode: ``非马尔可夫`` also gives ``马尔可夫``,
  ``快速上手`` also ``上手``), plus each pair of adjacent characters that no dictionary word
  covers (``朗之万`` gives ``朗之`` and ``之万``); words of one character are dropped. The
  browser cuts a query into words that the whole site holds, so a page must hold every word a
  cut of its own text may produce; jieba's guesses at unknown words (its HMM) differ with the
  context, and one page's guess made another page unfindable by its own title, so they are not
  used. A pair that is no dictionary word (``用非`` in ``用非原地运算``) is marked in the index
  (:func:`is_guess`), and the browser takes it only where no real word fits.
* Latin letters, digits and ``_`` form words (``DDIM``, ``alpha_t``, ``nn``), lowercased and
  reduced by the English Snowball stemmer that the browser runs too (``inversion`` ->
  ``invers``); a stem shorter than three letters keeps the whole word (``was`` is not ``wa``).
  English stop words and one-letter words are dropped.

The browser cuts a query into the words the index holds (``search.js``), so index and query
agree without shipping jieba's dictionary.

jieba's prefix dictionary (half a million entries) with the site's words added is kept as one
pickle beside the doctrees (:func:`use_dictionary`), keyed by jieba's version, its dictionary
file and the site dictionary's bytes: loading it takes about a third of the time of jieba's own
cache (``marshal``) plus ``load_userdict``, and every rebuild that reads a page pays it.
tests/test_upstream_contracts.py states what of jieba's tokenizer this sets.
"""

from __future__ import annotations

import gc
import hashlib
import logging as pylogging
import math
import os
import pickle
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import jieba
import snowballstemmer
from sphinx.search._stopwords.en import ENGLISH_STOPWORDS

CJK_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")
CJK_ANY = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z0-9_]+")
STOPWORDS = frozenset(ENGLISH_STOPWORDS)

_stemmer = snowballstemmer.stemmer("english")
_pending_dictionary: list[Path] = []
_cache_dir: list[Path] = []
CACHE_NAME = "kb-jieba-{key}.pickle"


def use_dictionary(path: Path, cache_dir: Path | None = None) -> None:
    """Load the site's dictionary into jieba before the next split (once per process); with
    ``cache_dir``, load jieba's whole dictionary from (or save it to) a pickle there."""
    _pending_dictionary.append(path)
    _cache_dir[:] = [cache_dir] if cache_dir is not None else []


def _cache_key(paths: list[Path]) -> str:
    """jieba's version, its main dictionary file (size, mtime) and the site dictionaries' bytes."""
    main = Path(jieba.dt.dictionary or Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME)
    stat = main.stat()
    digest = hashlib.sha256(f"{jieba.__version__}\0{main}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    for path in paths:
        digest.update(b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _load_dictionary() -> None:
    if not _pending_dictionary:
        return
    paths, cache = list(_pending_dictionary), None
    _pending_dictionary.clear()
    if _cache_dir and not jieba.dt.initialized:
        cache = _cache_dir[0] / CACHE_NAME.format(key=_cache_key(paths))
        try:
            gc.disable()  # half a million new objects, none of them garbage
            try:
                jieba.dt.FREQ, jieba.dt.total = pickle.loads(cache.read_bytes())
            finally:
                gc.enable()
            jieba.dt.initialized = True
            return
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
            pass
    for path in paths:
        jieba.load_userdict(str(path))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        for stale in cache.parent.glob(CACHE_NAME.format(key="*")):
            stale.unlink(missing_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps((jieba.dt.FREQ, jieba.dt.total), protocol=pickle.HIGHEST_PROTOCOL))
        partial.replace(cache)


@lru_cache(maxsize=200_000)
def latin_term(word: str) -> str:
    """The indexed form of a Latin word (lowercase, stemmed); the browser's ``kbLatinTerm``."""
    lower = word.lower()
    stem = _stemmer.stemWord(lower)
    return lower if len(lower) >= 3 > len(stem) else stem


def split_text(text: str) -> list[str]:
    """The search words of ``text``, in order, with repeats."""
    if not text:
        return []
    _load_dictionary()
    words: list[str] = []
    if CJK_ANY.search(text):
        words.extend(_cut_for_search(text))
    for match in LATIN_WORD.findall(text):
        if len(match) > 1 and match.lower() not in STOPWORDS:
            term = latin_term(match)
            if len(term) > 1:
                words.append(term)
    return words


def latin_surfaces(text: str) -> dict[str, str]:
    """For each stem of ``text`` that differs from its word, the word (lowercase) first seen."""
    surfaces: dict[str, str] = {}
    for match in LATIN_WORD.findall(text):
        lower = match.lower()
        if len(lower) > 3 and lower not in STOPWORDS:
            term = latin_term(lower)
            if term != lower:
                surfaces.setdefault(term, lower)
    return dict(sorted(surfaces.items()))


def _cut(text: str) -> tuple[list[str], Counter[str]]:
    """jieba's ``cut(text, HMM=False)`` and the words of two or more Chinese characters of its
    full mode (``cut_all=True``), from one pass: both modes split the text into the same blocks
    and look each block's words up in the same graph (``get_DAG``), and the full mode's words
    of two or more characters are that graph's edges (outside those blocks, each piece whole).
    Cutting twice cost a fifth of a clean build. jieba's own code, its steps kept
    (tests/test_extensions.py compares the one pass with jieba's two cuts on every post;
    tests/test_upstream_contracts.py names the parts of jieba this uses)."""
    tokenizer = jieba.dt
    tokenizer.check_initialized()
    words: list[str] = []
    full: Counter[str] = Counter()
    for block in jieba.re_han_default.split(text):
        if not block:
            continue
        if not jieba.re_han_default.match(block):
            for piece in jieba.re_skip_default.split(block):
                if jieba.re_skip_default.match(piece):
                    words.append(piece)
                else:
                    words.extend(piece)  # the accurate mode: one character at a time
                    if CJK_WORD.fullmatch(piece):
                        full[piece] += 1  # the full mode: the piece whole (㐀㐁㐂, outside its blocks)
            continue
        graph = tokenizer.get_DAG(block)
        chinese = CJK_WORD.fullmatch(block) is not None  # then so is every word of two or more
        for start, ends in graph.items():
            for end in ends:
                if end > start:
                    word = block[start : end + 1]
                    if chinese or CJK_WORD.fullmatch(word):
                        full[word] += 1
        route = _route(block, graph, tokenizer)
        position, length, latin = 0, len(block), ""
        while position < length:
            after = route[position][1] + 1
            word = block[position:after]
            if len(word) == 1 and jieba.re_eng.match(word):
                latin += word
            else:
                if latin:
                    words.append(latin)
                    latin = ""
                words.append(word)
            position = after
        if latin:
            words.append(latin)
    return words, full


_word_logs: dict[str, float] = {}  # log(frequency or 1) of each word routed, for _route
_word_logs_of: list[object] = [None]  # ... with this (dictionary, total)


def _route(
    block: str, graph: dict[int, list[int]], tokenizer: jieba.Tokenizer
) -> dict[int, tuple[float, int]]:
    """jieba's ``Tokenizer.calc``, the same numbers in the same order, with each word's
    logarithm computed once per process instead of at every occurrence, and without a generator
    per character (with the full mode's shortcut in ``_cut``: a page's record of a synthetic post
    in 5.8 against 7.2 ms)."""
    frequencies = tokenizer.FREQ
    if _word_logs_of[0] != (id(frequencies), tokenizer.total):
        _word_logs.clear()
        _word_logs_of[0] = (id(frequencies), tokenizer.total)
    logs = _word_logs
    logtotal = math.log(tokenizer.total)
    route: dict[int, tuple[float, int]] = {len(block): (0, 0)}
    for start in range(len(block) - 1, -1, -1):
        best: tuple[float, int] | None = None
        for end in graph[start]:
            word = block[start : end + 1]
            weight = logs.get(word)
            if weight is None:
                weight = logs[word] = math.log(frequencies.get(word) or 1)
            candidate = (weight - logtotal + route[end + 1][0], end)
            if best is None or candidate > best:  # as max() over the same tuples
                best = candidate
        assert best is not None  # every position has an edge (get_DAG)
        route[start] = best
    return route


def _cut_for_search(text: str) -> list[str]:
    """jieba's ``cut_for_search`` without its HMM (its code, kept to the words of two or more
    Chinese characters), the other dictionary words of the text (jieba's full mode), each as
    often as it occurs, and the pairs of adjacent characters left single."""
    words: list[str] = []
    singles: list[str] = []
    frequencies = jieba.dt.FREQ

    def pairs() -> None:
        words.extend(a + b for a, b in zip(singles, singles[1:]))
        singles.clear()

    cut, dictionary_words = _cut(text)
    for word in cut:
        if len(word) == 1 and CJK_ANY.match(word):
            singles.append(word)
            continue
        if singles:
            pairs()
        if not CJK_WORD.fullmatch(word):
            continue
        if len(word) > 2:
            words.extend(word[i : i + 2] for i in range(len(word) - 1) if frequencies.get(word[i : i + 2]))
        if len(word) > 3:
            words.extend(word[i : i + 3] for i in range(len(word) - 2) if frequencies.get(word[i : i + 3]))
        words.append(word)
    pairs()
    found = Counter(words)
    for word, count in dictionary_words.items():
        words.extend([word] * (count - found[word]))
    return words


def is_guess(term: str) -> bool:
    """True for two Chinese characters that are not a dictionary word (a pair indexed only
    because the characters stood single): the browser prefers real words when it cuts."""
    if len(term) != 2 or not CJK_WORD.fullmatch(term):
        return False
    # With the site's dictionary, whether or not this process has split any text (a rebuild
    # that read no page assembles the index without it otherwise).
    _load_dictionary()
    jieba.dt.check_initialized()
    return not jieba.dt.FREQ.get(term)


def quiet_jieba() -> None:
    # jieba logs "Building prefix dict ..." at DEBUG level to its own stderr handler, on every
    # build that splits text; that is not the build's output.
    jieba.setLogLevel(pylogging.WARNING)
