"""Each page's "last updated" date: the newest commit of its source or of a file it includes,
found with one ``git log`` per build.

sphinx-last-updated-by-git, which this replaces, runs Git (two or three processes) once per
folder of sources, since each folder could be another repository. Every post here has a folder
of its own: a clean build at 1,000 posts started ~3,000 Git processes (4 s), and each
``git log`` walks the history back to its folder's last change, so the cost grows with posts
times commits as the site ages. Here one ``git log`` over the history is read until every file
asked for has been seen, once per build that read a page.

What a page gets, as before: ``last_updated`` in the template context (``html_last_updated_fmt``,
in ``kb_timezone``), shown in the footer; ``<meta property="article:modified_time">``; and
``env.kb_last_updated`` (docname -> seconds) for the sitemap. A file Git does not know (a
tarball, a file not committed yet) gives no date, and neither does a file whose newest commit is
the boundary of a shallow clone (its real date is in history the clone lacks): no date rather
than a wrong one. Sphinx's own ``last_updated`` (the build's date) is never shown.
"""

from __future__ import annotations

import posixpath
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.i18n import format_date

from ..cross_page import track_per_document

logger = logging.getLogger(__name__)

LOG = [
    "git",
    "log",
    "--pretty=format:%x01%at%x00%P",  # \x01, author time, NUL, parents; then the files
    "--name-only",
    "-z",
    "-m",  # a merge lists what it changed against each parent
    "--no-renames",
    "--relative",  # paths relative to the source folder; files outside it are left out
    "--author-date-order",
    "--no-show-signature",
]


def _git(srcdir: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=srcdir, capture_output=True, text=True)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def newest_commits(srcdir: Path, files: set[str]) -> dict[str, int | None]:
    """For each of ``files`` (paths relative to ``srcdir``, ``/``-separated) that Git knows, the
    author time of the newest commit that touched it, or None where that commit is a shallow
    clone's boundary. Files Git does not know are left out."""
    if not files or _git(srcdir, "rev-parse", "--is-inside-work-tree") != "true":
        return {}
    wanted = {name.encode("utf-8"): name for name in files}
    found: dict[str, int | None] = {}
    shallow: list[bool] = []

    def take(record: bytes) -> None:
        header, _, names = record.partition(b"\n")
        stamp, _, parents = header.partition(b"\0")
        for name in names.split(b"\0"):
            if name in wanted and wanted[name] not in found:
                if not parents.strip():  # a root commit, or the boundary of a shallow clone
                    if not shallow:
                        shallow.append(_git(srcdir, "rev-parse", "--is-shallow-repository") == "true")
                    found[wanted[name]] = None if shallow[0] else int(stamp)
                else:
                    found[wanted[name]] = int(stamp)

    with subprocess.Popen(LOG, cwd=srcdir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as process:
        assert process.stdout is not None
        pending = b""
        for chunk in iter(lambda: process.stdout.read(1 << 16), b""):
            *records, pending = (pending + chunk).split(b"\x01")
            for record in records:
                take(record)
            if len(found) == len(wanted):
                process.terminate()  # the rest of the history is older
                break
        else:
            take(pending)
    return found


def _sources(env: BuildEnvironment, docname: str) -> set[str]:
    """The document's source and the files it depends on, relative to the source folder."""
    paths = {str(env.doc2path(docname, False)), *map(str, env.dependencies.get(docname, ()))}
    normal = {posixpath.normpath(path.replace("\\", "/")) for path in paths}
    return {path for path in normal if not path.startswith("../")}


def date_pages(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """``env-updated``: the date of every page read since the last build (and of any without)."""
    missing = sorted(docname for docname in env.found_docs if docname not in env.kb_last_updated)
    if not missing:
        return []
    sources = {docname: _sources(env, docname) for docname in missing}
    commits = newest_commits(Path(app.srcdir), set().union(*sources.values()))
    for docname in missing:
        stamps = [commits.get(path) for path in sources[docname]]
        known = [stamp for stamp in stamps if stamp is not None]
        # A file whose date a shallow clone hides may be the newest: then no date at all.
        hidden = any(path in commits and commits[path] is None for path in sources[docname])
        env.kb_last_updated[docname] = None if hidden or not known else max(known)
    return []


def last_updated(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """``html-page-context``: the page's date in its footer and metadata, or none."""
    context["last_updated"] = None  # never the build's own date, which Sphinx puts there
    stamp = getattr(app.env, "kb_last_updated", {}).get(pagename)
    if stamp is None or not app.config.html_last_updated_fmt:
        return
    date = datetime.fromtimestamp(stamp, ZoneInfo(app.config.kb_timezone))
    context["last_updated"] = format_date(
        app.config.html_last_updated_fmt, date=date, language=app.config.language
    )
    context["metatags"] = (
        context.get("metatags", "")
        + f'\n    <meta property="article:modified_time" content="{date.isoformat()}" />'
    )


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.blog.drafts")  # kb_timezone
    track_per_document(app, "kb_last_updated")  # docname -> author time of its newest commit, or None
    app.connect("env-updated", date_pages)
    app.connect("html-page-context", last_updated)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
