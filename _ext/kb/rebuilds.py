"""What every rebuild pays, whatever changed, made smaller.

**Garbage collection.** A rebuild starts by unpickling the environment (at 1,000 posts, millions
of objects that live until the process ends), and Python's cyclic collector walks all of them at
every full collection while pages are read and written: about a second of an edit rebuild at
1,000 posts. The collector is paused while the environment is unpickled (from ``config-inited``),
the objects are moved out of its sight (``gc.freeze``) once loaded (``builder-inited``) and
again once every document has been read (``env-updated``), so the collector only looks at what
the rest of the build makes. At ``env-updated`` what is garbage is collected first, or it would
be frozen with the rest and never freed; a freshly unpickled environment has none, so it is
frozen without a collection (which would cost 0.15 s at 1,000 posts).

**Memory.** The main process drops each doctree's file bytes, which Sphinx would keep to the end,
once the page is resolved, and gives the C heap's free pages back to the system after reading
and after writing (peak resident memory of a 1,000-post clean build 479 → 383 MB).

**A few documents are read in the main process, whatever ``-j`` says.** Sphinx 9 reads in parallel whenever ``-j`` allows it, even a single changed document (older
releases required more than five). Each reader process is forked with the whole environment and
sends the whole environment back pickled, and the main process unpickles and merges it: at 1,000
posts that costs about a second per reader process, against ~70 ms to read one post. The reader
would also load jieba's dictionary for the page's search record, which the main process then
loads again to assemble the index.

So at ``env-before-read-docs`` (after Sphinx has listed what to read, before it decides how) a
read of fewer than :data:`MIN_PARALLEL` documents, or of less than one :data:`PARALLEL_SHARE` of
the site, runs with ``app.parallel`` set to 1; ``env-updated`` (end of reading, before Sphinx
decides how to write) gives it back, so the pages are still written in parallel. The output does
not depend on how the documents were read (tests/test_reproducible.py, test_incremental.py);
tests/test_upstream_contracts.py states the order of those steps in Sphinx's builder.

**A parallel read whose cost grows with the site, not faster.** Sphinx's
own parallel read (``Builder._read_parallel``) merges each reader's environment into the main
process's as soon as the reader ends, and forks the next reader from the main process: every
reader therefore carries, and sends back pickled, everything merged before it was forked, on top
of what it read. Chunks are √(10·documents/processes) documents, so a clean build at 10,000
posts had 45 readers, the later ones sending back nearly the whole environment: the total
pickled, sent and unpickled grew as documents^1.5, and the main process held its environment and
a second, unpickled copy at once. :func:`read_in_parallel` replaces that method: the results are
kept, still pickled, and merged in chunk order once every reader has ended (or sooner, once they
hold more than :data:`HELD_RESULTS_LIMIT` bytes, which only a re-read of many documents of a large
site reaches, since then every reader carries the whole old environment anyway). Every reader is
then forked from the environment as it was before reading. The reading itself is Sphinx's, unchanged
(tests/test_upstream_contracts.py states the method this one stands in for).

**Writing: as many writers as ``-j``, and only a few pages resolved ahead of them.** Sphinx's
``Builder._write_parallel`` resolves every page in the main process and queues it, in chunks, for
a forked writer. Queuing never waits, so the main process resolved every page of the site while
the writers were still at the first chunks, and held all the resolved doctrees until their writer
ended: about 150 KB a page, 150 MB at 1,000 posts and 1.5 GB at 10,000, most of the peak memory.
It also starts one writer fewer than ``-j``, leaving a core to the main process, which after that
burst had nothing to do: on two cores a single process wrote every page.
:func:`write_in_parallel` resolves the next chunk only while fewer than ``-j`` chunks wait for a
writer, and runs ``-j`` writers. Each page is resolved, written and handed to the same events as
before; only the timing changes.

**The environment is saved in a forked process, while the pages are written.** After reading,
Sphinx pickles the whole environment into ``environment.pickle`` before it writes a page: 0.14 s
of an edit at 1,000 posts, 1.2-1.9 s at 10,000, in which the other core has nothing to do. With
``-j``, the pickling of that one object into that one file runs in a forked process instead
(:class:`EnvironmentSavedAside`, what ``sphinx.builders`` calls ``pickle`` during the build): the
fork pickles the environment exactly as it was when Sphinx asked, and ``build-finished`` waits
for it, late, so the file is complete when the build ends, and is removed if the fork failed
(the next build then starts afresh, as Sphinx does with a file it cannot load).
tests/test_upstream_contracts.py states the line of ``Builder.build`` this relies on.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import os
import pickle
import time
import types
from collections.abc import Sequence
from typing import Any

import sphinx.builders
from docutils import nodes
from sphinx.application import ENV_PICKLE_FILENAME, Sphinx
from sphinx.builders import Builder, _write_docname
from sphinx.environment import BuildEnvironment
from sphinx.locale import __
from sphinx.util import logging
from sphinx.util.build_phase import BuildPhase
from sphinx.util.display import status_iterator
from sphinx.util.parallel import ParallelTasks, make_chunks

from . import background, pipeline

logger = logging.getLogger(__name__)

MIN_PARALLEL = 8  # fewer documents than this are read in the main process
PARALLEL_SHARE = 32  # ... and so is any read of less than 1/32 of the site's documents


def reads_serially(to_read: int, documents: int) -> bool:
    return to_read < max(MIN_PARALLEL, documents // PARALLEL_SHARE)


def read_few_documents_serially(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    if app.parallel > 1 and reads_serially(len(docnames), len(env.found_docs)):
        app.__dict__["_kb_parallel"] = app.parallel
        app.parallel = 1


def reads_serially_for_parallel_writing(app: Sphinx) -> bool:
    """True while a few documents are read in the main process of a ``-j`` build."""
    return "_kb_parallel" in app.__dict__


def restore_parallel_writing(app: Sphinx, env: BuildEnvironment) -> list[str]:
    if reads_serially_for_parallel_writing(app):
        app.parallel = app.__dict__.pop("_kb_parallel")
    return []


def pause_the_collector(app: Sphinx, config: object) -> None:
    """``config-inited``, last: Sphinx unpickles the environment next. Each full collection
    during the load walks every object unpickled so far, and the load triggers several: with
    the collector paused, it takes half the time (at 1,000 posts 174 → 85 ms measured alone).
    ``make html`` (scripts/build_site.py) pauses it before importing Sphinx already."""
    gc.disable()


def freeze_the_loaded_environment(app: Sphinx) -> None:
    if app.fresh_env_used:
        gc.collect()  # an environment loaded and then discarded (another version) is garbage
    gc.freeze()  # unpickling makes no garbage: a collection here would walk it all for nothing
    gc.enable()  # reading and writing do make garbage: doctrees are cycles of nodes


def freeze_the_complete_environment(app: Sphinx, env: BuildEnvironment) -> list[str]:
    gc.collect()  # what is garbage now would otherwise be frozen with the rest, and never freed
    gc.freeze()
    release_free_memory()
    return []


def forget_pickled_doctree(app: Sphinx, doctree: object, docname: str) -> None:
    """Sphinx keeps the file bytes of every doctree it loads (``env._pickled_doctree_cache``)
    until the process ends, to unpickle it again without reading the file. Writing in parallel,
    the main process loads every page's doctree once, so that is every doctree of the site held
    to the end: 55 MB at 1,000 posts. Once a page is resolved its bytes are dropped (a later load
    reads the file again)."""
    app.env._pickled_doctree_cache.pop(docname, None)


@functools.cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc
    except (OSError, AttributeError):
        return None


def release_free_memory(*args: object) -> list[str]:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere
    nothing). The main process frees most of what it allocates to write a page (the doctree's
    bytes, the page's HTML), but glibc keeps freed pages that lie between live ones: 80 of the
    main process's 330 MB after writing 1,000 posts. Called once reading is over and once the
    documents are written."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    return []


HELD_RESULTS_LIMIT = 512 * 1024 * 1024  # pickled reader results kept before merging (bytes)


def read_in_parallel(builder: Builder, docnames: list[str], nproc: int) -> None:
    """``Builder._read_parallel``, with the readers' results merged once all have ended (see the
    module's docstring)."""
    chunks = make_chunks(docnames, nproc)
    progress = status_iterator(
        chunks, __("reading sources... "), "purple", len(chunks), builder.config.verbosity
    )
    for docname in docnames:  # as Sphinx: every outdated document cleared at once, first
        builder.events.emit("env-purge-doc", builder.env, docname)
        builder.env.clear_doc(docname)

    def read(docs: list[str]) -> bytes:  # in a forked reader process
        builder.env._app = builder._app
        for docname in docs:
            builder.read_doc(docname, _cache=False)
        return pickle.dumps(builder.env, pickle.HIGHEST_PROTOCOL)

    held: dict[int, bytes] = {}

    def merge_held() -> None:
        for number in sorted(held):
            env = pickle.loads(held.pop(number))
            builder.env.merge_info_from(chunks[number], env, builder._app)
            del env
            next(progress)

    def received(number: int, docs: list[str], result: bytes) -> None:
        held[number] = result
        if sum(map(len, held.values())) > HELD_RESULTS_LIMIT:
            merge_held()

    tasks = ParallelTasks(nproc)
    for number, chunk in enumerate(chunks):
        tasks.add_task(read, chunk, functools.partial(received, number))
    tasks.join()
    merge_held()
    logger.info("")


def write_in_parallel(builder: Builder, docnames: Sequence[str], nproc: int) -> None:
    """``Builder._write_parallel``, with at most ``app.parallel`` chunks resolved and waiting for a
    writer, and as many writers as ``-j`` (see the module's docstring). ``nproc`` is Sphinx's
    number of writers, one fewer than ``-j``; it is not used."""
    writers = builder._app.parallel

    def write(docs: list[tuple[str, nodes.document]]) -> None:  # in a forked writer process
        builder.phase = BuildPhase.WRITING
        for docname, doctree in docs:
            builder.write_doc(docname, doctree)

    first, rest = docnames[0], docnames[1:]  # as Sphinx: the first page warms the caches
    _write_docname(first, env=builder.env, builder=builder, tags=builder.tags)
    tasks = ParallelTasks(writers)
    chunks = make_chunks(rest, writers)
    progress = status_iterator(
        chunks, __("writing output... "), "darkgreen", len(chunks), builder.config.verbosity
    )
    written = 0

    def done(docs: list[tuple[str, nodes.document]], result: None) -> None:
        nonlocal written
        written += 1
        next(progress)

    builder.phase = BuildPhase.RESOLVING
    try:
        for number, chunk in enumerate(chunks):
            while number - written >= 2 * writers:  # every writer busy and as many chunks waiting
                if not tasks._join_one():
                    time.sleep(0.02)
            resolved = []
            for docname in chunk:
                doctree = builder.env.get_and_resolve_doctree(docname, builder, tags=builder.tags)
                builder.write_doc_serialized(docname, doctree)
                resolved.append((docname, doctree))
            tasks.add_task(write, resolved, done)
    except BaseException:
        tasks.terminate()
        raise
    tasks.join()
    logger.info("")


def use_own_parallel_read_and_write(app: Sphinx) -> None:
    """``builder-inited``: the builder reads and writes in parallel with :func:`read_in_parallel`
    and :func:`write_in_parallel`."""
    app.builder._read_parallel = types.MethodType(read_in_parallel, app.builder)  # type: ignore[method-assign]
    app.builder._write_parallel = types.MethodType(write_in_parallel, app.builder)  # type: ignore[method-assign]


SAVE_ENVIRONMENT = "environment.pickle"  # the forked process that saves it (kb.background)


class EnvironmentSavedAside:
    """``pickle`` as ``sphinx.builders`` sees it during a ``-j`` build: the standard module, except
    that dumping the build's environment into its ``environment.pickle`` starts a forked process
    that does it (see the module's docstring)."""

    def __init__(self, app: Sphinx) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(pickle, name)

    def dump(self, obj: object, file: Any, protocol: int | None = None, **options: Any) -> None:
        if obj is not self.app.env or os.path.basename(getattr(file, "name", "")) != ENV_PICKLE_FILENAME:
            pickle.dump(obj, file, protocol, **options)
            return

        def save() -> None:  # in the fork: its copy of the open file, nothing written to it yet
            pickle.dump(obj, file, protocol, **options)
            file.flush()

        self.app.__dict__["_kb_saving_environment"] = file.name
        background.start(self.app, SAVE_ENVIRONMENT, save)


def save_environment_aside(app: Sphinx) -> None:
    """``builder-inited``: with ``-j``, the environment is saved by a forked process."""
    if background.can_fork(app):
        sphinx.builders.pickle = EnvironmentSavedAside(app)  # type: ignore[assignment]


def wait_for_the_saved_environment(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``, late: the forked process has written the whole file (or the file is
    removed, and its error raised)."""
    if isinstance(sphinx.builders.pickle, EnvironmentSavedAside):
        sphinx.builders.pickle = pickle
    path = app.__dict__.pop("_kb_saving_environment", None)
    try:
        background.wait(app, SAVE_ENVIRONMENT)
    except BaseException:
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)
        raise


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-before-read-docs", read_few_documents_serially, priority=pipeline.READ_FEW_SERIALLY)
    app.connect("env-updated", restore_parallel_writing, priority=pipeline.RESTORE_PARALLEL_WRITING)
    app.connect("config-inited", pause_the_collector, priority=pipeline.PAUSE_THE_COLLECTOR)
    app.connect(
        "builder-inited", freeze_the_loaded_environment, priority=pipeline.FREEZE_THE_LOADED_ENVIRONMENT
    )
    app.connect("builder-inited", use_own_parallel_read_and_write)
    app.connect("env-updated", freeze_the_complete_environment, priority=pipeline.FREEZE_THE_ENVIRONMENT)
    app.connect("doctree-resolved", forget_pickled_doctree)
    app.connect("html-collect-pages", release_free_memory)
    app.connect("builder-inited", save_environment_aside)
    app.connect("build-finished", wait_for_the_saved_environment, priority=pipeline.SAVE_THE_ENVIRONMENT)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
