"""Web fonts cut to the characters a site shows (fontTools), cached between builds.

Used for the theme's icon font (:mod:`kb.assets.icon_font`) and KaTeX's fonts
(:mod:`kb.math.fonts`).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

SUBSET_VERSION = 2  # 2: without hinting


def cached_subset(font_path: Path, points: set[int], cache_dir: Path) -> Path:
    """The woff2 subset of ``font_path`` to ``points``, made once and kept in ``cache_dir`` under
    a key of the font's bytes and the code points: subsetting takes seconds (brotli)."""
    key = hashlib.sha1(font_path.read_bytes() + repr((sorted(points), SUBSET_VERSION)).encode()).hexdigest()
    cached = cache_dir / f"{font_path.stem}-{key}.woff2"
    if not cached.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(subset_font(font_path, points))
    return cached


def subset_font(font_path: Path, points: set[int]) -> bytes:
    from fontTools import subset  # imported here: only a cache miss needs it (0.1 s)
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    # TrueType hinting instructions are a sixth of a KaTeX font (~2 KB each, ~16 KB on a page of
    # formulas). Only Windows applies them; macOS, iOS, Android and Linux's FreeType ignore them,
    # which is why Google Fonts serves web fonts unhinted to everything but Windows.
    options.hinting = False
    font = TTFont(font_path, recalcTimestamp=False)  # same bytes from the same sources
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(points & set(font.getBestCmap())) or [0x20])
    subsetter.subset(font)
    font.flavor = "woff2"
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()
