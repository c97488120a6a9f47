"""Figures in Chromium: readable in light and dark mode, on a phone, loaded lazily.

Every figure of every article is screenshotted at 2× in both colour modes and checked against
the page background: its text and axes (grey strokes, measured at their anti-aliased edges) must
stand out at 3:1 or more in the median, which a light-mode figure on the dark page (about 1.3:1)
does not. On a 390 px phone no
page may scroll sideways, and images below the first screen load only when scrolled to.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup
from PIL import Image

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def figure_pages(html_dir: Path) -> dict[str, int]:
    """Article pages with figures -> number of figures."""
    pages = {}
    for path in sorted((html_dir / "posts").glob("*/index.html")):
        count = len(BeautifulSoup(path.read_text(encoding="utf-8"), "lxml").select("figure.kb-figure"))
        if count:
            pages[str(path.relative_to(html_dir))] = count
    assert pages, "no article has a figure"
    return pages


def luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB colours (last axis: R, G, B in 0..255)."""
    c = rgb.astype(float) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


def contrast(a: np.ndarray, b: float) -> np.ndarray:
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    return (hi + 0.05) / (lo + 0.05)


def ink_contrast(png: bytes, background: tuple[int, int, int]) -> tuple[float, float]:
    """(median contrast of the figure's neutral ink against the background, its share of pixels).

    Neutral ink is what text, axes and ticks are drawn with: grey pixels (any lightness) that are
    not background but touch the background within two pixels, i.e. strokes and the edges of
    shapes, not the inside of filled panels or legend boxes. A light-mode figure on the dark page
    has lines in the palette's colours that still stand out, but its text and axes nearly vanish;
    this measures the text."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    ratios = contrast(luminance(rgb), float(luminance(np.array(background))))
    near_background = ratios < 1.15
    touches = near_background.copy()
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            touches |= np.roll(np.roll(near_background, dy, axis=0), dx, axis=1)
    neutral = (rgb.max(axis=2) - rgb.min(axis=2)) < 24
    ink = neutral & ~near_background & touches
    if not ink.any():
        return 0.0, 0.0
    return float(np.median(ratios[ink])), float(np.mean(ink))


def css_rgb(value: str) -> tuple[int, int, int]:
    parts = value[value.index("(") + 1 : value.index(")")].split(",")
    return tuple(int(float(p)) for p in parts[:3])  # type: ignore[return-value]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_figure_is_readable_in_both_colour_modes(browser, server, figure_pages, scheme):
    context = browser.new_context(
        color_scheme=scheme, viewport={"width": 1000, "height": 900}, device_scale_factor=2
    )
    page = context.new_page()
    shown, hidden = ("dark", "light") if scheme == "dark" else ("light", "dark")
    problems = []
    checked = 0
    for path in figure_pages:
        page.goto(f"{server}/{path}", wait_until="networkidle")
        assert page.evaluate("document.documentElement.dataset.theme") == scheme
        background = css_rgb(page.evaluate("getComputedStyle(document.body).backgroundColor"))
        assert page.locator(f"figure.kb-figure img.kb-figure-{hidden} >> visible=true").count() == 0
        images = page.locator(f"figure.kb-figure img.kb-figure-{shown}")
        assert images.count() == figure_pages[path], path
        for i in range(images.count()):
            image = images.nth(i)
            image.scroll_into_view_if_needed()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
            strongest, share = ink_contrast(image.screenshot(), background)
            checked += 1
            name = image.evaluate("img => img.closest('figure').id")
            if strongest < 3.0 or share < 0.002:
                problems.append(f"{path}#{name}: ink contrast {strongest:.1f}:1, ink {share:.2%} of pixels")
    context.close()
    assert checked == sum(figure_pages.values())
    assert not problems, "\n".join(problems)


def test_no_page_scrolls_sideways_on_a_phone(browser, server, figure_pages):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    wide = []
    for path in figure_pages:
        page.goto(f"{server}/{path}", wait_until="networkidle")
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        widths = page.eval_on_selector_all(
            "figure.kb-figure img.kb-figure-light",
            "imgs => imgs.map(img => img.getBoundingClientRect().width)",
        )
        if overflow > 0 or any(width > 390 for width in widths):
            wide.append(f"{path}: page {overflow}px too wide, figures {widths}")
    context.close()
    assert not wide, "\n".join(wide)


def test_figures_below_the_first_screen_load_when_scrolled_to(browser, server, figure_pages):
    path = max(figure_pages, key=figure_pages.get)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{server}/{path}", wait_until="networkidle")
    last = page.locator("figure.kb-figure img.kb-figure-light").last
    source = last.evaluate("img => img.src")
    assert last.evaluate("img => img.getBoundingClientRect().top") > 2 * 900
    assert source not in requested, "a figure far below the first screen loaded on first view"
    last.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=last.element_handle())
    assert source in requested
    # The colour mode's other copy is never fetched.
    assert not [url for url in requested if url.endswith("-dark.svg")]
    context.close()
