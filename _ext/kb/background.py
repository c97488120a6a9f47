"""Work a build starts in a forked process and waits for later, with ``-j``.

Some steps need only what the build already knows and write files nothing reads until the
build's end: the search index (from the end of reading), the Atom feeds, KaTeX's font subsets.
With ``-j`` each runs in a forked process (Sphinx's ``ParallelTasks``, so its log records and
errors reach the main process when it is waited for) while the main process goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sphinx.application import Sphinx
from sphinx.util.parallel import ParallelTasks, parallel_available


def can_fork(app: Sphinx) -> bool:
    """Whether this build runs with ``-j`` where forked processes are available."""
    return app.parallel > 1 and parallel_available


def start(app: Sphinx, name: str, work: Callable[[], Any], done: Callable[[Any], None] | None = None) -> None:
    """Run ``work`` in a forked process; :func:`wait` for ``name`` waits for it and then calls
    ``done`` with its result, in this process."""
    tasks = ParallelTasks(1)
    tasks.add_task(work, None, None if done is None else lambda _arg, result: done(result))
    app.__dict__.setdefault("_kb_background", {})[name] = tasks


def wait(app: Sphinx, name: str) -> bool:
    """Wait for the work started as ``name`` (its log records are emitted here, as if it had run
    in this process, and its error raised); False when none was started."""
    tasks = app.__dict__.get("_kb_background", {}).pop(name, None)
    if tasks is None:
        return False
    tasks.join()
    return True
