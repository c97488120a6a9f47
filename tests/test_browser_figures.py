"""Figures in Chromium: readable in light and dark mode, on a phone, loaded lazily.

Every figure of every article is screenshotted at 2× in both colour modes: its labels and axes
must be drawn in the page's text colour of that mode, which contrasts with the page background
by more than 7:1. A light-mode figure on the dark page has none (its text is #222832, 1.3:1 on
#14181e), and the figures' light greys are kept apart from the dark page's text colour. On a 390 px phone no
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


def share_of(png: bytes, colour: tuple[int, int, int]) -> float:
    """The share of the image's pixels drawn in ``colour`` (the solid inside of strokes at 2×)."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return float(np.mean(np.abs(rgb - np.array(colour)).sum(axis=2) < 8))


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
        text = css_rgb(page.evaluate("getComputedStyle(document.body).color"))
        text_contrast = contrast(luminance(np.array(text)), float(luminance(np.array(background))))
        assert text_contrast > 7, (scheme, text, background)
        assert page.locator(f"figure.kb-figure img.kb-figure-{hidden} >> visible=true").count() == 0
        images = page.locator(f"figure.kb-figure img.kb-figure-{shown}")
        assert images.count() == figure_pages[path], path
        for i in range(images.count()):
            image = images.nth(i)
            # The browser's own scroll: Playwright's lands off target above sections that
            # content-visibility still skips (kb.css).
            image.evaluate("img => img.scrollIntoView({block: 'center'})")
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
            share = share_of(image.screenshot(), text)
            checked += 1
            name = image.evaluate("img => img.closest('figure').id")
            if share < 0.001:
                problems.append(f"{path}#{name}: {share:.2%} of its pixels in the page's text colour")
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
    last.evaluate("img => img.scrollIntoView({block: 'center'})")  # the browser's scroll (kb.css)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=last.element_handle())
    assert source in requested
    # The colour mode's other copy is never fetched.
    assert not [url for url in requested if url.endswith("-dark.svg")]
    context.close()
