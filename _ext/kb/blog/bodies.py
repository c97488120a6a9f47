"""ABlog's copies of the posts, kept outside the environment.

ABlog keeps, for every post, a deep copy of its doctree in the environment (for full-text
feeds), and the copy and the excerpt still point at the original document, so the environment
pickle held two doctrees per post: 55 MB at 1,000 posts, unpickled on every build and pickled
again after every edit. Each copy goes to its own file next to the doctrees
(:class:`StoredBody`), read back only when a feed needs that post's full text, and the excerpt
forgets the original document.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import new_document

BODIES_DIR = "kb_post_bodies"
KEPT_BESIDE_DOCTREES = (BODIES_DIR + "/",)


class StoredBody:
    """Stands in for ABlog's copy of a post's body (``info["doctree"]``): ABlog only ever calls
    ``deepcopy()`` on it, which reads a fresh copy from the file."""

    directory: Path = Path()  # set when the builder starts

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def deepcopy(self) -> nodes.Node:
        body = pickle.loads((self.directory / self.filename).read_bytes())
        if isinstance(body, list):  # the children of a whole-document post
            document = new_document("")
            document.extend(body)
            return document
        return body


def _forget_document(node: nodes.Node) -> None:
    # docutils keeps the owning document in the private ``_document`` (a property over it since
    # docutils 0.18); tests/test_upstream_contracts.py checks the name still exists.
    for each in node.findall():
        each._document = None


def store_post_bodies(app: Sphinx, doctree: nodes.document) -> None:
    """Move the copies ABlog just made of this document's posts into files."""
    env = app.env
    for index, info in enumerate(env.ablog_posts.get(env.docname, ())):
        for node in info["excerpt"]:
            _forget_document(node)
        body = info["doctree"]
        if isinstance(body, StoredBody):
            continue
        if isinstance(body, nodes.document):  # its settings point at the environment
            children = list(body.children)
            for child in children:
                child.parent = None
                _forget_document(child)
            stored: Any = children
        else:
            body.parent = None
            _forget_document(body)
            stored = body
        filename = f"{env.docname}.{index}.pickle"
        path = StoredBody.directory / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(stored, protocol=pickle.HIGHEST_PROTOCOL))
        info["doctree"] = StoredBody(filename)
