"""The theme's stylesheets cut to the rules the site uses (_ext/unused_css.py).

The browser test is the one that matters: every kind of page of the real site, in light and
dark mode, wide and narrow, with the menus that scripts open, must render pixel for pixel the
same with the trimmed stylesheets as with the theme's originals.
"""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from kb.assets import css_bundle, unused_css
from sitebuild import BUNDLED_STYLESHEETS, ROOT, make_site, sphinx_build


def _configured_stylesheets() -> list[str]:
    from sphinx.config import eval_config_file
    from sphinx.util.tags import Tags

    return eval_config_file(ROOT / "conf.py", Tags())["unused_css_files"]


TRIMMED = _configured_stylesheets()  # the site's unused_css_files


# -- the trimming rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "selector, kept",
    [
        (".a", True),
        (".a .b", True),
        (".a.c", False),
        ("div.c > p", False),
        ("p:not(.c)", True),  # .c inside :not() is not required
        (".a:is(.c, .d)", True),
        ("[class*=c]", True),
        ("a:hover", True),
        (".c::before", False),
        (".fa-\\31 0", True),  # escaped: kept, not guessed
    ],
)
def test_a_selector_needs_every_class_outside_brackets(selector: str, kept: bool):
    assert unused_css.selector_may_match(selector, {"a", "b"}) is kept


def test_trimming_keeps_what_may_match_and_what_is_referred_to():
    css = (
        "/*! licence */:root{--x:1px;--y:var(--x);--z:2px;--w:red}.b{--z:3px}"
        ".a,.c{color:red}.c{color:blue}"
        "@media (min-width:10px){.c{margin:0}.a{padding:var(--y)}}"
        "@media print{.c{margin:0}}"
        "@font-face{font-family:f;src:url(f.woff2)}"
        "p:not(.c){margin:1px}"
        "/*# sourceMappingURL=x.css.map*/"
    )
    out = unused_css.trim_stylesheets({"x.css": css}, {"a"}, {"--w"})["x.css"]
    assert out.startswith("/*! licence */")
    assert ".a{color:red}" in out and ".c{" not in out and ",.c" not in out
    assert "@media (min-width:10px){.a{padding:var(--y)}}" in out and "print" not in out
    assert "@font-face" in out and "p:not(.c)" in out
    # --y is used by a kept rule, --x by --y, --w elsewhere (a page or another sheet); --z by none
    assert "--x:1px" in out and "--y:var(--x)" in out and "--w:red" in out and "--z" not in out
    assert ".b" not in out  # left without declarations
    assert "sourceMappingURL" not in out


def test_the_registry_reads_changed_pages_again_and_forgets_deleted_ones(tmp_path: Path):
    out = tmp_path / "html"
    (out / "a").mkdir(parents=True)
    (out / "_static").mkdir()
    (out / "_static" / "s.js").write_text("x", encoding="utf-8")
    page = out / "a" / "index.html"
    page.write_text(
        '<p class="one two" style="color:var(--c)"></p><script src="../_static/s.js?v=1"></script>',
        encoding="utf-8",
    )
    (out / "b.html").write_text("<div class='three'></div>", encoding="utf-8")
    registry = unused_css.Registry()
    assert unused_css.update_registry(registry, out)
    assert registry.pages["a/index.html"].classes == {"one", "two"}
    assert registry.pages["a/index.html"].scripts == {"_static/s.js"}
    assert registry.pages["a/index.html"].properties == {"--c"}
    assert registry.pages["b.html"].classes == {"three"}
    assert not unused_css.update_registry(registry, out)  # nothing changed
    time.sleep(0.01)
    page.write_text('<p class="four"></p>', encoding="utf-8")
    (out / "b.html").unlink()
    assert unused_css.update_registry(registry, out)
    assert set(registry.pages) == {"a/index.html"}
    assert registry.pages["a/index.html"].classes == {"four"}


def test_many_pages_are_read_in_processes_with_the_same_result(tmp_path: Path):
    """Enough new pages are read in forked processes (a clean build); the registry is the one
    the main process would make alone."""
    out = tmp_path / "html"
    for number in range(3 * unused_css.MIN_PARALLEL_PAGES):
        page = out / f"p{number % 7}" / f"{number}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f'<p class="c{number} shared"></p>', encoding="utf-8")
    alone, forked = unused_css.Registry(), unused_css.Registry()
    assert unused_css.update_registry(alone, out, processes=1)
    assert unused_css.update_registry(forked, out, processes=2)
    assert forked.pages == alone.pages and len(alone.pages) == 3 * unused_css.MIN_PARALLEL_PAGES
    assert alone.pages["p3/10.html"].classes == {"c10", "shared"}


def _plain_reading(path: Path, outdir: Path) -> unused_css.PageUse:
    """What a page uses, found the straightforward way (the scan before it was made faster):
    every ``\\bclass=`` attribute, every script link resolved on its own."""
    html = path.read_text(encoding="utf-8")
    classes = {
        name
        for values in re.findall(r"""\bclass=(?:"([^"]*)"|'([^']*)')""", html)
        for name in " ".join(values).split()
    }
    scripts = set()
    for tag in re.findall(r"<script\b[^>]*>", html):
        for src in re.findall(r'\s(?:src|data-kb-lazy-src)="([^"]+)"', tag):
            parts = urlsplit(src)
            if parts.scheme or parts.netloc:
                continue
            target = (path.parent / unquote(parts.path)).resolve()
            if target.is_relative_to(outdir):
                scripts.add(str(target.relative_to(outdir)))
    properties = set(re.findall(r"--[A-Za-z_][\w-]*", html))
    return unused_css.PageUse((0, 0), frozenset(classes), frozenset(properties), frozenset(scripts))


def test_the_scan_finds_what_a_plain_reading_finds(tmp_path: Path):
    """The scan looks for ``class=`` from its literal and resolves script links once per folder
    and target; on pages in real and symlinked folders, with every kind of link, it finds what
    reading each attribute and resolving each link on its own finds."""
    out = tmp_path / "html"
    (out / "real" / "deep").mkdir(parents=True)
    (out / "_static" / "sub").mkdir(parents=True)
    (out / "alias").symlink_to(out / "real" / "deep")  # ../ from alias/ is real/, not the root
    (out / "_static" / "hop").symlink_to(out / "real")  # a link to climb out of with ..
    (tmp_path / "elsewhere").mkdir()
    (out / "outside").symlink_to(tmp_path / "elsewhere")
    body = (
        '<div class="a b" data-class="c"><p class=\'d\'>x</p><i subclass="no" _class=\'no\''
        ' éclass="no"></i><span class=""></span><b class="a  e\n f">--x var(--y-z)</b></div>'
        '<script src="../_static/s.js?v=1"></script><script src="../../_static/s.js"></script>'
        '<script defer data-kb-lazy-src="./../_static/sub/t.js#h" src="/abs.js"></script>'
        '<script src="../_static/hop/../x.js"></script><script src="../outside/o.js"></script>'
        '<script src="https://example.org/e.js"></script><script src="//cdn.example/f.js"></script>'
        '<script src="%2E%2E/_static/q.js"></script><script src="?v=2"></script><script src=".."></script>'
        '<script src="../../../../../../up.js"></script><script src="hop//./s.js"></script>'
    )
    pages = [
        out / "index.html",
        out / "real" / "p.html",
        out / "real" / "deep" / "q.html",
        out / "alias" / "r.html",
    ]
    for page in pages:
        page.write_text(body, encoding="utf-8")
    real = unused_css.RealPaths()  # shared by the pages, as in one pass
    for page in pages:
        scanned = unused_css.read_page(page, out, (0, 0), real)
        assert scanned == _plain_reading(page, out), page
    assert scanned.classes == {"a", "b", "c", "d", "e", "f"}
    # From the symlinked folder, ../../ climbs from real/deep, not from alias/ (outside the site).
    assert "_static/s.js" in scanned.scripts
    in_real = unused_css.read_page(out / "real" / "p.html", out, (0, 0)).scripts
    assert "x.js" in in_real and "_static/x.js" not in in_real  # .. after the link _static/hop
    assert not [script for script in in_real if "o.js" in script]  # a link leading outside


def test_the_text_a_page_was_written_with_is_what_reading_its_file_gives(tmp_path: Path):
    """Sphinx writes a page as ``Path.write_text(output, encoding="utf-8",
    errors="xmlcharrefreplace")``; the scan reads it with universal newlines."""
    page = tmp_path / "page.html"
    for output in ['<p class="a">中文</p>', 'a\r\nb\rc\n<p class="x\ry">', ""]:
        page.write_text(output, encoding="utf-8", errors="xmlcharrefreplace")
        stamp = (0, page.stat().st_size)
        assert unused_css.written_text(output, stamp) == page.read_text(encoding="utf-8")
    # What UTF-8 cannot encode is written as a character reference: read from the file instead.
    assert unused_css.written_text('<p class="\ud800">', (0, 30)) is None
    assert unused_css.written_text("abc", (0, 4)) is None  # not the file's size


def test_a_note_of_a_written_page_is_taken_only_while_the_file_has_its_stamp(tmp_path: Path):
    out = tmp_path / "html"
    out.mkdir()
    page, other = out / "a.html", out / "b.html"
    page.write_text('<p class="on-disk"></p>', encoding="utf-8")
    other.write_text('<p class="other"></p>', encoding="utf-8")
    stamp = (page.stat().st_mtime_ns, page.stat().st_size)
    noted = unused_css.PageUse(stamp, frozenset({"noted"}), frozenset(), frozenset())
    stale = unused_css.PageUse((1, 2), frozenset({"stale"}), frozenset(), frozenset())
    registry = unused_css.Registry()
    assert unused_css.update_registry(registry, out, written={"a.html": noted, "b.html": stale})
    assert registry.pages["a.html"].classes == {"noted"}  # taken, not read
    assert registry.pages["b.html"].classes == {"other"}  # the file changed since: read


def test_a_page_noted_twice_is_left_to_be_read(tmp_path: Path):
    import pickle

    folder = tmp_path / unused_css.WRITTEN_DIR
    folder.mkdir()
    use = unused_css.PageUse((1, 2), frozenset({"a"}), frozenset({"--p"}), frozenset({"_static/s.js"}))
    for pid, names in [(11, ["once.html", "twice.html"]), (12, ["twice.html"])]:
        with (folder / f"{pid}.pickle").open("ab") as stream:
            for name in names:
                pickle.dump((name, use), stream)
    assert unused_css.load_written_pages(tmp_path) == {"once.html": use}
    assert not folder.exists()
    assert unused_css.load_written_pages(tmp_path) == {}  # no notes: a build that wrote nothing


# -- the real site -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def untrimmed_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``_static`` of a small site built with trimming turned off: the stylesheets as the theme,
    Sphinx and KaTeX ship them (they do not depend on the pages), and their bundle."""
    base = tmp_path_factory.mktemp("untrimmed")
    site = make_site(base / "site", "tags-list")
    build = sphinx_build(site, base / "html", "-D", "unused_css_files=")
    assert build.returncode == 0, build.output[-3000:]
    return base / "html" / "_static"


@pytest.fixture(scope="module")
def original_css(untrimmed_static: Path) -> dict[str, bytes]:
    return {name: (untrimmed_static / name).read_bytes() for name in TRIMMED}


@pytest.mark.slow  # the real site's build
def test_the_trimmed_stylesheets_are_smaller(html_dir: Path, original_css: dict[str, bytes]):
    before = sum(len(gzip.compress(css)) for css in original_css.values())
    after = sum(len(gzip.compress((html_dir / "_static" / name).read_bytes())) for name in TRIMMED)
    assert after < 0.6 * before, (before, after)
    assert "styles/pydata-sphinx-theme.css" in TRIMMED
    theme = (html_dir / "_static/styles/pydata-sphinx-theme.css").read_text(encoding="utf-8")
    assert ".bd-sidebar-primary" in theme and ".dropdown-menu" in theme and ".tooltip" in theme
    # Bootstrap builds its tooltips from a template string in bootstrap.js, which pages load
    # only on the reader's first interaction (data-kb-lazy-src): its classes are still kept.
    assert ".tooltip-inner" in theme and ".tooltip-arrow" in theme
    assert ".display-1" not in theme and ".btn-outline-danger" not in theme  # unused by the site


PAGES = [
    "index.html",
    "posts/ddim-sampling/index.html",  # math, code, figures, references
    "posts/pytorch-ddp/index.html",  # code-heavy
    "glossary.html",
    "map.html",
    "series.html",
    "bibliography.html",
    "blog.html",
    "blog/category/generative-model.html",
    "genindex.html",
    "no-such-page.html",  # the 404 page
    "search.html?q=扩散模型",
]
# The header's menus are the same on every page: opened on these.
INTERACTIVE = {"index.html", "posts/ddim-sampling/index.html"}


# Rasterisation noise between two renders of the same page: DDIM's full page at 420 px has
# differed, in some runs and not others, by a shade (at most 21 of 255) along the top and bottom
# edges of one 4,000 px code block (~400 pixels). A missing or changed rule moves content or
# changes colours: many pixels, or large differences.
NOISE_LEVEL = 32  # of 255, per channel
NOISE_PIXELS = 1000


def same_render(ours: bytes, theirs: bytes) -> bool:
    """Two PNG screenshots are the same render: equal, or differing only by rasterisation noise
    (no pixel by more than NOISE_LEVEL in any channel, at most NOISE_PIXELS pixels)."""
    if ours == theirs:
        return True
    import io

    import numpy as np
    from PIL import Image

    a, b = (np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16) for png in (ours, theirs))
    if a.shape != b.shape:
        return False
    difference = np.abs(a - b).max(axis=2)
    return int(difference.max()) <= NOISE_LEVEL and int((difference > 0).sum()) <= NOISE_PIXELS


def test_same_render_tells_noise_from_a_changed_rule():
    import io

    from PIL import Image, ImageDraw

    def png(draw) -> bytes:
        image = Image.new("RGB", (200, 3000), "white")
        draw(ImageDraw.Draw(image))
        out = io.BytesIO()
        image.save(out, "PNG")
        return out.getvalue()

    page = png(lambda d: d.rectangle((10, 100, 190, 2000), outline=(220, 220, 220)))

    def shade(d) -> None:  # the seen noise: the top and bottom edges a few levels lighter
        d.rectangle((10, 100, 190, 2000), outline=(220, 220, 220))
        d.line((10, 100, 190, 100), fill=(241, 241, 241))
        d.line((10, 2000, 190, 2000), fill=(241, 241, 241))

    shaded = png(shade)
    recoloured = png(lambda d: d.rectangle((10, 100, 190, 2000), outline=(120, 120, 120)))
    moved = png(lambda d: d.rectangle((10, 104, 190, 2004), outline=(220, 220, 220)))
    filled = png(lambda d: d.rectangle((10, 100, 190, 2000), outline=(220, 220, 220), fill=(236, 236, 236)))
    assert same_render(page, page) and same_render(page, shaded)
    assert not same_render(page, recoloured)  # a colour a rule sets
    assert not same_render(page, moved)  # layout
    assert not same_render(page, filled)  # a faint background on a large area


def _screenshots(page, url: str, interactive: bool) -> list[tuple[str, bytes]]:
    page.goto(url, wait_until="networkidle")  # a missing page answers 404
    if "search.html" in url:
        page.wait_for_selector("#kb-search-status[data-state=done]", timeout=20000)
    # Sections below the first screen are laid out when reached (kb.css): on both sides, all of
    # them, so that the full-page shots do not depend on what was reached when.
    page.add_style_tag(content=".bd-article section section { content-visibility: visible !important; }")
    page.evaluate("document.fonts.ready")
    shots = [("page", page.screenshot(full_page=True, animations="disabled", caret="hide"))]
    if not interactive:
        return shots

    def shot(label: str, keep_tooltip: bool = False) -> None:
        if keep_tooltip:
            shots.append((label, page.screenshot(animations="disabled", caret="hide")))
            return
        # Tooltips fade in and out on their own clock (a click leaves the focus, and with it a
        # tooltip, on the button): compared in their own shot only, hidden in the others.
        page.mouse.move(0, 0)
        hidden = page.add_style_tag(content=".tooltip { display: none !important; }")
        shots.append((label, page.screenshot(animations="disabled", caret="hide")))
        hidden.evaluate("style => style.remove()")

    toggle = page.locator(".theme-switch-button >> visible=true")
    if toggle.count():
        toggle.first.click()
        page.wait_for_selector(".dropdown-menu.show")
        shot("colour menu")
        # Bootstrap closes the menu on Escape only from its toggle or the menu, and the book
        # theme takes the focus off the toggle when it is clicked (in some runs the menu stayed
        # open into the next shots): Escape from the toggle, and wait for the menu to close.
        toggle.first.focus()
        page.keyboard.press("Escape")
        page.wait_for_selector(".dropdown-menu.show", state="detached")
        # The toggle keeps the focus, and with it its own tooltip ("Color mode"), which fades
        # on its own clock: blur it and wait below for the search button's alone.
        page.evaluate("document.activeElement.blur()")
    search = page.locator(".search-button__button >> visible=true")
    if search.count():
        search.first.hover()
        page.wait_for_function(
            "() => { const shown = [...document.querySelectorAll('.tooltip')];"
            " return shown.length === 1 && shown[0].classList.contains('show'); }"
        )
        shot("tooltip", keep_tooltip=True)
        search.first.click()
        page.wait_for_selector("#pst-search-dialog[open]")
        shot("search dialog")
        page.keyboard.press("Escape")
        page.evaluate("document.activeElement.blur()")
    menu = page.locator(".primary-toggle >> visible=true")
    if menu.count() and page.viewport_size["width"] < 960:
        menu.first.click()
        page.wait_for_timeout(400)
        shot("sidebar")
    return shots


def _renders_differing(
    ours: list[tuple[str, bytes]],
    theirs: list[tuple[str, bytes]],
    names: tuple[str, str],
    url: str,
    mode: str,
    stem: str,
    folder: Path,
) -> list[str]:
    """The shots of ``url`` in ``mode`` (taken the same way, same labels) that are not the same
    render, each pair saved in ``folder`` as ``<stem>-<label>-<name>.png`` for a look."""
    assert [label for label, _ in ours] == [label for label, _ in theirs], url
    different = []
    for (label, mine), (_, other) in zip(ours, theirs):
        if not same_render(mine, other):
            file_stem = f"{stem}-{label}".replace("/", "_").replace(" ", "_")
            (folder / f"{file_stem}-{names[0]}.png").write_bytes(mine)
            (folder / f"{file_stem}-{names[1]}.png").write_bytes(other)
            different.append(f"{url} ({mode}, {label})")
    return different


def _serve(body: bytes):
    return lambda route: route.fulfill(body=body, content_type="text/css")


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 420])
def test_pages_look_the_same_with_the_trimmed_stylesheets(
    browser,
    hosted: str,
    html_dir: Path,
    width: int,
    original_css: dict[str, bytes],
    untrimmed_static: Path,
    tmp_path: Path,
):
    # Pages link the stylesheets' bundle (kb/assets/css_bundle.py): the untrimmed site's.
    original_bundle = (untrimmed_static / css_bundle.BUNDLE).read_bytes()
    assert len(original_bundle) > 1.5 * len((html_dir / "_static" / css_bundle.BUNDLE).read_bytes())
    different = []
    for mode in ["light", "dark"]:
        # The site follows the reader's system: the colour scheme picks the mode.
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=mode)
        trimmed_page = context.new_page()
        original_page = context.new_page()
        for name, body in original_css.items():
            original_page.route(f"**/_static/{name}*", _serve(body))
        original_page.route(f"**/_static/{css_bundle.BUNDLE}*", _serve(original_bundle))
        for path in PAGES:
            url = f"{hosted}/{path}"
            trimmed = _screenshots(trimmed_page, url, path in INTERACTIVE)
            original = _screenshots(original_page, url, path in INTERACTIVE)
            different += _renders_differing(
                trimmed, original, ("trimmed", "original"), url, mode, f"{width}-{mode}-{path}", tmp_path
            )
        context.close()
    assert not different, f"renders differ (screenshots in {tmp_path}): {different}"


_BUNDLE_LINK = re.compile(r'<link rel="stylesheet" href="([^"]*)_static/styles/kb-site\.css\?v=[0-9a-f]+" />')


def _linked_one_by_one(route) -> None:
    """The page as it was before the bundle: each stylesheet linked by itself (the trimmed files
    the bundle was made of), the tag cloud's last."""
    if route.request.resource_type != "document":
        route.continue_()
        return
    response = route.fetch()
    html = response.text()
    match = _BUNDLE_LINK.search(html)
    assert match, route.request.url
    links = "".join(
        f'<link rel="stylesheet" href="{match[1]}_static/{name}" />' for name in BUNDLED_STYLESHEETS
    )
    route.fulfill(response=response, body=html.replace(match[0], links))


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 420])
def test_pages_look_the_same_with_the_stylesheets_bundled(browser, hosted: str, width: int, tmp_path: Path):
    different = []
    for mode in ["light", "dark"]:
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=mode)
        bundled_page = context.new_page()
        separate_page = context.new_page()
        separate_page.route("**/*", _linked_one_by_one)
        loaded: list[str] = []
        separate_page.on("requestfinished", lambda request: loaded.append(request.url))  # noqa: B023
        for path in PAGES:
            url = f"{hosted}/{path}"
            bundled = _screenshots(bundled_page, url, path in INTERACTIVE)
            separate = _screenshots(separate_page, url, path in INTERACTIVE)
            different += _renders_differing(
                bundled, separate, ("bundled", "separate"), url, mode, f"{width}-{mode}-{path}", tmp_path
            )
        assert not [url for url in loaded if "kb-site.css" in url]
        assert [url for url in loaded if url.endswith("/_static/ablog/tagcloud.css")]
        context.close()
    assert not different, f"renders differ (screenshots in {tmp_path}): {different}"


def test_a_page_names_the_scripts_it_loads_at_once_and_later(tmp_path: Path):
    (tmp_path / "_static").mkdir()
    page = tmp_path / "page.html"
    page.write_text(
        '<script defer data-kb-lazy-src="_static/bootstrap.js?digest=1" src="_static/lazy.js"></script>'
        '<script src="_static/app.js"></script><script src="https://example.org/x.js"></script>',
        encoding="utf-8",
    )
    used = unused_css.read_page(page, tmp_path, (0, 0))
    assert used.scripts == {"_static/bootstrap.js", "_static/lazy.js", "_static/app.js"}


# -- code without the spans drawn as plain text (kb/assets/code_spans.py) -------------------


@pytest.mark.browser
@pytest.mark.slow  # the real site's build
def test_code_without_its_plain_spans_looks_as_pygments_draws_it(
    browser, html_dir: Path, untrimmed_static: Path, tmp_path: Path
):
    """The real site's code block (edm_toy.py, included whole) against the same code as stock
    Pygments writes it, with the theme's untrimmed ``pygments.css``: the same text, under half
    the spans, and every character drawn in the same colour, weight, style, decoration and
    background, in a block of the same size, in light and dark mode. (Not the same pixels: text
    split into other runs is anti-aliased a little differently, up to 71 of 255 on glyph edges.)
    A rule giving names a colour of their own, as a style that colours names would write, tells
    the two apart."""
    import html as entities

    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    source = (ROOT / "posts" / "edm-design-space" / "edm_toy.py").read_text(encoding="utf-8")
    page = (html_dir / "posts" / "edm-design-space" / "index.html").read_text(encoding="utf-8")
    blocks = re.findall(r'<div class="highlight"><pre>(.*?)</pre></div>', page, re.S)

    def text(markup: str) -> str:
        return entities.unescape(re.sub(r"<[^>]+>", "", markup))

    ours = next(block for block in blocks if text(block).strip() == source.strip())
    written = re.search(r"<pre>(.*?)</pre>", highlight(source, PythonLexer(), HtmlFormatter()), re.S)
    assert written
    stock = written[1]
    assert text(ours) == text(stock)
    assert ours.count("<span") < 0.5 * stock.count("<span"), (ours.count("<span"), stock.count("<span"))
    (tmp_path / "pygments.css").write_bytes((untrimmed_static / "pygments.css").read_bytes())

    def drawn(mode: str, code: str, extra_css: str = "") -> dict:
        """Each character's computed look, and the block's size."""
        document = tmp_path / "code.html"
        document.write_text(
            f'<!DOCTYPE html><html data-theme="{mode}"><head><meta charset="utf-8">'
            '<link rel="stylesheet" href="pygments.css">'
            f"<style>pre {{ font: 13px/1.4 monospace; margin: 0 }} {extra_css}</style></head>"
            f'<body><div class="highlight"><pre>{code}</pre></div></body></html>',
            encoding="utf-8",
        )
        page = browser.new_page(viewport={"width": 900, "height": 600})
        page.goto(document.as_uri())
        look = page.evaluate(
            """() => {
                const pre = document.querySelector("pre"), looks = [];
                const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
                for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                    const s = getComputedStyle(node.parentElement);
                    const look = [s.color, s.fontWeight, s.fontStyle, s.textDecorationLine, s.backgroundColor].join(" ");
                    for (const character of node.data) looks.push(look);
                }
                const box = pre.getBoundingClientRect();
                return {looks, size: [box.width, box.height]};
            }"""
        )
        page.close()
        return look

    for mode in ["light", "dark"]:
        ours_drawn, stock_drawn = drawn(mode, ours), drawn(mode, stock)
        assert len(set(stock_drawn["looks"])) > 3, stock_drawn["looks"][:20]  # keywords, numbers, …
        assert ours_drawn == stock_drawn, mode
    coloured_names = 'html[data-theme="light"] .highlight .n { color: #c00 }'
    assert drawn("light", ours, coloured_names) != drawn("light", stock, coloured_names)
