"""Every page's stylesheets as one file, so the first paint waits for one request, not ten.

A page of the theme links ten stylesheets before it can paint: the theme's ``theme.css`` (whose
only content, ``@import "../basic.css"``, costs one more round trip after it has arrived),
``pydata-sphinx-theme.css``, Sphinx's, the book theme's, copybutton's, KaTeX's and the site's
own, and ABlog's ``tagcloud.css`` in the sidebar, before the article (an in-body stylesheet holds
back the painting of what follows it). On a phone's connection each is a request on one of a few
connections; Lighthouse counts them all on the way to the first paint (issue 21).

This extension writes ``_static/styles/kb-site.css``: those stylesheets concatenated in the
order the page linked them (the cascade is unchanged), ``@import`` resolved in place, one
``@charset`` (UTF-8, as every part is read) at its start, relative
``url()`` rebased to the bundle's folder, source-map comments dropped. It is written after the
stylesheets have been trimmed (``build-finished``), so it holds the same
rules as the files it replaces; those stay in ``_static`` for anything that names them. Each
page links the bundle instead (``_templates/layout.html``, ``_templates/ablog/tagcloud.html``);
a stylesheet a page adds for itself alone stays linked after it. The bundle's ``?v=`` is the
checksum of its parts as Sphinx copied them before writing the pages, which is how Sphinx
versions each stylesheet (so a rebuild that writes a page links what a clean build links).
"""

from __future__ import annotations

import functools
import posixpath
import re
import zlib
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.builders.html._assets import _CascadingStyleSheet
from sphinx.util import logging

from .. import pipeline

logger = logging.getLogger(__name__)

BUNDLE = "styles/kb-site.css"  # under _static; beside the theme's, whose url()s stay as they are
# The theme's stylesheets, which its layout links itself (webpack-macros.html: head_pre_assets).
THEME_PARTS = ("styles/theme.css", "styles/pydata-sphinx-theme.css")
# Linked in the body by the sidebar's tag cloud (_templates/ablog/tagcloud.html), so last.
BODY_PARTS = ("ablog/tagcloud.css",)

_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)["']?\s*\)?\s*([^;]*);""")
_URL = re.compile(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""")
_SOURCE_MAP = re.compile(r"/\*[#@]\s*sourceMappingURL=[^*]*\*/")
# Only the first rule of a file may name its encoding: the bundle names UTF-8 once, first.
_CHARSET = re.compile(r'@charset\s+"[^"]*"\s*;')


def _static_name(css: Any) -> str | None:
    """The ``_static``-relative path of a stylesheet the bundle can take in, else ``None``: a
    local file linked as a plain stylesheet for every medium (no ``media``, ``title`` or
    alternate ``rel``)."""
    if not isinstance(css, _CascadingStyleSheet):
        return None
    filename = str(css.filename)
    if "://" in filename or "?" in filename or not filename.startswith("_static/"):
        return None
    attributes = {key: value for key, value in css.attributes.items() if value is not None}
    if attributes.get("rel", "stylesheet") != "stylesheet":
        return None
    if set(attributes) - {"rel", "type", "priority"} or attributes.get("type", "text/css") != "text/css":
        return None
    return filename.removeprefix("_static/")


def site_parts(app: Sphinx) -> list[str]:
    """The bundle's stylesheets, in the order pages link them: the theme's, then the stylesheets
    every page links (the builder's list before any page adds its own), then the body's."""
    # Sphinx's copy of the site-wide list, taken before the pages are written (prepare_writing);
    # tests/test_upstream_contracts.py checks it is still there.
    site_wide = getattr(app.builder, "_orig_css_files", [])
    # In the order a page links them: Sphinx sorts them by priority (stable) before rendering.
    names = [name for name in map(_static_name, sorted(site_wide, key=lambda css: css.priority)) if name]
    return [*THEME_PARTS, *dict.fromkeys(name for name in names if name not in THEME_PARTS), *BODY_PARTS]


def rebase_urls(css: str, part: str) -> str:
    """``css`` of ``_static/<part>`` with its relative ``url()`` pointing from the bundle's folder."""
    here = posixpath.dirname(part)
    there = posixpath.dirname(BUNDLE)

    def rebase(match: re.Match[str]) -> str:
        quote, url = match.group(1), match.group(2).strip()
        if url.startswith(("data:", "#", "/")) or "://" in url:
            return match.group(0)
        moved = posixpath.relpath(posixpath.normpath(posixpath.join(here, url)), there)
        return f"url({quote}{moved}{quote})"

    return _URL.sub(rebase, css)


def part_text(static: Path, part: str, seen: tuple[str, ...] = ()) -> str:
    """The CSS of ``_static/<part>`` as it reads from the bundle: its local ``@import`` rules
    replaced by what they import, its ``url()`` rebased, without source-map comments."""
    if part in seen:
        raise ValueError(f"_static/{part}: @import cycle through {' -> '.join(seen)}")
    css = _CHARSET.sub("", _SOURCE_MAP.sub("", (static / part).read_text(encoding="utf-8")))

    def inline(match: re.Match[str]) -> str:
        target, condition = match.group(1), match.group(2).strip()
        if "://" in target or target.startswith("/") or condition:
            raise ValueError(f"_static/{part}: cannot bundle @import {match.group(0)!r}")
        imported = posixpath.normpath(posixpath.join(posixpath.dirname(part), target))
        return part_text(static, imported, (*seen, part))

    css = _IMPORT.sub(inline, css)
    return rebase_urls(css, part) if posixpath.dirname(part) != posixpath.dirname(BUNDLE) else css


def bundle_text(static: Path, parts: list[str]) -> str:
    return (
        '@charset "UTF-8";\n'
        + "\n".join(f"/* {part} */\n{part_text(static, part).strip()}" for part in parts)
        + "\n"
    )


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


@functools.cache
def _checksum(parts: tuple[tuple[Path, tuple[int, int] | None], ...]) -> str:
    checksum = 0
    for path, stamp in parts:
        if stamp is not None:
            checksum = zlib.crc32(path.read_bytes().translate(None, b"\r"), checksum)
    return f"{checksum:08x}"


def version(static: Path, parts: list[str]) -> str:
    """The checksum of the parts as they are now (before any page is written: as copied), read
    once per process while their files stay the same."""
    return _checksum(tuple((static / part, _stamp(static / part)) for part in parts))


def bundles(app: Sphinx) -> bool:
    """Whether the builder's pages link the bundle: HTML pages with query strings (Sphinx writes
    no ``?v=`` for EPUB and HTML Help, which allow none; they keep their links)."""
    return app.builder.format == "html" and app.builder.name not in {"epub", "htmlhelp"}


def link_bundle(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """The page links the bundle (``kb_css_bundle``) instead of the stylesheets it holds."""
    if not bundles(app):
        return
    parts = site_parts(app)
    bundled = set(parts)
    css_files = context.get("css_files")
    if css_files is None or "pathto" not in context:
        return
    context["css_files"] = [css for css in css_files if _static_name(css) not in bundled]
    checksum = version(Path(app.outdir, "_static"), parts)
    context["kb_css_bundle"] = f"{context['pathto']('_static/' + BUNDLE, 1)}?v={checksum}"


def write_bundle(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or not bundles(app):
        return
    static = Path(app.outdir, "_static")
    parts = [part for part in site_parts(app) if part not in BODY_PARTS or (static / part).is_file()]
    missing = [part for part in parts if not (static / part).is_file()]
    if missing:
        logger.warning(
            "stylesheets to bundle are missing from _static: %s", ", ".join(missing), type="kb", subtype="css"
        )
        return
    try:
        text = bundle_text(static, parts)
    except ValueError as error:
        logger.warning("%s", error, type="kb", subtype="css")
        return
    target = static / BUNDLE
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", link_bundle, priority=pipeline.BUNDLE_STYLESHEETS)
    # After unused_css trimmed the stylesheets and icon_font read the theme's.
    app.connect("build-finished", write_bundle, priority=pipeline.WRITE_STYLESHEET_BUNDLE)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
