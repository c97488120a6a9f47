"""Browser tests in Debian's Chromium: Chinese/English search, copy button, math, themes."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from posts_source import source_posts

pytestmark = pytest.mark.browser

DDIM = "posts/ddim-sampling/index.html"
SDE = "posts/diffusion-sde/index.html"
SWM = "posts/sliding-window-maximum/index.html"


def post(slug: str) -> str:
    return f"posts/{slug}/index.html"


# (query, the article that must be among the first three results)
QUERIES = [
    # Chinese, no spaces
    ("扩散模型", DDIM),
    ("非马尔可夫", DDIM),
    ("采样加速", DDIM),
    ("确定性采样", DDIM),
    ("隐式模型", DDIM),
    ("随机微分方程", SDE),
    ("预测校正", SDE),
    ("概率流 福克普朗克", SDE),
    ("福克普朗克方程", SDE),
    ("朗之万校正", SDE),
    ("滑动窗口最大值", SWM),
    ("单调队列", SWM),
    ("双端队列", SWM),
    ("均摊分析", SWM),
    ("循环不变式", SWM),
    ("懒删除", SWM),
    # Chinese with spaces
    ("单调 队列 最大值", SWM),
    ("扩散 概率流 常微分方程", post("ode-diffusion-derivation")),
    ("最大堆 懒删除", SWM),
    # English and LaTeX-ish terms
    ("DDIM", DDIM),
    ("inversion", DDIM),
    ("Fokker-Planck", SDE),
    ("Euler-Maruyama", SDE),
    ("Anderson", SDE),
    ("predictor corrector", SDE),
    ("monotonic deque", SWM),
    ("heapq", SWM),
    ("van Herk", SWM),
    # Mixed Chinese/English, with and without spaces
    ("DDIM采样", DDIM),
    ("DDIM 反演", DDIM),
    ("VP SDE", SDE),
    ("反向SDE", SDE),
    ("概率流ODE", post("ode-diffusion-derivation")),
    ("SDE 求解器", SDE),
    ("单调队列O(n)", SWM),
    ("deque 滑动窗口", SWM),
    # one or two distinctive queries for every other article
    ("退火朗之万", post("score-based-models")),
    ("NCSN", post("score-based-models")),
    ("连续时间的极限", post("diffusion-continuous-limit")),
    ("ODE 扩散模型的直接推导", post("ode-diffusion-derivation")),
    ("Hutchinson", post("flow-models-overview")),
    ("连续归一化流", post("flow-models-overview")),
    ("加性耦合", post("nice-flow")),
    ("reflow", post("rectified-flow")),
    ("Classifier-Free Guidance", post("diffusion-guidance")),
    ("VAE 解码器", post("stable-diffusion")),
    ("零卷积", post("controlnet")),
    ("MMDiT", post("stable-diffusion-3")),
    ("EDM 设计空间", post("edm-design-space")),
    ("XGBoost", post("gbdt-xgboost")),
    ("AdaBoost", post("ensemble-learning")),
    ("scikit-learn 特征处理", post("feature-engineering-sklearn")),
    ("自组织映射", post("self-organizing-map")),
    ("Kohonen", post("self-organizing-map")),
    ("逻辑回归", post("logistic-regression")),
    ("PCA 原理", post("pca")),
    ("最近邻搜索", post("kd-tree")),
    ("SwiGLU", post("activation-functions")),
    ("PixelShuffle", post("upsampling")),
    ("转置卷积", post("upsampling")),
    ("随机逼近", post("robbins-monro")),
    ("AllReduce", post("ring-allreduce")),
    ("MoonViT", post("kimi-vl")),
    ("网格世界", post("rl-basics-grid-world")),
    ("贝尔曼方程", post("rl-basics-grid-world")),
    ("蒙特卡洛方法", post("monte-carlo-rl")),
    ("直接偏好优化", post("dpo")),
    ("DistributedDataParallel", post("pytorch-ddp")),
    ("autograd", post("pytorch-autograd")),
    ("nn.functional", post("nn-vs-functional")),
    ("expand 原地操作", post("expand-inplace-error")),
    ("tf_export", post("tf-export")),
    ("进程与线程", post("java-process-thread")),
]


def search(page, server: str, query: str) -> list[str]:
    page.goto(f"{server}/search.html?q={quote(query)}")
    page.wait_for_function(
        "() => { const s = document.querySelector('#search-results .search-summary');"
        " return s && s.textContent.trim().length > 0; }",
        timeout=20_000,
    )
    hrefs = page.eval_on_selector_all(
        "#search-results ul.search li a", "links => links.map(a => a.getAttribute('href'))"
    )
    seen: list[str] = []
    for href in hrefs:
        target = href.split("#")[0].split("?")[0]
        if target not in seen:
            seen.append(target)
    return seen


def test_queries_cover_every_article_and_kind():
    assert len(QUERIES) >= 30
    assert {expected for _q, expected in QUERIES} == {p.url for p in source_posts()}


@pytest.mark.parametrize("query,expected", QUERIES, ids=[q for q, _e in QUERIES])
def test_search_finds_the_article(page, server, query, expected):
    results = search(page, server, query)
    assert expected in results[:3], f"{query!r} -> {results}"


def test_search_ranks_title_match_first(page, server):
    assert search(page, server, "滑动窗口最大值")[0] == SWM
    assert search(page, server, "从随机微分方程看扩散模型")[0] == SDE
    # Many articles mention 随机 and 逼近; the one whose title holds them comes first among the
    # articles (the glossary's definition of the term may precede it).
    articles = [r for r in search(page, server, "随机逼近") if r.startswith("posts/")]
    assert articles[0] == post("robbins-monro")


def test_search_shows_excerpt_with_the_query(page, server):
    search(page, server, "单调队列")
    summaries = page.eval_on_selector_all(
        "#search-results ul.search li p.context", "ps => ps.map(p => p.textContent)"
    )
    assert summaries and any("单调队列" in s for s in summaries)


def test_search_without_match_says_so(page, server):
    assert search(page, server, "量子色动力学") == []


def copy_first_block(browser, server: str, path: str, selector: str) -> tuple[str, str]:
    """Click the copy button of the first code block matching ``selector``; return the
    clipboard text and the block's visible text."""
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"{server}/{path}")
    block = page.locator(selector).first
    shown = block.locator("pre").inner_text()
    block.hover()
    block.locator("button.copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    context.close()
    return copied, shown


def test_copy_button_copies_code_without_prompts_or_output(browser, server):
    copied, _shown = copy_first_block(browser, server, SWM, "div.highlight-pycon")
    assert copied == (
        "from sliding_window import max_monotonic_deque\n"
        "max_monotonic_deque([2, 7, 3, 3, 5, -1, 4, 4, 1], 3)\n"
    )


def test_copy_button_copies_a_whole_source_file(browser, server):
    copied, shown = copy_first_block(browser, server, DDIM, "div.highlight-python")
    assert copied.strip() == shown.strip() and "def " in copied


def test_math_is_rendered_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server}/{SDE}")
    assert page.locator(".katex").count() > 20
    # KaTeX's fonts load from the site and lay formulas out (a rendered fraction has height).
    assert page.locator(".katex-display").first.bounding_box()["height"] > 10
    context.close()


def test_katex_fonts_load(page, server):
    page.goto(f"{server}/{DDIM}")
    page.wait_for_load_state("networkidle")
    loaded = page.evaluate(
        "async () => { await document.fonts.ready;"
        " return [...document.fonts].filter(f => f.family.includes('KaTeX') && f.status === 'loaded')"
        ".map(f => f.family); }"
    )
    assert "KaTeX_Main" in loaded


def test_formulas_reach_screen_readers_as_math_named_by_their_tex(page, server):
    """Pages carry KaTeX's HTML alone (no MathML copy, issue 21): each formula is one element of
    role math in the accessibility tree, named by its TeX source; its visual spans are hidden."""
    page.goto(f"{server}/{DDIM}")
    formulas = page.locator("article .katex").count()
    maths = page.get_by_role("math")
    assert formulas > 300 and maths.count() == formulas
    names = maths.evaluate_all("ms => ms.map(m => m.getAttribute('aria-label'))")
    assert r"\bar\alpha_t" in " ".join(names) and all(name.strip() for name in names)
    snapshot = page.locator("article section").first.aria_snapshot()
    assert '- math "\\\\sigma_t"' in snapshot and "mord" not in snapshot


def test_feed_formulas_render_in_a_reader_without_the_site_css(browser, html_dir):
    """A feed reader shows an entry's HTML without KaTeX's CSS or fonts: each formula must be
    there once, as MathML that the browser lays out itself."""
    from bs4 import BeautifulSoup
    from lxml import etree

    atom = "{http://www.w3.org/2005/Atom}"
    entry = next(
        entry
        for entry in etree.parse(str(html_dir / "blog" / "atom.xml")).getroot().iter(f"{atom}entry")
        if "/ddim-sampling/" in entry.find(f"{atom}link").get("href")
    )
    body = BeautifulSoup((html_dir / DDIM).read_text(encoding="utf-8"), "lxml").select_one("article")
    formulas_on_page = len(body.select("span.katex"))
    context = browser.new_context(java_script_enabled=False)
    context.route("**/*", lambda route: route.abort())  # images point at the live site
    page = context.new_page()
    page.set_content(
        f'<!doctype html><meta charset="utf-8"><body style="width: 760px">{entry.find(f"{atom}content").text}'
    )
    maths = page.eval_on_selector_all(
        "math",
        "ms => ms.map(m => { const r = m.getBoundingClientRect();"
        " return [r.width, r.height, m.getAttribute('display') === 'block' && !!m.querySelector('mfrac')]; })",
    )
    # KaTeX's HTML rendering, without its CSS, would repeat each formula as a row of letters.
    leftovers = page.locator(".katex-html, [aria-hidden=true]").count()
    context.close()
    assert formulas_on_page > 50 and len(maths) == formulas_on_page
    assert leftovers == 0
    assert all(width > 0 and height > 0 for width, height, _ in maths)
    # Laid out in two dimensions: a displayed fraction is taller than a line of text.
    assert any(height > 30 for _, height, fraction in maths if fraction)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_light_and_dark_mode(browser, server, scheme):
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server}/{DDIM}")
    theme = page.evaluate("document.documentElement.dataset.theme")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    context.close()
    assert theme == scheme
    channels = [int(c) for c in background[background.index("(") + 1 : -1].split(",")[:3]]
    assert (sum(channels) / 3 > 128) == (scheme == "light"), background
    assert not errors


def test_pages_make_no_outside_requests_and_no_script_errors(page, server):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for path in ["index.html", DDIM, "blog/archive.html", "search.html?q=DDIM"]:
        page.goto(f"{server}/{path}")
        page.wait_for_load_state("networkidle")
    assert not errors


# -- Page weight: no Font Awesome script, no search index outside the search page -------------


def test_article_page_loads_neither_fontawesome_script_nor_search_index(page, server):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{server}/posts/ddim-sampling/index.html", wait_until="networkidle")
    names = [url.split("?")[0].rsplit("/", 1)[-1] for url in requested]
    assert "fontawesome.js" not in names
    assert "searchindex.js" not in names and "searchtools.js" not in names


def test_icons_are_drawn_by_the_subset_font(page, server):
    page.goto(f"{server}/posts/ddim-sampling/index.html", wait_until="networkidle")
    page.evaluate("document.fonts.ready")
    for selector in [
        ".search-button__button .fa-magnifying-glass",
        ".primary-toggle .fa-bars",
        ".theme-switch-button",
    ]:
        box = page.locator(f"{selector} >> visible=true").first.bounding_box()
        assert box and box["width"] > 5 and box["height"] > 5, selector
    # The glyph of the menu icon is in the subset font: the icon's text metrics differ from a
    # fallback font's rendering of the private-use code point (which draws nothing or a box).
    assert page.evaluate("document.fonts.check('900 16px \"Font Awesome 7 Free\"', '\\uf0c9')")
    loaded = page.evaluate("""[...document.fonts].filter(f => f.status === 'loaded')
                               .map(f => f.family)""")
    assert any("Font Awesome" in family for family in loaded)


def test_search_field_on_an_article_leads_to_results(page, server):
    page.goto(f"{server}/posts/ddim-sampling/index.html", wait_until="networkidle")
    page.locator(".search-button-field >> visible=true").first.click()
    field = page.locator("#pst-search-dialog input[name=q]")
    field.fill("概率流")
    field.press("Enter")
    page.wait_for_url("**/search.html?q=*")
    page.wait_for_selector("#search-results .search-summary:not(:empty)", timeout=20000)
    links = page.locator("#search-results ul.search li a").evaluate_all("els => els.map(e => e.href)")
    assert any("posts/diffusion-sde/" in link for link in links)


# -- The theme's bootstrap.js waits for the reader ------------------------------------------------


def test_bootstrap_loads_on_first_interaction_and_the_colour_menu_opens_on_first_click(page, server):
    """layout.html loads bootstrap.js (tooltips, the colour-mode dropdown, back-to-top) only when
    the reader first points, touches, types or scrolls; a click that comes first still opens."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url.split("?")[0].rsplit("/", 1)[-1]))
    page.goto(f"{server}/{DDIM}", wait_until="networkidle")
    assert "bootstrap.js" not in requested and not page.evaluate("!!window.bootstrap")
    # A click without any pointer movement before it (as a keyboard or a script would click).
    page.locator('.theme-switch-button[data-bs-toggle="dropdown"] >> visible=true').first.dispatch_event(
        "click"
    )
    page.wait_for_function("() => document.querySelector('.dropdown-menu.show') !== null", timeout=10_000)
    assert "bootstrap.js" in requested


def test_a_tooltip_hovered_before_bootstrap_loaded_shows(page, server):
    page.goto(f"{server}/{DDIM}", wait_until="networkidle")
    page.locator('[data-bs-toggle="tooltip"] >> visible=true').first.hover()
    page.wait_for_function("() => document.querySelector('.tooltip.show') !== null", timeout=10_000)
