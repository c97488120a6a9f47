"""Pickles beside the doctrees that ``make livehtml``'s server loads between builds.

A build reads a few large pickles it wrote itself the time before: the search records
(13 MB at 1,000 posts, 0.1-0.18 s to unpickle, in the index's fork) and the stylesheet trim's
page registry (1.5 MB, 0.025 s, in the main process). ``make livehtml`` forks each build from a
server that waits while the author reads (``scripts/livehtml.py``): after a build, the server
calls :func:`preload`, which unpickles the registered files (:func:`register`), and a build
forked from it takes the server's object from :func:`load` while the file still has the stamp
it had then (size, modification time, inode). A fork changes its own copy only. Any other
process (``make html``) unpickles the file in :func:`load`, and so does a build when the file
is larger than :data:`MAX_BYTES` (memory the server would hold between builds).
"""

from __future__ import annotations

import gc
import os
import pickle
from pathlib import Path
from typing import Any

Stamp = tuple[int, int, int]

FILES: set[str] = set()  # names beside the doctrees (register)
# Larger files are left to each build: unpickled, a file takes about six times its size in the
# server (the search records: 13 MB on disk, 58 MB held at 1,000 posts; ten times that at 10,000).
MAX_BYTES = 32 * 1024 * 1024
_kept: dict[str, tuple[Stamp, Any]] = {}  # path -> (its stamp when unpickled, the object)


def register(name: str) -> None:
    """Have the server preload the file ``name`` of the doctree folder for the next build."""
    FILES.add(name)


def _stamp(path: Path | str) -> Stamp | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _unpickle(path: Path | str) -> Any:
    data = Path(path).read_bytes()
    gc.disable()  # unpickling makes no garbage: a collection meanwhile walks it for nothing
    try:
        return pickle.loads(data)
    finally:
        gc.enable()


def load(path: Path | str) -> Any:
    """What ``path`` holds, unpickled; the server's copy when it has one of this very file.
    Raises what reading or unpickling raises."""
    kept = _kept.get(str(path))
    if kept is not None and kept[0] == _stamp(path):
        return kept[1]
    return _unpickle(path)


def preload(doctreedir: Path | str) -> int:
    """In the server, after a build: unpickle each registered file of ``doctreedir`` that
    changed since the server last did, unless it is larger than :data:`MAX_BYTES` (a missing,
    damaged or large one is forgotten: the build reads it and decides). The objects are moved
    out of the collector's sight (``gc.freeze``): they hold no cycles, so the copies they
    replace are freed all the same. Returns how many files the server holds."""
    for name in sorted(FILES):
        path = str(Path(doctreedir) / name)
        stamp = _stamp(path)
        kept = _kept.get(path)
        if stamp is not None and kept is not None and kept[0] == stamp:
            continue
        _kept.pop(path, None)
        if stamp is None or stamp[1] > MAX_BYTES:
            continue
        try:
            value = _unpickle(path)
        except Exception:
            continue
        if _stamp(path) == stamp:  # not written again meanwhile
            _kept[path] = (stamp, value)
    gc.freeze()
    return len(_kept)
