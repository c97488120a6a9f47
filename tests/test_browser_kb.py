"""Knowledge-base features and quality gates in Debian's Chromium.

* axe-core (from node_modules, injected into the page) finds no serious or critical
  accessibility violation on the homepage, an article, the search results page and the
  knowledge map, in light and dark mode, nor in the search dialog showing instant results;
* those pages log no console error, throw no script error and request nothing outside the site;
* the knowledge map links to the articles and highlights neighbours;
* the 404 page works at any depth when the site is hosted below a path, as on Read the Docs;
* printing drops the navigation, the sidebars and the related-articles list;
* the copy buttons of 引用本文 copy the whole citation and BibTeX entry.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from sitebuild import ROOT

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
MIXED_QUERY = r"扩散模型 \bar\alpha_t"  # results with marked words and formulas
GATED_PAGES = ["index.html", "posts/dpo/index.html", "search.html?q=扩散模型", "map.html"]


def settle(page) -> None:
    page.wait_for_load_state("networkidle")
    if "search.html" in page.url:
        page.wait_for_selector("#kb-search-status[data-state=done]", timeout=20_000)


def axe_violations(page) -> list[dict]:
    assert AXE.is_file(), "axe-core is missing: run `make install` (npm ci)"
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))"
    )
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def report(blocking: list[dict]) -> str:
    return "\n".join(f"{v['impact']} {v['id']}: {v['help']} {v['nodes']}" for v in blocking)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_search_dialog_with_results_is_accessible(browser, server, scheme):
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/posts/dpo/index.html", wait_until="networkidle")
    page.wait_for_function("document.readyState === 'complete'")  # the theme's Ctrl+K handler
    page.keyboard.press("Control+k")
    page.wait_for_selector("#pst-search-dialog[open]")
    page.locator("#pst-search-dialog input[name=q]").fill("偏好 KL")
    page.wait_for_selector("#pst-search-dialog[data-state=done] [role=option]")
    page.locator("#pst-search-dialog input[name=q]").press("ArrowDown")
    blocking = axe_violations(page)
    context.close()
    assert blocking == [], report(blocking)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_search_results_page_is_accessible_in_both_modes(browser, server, scheme):
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/search.html?q={quote(MIXED_QUERY)}")
    settle(page)
    blocking = axe_violations(page)
    context.close()
    assert blocking == [], report(blocking)


@pytest.mark.parametrize("path", GATED_PAGES)
def test_no_serious_or_critical_accessibility_violations(page, server, path):
    assert AXE.is_file(), "axe-core is missing: run `make install` (npm ci)"
    page.goto(f"{server}/{path}")
    settle(page)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))"
    )
    blocking = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert blocking == [], "\n".join(f"{v['impact']} {v['id']}: {v['help']} {v['nodes']}" for v in blocking)


@pytest.mark.parametrize("path", GATED_PAGES)
def test_no_console_errors(page, server, path):
    messages: list[str] = []
    page.on(
        "console",
        lambda msg: messages.append(f"{msg.type}: {msg.text}") if msg.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    page.goto(f"{server}/{path}")
    settle(page)
    assert [m for m in messages if m.startswith(("error", "pageerror"))] == []


def test_knowledge_map_nodes_open_their_articles(page, server):
    page.goto(f"{server}/map.html")
    nodes = page.locator("a.kb-map-node")
    assert nodes.count() >= 30
    node = page.locator('a.kb-map-node[data-doc="posts/diffusion-sde/index"]')
    title = node.locator("title").text_content()
    node.click()
    page.wait_for_load_state()
    assert page.url.endswith("/posts/diffusion-sde/index.html")
    assert page.locator("article h1").first.inner_text().startswith(title[:6])


def test_knowledge_map_highlights_neighbours(page, server):
    page.goto(f"{server}/map.html")
    page.wait_for_load_state("networkidle")
    node = page.locator('a.kb-map-node[data-doc="posts/diffusion-sde/index"]')
    node.hover()
    active_edges = page.eval_on_selector_all(
        ".kb-map-edge.is-active", "es => es.map(e => [e.dataset.a, e.dataset.b])"
    )
    assert active_edges and all("posts/diffusion-sde/index" in pair for pair in active_edges)
    assert page.evaluate("() => document.querySelector('.kb-map-svg').classList.contains('kb-map-focus')")
    page.mouse.move(0, 0)
    assert page.locator(".kb-map-edge.is-active").count() == 0
    # keyboard users get the same emphasis
    node.focus()
    assert page.locator(".kb-map-edge.is-active").count() == len(active_edges)


def test_knowledge_map_is_drawn_readably(page, server):
    page.goto(f"{server}/map.html")
    box = page.locator(".kb-map-svg").bounding_box()
    assert box["width"] >= 700 and box["height"] >= 300
    # labels are drawn with the page's text colour, not black on a dark theme
    fill = page.evaluate("() => getComputedStyle(document.querySelector('.kb-map-node text')).fill")
    assert fill and fill != "none"


@pytest.mark.parametrize("missing", ["nope.html", "posts/no-such-post/index.html", "a/b/c/d/e.html"])
def test_404_page_works_at_any_depth(browser, hosted, missing):
    context = browser.new_context()
    page = context.new_page()
    failed: list[str] = []
    page.on(
        "requestfinished",
        lambda r: (
            failed.append(r.url)
            if r.response() and r.response().status >= 400 and r.url != f"{hosted}/{missing}"
            else None
        ),
    )
    response = page.goto(f"{hosted}/{missing}")
    page.wait_for_load_state("networkidle")
    assert response.status == 404
    assert page.locator("article h1").first.inner_text() == "页面不存在"
    assert failed == [], failed  # every stylesheet, script and font of the page loaded
    # styled: the theme's stylesheet applied (the sidebar is laid out, not an unstyled list)
    assert (
        page.evaluate("() => getComputedStyle(document.querySelector('.bd-sidebar-primary')).display")
        != "inline"
    )
    page.get_by_role("link", name="知识图谱").first.click()
    page.wait_for_load_state()
    assert page.url == f"{hosted}/map.html"
    context.close()


def test_print_drops_navigation_and_sidebars(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/posts/diffusion-sde/index.html")
    page.emulate_media(media="print")
    hidden = page.evaluate("""() => ['.bd-header', '.bd-sidebar-primary', '.bd-sidebar-secondary',
        '.kb-related', '.prev-next-area', '.bd-footer'].map(s => {
            const el = document.querySelector(s);
            return [s, el ? getComputedStyle(el).display : 'absent'];
        })""")
    assert all(display in ("none", "absent") for _s, display in hidden), hidden
    article = page.locator("article.bd-article").bounding_box()
    assert article["width"] > 1000  # the article takes the whole page width
    page.emulate_media(media="screen")
    assert (
        page.evaluate("() => getComputedStyle(document.querySelector('.bd-sidebar-primary')).display")
        != "none"
    )
    context.close()


@pytest.mark.parametrize("path", ["posts/diffusion-sde/index.html", "posts/ddim-sampling/index.html"])
def test_cut_katex_fonts_lay_out_formulas_like_the_full_fonts(browser, server, path):
    """Every formula has the same size with the site's cut-down KaTeX fonts as with KaTeX's
    full fonts: a glyph missing from a subset would fall back to another font and change it."""
    full_fonts = ROOT / "node_modules" / "katex" / "dist" / "fonts"

    def sizes(use_full_fonts: bool) -> list[list[float]]:
        context = browser.new_context()
        page = context.new_page()
        if use_full_fonts:
            page.route(
                "**/_static/katex/fonts/*",
                lambda route: route.fulfill(
                    body=(full_fonts / route.request.url.rsplit("/", 1)[1].split("?")[0]).read_bytes(),
                    content_type="font/woff2",
                ),
            )
        page.goto(f"{server}/{path}")
        page.wait_for_load_state("networkidle")
        # Every section laid out first: kb.css skips the sections far from the screen, and a
        # skipped section's fonts are fetched only once it is laid out.
        page.add_style_tag(content=".bd-article section section { content-visibility: visible !important; }")
        measured = page.evaluate(
            "async () => { document.body.getBoundingClientRect();"
            " await Promise.all([...document.fonts].map(f => f.load().catch(() => null)));"
            " await document.fonts.ready;"
            " return [...document.querySelectorAll('.katex-html')].map(e => {"
            " const r = e.getBoundingClientRect(); return [r.width, r.height]; }); }"
        )
        context.close()
        return measured

    cut, full = sizes(False), sizes(True)
    assert len(cut) == len(full) > 10
    assert [[round(v, 2) for v in box] for box in cut] == [[round(v, 2) for v in box] for box in full]


@pytest.mark.parametrize("block", ["kb-cite-text", "kb-cite-bibtex"])
def test_the_citation_blocks_copy_exactly_what_they_show(browser, server, block):
    """引用本文: each block's copy button puts the whole citation on the clipboard (sphinx-copybutton
    with the site's prompt rules, which must not take a line of it for a prompt)."""
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"{server}/posts/ddim-sampling/index.html")
    container = page.locator(f".kb-cite div.{block}")
    shown = container.locator("pre").inner_text()
    container.hover()
    container.locator("button.copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    context.close()
    assert copied.strip() == shown.strip()
    assert ("@misc{" in copied) == (block == "kb-cite-bibtex") and "ddim-sampling" in copied
