"""``make html``: ``sphinx-build -M``, not started at all when nothing it reads has changed.

Sphinx finds out by itself that nothing changed, but only after importing itself, the theme,
ABlog, our extensions, NumPy and jieba, and unpickling the environment: 1.5 s at 1,000 posts and
9 s at 10,000 (README, performance), to write the same bytes again. This script answers the
same question from file stamps alone, in milliseconds, the way ``make`` does.

After a build that **succeeded**, it saves a fingerprint of everything the build depends on:

* the size and modification time of every file under the source directory (links to folders
  followed), except the build directory, folders named ``_build``, ``node_modules`` or
  ``__pycache__``, folders whose name starts with a dot (Git, the virtualenvs, tool caches) and
  the compiled translations (``.mo``, made by the build from the ``.po`` files, which count);
* the installed packages: the virtualenv's ``site-packages`` folder (its time changes whenever
  pip adds or removes a package) and npm's ``node_modules/.package-lock.json``;
* the Python interpreter, the Sphinx options, and the environment variables the configuration
  and the extensions read (:data:`ENVIRONMENT`; ``tests/test_build_site.py`` checks that every
  variable read in ``conf.py`` and ``_ext/`` is listed);
* which files the output has (the modification time of each of its folders, which changes
  when a file in it is added, removed or renamed), so that a page deleted by hand starts
  Sphinx, which writes a missing page again (it does not write again a page edited by hand,
  and neither does this); and the stamps of the doctree folder's own files and folders (the
  environment, the extensions' caches), not of everything in them.

The next run compares and skips ``sphinx-build`` only when all of it is the same, and the
clock has not reached the date of a scheduled post (which the build leaves out until then:
``kb.blog.drafts`` writes the earliest such date beside the doctrees). A build that failed saves
nothing, so the next run builds again and fails again: a warning is never hidden by a skip. The
input stamps are taken before the build and again after it; a file edited while Sphinx ran
saves nothing either. ``-a``, ``-E`` (or ``--write-all``, ``--fresh-env``) always build.

Usage: ``python scripts/build_site.py BUILDER SOURCEDIR BUILDDIR [sphinx-build options]``, the
arguments of ``sphinx-build -M``.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sys
import sysconfig
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

# Environment variables that change what the build writes: conf.py's canonical URL on Read the
# Docs, the build date of drafts.py (scheduled posts), and Python's own (hash seed, paths).
ENVIRONMENT = ("READTHEDOCS_CANONICAL_URL", "SOURCE_DATE_EPOCH", "PYTHONHASHSEED", "PYTHONPATH")
# Folders whose files the build never reads: npm's packages (their lock file counts), Python's
# byte code, and every folder named ``_build`` (conf.py excludes it: a ``DRAFTS=1`` preview is
# built into ``_build/preview``, beside the output of ``make html``, which it must not watch).
IGNORED = ("node_modules", "__pycache__", "_build")
# Files the build itself makes in the source folder: Sphinx compiles the translations'
# ``.po`` (which count) into ``.mo`` (which do not) in the first build.
COMPILED = (".mo",)
# Options after which sphinx-build rebuilds everything whatever the stamps say.
FORCING = ("-a", "-E", "--write-all", "--fresh-env")
# Written by kb.blog.drafts into the doctrees: the earliest scheduled post's date (seconds).
SCHEDULED = "kb-next-scheduled.json"
STATE_VERSION = 1


def _stamps(
    folder: Path, skip: frozenset[str] = frozenset(), suffixes: tuple[str, ...] = ()
) -> Iterator[str]:
    """``path size mtime_ns`` of every file under ``folder``, leaving out folders named in
    ``skip`` or starting with a dot, and files ending in one of ``suffixes``. Links to folders
    are followed (as Sphinx follows them looking for sources), each folder once."""
    stack = [folder]
    seen = {os.path.realpath(folder)}
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda entry: entry.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.is_dir():
                real = os.path.realpath(entry.path)
                if not (
                    entry.name.startswith(".") or entry.path in skip or entry.name in skip or real in seen
                ):
                    seen.add(real)
                    stack.append(Path(entry.path))
                continue
            if suffixes and entry.name.endswith(suffixes):
                continue
            try:
                stat = entry.stat()
            except FileNotFoundError:
                continue  # removed while we looked
            yield f"{entry.path}\0{stat.st_size}\0{stat.st_mtime_ns}"


def _folders(folder: Path) -> Iterator[str]:
    """``path mtime_ns`` of ``folder`` and of every folder under it."""
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                stack.extend(Path(entry.path) for entry in entries if entry.is_dir(follow_symlinks=False))
            yield f"{current}\0{os.stat(current).st_mtime_ns}"
        except (FileNotFoundError, NotADirectoryError):
            yield f"{current}\0missing"


def _top(folder: Path) -> Iterator[str]:
    """``path size mtime_ns`` of ``folder`` and of each file and folder directly in it."""
    yield _stat(folder)
    try:
        with os.scandir(folder) as entries:
            yield from sorted(_stat(Path(entry.path)) for entry in entries)
    except (FileNotFoundError, NotADirectoryError):
        pass


def _stat(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return f"{path}\0missing"
    return f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}"


def _digest(lines: Iterator[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


def inputs(srcdir: Path, builddir: Path, options: Sequence[str], environ: Mapping[str, str]) -> str:
    """The fingerprint of what the build reads (see the module's docstring)."""
    skip = frozenset({*IGNORED, os.path.abspath(builddir)})
    settings = [
        sys.executable,
        sys.version,
        *options,
        *(f"{name}={environ.get(name)}" for name in ENVIRONMENT),
        _stat(Path(sysconfig.get_paths()["purelib"])),
        _stat(srcdir / "node_modules" / ".package-lock.json"),
    ]
    return _digest(iter([*settings, *_stamps(srcdir.absolute(), skip, COMPILED)]))


def outputs(builddir: Path, builder: str) -> str:
    """The fingerprint of the build's output and doctrees (see the module's docstring). Stamps
    of every file there would cost a second at 10,000 posts (doctrees: six files per post)."""
    return _digest(
        iter([*_folders((builddir / builder).absolute()), *_top((builddir / "doctrees").absolute())])
    )


def scheduled(builddir: Path) -> float | None:
    """The earliest date (seconds since 1970) at which the clock alone changes the output."""
    try:
        value = json.loads((builddir / "doctrees" / SCHEDULED).read_text(encoding="utf-8"))["next"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def state_file(builddir: Path, builder: str) -> Path:
    return builddir / f".kb-build-{builder}.json"


def is_current(
    builder: str,
    srcdir: Path,
    builddir: Path,
    options: Sequence[str],
    environ: Mapping[str, str],
    now: float,
    sources: str | None = None,
) -> tuple[bool, str]:
    """Whether the last successful build's output is what a build now would write, and why
    (or why not). ``sources``: :func:`inputs` of these arguments, when already computed."""
    if any(option in FORCING for option in options):
        return False, "rebuild forced"
    try:
        saved = json.loads(state_file(builddir, builder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False, "no successful build recorded"
    if not isinstance(saved, dict) or saved.get("version") != STATE_VERSION:
        return False, "no successful build recorded"
    due = saved.get("scheduled")
    if isinstance(due, int | float) and now >= due:
        return False, "a scheduled post is due"
    if saved.get("inputs") != (sources or inputs(srcdir, builddir, options, environ)):
        return False, "sources changed"
    if saved.get("outputs") != outputs(builddir, builder):
        return False, "output changed"
    return True, "nothing Sphinx reads has changed since the last successful build"


def build_date(environ: Mapping[str, str]) -> float:
    """Now, as kb.blog.drafts sees it: ``SOURCE_DATE_EPOCH`` when set, else the clock."""
    epoch = environ.get("SOURCE_DATE_EPOCH")
    return float(epoch) if epoch else time.time()


def main(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> int:
    if len(argv) < 3:
        sys.exit("usage: build_site.py BUILDER SOURCEDIR BUILDDIR [sphinx-build options]")
    builder, srcdir, builddir, options = argv[0], Path(argv[1]), Path(argv[2]), list(argv[3:])
    before = inputs(srcdir, builddir, options, environ)  # also what the build will have read
    current, why = is_current(builder, srcdir, builddir, options, environ, build_date(environ), before)
    if current:
        print(f"{builddir / builder}: {why}; sphinx-build not run (`make clean html` builds from nothing)")
        return 0
    state = state_file(builddir, builder)
    state.unlink(missing_ok=True)

    # Sphinx, its extensions and the environment are loaded with the garbage collector paused
    # (they make no garbage, and each full collection walks everything loaded so far);
    # kb.rebuilds starts it again at builder-inited, once the environment is loaded.
    gc.disable()
    try:
        from sphinx.cmd.build import main as sphinx_build  # after the check: the import is the cost

        status = sphinx_build(["-M", builder, str(srcdir), str(builddir), *options])
    finally:
        gc.enable()
    if status == 0 and inputs(srcdir, builddir, options, environ) == before:
        saved = {
            "version": STATE_VERSION,
            "inputs": before,
            "outputs": outputs(builddir, builder),
            "scheduled": scheduled(builddir),
        }
        state.write_text(json.dumps(saved), encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
