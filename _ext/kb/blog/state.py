"""What the blog's incremental writer remembers between builds, and the clean-up it leaves.

The collection pages and feeds of :mod:`kb.blog.collections` and :mod:`kb.blog.feeds` are each
written only when a key of what they show changed; the keys of the last build are kept in a
:class:`State` beside the doctrees. After a build, the outputs of removed posts and of
collections that no longer exist are deleted, so an incremental build leaves the same files as
a clean one.
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

from .bodies import BODIES_DIR, StoredBody

STATE_FILE = "kb_blog_incremental.pickle"
# Each post's serialised Atom entry (with its full text: 40 MB at 1,000 posts), one file per post
# and kind, read only when a feed that lists the post is written.
ENTRIES_DIR = "kb_feed_entries"
KEPT_BESIDE_DOCTREES = (STATE_FILE, ENTRIES_DIR + "/")
STATE_VERSION = 8  # 4: feed entries serialised one by one, in files; 5: formulas as MathML;
# 6: figures in their light copy alone; 7: the collections' key; 8: the feeds' posts' keys


@dataclass
class State:
    """What the previous build wrote; kept in the doctree directory between builds."""

    version: int = STATE_VERSION
    site_key: str = ""
    listing_key: str = ""
    collections_key: str = ""  # every collection page unchanged while it is (collections.py)
    pages: dict[str, str] = field(default_factory=dict)  # collection pagename -> key
    entries: dict[tuple[str, str, bool], str] = field(default_factory=dict)  # feed entry -> key
    feeds: dict[str, str] = field(default_factory=dict)  # feed file (relative) -> key
    feeds_base: str = ""  # what every feed's key shares (feeds.py): the feeds are as listed
    post_keys: dict[str, tuple] = field(default_factory=dict)  # post name -> its post_key in feeds


def digest(*parts: Any) -> str:
    return hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()


def state_path(app: Sphinx) -> Path:
    return Path(app.doctreedir) / STATE_FILE


def load_state(app: Sphinx) -> None:
    state = State()
    path = state_path(app)
    if path.is_file():
        try:
            loaded = pickle.loads(path.read_bytes())
            if isinstance(loaded, State) and loaded.version == STATE_VERSION:
                state = loaded
        except Exception:  # a damaged state only costs a full regeneration
            state = State()
    app._kb_state = state
    app._kb_written = set()  # collection pages and feeds this build
    app._kb_removed = set()  # docs removed since the last build
    app._kb_excerpts = {}  # (docname, section) -> excerpt digest
    StoredBody.directory = Path(app.doctreedir) / BODIES_DIR


def entry_path(app: Sphinx, docname: str, section: str, fulltext: bool) -> Path:
    kind = "full" if fulltext else "summary"
    return Path(app.doctreedir) / ENTRIES_DIR / docname / f"{section or '_'}.{kind}.xml"


def _built_the_blog(app: Sphinx, exception: Exception | None) -> bool:
    """Whether the build succeeded with a blog state to finish (``build-finished``)."""
    return exception is None and hasattr(app, "_kb_state")


def remove_stale_outputs(app: Sphinx, exception: Exception | None) -> None:
    if _built_the_blog(app, exception):
        delete_stale_outputs(app)


def save_state(app: Sphinx, exception: Exception | None) -> None:
    if not _built_the_blog(app, exception):
        return
    path = state_path(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(app._kb_state, protocol=pickle.HIGHEST_PROTOCOL))


def delete_stale_outputs(app: Sphinx) -> None:
    state: State = app._kb_state
    outdir = Path(app.builder.outdir)
    written = app._kb_written
    stale: list[Path] = []
    for pagename in [name for name in state.pages if name not in written]:
        stale.append(Path(app.builder.get_outfilename(pagename)))
        del state.pages[pagename]
    for relpath in [path for path in state.feeds if path not in written]:
        stale.append(outdir / relpath)
        del state.feeds[relpath]
    for docname in app._kb_removed:
        stale.append(Path(app.builder.get_outfilename(docname)))
        stale.extend((outdir / "_sources").glob(f"{docname}.*"))
        for body in StoredBody.directory.glob(f"{docname}.*.pickle"):
            body.unlink()
        for key in [key for key in state.entries if key[0] == docname]:
            del state.entries[key]
        shutil.rmtree(Path(app.doctreedir) / ENTRIES_DIR / docname, ignore_errors=True)
    for path in stale:
        path.unlink(missing_ok=True)
        folder = path.parent
        while folder != outdir and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
