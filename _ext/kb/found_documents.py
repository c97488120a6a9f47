"""Sphinx's search for the site's documents, kept from build to build.

Every build starts with ``Project.discover``: Sphinx walks the source folder and matches the path
of every file and folder against the include and exclude patterns, 0.04-0.08 s of each build of
the benchmark's 1,000-post site. What it finds changes only when a folder's entries change: a
file added, removed or renamed changes its folder's modification time; editing a file does not.

So the walk here keeps, beside the doctrees, each folder's modification time with the files the
patterns keep in it (and their document names) and the subfolders walked. A later build lists
and matches again only the folders whose time changed (an editor that saves by writing a new file
and renaming it changes one folder), and takes the rest as they were: 0.015 s at 1,000 posts. A
folder modified less than :data:`RECENT_NS` before it was listed is listed again next time: a
change in the same tick of the file system's clock would leave its time as it was (git's "racy"
rule).

The walk is the one of ``sphinx.util.matching.get_matching_files`` (``os.walk`` following
links, files and folders in name order, excluded folders pruned, the same matchers on the same
normalised paths), then ``Project.discover``'s own steps for each file.
``tests/test_upstream_contracts.py`` compares the two on trees with excluded folders, links,
other suffixes and changes between builds. Where Sphinx would warn (two files for one document,
an unreadable file), its own method runs instead, so the warning is its own.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sphinx
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.project import EXCLUDE_PATHS, Project
from sphinx.util.matching import _unicode_nfc, compile_matchers

CACHE_FILE = "kb-found-documents.pickle"
KEPT_BESIDE_DOCTREES = (CACHE_FILE,)
VERSION = 1
RECENT_NS = 2_000_000_000  # a folder changed this recently is listed again by the next build

Folder = tuple  # (mtime_ns or -1, ((path, docname or None), ...), (subfolder name, ...))


def discover(
    project: Project,
    exclude_paths: Iterable[str] = (),
    include_paths: Iterable[str] = ("**",),
    *,
    cache_path: Path,
) -> set[str]:
    """``project.discover(exclude_paths, include_paths)``, from the folders kept in
    ``cache_path`` where they have not changed (see the module's docstring)."""
    excluded = [*exclude_paths, *EXCLUDE_PATHS]
    included = list(include_paths)
    # An absolute pattern matches no path relative to the source folder: it is left out of the
    # key (sphinxcontrib-katex adds a new temporary folder to the static paths every build).
    relative = [pattern for pattern in excluded if not os.path.isabs(pattern)]
    key = (VERSION, sphinx.__version__, str(project.srcdir), relative, included, project.source_suffix)
    kept = _load(cache_path, key)
    project.docnames.clear()  # as Project.discover does: path2doc then looks at the suffix only
    project._path_to_docname.clear()
    project._docname_to_path.clear()
    root = str(Path(project.srcdir).resolve())
    matchers = compile_matchers(excluded), compile_matchers(included)
    folders: dict[str, Folder] = {}
    found = list(_walk(project, root, "", kept, folders, matchers))
    docnames: dict[str, str] = {}
    for filename, docname in found:
        if docname in docnames or not os.access(os.path.join(root, filename), os.R_OK):
            return Project.discover(project, exclude_paths, include_paths)  # Sphinx warns
        docnames[docname] = filename
    for docname, filename in docnames.items():
        path = Path(filename)
        project.docnames.add(docname)
        project._path_to_docname[path] = docname
        project._docname_to_path[docname] = path
    if folders != kept:
        _save(cache_path, key, folders)
    return project.docnames


def _walk(
    project: Project,
    root: str,
    relative: str,
    kept: dict[str, Folder],
    folders: dict[str, Folder],
    matchers: tuple[list[Any], list[Any]],
) -> Iterator[tuple[str, str]]:
    """The documents under the folder ``relative``, as ``get_matching_files`` walks it: its
    files, then each subfolder's, in name order. Each folder walked goes into ``folders``."""
    path = os.path.join(root, relative) if relative else root
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return  # os.walk skips a folder it cannot list
    folder = kept.get(relative)
    if folder is None or folder[0] != mtime:
        folder = _list(project, path, relative, mtime, matchers)
    folders[relative] = folder
    for filename, docname in folder[1]:
        if docname is not None:
            yield filename, docname
    for name in folder[2]:
        yield from _walk(project, root, _joined(relative, name), kept, folders, matchers)


def _list(
    project: Project, path: str, relative: str, mtime: int, matchers: tuple[list[Any], list[Any]]
) -> Folder:
    """One folder as ``get_matching_files`` sees it: the files the patterns keep, with their
    document names (``path2doc``), and the subfolders not excluded, each in name order."""
    excluded, included = matchers
    files: list[str] = []
    subfolders: list[str] = []
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    is_dir = entry.is_dir()  # following links, as os.walk does
                except OSError:
                    is_dir = False
                (subfolders if is_dir else files).append(entry.name)
    except OSError:
        files, subfolders = [], []
    kept_files = []
    for name in sorted(files):
        filename = _unicode_nfc(_joined(relative, name))
        if any(match(filename) for match in included) and not any(match(filename) for match in excluded):
            kept_files.append((filename, project.path2doc(filename)))
    walked = [
        name
        for name in sorted(subfolders)
        if not any(match(_unicode_nfc(_joined(relative, name))) for match in excluded)
    ]
    recent = time.time_ns() - mtime < RECENT_NS
    return (-1 if recent else mtime, tuple(kept_files), tuple(walked))


def _joined(relative: str, name: str) -> str:
    """The path of ``name`` in the folder ``relative`` ("" for the source folder), as Sphinx's
    matchers see it: relative, with ``/``."""
    return f"{relative}/{name}" if relative else name


def _load(path: Path, key: tuple) -> dict[str, Folder]:
    try:
        stored = pickle.loads(path.read_bytes())
    except Exception:  # missing or damaged: every folder is listed
        return {}
    if not isinstance(stored, dict) or stored.get("key") != key:
        return {}
    folders = stored.get("folders")
    return folders if isinstance(folders, dict) else {}


def _save(path: Path, key: tuple, folders: dict[str, Folder]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(pickle.dumps({"key": key, "folders": folders}, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(temporary, path)


def use_kept_folders(app: Sphinx) -> None:
    """``builder-inited``: this build's search for documents is :func:`discover`."""

    def kept_discover(exclude_paths: Iterable[str] = (), include_paths: Iterable[str] = ("**",)) -> set[str]:
        return discover(
            app.project, exclude_paths, include_paths, cache_path=Path(app.doctreedir) / CACHE_FILE
        )

    app.project.discover = kept_discover  # type: ignore[method-assign]


def forget_kept_folders(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """``env-get-outdated``, right after the search: the project (saved with the environment)
    gets Sphinx's method back."""
    app.project.__dict__.pop("discover", None)
    return []


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", use_kept_folders)
    app.connect("env-get-outdated", forget_kept_folders)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
