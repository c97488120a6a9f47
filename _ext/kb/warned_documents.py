"""A document that gave a warning is read again by the next build, so its warning is given again.

Sphinx reports a document's warnings only in the build that reads it (sphinx-doc/sphinx#725).
With ``-W --keep-going`` (``make html``) it still saves the environment of a build that failed,
so running ``make html`` again, with nothing changed, read nothing, warned about nothing and
*succeeded*: a broken formula or a dangling link failed the build once and then passed.

Here a logging handler notes, during the build, the document of every warning Sphinx reports (a
suppressed warning does not count). At ``build-finished`` the list goes beside the doctrees;
the next build adds those documents to what it reads (``env-get-outdated``), so each warning is
reported again, with its ``file:line``, until its cause is gone. A warning located in a file
that is not a document (an included file) counts for the documents that depend on it. A
warning with no place, given while documents were read, checked or written, makes the next
build read every document; one given before reading or at ``build-finished`` is not counted,
since those steps run in every build and give it again anyway.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging as sphinx_logging

from . import pipeline

WARNED = "kb-warned-documents.json"  # beside the doctrees
EVERY_DOCUMENT = "*"


class WarnedDocuments(logging.Handler):
    """Notes the document of every warning Sphinx reports while it is :attr:`active`."""

    def __init__(self, app: Sphinx) -> None:
        super().__init__(logging.WARNING)
        self.app = app
        self.active = False  # between the start of reading and build-finished
        self.documents: set[str] = set()
        self.unplaced = False
        self.addFilter(sphinx_logging.WarningSuppressor(app))  # suppress_warnings

    def emit(self, record: logging.LogRecord) -> None:
        if not self.active:
            return
        found = documents_of(self.app.env, getattr(record, "location", None))
        if found:
            self.documents.update(found)
        else:
            self.unplaced = True


def documents_of(env: BuildEnvironment, location: object) -> set[str]:
    """The documents a warning's location points at: a docname, ``(docname, line)``, a node, or
    ``path[:line]`` as Sphinx writes it (a document's source, or a file documents depend on)."""
    if isinstance(location, tuple):
        location = location[0]
    elif isinstance(location, nodes.Node):
        location = sphinx_logging.get_node_location(location)
    if not isinstance(location, str) or not location:
        return set()
    if location in env.all_docs:
        return {location}
    path = location
    head, _, tail = location.rpartition(":")
    if head and (tail.isdigit() or tail == "<translated>"):
        path = head
    docname = env.path2doc(path)
    if docname is not None:
        return {docname}
    resolved = Path(path).resolve()
    srcdir = Path(env.srcdir)
    return {
        docname
        for docname, dependencies in env.dependencies.items()
        if any((srcdir / dependency).resolve() == resolved for dependency in dependencies)
    }


def _handler(app: Sphinx) -> WarnedDocuments:
    return app.__dict__["_kb_warned_documents"]


def start_noting(app: Sphinx) -> None:
    """``builder-inited``: attach the handler to Sphinx's logger."""
    handler = WarnedDocuments(app)
    app.__dict__["_kb_warned_documents"] = handler
    logging.getLogger(sphinx_logging.NAMESPACE).addHandler(handler)


def read_warned_documents_again(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """``env-get-outdated``: the documents the last build warned about, read again."""
    _handler(app).active = True
    try:
        warned = json.loads((Path(app.doctreedir) / WARNED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(warned, list):
        return []
    if EVERY_DOCUMENT in warned:
        return sorted(env.found_docs)
    return sorted(set(warned) & env.found_docs)


def stop_noting(app: Sphinx, exception: BaseException | None) -> None:
    """``build-finished``, first of its handlers: save what this build warned about (or remove
    the list when nothing), and stop noting: later handlers run in every build."""
    handler = _handler(app)
    handler.active = False
    logging.getLogger(sphinx_logging.NAMESPACE).removeHandler(handler)
    warned = sorted(handler.documents) + ([EVERY_DOCUMENT] if handler.unplaced else [])
    path = Path(app.doctreedir) / WARNED
    if warned:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(warned, ensure_ascii=False), encoding="utf-8")
    else:
        path.unlink(missing_ok=True)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", start_noting)
    app.connect("env-get-outdated", read_warned_documents_again)
    app.connect("build-finished", stop_noting, priority=pipeline.SAVE_WARNED_DOCUMENTS)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
