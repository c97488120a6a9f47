"""The site's search index: split into pieces that a query loads on demand, plus an excerpt record
per page, written to ``_search/`` in the output.

Sphinx's own index (one ``searchindex.js`` that every search downloads whole, 1.5 MB gzip at
10,000 posts) and its result excerpts (cut from each hit's fetched HTML page, theme buttons and
doubled formulas included) are switched off. Instead:

* each page's record (:func:`kb.search.extract.page_record`) is computed when the page is read
  (or, for the few pages of an edit rebuild, where the index is assembled: :func:`store_record`)
  and kept beside the doctrees (``kb_search/<docname>.json``), so an incremental build re-reads
  only what changed and assembles the same index as a clean build;
* ``_search/index.json`` (small, fetched first) lists the first term of every *block*, the
  categories and tags with their counts, and a version that changes with any content;
* ``_search/t/<n>.json``: block ``n`` of the sorted vocabulary, term -> postings; a term whose
  postings are long is a number instead, the file ``_search/p/<number>.json`` holding them.
  Postings are flat integers, three per page: page id (delta), ``tier << 12 | prior << 7 |
  count`` and the mask of the page's chunks holding the term (see :mod:`kb.search.extract`).
  The *prior* (0-31) grows with the number of other pages linking to the page: among pages
  that match equally well, the one the site refers to more comes first;
* ``_search/d/<id>.json``: one record per page (title, URL, date, category, tags, chunks) for
  the result list and its excerpts;
* ``_search/f/c<i>.json``, ``f/t<i>.json``: the page ids of each category and tag (filters);
* ``_search/w/<length>.json``: the Latin words of each length, for typo tolerance, loaded only
  when a word of a query is not in the index.

Page ids order posts newest first (ties by name), then other pages by name; equal scores keep
that order. Files are written only when their bytes change and stale ones are removed, so two
builds of the same sources leave the same bytes.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import os
import pickle
import shutil
from functools import partial
from pathlib import Path
from typing import Any

import sphinx.search
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from .. import background, pipeline, preloaded
from ..blog.post_links import links_between_posts
from ..cross_page import sources_changed
from ..rebuilds import reads_serially_for_parallel_writing
from .extract import LINK, page_chunks, record_of_chunks
from .zh import is_guess, quiet_jieba, use_dictionary

logger = logging.getLogger(__name__)

RECORDS_DIR = "kb_search"
PENDING_SUFFIX = ".pending.pickle"  # a record's input, its words not yet cut (store_record)
RECORDS_CACHE = "kb_search_records.pickle"  # every record with its file's stamp (load_records)
RECORDS_CHANGES = "kb_search_records.changes.pickle"  # records since the cache was written
KEPT_BESIDE_DOCTREES = (RECORDS_DIR + "/",)  # one record per page, read when the index is assembled
OUTPUT_DIR = "_search"
BACKGROUND = "search index"  # the forked assembly (kb.background)
SCRIPT = "kb-search.js"
STEMMER = "kb-search-stemmer.js"
SCRIPT_SOURCE = Path(__file__).with_name("search.js")
STEMMER_SOURCES = [
    Path(sphinx.search.__file__).parent / "minified-js" / name
    for name in ("base-stemmer.js", "english-stemmer.js")
]
BLOCK_CHARS = 6000  # a block of the vocabulary: about 2-3 KB gzip
INLINE_CHARS = 300  # postings longer than this get a file of their own
MIN_FUZZY_LENGTH = 4
# The layout of _search/; an index of another format is rebuilt even when no page changed.
FORMAT = 3
# Sphinx's own search output, removed from the site (and from older builds' output).
SPHINX_SEARCH_FILES = ["searchindex.js", "_static/searchtools.js", "_static/language_data.js"]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def records_dir(app: Sphinx) -> Path:
    return Path(app.doctreedir) / RECORDS_DIR


def record_path(app: Sphinx, docname: str) -> Path:
    return records_dir(app) / f"{docname}.json"


def is_searchable(app: Sphinx, docname: str) -> bool:
    metadata = app.env.metadata.get(docname, {})
    return docname != app.config.root_doc and "nosearch" not in metadata and "no-search" not in metadata


def switch_off_sphinx_search(app: Sphinx) -> None:
    """No ``searchindex.js`` and no Sphinx indexing; the search page comes from here."""
    if app.builder.format == "html":
        app.builder.search = False
    dictionary = app.config.kb_search_dictionary
    if dictionary:
        path = Path(app.confdir, dictionary)
        if path.is_file():
            use_dictionary(path, Path(app.doctreedir))
        else:
            logger.warning("search dictionary %s does not exist", dictionary, type="kb", subtype="search")


def store_record(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    path = record_path(app, docname)
    pending = path.with_name(path.name[: -len(".json")] + PENDING_SUFFIX)
    if not is_searchable(app, docname):
        path.unlink(missing_ok=True)
        pending.unlink(missing_ok=True)
        return
    title = app.env.titles.get(docname)
    page = (
        page_chunks(doctree, frozenset(app.config.kb_search_skip_headings)),
        title.astext() if title is not None else docname,
        dict(app.env.metadata.get(docname, {})),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if reads_serially_for_parallel_writing(app):
        # A few pages read in the main process of a -j build: their words are cut where the
        # index is assembled, in a forked process beside the writing (start_index), not here.
        # An edit rebuild then never loads jieba's dictionary in the main process (0.2 s at
        # 1,000 posts). What the record needs is kept on disk, so a build that stops before the
        # index is assembled leaves it for the next one (load_records).
        pending.write_bytes(pickle.dumps(page, protocol=pickle.HIGHEST_PROTOCOL))
        path.unlink(missing_ok=True)
        return
    path.write_bytes(_dumps(record_of_chunks(*page, app.config.kb_math_macros)))
    pending.unlink(missing_ok=True)


def write_scripts(app: Sphinx) -> None:
    """The scripts every page may load, written before any page: Sphinx adds a file's checksum
    (``?v=…``) to its URL only when the file is already in the output, so a clean build that
    wrote them after the pages would link them otherwise than a rebuild."""
    if app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    _write_if_changed(static / SCRIPT, SCRIPT_SOURCE.read_bytes())
    stemmer = b"\n".join(path.read_bytes() for path in STEMMER_SOURCES)
    _write_if_changed(static / STEMMER, stemmer + b"\nwindow.kbStemmer = new EnglishStemmer();\n")


def search_page(app: Sphinx) -> list[tuple[str, dict[str, Any], str]]:
    """The results page (``_templates/search.html``)."""
    if app.builder.format != "html":
        return []
    return [("search", {}, "search.html")]


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def _page_order(records: dict[str, dict[str, Any]]) -> list[str]:
    posts = sorted(
        (name for name, r in records.items() if r["post"]), key=lambda n: (_negate(records[n]["date"]), n)
    )
    pages = sorted(name for name, r in records.items() if not r["post"])
    return posts + pages


def _negate(date: str) -> str:
    # Newest first with names ascending: sort by the date's digits mapped to their complements.
    return date.translate(str.maketrans("0123456789", "9876543210"))


def prior(inlinks: int) -> int:
    """The ranking prior of a page that ``inlinks`` other pages link to (0-31)."""
    return min(31, round(6 * math.log2(1 + inlinks)))


def build_index(
    records: dict[str, dict[str, Any]],
    urls: dict[str, str],
    macros: dict[str, str],
    inlinks: dict[str, int],
    titles: dict[str, str],
) -> dict[str, bytes]:
    """Every file of ``_search/`` (path relative to it -> bytes) for these page records; the
    browser expands ``macros`` in TeX queries as the index expanded them in formulas."""
    order = _page_order(records)
    files: dict[str, bytes] = {}
    postings: dict[str, list[int]] = {}
    last: dict[str, int] = {}
    surfaces: dict[str, dict[str, int]] = {}
    categories: dict[str, list[int]] = {}
    tags: dict[str, list[int]] = {}
    for page_id, name in enumerate(order):
        record = records[name]
        weight = prior(inlinks.get(name, 0)) << 7
        for term, (tier, count, mask) in record["terms"].items():
            postings.setdefault(term, []).extend(
                [page_id - last.get(term, 0), tier << 12 | weight | min(count, 127), mask]
            )
            last[term] = page_id
        for stem, word in record["surfaces"].items():
            seen = surfaces.setdefault(stem, {})
            seen[word] = seen.get(word, 0) + 1
        if record["category"]:
            categories.setdefault(record["category"], []).append(page_id)
        for tag in record["tags"]:
            tags.setdefault(tag, []).append(page_id)
        files[f"d/{page_id}.json"] = _dumps(
            {
                "u": urls[name],
                "t": record["title"],
                "d": record["date"],
                "c": record["category"],
                "g": record["tags"],
                "s": [
                    [anchor, heading, LINK.sub(lambda m: titles.get(m[1], ""), text), code]
                    for anchor, heading, text, code in record["chunks"]
                ],
            }
        )

    blocks: list[str] = []
    block: dict[str, Any] = {}
    size = 0
    separate = 0

    def close_block() -> None:
        nonlocal block, size
        if block:
            files[f"t/{len(blocks)}.json"] = _dumps(block)
            blocks.append(next(iter(block)))
            block, size = {}, 0

    for term in sorted(postings):
        data = _dumps(postings[term])
        if len(data) > INLINE_CHARS:
            files[f"p/{separate}.json"] = data
            entry: Any = {"f": separate, "n": len(postings[term]) // 3}
            separate += 1
            size += len(term) + 20
        else:
            entry = postings[term]
            size += len(term) + len(data) + 4
        if is_guess(term):
            entry = {"g": 1, **entry} if isinstance(entry, dict) else {"g": 1, "p": entry}
        block[term] = entry
        if size >= BLOCK_CHARS:
            close_block()
    close_block()

    by_length: dict[int, list[list[Any]]] = {}
    for term in sorted(postings):
        if len(term) >= MIN_FUZZY_LENGTH - 1 and term.isascii() and term.replace("_", "").isalnum():
            known = surfaces.get(term, {})
            word = min(known, key=lambda w: (-known[w], w)) if known else term
            by_length.setdefault(len(term), []).append([term, word, len(postings[term]) // 3])
    for length, words in by_length.items():
        files[f"w/{length}.json"] = _dumps(words)

    def delta(ids: list[int]) -> list[int]:
        return [b - a for a, b in zip([0, *ids], ids)]

    category_list = sorted(categories)
    tag_list = sorted(tags)
    for i, name in enumerate(category_list):
        files[f"f/c{i}.json"] = _dumps(delta(categories[name]))
    for i, name in enumerate(tag_list):
        files[f"f/t{i}.json"] = _dumps(delta(tags[name]))

    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + files[path] + b"\0")
    files["index.json"] = _dumps(
        {
            "format": FORMAT,
            "v": digest.hexdigest()[:16],
            "n": len(order),
            "blocks": blocks,
            "lengths": sorted(by_length),
            "macros": dict(sorted(macros.items())),
            "categories": [[name, len(categories[name])] for name in category_list],
            "tags": [[name, len(tags[name])] for name in tag_list],
        }
    )
    return files


def _format(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_bytes()).get("format"))
    except (OSError, ValueError, TypeError):
        return None


def load_records(app: Sphinx, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """The stored record of every page in ``wanted``, by name, in name order; records of other
    pages (removed, or no longer searched) are deleted.

    The records are also kept together in one pickle (:data:`RECORDS_CACHE`), each with its
    file's size and mtime: an edit rebuild reads back the one record it wrote, not a thousand
    JSON files (a third of the time, and JSON's share of an edit rebuild at 1,000 posts). What
    changed since that pickle was written goes to a small one beside it
    (:data:`RECORDS_CHANGES`), so an edit does not write them all again (0.08 s at 1,000 posts)
    until the changes reach a twentieth of the records."""
    folder = records_dir(app)
    base_path = Path(app.doctreedir) / RECORDS_CACHE
    changes_path = Path(app.doctreedir) / RECORDS_CHANGES
    base = _unpickled(base_path)
    changes = _unpickled(changes_path)
    cached = dict(base)
    for name, entry in changes.items():
        if entry is None:
            cached.pop(name, None)
        else:
            cached[name] = entry
    records: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
    for dirpath, _dirnames, filenames in os.walk(folder):
        # Records whose words this process cuts (store_record): made first, then read below.
        for filename in [name for name in filenames if name.endswith(PENDING_SUFFIX)]:
            pending = os.path.join(dirpath, filename)
            record = Path(pending[: -len(PENDING_SUFFIX)] + ".json")
            if os.path.relpath(record, folder)[: -len(".json")].replace(os.sep, "/") in wanted:
                chunks, title, metadata = pickle.loads(Path(pending).read_bytes())
                record.write_bytes(
                    _dumps(record_of_chunks(chunks, title, metadata, app.config.kb_math_macros))
                )
                if record.name not in filenames:
                    filenames.append(record.name)
            os.unlink(pending)
        for filename in filenames:
            if not filename.endswith(".json"):
                continue
            path = os.path.join(dirpath, filename)
            name = os.path.relpath(path, folder)[: -len(".json")].replace(os.sep, "/")
            if name not in wanted:
                os.unlink(path)  # a removed page, or one that is no longer searched
                continue
            stat = os.stat(path)
            stamp = (stat.st_mtime_ns, stat.st_size)
            known = cached.get(name)
            records[name] = (
                known if known and known[0] == stamp else (stamp, json.loads(Path(path).read_bytes()))
            )
    records = dict(sorted(records.items()))
    if records.keys() != cached.keys() or any(records[name] is not cached[name] for name in records):
        since: dict[str, Any] = {
            name: entry for name, entry in records.items() if base.get(name) is not entry
        }
        since.update((name, None) for name in base if name not in records)
        if base and len(since) <= max(32, len(records) // 20):
            changes_path.write_bytes(pickle.dumps(since, protocol=pickle.HIGHEST_PROTOCOL))
        else:
            base_path.write_bytes(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL))
            changes_path.unlink(missing_ok=True)
    return {name: record for name, (_stamp, record) in records.items()}


def _unpickled(path: Path) -> dict[str, Any]:
    """A records pickle (:func:`load_records`), or the copy ``make livehtml``'s server holds
    (:mod:`kb.preloaded`); empty when it is missing or damaged (its records are then read
    again)."""
    try:
        loaded = preloaded.load(path)
    except Exception:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _index_is_current(app: Sphinx) -> bool:
    """Whether ``_search/`` already holds the index of these pages (no source changed)."""
    return not sources_changed(app.env) and _format(Path(app.outdir) / OUTPUT_DIR / "index.json") == FORMAT


def _assemble_index(app: Sphinx) -> None:
    """``_search/`` assembled from the pages' records, files written only when they changed."""
    target = Path(app.outdir) / OUTPUT_DIR
    records = load_records(app, {name for name in app.env.found_docs if is_searchable(app, name)})
    urls = {name: app.builder.get_target_uri(name) for name in records}
    inlinks: dict[str, int] = {}
    for linked in links_between_posts(app.env, sorted(records)).values():
        for name in linked:
            inlinks[name] = inlinks.get(name, 0) + 1
    titles = {name: node.astext() for name, node in app.env.titles.items()}
    files = build_index(records, urls, app.config.kb_math_macros, inlinks, titles)
    written = 0
    for relative, data in files.items():
        written += _write_if_changed(target / relative, data)
    for path in sorted(target.rglob("*")):
        if path.is_file() and path.relative_to(target).as_posix() not in files:
            path.unlink()
    for folder in sorted(target.glob("*/"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            shutil.rmtree(folder)
    logger.info("search index: %d pages, %d files (%d written)", len(records), len(files), written)


def start_index(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """``env-updated``, early: with ``-j``, assemble the index in a forked process while the other
    ``env-updated`` handlers compute (the related articles: 0.3 s at 1,000 posts), the
    environment is saved and the pages are written; :func:`write_index` waits for it. The index
    needs only what reading stored: the records kept beside the doctrees, the titles, metadata
    and links between posts, none of which those handlers or the writing change. Started at the
    end of the build, it kept the main process waiting (0.45 s of a 3.3 s edit rebuild at 1,000
    posts); started after the other handlers, 0.2-0.3 s of a 1.3 s warm edit."""
    if app.builder.format == "html" and background.can_fork(app) and not _index_is_current(app):
        background.start(app, BACKGROUND, partial(_assemble_index_in_fork, app))
    return []


def _assemble_index_in_fork(app: Sphinx) -> None:
    # The fork's collector leaves alone what it inherited: the environment, not yet frozen by
    # the main process (kb.rebuilds), is millions of objects after a clean build.
    gc.freeze()
    _assemble_index(app)


def write_index(app: Sphinx, exception: Exception | None) -> None:
    started = background.wait(app, BACKGROUND)
    if exception is not None or app.builder.format != "html":
        return  # (a started index is complete all the same: it depends on no written page)
    outdir = Path(app.outdir)
    for name in SPHINX_SEARCH_FILES:
        (outdir / name).unlink(missing_ok=True)
    if not started and not _index_is_current(app):
        _assemble_index(app)


preloaded.register(RECORDS_CACHE)


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.blog.post_links")  # env.kb_outlinks: the ranking prior
    quiet_jieba()
    app.add_config_value("kb_search_dictionary", "", "env", types=[str])
    app.add_config_value("kb_search_skip_headings", [], "env", types=[list])
    app.connect("builder-inited", switch_off_sphinx_search)
    app.connect("builder-inited", write_scripts)
    app.connect("doctree-read", store_record, priority=pipeline.STORE_SEARCH_RECORD)
    app.connect("html-collect-pages", search_page)
    app.connect("env-updated", start_index, priority=pipeline.START_SEARCH_INDEX)
    app.connect("build-finished", write_index, priority=pipeline.WRITE_SEARCH_INDEX)
    app.add_js_file(SCRIPT, loading_method="defer")
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
