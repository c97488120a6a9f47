"""The figures' style: matplotlib settings, the site palette and its dark-mode counterparts.

Figure code draws with the palette's colours ("C0"…"C9"), black, white and two light greys; the
dark-mode copy of a figure is its SVG with exactly those colours swapped
(:func:`dark_variant`), so the same drawing reads on the theme's light and dark backgrounds.
Text in any other colour would keep its light-mode colour on the dark page, so
:func:`foreign_text_colours` finds it and the build rejects it.
"""

from __future__ import annotations

import re
from typing import Any

import cycler

CJK_FONT = "Noto Sans CJK SC"
# -- the site's figure style ----------------------------------------------------------------------

# Light-mode colours and their dark-mode counterparts. Figure code uses the cycle ("C0"…"C9"),
# these names or matplotlib's black/white; the dark copy swaps each for the one on its right.
# Dark-mode colours keep the hue and are lightened to stay readable on the theme's #14181e.
FOREGROUND = "#222832"  # pydata-sphinx-theme's light --pst-color-text-base
PALETTE = [
    ("#2a6fdb", "#6ea8ff"),  # C0 blue
    ("#e8710a", "#ffa04d"),  # C1 orange
    ("#1e8e3e", "#5ccf7a"),  # C2 green
    ("#d93025", "#ff7b72"),  # C3 red
    ("#8e44ad", "#c18ee0"),  # C4 purple
    ("#8c564b", "#c9a39a"),  # C5 brown
    ("#c2317e", "#f78fc6"),  # C6 pink
    ("#6e7781", "#9da7b1"),  # C7 grey
    ("#8a7f00", "#d4c84f"),  # C8 olive
    ("#0f7f81", "#4fd1d3"),  # C9 teal
]
DARK_COLOURS = {
    FOREGROUND: "#ced6dd",  # the theme's dark --pst-color-text-base
    "#000000": "#ced6dd",
    "#ffffff": "#14181e",  # white fills (legend boxes, labels) become the dark page background
    "#bfc8d2": "#3d444d",  # grid and light rules (kept apart from the dark text colour #ced6dd)
    "#eaeef2": "#262c36",  # light fills (panels, boxes)
    **dict(PALETTE),
}
RC_PARAMS: dict[str, Any] = {
    "font.family": [CJK_FONT, "DejaVu Sans"],
    "font.size": 11,
    "mathtext.fontset": "cm",
    "axes.unicode_minus": False,  # U+2212 is in neither font's CJK-consistent width
    "axes.prop_cycle": cycler.cycler(color=[light for light, _dark in PALETTE]),
    "axes.edgecolor": FOREGROUND,
    "axes.labelcolor": FOREGROUND,
    "axes.titlecolor": FOREGROUND,
    "axes.facecolor": "none",
    "axes.grid": False,
    "grid.color": "#bfc8d2",
    "text.color": FOREGROUND,
    "xtick.color": FOREGROUND,
    "ytick.color": FOREGROUND,
    "legend.facecolor": "#ffffff",
    "legend.edgecolor": "#bfc8d2",
    "legend.framealpha": 0.9,
    "figure.facecolor": "none",
    "figure.edgecolor": "none",
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "figure.constrained_layout.use": True,
    "savefig.facecolor": "none",
    "savefig.edgecolor": "none",
    "savefig.dpi": 200,  # rasterised parts inside the SVG, crisp at 2x
    "savefig.bbox": "tight",  # nothing cut off at the edges, no empty margins
    "savefig.pad_inches": 0.04,
    "svg.fonttype": "path",  # every glyph outlined: no dependence on the reader's fonts
    "svg.hashsalt": "kb-figures",  # stable ids: reproducible bytes
    "image.cmap": "viridis",
}
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}(?![0-9a-zA-Z_-])")
_FILL = re.compile(r"fill:\s*(#[0-9a-fA-F]{6})")


def foreign_text_colours(svg: str) -> list[str]:
    """Colours of text (tick labels, labels, legends, annotations) that the dark-mode copy does
    not swap: such text would keep its light-mode colour on the dark page."""
    found = []
    for match in re.finditer(r'<g id="text_\d+">\s*<!-- (.*?) -->\s*<g style="([^"]*)"', svg):
        for colour in _FILL.findall(match[2]):
            if colour.lower() not in DARK_COLOURS:
                found.append(f"{match[1]!r} in {colour}")
    return found


_LONG_NUMBER = re.compile(r"-?\d+\.\d{3,}")
_GEOMETRY = re.compile(r'(\s(?:d|transform|x|y|x1|y1|x2|y2|width|height|points|cx|cy|r)=")([^"]*)"')


def compact(svg: str) -> str:
    """Coordinates rounded to 1/100 pt (matplotlib writes six decimals; 1/100 pt is 0.013 CSS
    px, below any screen's resolution): 10 % of the bytes, 12 % of the gzip size."""

    def rounded(number: re.Match[str]) -> str:
        return f"{float(number[0]):.2f}".rstrip("0").rstrip(".")

    return _GEOMETRY.sub(lambda m: m[1] + _LONG_NUMBER.sub(rounded, m[2]) + '"', svg)


def dark_variant(svg: str) -> str:
    """The same SVG with the style's colours swapped for their dark-mode counterparts.

    matplotlib writes no ``fill`` for black fills and black text (SVG's default fill is black),
    so the root element gets the dark-mode counterpart of black as its fill: what inherits the
    default is then drawn in the dark-mode ink, like what names black explicitly."""
    swapped = _HEX_COLOUR.sub(lambda m: DARK_COLOURS.get(m[0].lower(), m[0]), svg)
    return re.sub(r"<svg\b", f'<svg fill="{DARK_COLOURS["#000000"]}"', swapped, count=1)


def svg_size(svg: str) -> tuple[int, int]:
    """The SVG's width and height in CSS pixels (matplotlib writes points)."""
    found = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"[^>]*\sheight="([\d.]+)pt"', svg)
    if not found:
        raise ValueError("the SVG has no width/height in points")
    return round(float(found[1]) * 4 / 3), round(float(found[2]) * 4 / 3)
