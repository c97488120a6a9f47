# mypy: disable-error-code="arg-type,index,operator,type-var,return-value,misc"
# (parsed HTML: BeautifulSoup types attributes as str | list | None and lookups as Optional)
"""Figures drawn by the articles' code (_ext/kb/figures/): rendering, dark mode, fonts, caching.

The bad inputs (a raising plot function, no alt text, an unreferenced figure, a dangling
``{numref}``, a glyph no font has, torch imported, a committed PNG, a missing image) are tiny
sites in ``tests/roots/test-bad-figures`` checked by ``test_bad_input.py``; this module checks
what a good figure becomes, on the tiny site ``tests/roots/test-figures`` and in unit tests.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from lxml import etree

from kb.figures import render, style
from sitebuild import ROOT, Build, make_site, output_files, sphinx_build

DEMO = "posts/figure-demo"
SVG_NS = {"svg": "http://www.w3.org/2000/svg"}


def checked(build: Build) -> Build:
    assert build.returncode == 0, build.output[-3000:]
    return build


def calls(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").split() if log.exists() else []


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Build:
    base = tmp_path_factory.mktemp("figures")
    return checked(sphinx_build(make_site(base / "src", "figures"), base / "html"))


def page(build: Build, path: str = f"{DEMO}/index.html") -> BeautifulSoup:
    return BeautifulSoup((build.outdir / path).read_text(encoding="utf-8"), "lxml")


# -- what the page shows --------------------------------------------------------------------------


@pytest.mark.slow  # builds a site
def test_figures_are_numbered_and_referred_to_by_number(demo: Build):
    soup = page(demo)
    figures = soup.select("figure.kb-figure")
    assert [f["id"] for f in figures] == ["fig-demo-curves", "fig-demo-grid"]
    assert [f.select_one(".caption-number").get_text(strip=True) for f in figures] == ["图 1", "图 2"]
    assert "正弦与余弦" in figures[0].figcaption.get_text()
    assert figures[0].figcaption.select_one(".katex")  # math in a caption is rendered
    refs = {
        a["href"]: a.get_text()
        for a in soup.select("a.reference.internal")
        if a.get("href", "").startswith("#fig-")
    }
    assert refs == {"#fig-demo-curves": "图 1", "#fig-demo-grid": "图 2"}


@pytest.mark.slow  # builds a site
def test_each_figure_has_a_light_and_a_dark_image_with_alt_size_and_lazy_loading(demo: Build):
    for figure in page(demo).select("figure.kb-figure"):
        light, dark = figure.select("img")
        assert light["class"] == ["kb-figure-light", "only-light"]
        assert dark["class"] == ["kb-figure-dark", "only-dark"]
        for image in (light, dark):
            assert len(image["alt"]) > 10 and image["alt"] not in figure.figcaption.get_text()
            assert int(image["width"]) > 200 and int(image["height"]) > 150
            assert image["loading"] == "lazy" and image["decoding"] == "async"
            assert (demo.outdir / DEMO / image["src"]).resolve().is_file(), image["src"]
        assert light["width"] == dark["width"] and light["height"] == dark["height"]
        assert figure.select_one("a.kb-figure-link")["href"] == light["src"]


def figure_files(build: Build) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((build.outdir / "_images" / "figures").iterdir())}


@pytest.mark.slow  # builds a site
def test_the_dark_copy_swaps_the_style_colours_and_nothing_else(demo: Build):
    files = figure_files(demo)
    light = files[
        next(name for name in files if name.startswith("fig-demo-curves") and "dark" not in name)
    ].decode()
    dark = files[
        next(name for name in files if name.startswith("fig-demo-curves") and "dark" in name)
    ].decode()
    assert light != dark
    assert style.dark_variant(light) == dark
    assert style.FOREGROUND in light and style.FOREGROUND not in dark
    # The two palette colours of the plot's lines, each replaced by its dark counterpart.
    for light_colour, dark_colour in style.PALETTE[:2]:
        assert light_colour in light and dark_colour in dark and light_colour not in dark
    # Same drawing: remove the colours (and the dark copy's default fill) and the files are equal.
    strip = re.compile(r"#[0-9a-f]{6}")
    assert strip.sub("", light) == strip.sub("", dark).replace('<svg fill=""', "<svg", 1)


@pytest.mark.slow  # builds a site
def test_svg_is_reproducible_and_has_no_date(demo: Build):
    for name, data in figure_files(demo).items():
        text = data.decode()
        assert "<dc:date>" not in text, name
        etree.fromstring(data)  # well-formed


def glyph_ids(svg: bytes) -> set[str]:
    """The ids of the glyph outlines an SVG defines: matplotlib names each ``<font>-<glyph index
    in hex>``, so glyph 0 (``.notdef``, the empty box of a missing character) would be ``…-0``."""
    return {path.get("id", "") for path in etree.fromstring(svg).iterfind(".//svg:defs/svg:path", SVG_NS)}


@pytest.mark.slow  # builds a site
def test_chinese_text_is_drawn_with_the_cjk_font(demo: Build):
    from matplotlib import font_manager

    cjk = font_manager.get_font(font_manager.findfont(style.CJK_FONT, fallback_to_default=False))
    assert cjk.postscript_name == "NotoSansCJKsc-Regular"
    files = figure_files(demo)
    for prefix, text in [("fig-demo-curves", "正弦余"), ("fig-demo-grid", "函数值")]:
        svg = files[next(n for n in files if n.startswith(prefix) and "dark" not in n)]
        ids = glyph_ids(svg)
        assert not [i for i in ids if i.endswith("-0")], "a .notdef glyph (an empty box) was drawn"
        for character in text:
            index = cjk.get_char_index(ord(character))
            assert index and f"NotoSansCJKsc-Regular-{index:x}" in ids, character


@pytest.mark.slow  # builds a site
def test_feed_entries_show_the_light_figure_with_an_absolute_address(demo: Build):
    feed = (demo.outdir / "blog" / "atom.xml").read_text(encoding="utf-8")
    sources = re.findall(r'src="([^"]*figures/[^"]*)"', feed.replace("&quot;", '"'))
    assert sources and all(src.startswith("https://") and "-dark" not in src for src in sources), sources


# -- caching and incremental builds ---------------------------------------------------------------


@pytest.mark.slow  # builds a site
def test_prose_edits_do_not_run_plot_code_and_code_edits_redraw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    log = tmp_path / "calls.log"
    monkeypatch.setenv("KB_FIGURE_CALL_LOG", str(log))
    site = make_site(tmp_path / "src", "figures")
    outdir = tmp_path / "html"
    checked(sphinx_build(site, outdir))
    assert sorted(calls(log)) == ["plot_curves", "plot_grid"]
    first = figure_files(Build(site, outdir, 0, ""))

    post = site / DEMO / "index.md"
    post.write_text(
        post.read_text(encoding="utf-8").replace("中间的一段文字。", "改写过的中间段落。"), encoding="utf-8"
    )
    checked(sphinx_build(site, outdir))
    assert "改写过的中间段落" in (outdir / DEMO / "index.html").read_text(encoding="utf-8")
    assert sorted(calls(log)) == ["plot_curves", "plot_grid"], "prose edit re-ran plot code"
    assert figure_files(Build(site, outdir, 0, "")) == first

    model = site / DEMO / "demo_model.py"
    model.write_text(
        model.read_text(encoding="utf-8").replace("np.sin(x)", "np.sin(2 * x)"), encoding="utf-8"
    )
    checked(sphinx_build(site, outdir))
    assert sorted(calls(log)) == ["plot_curves", "plot_curves", "plot_grid", "plot_grid"]
    second = figure_files(Build(site, outdir, 0, ""))
    assert not set(first) & set(second), "old figure files must be replaced, not kept"

    clean = checked(sphinx_build(site, tmp_path / "clean"))
    incremental, fresh = output_files(outdir), output_files(clean.outdir)
    assert sorted(incremental) == sorted(fresh)
    assert [name for name in fresh if incremental[name] != fresh[name]] == []


def test_cache_key_follows_the_post_code_but_not_its_tests(tmp_path: Path):
    folder = tmp_path / "post"
    shutil.copytree(ROOT / "tests/roots/test-figures" / DEMO, folder)
    script = folder / "demo_figures.py"
    key = render.cache_key(script, "plot_curves")
    assert render.cache_key(script, "plot_grid") != key
    (folder / "test_demo_model.py").write_text("def test_nothing():\n    pass\n", encoding="utf-8")
    assert render.cache_key(script, "plot_curves") == key
    (folder / "demo_model.py").write_text((folder / "demo_model.py").read_text() + "\n# edit\n")
    assert render.cache_key(script, "plot_curves") != key


# -- rendering in the build process ---------------------------------------------------------------


def write_post(folder: Path, value: float) -> Path:
    folder.mkdir(parents=True)
    (folder / "helper.py").write_text(f"VALUE = {value}\n", encoding="utf-8")
    (folder / "plots.py").write_text(
        "import matplotlib.pyplot as plt\nfrom helper import VALUE\n\n\n"
        "def plot():\n    fig, ax = plt.subplots()\n    ax.set_title(f'取值 {VALUE}')\n    return fig\n",
        encoding="utf-8",
    )
    return folder / "plots.py"


def test_two_posts_with_same_named_modules_do_not_collide(tmp_path: Path):
    first = render.render(write_post(tmp_path / "a", 1.5), "plot")
    second = render.render(write_post(tmp_path / "b", 2.5), "plot")
    assert first.light != second.light
    assert "helper" not in sys.modules and "torch" not in sys.modules or sys.modules["torch"] is not None


def test_render_is_deterministic_and_sized_in_css_pixels(tmp_path: Path):
    script = write_post(tmp_path / "a", 3.0)
    once, twice = render.render(script, "plot"), render.render(script, "plot")
    assert once == twice
    # The site's default size, 6.4 x 3.6 inches at 96 CSS px per inch, give or take the tight box.
    assert 500 < once.width < 640 and 280 < once.height < 360


def test_a_function_that_returns_no_figure_is_an_error(tmp_path: Path):
    folder = tmp_path / "post"
    folder.mkdir()
    (folder / "plots.py").write_text("def plot():\n    return 42\n", encoding="utf-8")
    with pytest.raises(render.FigureError, match="must return a matplotlib Figure, not int"):
        render.render(folder / "plots.py", "plot")
    with pytest.raises(render.FigureError, match="has no function 'draw'"):
        render.render(folder / "plots.py", "draw")


def test_dark_variant_maps_only_whole_colours_and_black_by_default():
    svg = (
        '<svg width="1pt"><g style="fill: #222832; stroke: #2a6fdb"/><use xlink:href="#DejaVuSans-41"/>'
        '<path id="p2a6fdbab"/></svg>'
    )
    assert style.dark_variant(svg) == (
        '<svg fill="#ced6dd" width="1pt"><g style="fill: #ced6dd; stroke: #6ea8ff"/>'
        '<use xlink:href="#DejaVuSans-41"/><path id="p2a6fdbab"/></svg>'
    )


def test_black_text_and_markers_turn_light_in_dark_mode(tmp_path: Path):
    """matplotlib leaves black fills implicit (SVG's default); the dark copy must still swap them."""
    folder = tmp_path / "post"
    folder.mkdir()
    (folder / "plots.py").write_text(
        "import matplotlib.pyplot as plt\n\n\ndef plot():\n    fig, ax = plt.subplots()\n"
        "    ax.scatter([0, 1], [0, 1], color='k')\n    ax.text(0.5, 0.5, '黑字', color='k')\n"
        "    return fig\n",
        encoding="utf-8",
    )
    from lxml import etree as tree

    dark = tree.fromstring(render.render(folder / "plots.py", "plot").dark)
    assert dark.get("fill") == style.DARK_COLOURS["#000000"]
    assert b"#000000" not in tree.tostring(dark)
    light = {colour for colour, _ in style.PALETTE}
    assert len(light) == len(style.PALETTE)
    assert not light & set(style.DARK_COLOURS.values()), "a dark colour must not be a light one"


def test_text_in_a_colour_dark_mode_cannot_swap_is_an_error(tmp_path: Path):
    folder = tmp_path / "post"
    folder.mkdir()
    (folder / "plots.py").write_text(
        "import matplotlib.pyplot as plt\n\n\ndef plot():\n    fig, ax = plt.subplots()\n"
        "    ax.set_xlabel('步数', color='navy')\n    ax.annotate('注释', (0.5, 0.5), color='C1')\n"
        "    return fig\n",
        encoding="utf-8",
    )
    with pytest.raises(render.FigureError, match=r"text '步数' in #000080 is not a site colour"):
        render.render(folder / "plots.py", "plot")


@pytest.mark.slow  # builds a site
def test_a_failing_figure_fails_every_build_until_fixed(tmp_path: Path):
    """Drawing happens in worker processes; a failure is reported at the directive's line, and
    the document is read again on the next build, so an unchanged broken figure still fails."""
    site = make_site(tmp_path / "src", "figures")
    model = site / DEMO / "demo_model.py"
    model.write_text(
        model.read_text(encoding="utf-8").replace(
            "x = np.linspace", "raise RuntimeError('坏掉的模型')\n    x = np.linspace"
        ),
        encoding="utf-8",
    )
    outdir = tmp_path / "html"
    for _attempt in range(2):
        build = sphinx_build(site, outdir)
        assert build.returncode != 0
        assert any(
            f"{DEMO}/index.md:13: WARNING: code-figure fig-demo-curves: demo_figures.py:"
            "plot_curves() raised (demo_model.py:6 in curves): RuntimeError: 坏掉的模型" in w
            for w in build.warnings
        ), build.warnings


@pytest.mark.slow  # imports torch (seconds)
def test_figure_code_may_use_scipy_but_not_torch(tmp_path: Path):
    """torch is blocked without a placeholder in sys.modules, which SciPy would trip over."""
    import torch  # as in a test run that imported it before

    folder = tmp_path / "post"
    folder.mkdir()
    (folder / "plots.py").write_text(
        "import matplotlib.pyplot as plt\nfrom scipy import stats\n\n\n"
        "def plot():\n    fig, ax = plt.subplots()\n    ax.plot([0, 1], stats.norm.cdf([0, 1]))\n    return fig\n\n\n"
        "def plot_torch():\n    import torch\n    return torch\n",
        encoding="utf-8",
    )
    assert render.render(folder / "plots.py", "plot").width > 100
    with pytest.raises(render.FigureError, match="imports torch"):
        render.render(folder / "plots.py", "plot_torch")
    assert sys.modules["torch"] is torch


def test_compact_rounds_coordinates_only():
    svg = '<path d="M 12.345678 -0.004999 L 3.1 7" style="stroke-width: 1.234567"/><text x="1.23456">v1.234567</text>'
    assert style.compact(svg) == (
        '<path d="M 12.35 -0 L 3.1 7" style="stroke-width: 1.234567"/><text x="1.23">v1.234567</text>'
    )
