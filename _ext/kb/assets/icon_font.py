"""Theme icons without 650 KB of Font Awesome.

pydata-sphinx-theme loads ``fontawesome.js`` (1.56 MB, 540 KB gzip) on every page only to turn
``<i class="fa-solid fa-bars">`` into inline SVG. Its CSS already styles the same elements with
the Font Awesome web fonts (``.fa-bars{--fa:"\\f0c9"}``), so ``_templates/layout.html`` drops
the script, and this extension removes it from the output and subsets those fonts (115 KB for
the solid one) to the glyphs the site can show: the icons whose rules ``unused_css`` left in the
theme's CSS (it removes those of the ~2,000 icons no page or script uses) plus the icons the
theme's CSS uses by itself (``--pst-icon-…`` for admonitions and links, where still referred
to). The subset is a few KB.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

from .. import pipeline
from .font_subset import cached_subset
from .unused_css import site_classes

logger = logging.getLogger(__name__)

FONT_DIR = Path("_static", "vendor", "fontawesome", "webfonts")
FONT_CACHE_DIR = "icon-fonts"
KEPT_BESIDE_DOCTREES = (FONT_CACHE_DIR + "/",)
# Sphinx copies the theme's script with its source map (3.3 MB) although no page loads it.
UNLOADED_SCRIPT = Path("_static", "scripts", "fontawesome.js")
THEME_CSS = Path("_static", "styles", "pydata-sphinx-theme.css")
_RULE = re.compile(r'(?:^|(?<=[{}]))([^{}]+)\{--fa:"((?:\\[0-9a-fA-F]+|[^"\\])+)"\}')
_THEME_ICON = re.compile(r'--pst-icon-[a-z-]+:"((?:\\[0-9a-fA-F]+|[^"\\])+)"')


def _codepoints(value: str) -> set[int]:
    """Characters of a CSS string: ``\\f0c9`` escapes or literal characters."""
    points = {int(code, 16) for code in re.findall(r"\\([0-9a-fA-F]+)", value)}
    points.update(ord(char) for char in re.sub(r"\\[0-9a-fA-F]+", "", value))
    return points


def icon_codepoints(css: str) -> dict[str, set[int]]:
    """``fa-<name>`` class → code points, from the theme's CSS (aliases included)."""
    table: dict[str, set[int]] = {}
    for selectors, value in _RULE.findall(css):
        for selector in selectors.split(","):
            name = selector.strip().lstrip(".")
            if name.startswith("fa-"):
                table[name] = _codepoints(value)
    return table


def theme_codepoints(css: str) -> set[int]:
    return set().union(*(_codepoints(value) for value in _THEME_ICON.findall(css)))


def subset_fonts(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for unloaded in (UNLOADED_SCRIPT, UNLOADED_SCRIPT.with_suffix(".js.map")):
        (outdir / unloaded).unlink(missing_ok=True)
    used = {name for name in site_classes(app) if name.startswith("fa-")}
    css = (outdir / THEME_CSS).read_text(encoding="utf-8")
    table = icon_codepoints(css)  # after unused_css: the icons that pages or scripts use
    unknown = sorted(name for name in used if name not in table and not _is_modifier(name))
    if unknown:
        logger.warning(
            "icon classes without a Font Awesome glyph: %s", ", ".join(unknown), type="kb", subtype="icons"
        )
    points = theme_codepoints(css).union(*table.values())
    cache_dir = Path(app.doctreedir) / FONT_CACHE_DIR
    for font_path in sorted((outdir / FONT_DIR).glob("*.woff2")):
        # Sphinx copies the theme's full font on every build.
        shutil.copyfile(cached_subset(font_path, points, cache_dir), font_path)


def _is_modifier(name: str) -> bool:
    """Size, width and family classes that style an icon rather than name one."""
    return bool(
        re.fullmatch(
            r"fa-(solid|regular|brands|classic|fw|lg|sm|xs|\d+x|spin|pulse|"
            r"inverse|border|flip.*|rotate.*|stack.*|beat.*|fade|bounce|shake)",
            name,
        )
    )


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.assets.unused_css")
    # After unused_css: it records the classes of every page, which name the icons shown.
    app.connect("build-finished", subset_fonts, priority=pipeline.SUBSET_ICON_FONT)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
