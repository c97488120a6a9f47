"""Titles are text: what looks like HTML in a heading is shown as written.

Markdown (CommonMark, hence MyST) reads ``<T>`` in ``# Java 泛型：List<T> 与 List<?>`` as an
inline HTML tag and passes it through raw, so the page's heading showed "List" followed by an
unknown ``<t>`` element, and ``# 标题 <img src=x onerror=…>`` put a live image, with its script,
on the page. A title is also used as plain text (``<title>``, feeds, search, sidebars, link
previews), where raw HTML is never right. So inside every title, raw HTML becomes the text it was
written as, before Sphinx, ABlog or any other extension records the title; everything downstream
then sees a title of text and escapes it like any other text. The body of a page is left alone:
there, inline HTML is the author's choice (code belongs in backticks).
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform


class RawTitleAsText(SphinxTransform):
    """Replace raw HTML inside titles by its text (before ABlog's front-matter transform, 800,
    and before Sphinx records the titles when the document has been read)."""

    default_priority = 100

    def apply(self, **kwargs: Any) -> None:
        for title in self.document.findall(nodes.title):
            for raw in list(title.findall(nodes.raw)):
                raw.replace_self(nodes.Text(raw.astext()))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_transform(RawTitleAsText)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
