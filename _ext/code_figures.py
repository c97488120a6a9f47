"""Numbered figures drawn at build time by the article's own code, for light and dark mode.

An article shows a plot or a diagram with::

    :::{code-figure} ddim_figures.py:plot_sample_paths
    :name: fig-ddim-paths
    :alt: 两幅并排的轨迹图：左边 DDPM 的轨迹来回抖动，右边 DDIM 的轨迹平滑……

    DDPM 与 DDIM 从同一批 $x_T$ 出发的样本轨迹。
    :::

The argument names a Python file in the post's folder and a function in it that returns a
matplotlib ``Figure``; the content is the caption. The figure is rendered to SVG while the
document is read, with the site's style (a CJK font, mathtext in Computer Modern, the site's
palette), and a second copy is derived for dark mode by swapping the style's colours for their
dark-mode counterparts. The page shows the variant of the reader's colour mode; both are lazy
images with their size, inside a numbered ``<figure>`` that ``{numref}`` refers to.

Why not ``matplotlib.sphinxext.plot_directive``, the ecosystem's usual choice: it has no
``:name:`` (so no ``{numref}``), renders one variant (no dark mode), records only the script
itself as a dependency (the article's module that the script imports is not), decides
staleness by file times instead of contents, and cannot make a missing alt text, a missing CJK
glyph or an unreferenced figure a build error. Graphviz is not used either: its SVG keeps text
as text, which an ``<img>`` lays out with whatever fonts the reader has; here every glyph is
outlined from Noto Sans CJK at build time, so the figure looks the same everywhere.

What fails the build, each with ``file:line`` (``-W``):

* a figure function that raises, does not return a ``Figure``, or is missing;
* a glyph that the fonts cannot draw (matplotlib would draw an empty box);
* a figure without ``:name:`` (``fig-…``), ``:alt:`` or caption, or one that its article never
  refers to with ``{numref}``; any image in a post without alt text; a raster image file
  committed into a post folder (it would go stale: commit the code that draws it);
* importing torch from figure code: it is a test-only dependency, and Read the Docs, which
  builds the figures too, does not install it.

Renders are cached beside the doctrees, keyed by the contents of the post folder's Python files
(tests excluded), the function name, the style and matplotlib's version. Editing an article's
prose re-reads it without running any plot code; editing one of its Python files renders its
figures again. Figures are drawn in worker processes while Sphinx reads on (:class:`Renderer`).
SVG output is byte-reproducible (fixed ``svg.hashsalt``, no date metadata).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import re
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from cross_page import track_per_document

logger = logging.getLogger(__name__)

CACHE_DIR = "kb_figures"
OUTPUT_SUBDIR = "figures"  # under the builder's _images/
STYLE_VERSION = 1          # bump when the rendering below changes in a way the key cannot see
CJK_FONT = "Noto Sans CJK SC"
RASTER_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}

# -- the site's figure style ----------------------------------------------------------------------

# Light-mode colours and their dark-mode counterparts. Figure code uses the cycle ("C0"…"C9"),
# these names or matplotlib's black/white; the dark copy swaps each for the one on its right.
# Dark-mode colours keep the hue and are lightened to stay readable on the theme's #14181e.
FOREGROUND = "#222832"      # pydata-sphinx-theme's light --pst-color-text-base
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
    FOREGROUND: "#ced6dd",   # the theme's dark --pst-color-text-base
    "#000000": "#ced6dd",
    "#ffffff": "#14181e",    # white fills (legend boxes, labels) become the dark page background
    "#d0d7de": "#3d444d",    # grid and light rules
    "#eaeef2": "#262c36",    # light fills (panels, boxes)
    **dict(PALETTE),
}
RC_PARAMS: dict[str, Any] = {
    "font.family": [CJK_FONT, "DejaVu Sans"],
    "font.size": 11,
    "mathtext.fontset": "cm",
    "axes.unicode_minus": False,      # U+2212 is in neither font's CJK-consistent width
    "axes.prop_cycle": __import__("cycler").cycler(color=[light for light, _dark in PALETTE]),
    "axes.edgecolor": FOREGROUND,
    "axes.labelcolor": FOREGROUND,
    "axes.titlecolor": FOREGROUND,
    "axes.facecolor": "none",
    "axes.grid": False,
    "grid.color": "#d0d7de",
    "text.color": FOREGROUND,
    "xtick.color": FOREGROUND,
    "ytick.color": FOREGROUND,
    "legend.facecolor": "#ffffff",
    "legend.edgecolor": "#d0d7de",
    "legend.framealpha": 0.9,
    "figure.facecolor": "none",
    "figure.edgecolor": "none",
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "figure.constrained_layout.use": True,
    "savefig.facecolor": "none",
    "savefig.edgecolor": "none",
    "savefig.dpi": 200,               # rasterised parts inside the SVG, crisp at 2x
    "savefig.bbox": "tight",          # nothing cut off at the edges, no empty margins
    "savefig.pad_inches": 0.04,
    "svg.fonttype": "path",           # every glyph outlined: no dependence on the reader's fonts
    "svg.hashsalt": "kb-figures",     # stable ids: reproducible bytes
    "image.cmap": "viridis",
}
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}(?![0-9a-zA-Z_-])")


class FigureError(Exception):
    """A figure that cannot be drawn; the message says why, in the author's terms."""


@dataclass(frozen=True)
class Rendered:
    light: bytes
    dark: bytes
    width: int   # CSS pixels
    height: int


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


def dark_variant(svg: str) -> str:
    """The same SVG with the style's colours swapped for their dark-mode counterparts."""
    return _HEX_COLOUR.sub(lambda m: DARK_COLOURS.get(m[0].lower(), m[0]), svg)


def svg_size(svg: str) -> tuple[int, int]:
    """The SVG's width and height in CSS pixels (matplotlib writes points)."""
    found = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"[^>]*\sheight="([\d.]+)pt"', svg)
    if not found:
        raise FigureError("the SVG has no width/height in points")
    return round(float(found[1]) * 4 / 3), round(float(found[2]) * 4 / 3)


@contextlib.contextmanager
def _post_imports(folder: Path) -> Iterator[None]:
    """Let the figure code import its siblings by bare name, without leaking them: the modules
    it imports from its folder are forgotten afterwards (two posts may both have a
    ``figures.py``), and torch cannot be imported (it is not a site requirement)."""
    before = set(sys.modules)
    blocked = {name: sys.modules.get(name) for name in ("torch",)}
    sys.path.insert(0, str(folder))
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name, module in blocked.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if name.startswith("kb_figure_code_") or Path(file).parent == folder:
                del sys.modules[name]


def _where(exc: BaseException, folder: Path) -> str:
    """``file.py:line in function`` of the innermost frame inside the post's folder."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).parent == folder]
    if not frames:
        return ""
    frame = frames[-1]
    return f" ({Path(frame.filename).name}:{frame.lineno} in {frame.name})"


_MATHTEXT = re.compile(r"(?<!\\)\$.*?(?<!\\)\$")
_charmaps: dict[Any, frozenset[int]] = {}


def _characters(path: Any) -> frozenset[int]:
    """The code points a font (a path, or a face of a collection) has glyphs for."""
    if path not in _charmaps:
        from matplotlib import font_manager
        _charmaps[path] = frozenset(font_manager.get_font(path).get_charmap())
    return _charmaps[path]


def missing_glyphs(figure: Any) -> list[str]:
    """Characters of the figure's text (mathtext aside) that none of its fonts can draw.

    matplotlib warns about a missing glyph only for some characters (none for those outside the
    Basic Multilingual Plane, e.g. emoji) and then draws an empty box, so every text artist is
    checked against the character maps of its own font family list."""
    from matplotlib import font_manager
    from matplotlib.text import Text

    missing = []
    for text in figure.findobj(Text):
        content = _MATHTEXT.sub("", text.get_text()) if text.get_usetex() is False else ""
        if not content.strip():
            continue
        props = text.get_fontproperties()
        covered: set[int] = set()
        for family in props.get_family():
            try:
                path = font_manager.findfont(
                    font_manager.FontProperties(family=family, style=props.get_style(),
                                                weight=props.get_weight()),
                    fallback_to_default=False)
            except ValueError:
                continue
            covered |= _characters(path)
        missing += [f"{ch!r} (U+{ord(ch):04X}) in {text.get_text()!r}" for ch in content
                    if not ch.isspace() and ord(ch) not in covered]
    return missing


def render(script: Path, function: str) -> Rendered:
    """Run ``function`` of ``script`` under the site's style; its figure as light and dark SVG."""
    import matplotlib
    matplotlib.use("agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    try:
        font_manager.findfont(font_manager.FontProperties(family=CJK_FONT), fallback_to_default=False)
    except ValueError:
        raise ExtensionError(f"figures need the font {CJK_FONT!r}: install Debian's fonts-noto-cjk "
                             "(scripts/install-system-deps.sh)") from None

    folder = script.parent
    module_name = "kb_figure_code_" + hashlib.sha1(str(script).encode()).hexdigest()[:12]
    with _post_imports(folder), warnings.catch_warnings(record=True) as caught, \
            matplotlib.rc_context(RC_PARAMS):
        warnings.simplefilter("always")
        try:
            spec = importlib.util.spec_from_file_location(module_name, script)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except ImportError as exc:
            if exc.name == "torch":
                raise FigureError(f"{script.name} imports torch{_where(exc, folder)}: figure code "
                                  "runs with the site requirements alone (Read the Docs does not "
                                  "install torch); draw from NumPy") from exc
            raise FigureError(f"importing {script.name} failed{_where(exc, folder)}: "
                              f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            raise FigureError(f"importing {script.name} failed{_where(exc, folder)}: "
                              f"{type(exc).__name__}: {exc}") from exc
        draw = getattr(module, function, None)
        if not callable(draw):
            raise FigureError(f"{script.name} has no function {function!r}")
        try:
            figure = draw()
        except ImportError as exc:
            if exc.name == "torch":
                raise FigureError(f"{script.name}:{function}() imports torch{_where(exc, folder)}: "
                                  "figure code runs with the site requirements alone (Read the "
                                  "Docs does not install torch); draw from NumPy") from exc
            raise FigureError(f"{script.name}:{function}() raised{_where(exc, folder)}: "
                              f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            raise FigureError(f"{script.name}:{function}() raised{_where(exc, folder)}: "
                              f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(figure, Figure):
            plt.close("all")
            raise FigureError(f"{script.name}:{function}() must return a matplotlib Figure, "
                              f"not {type(figure).__name__}")
        unknown = missing_glyphs(figure)
        if unknown:
            plt.close("all")
            raise FigureError(f"{script.name}:{function}(): no font can draw {unknown[0]} "
                              "(it would show as an empty box; use characters the fonts have, "
                              "or mathtext)")
        buffer = io.StringIO()
        try:
            figure.savefig(buffer, format="svg", metadata={"Date": None})
        finally:
            plt.close(figure)
            plt.close("all")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    if missing:
        raise FigureError(f"{script.name}:{function}(): {missing[0]} (the figure would show an "
                          "empty box; use characters the fonts have, or mathtext)")
    light = buffer.getvalue()
    foreign = foreign_text_colours(light)
    if foreign:
        raise FigureError(f"{script.name}:{function}(): text {foreign[0]} is not a site colour, so "
                          "dark mode cannot adjust it; use 'C0'…'C9', 'black' or the default")
    width, height = svg_size(light)
    return Rendered(light.encode(), dark_variant(light).encode(), width, height)


# -- caching -------------------------------------------------------------------------------------

def code_files(folder: Path) -> list[Path]:
    """The Python files a figure of this folder may run: all but the tests."""
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("test_"))


def cache_key(script: Path, function: str) -> str:
    import matplotlib
    digest = hashlib.sha256()
    digest.update(repr((STYLE_VERSION, matplotlib.__version__, sorted(RC_PARAMS.items(), key=str),
                        sorted(DARK_COLOURS.items()), script.name, function)).encode())
    for path in code_files(script.parent):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def store(cache: Path, key: str, rendered: Rendered) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    (cache / f"{key}.svg").write_bytes(rendered.light)
    (cache / f"{key}-dark.svg").write_bytes(rendered.dark)
    # Written last: its presence says the two SVG files are complete.
    (cache / f"{key}.json").write_text(json.dumps({"width": rendered.width, "height": rendered.height}))


def cached_size(cache: Path, key: str) -> tuple[int, int] | None:
    meta = cache / f"{key}.json"
    if not meta.is_file():
        return None
    size = json.loads(meta.read_text())
    return size["width"], size["height"]


class Renderer:
    """Renders figures in worker processes while Sphinx goes on reading documents.

    Sphinx reads documents one after another in one process (ABlog is not parallel-read-safe),
    and drawing a figure costs as much as reading a long article; the spare cores draw instead.
    A figure that misses the cache is submitted when its directive is read; ``env-updated``
    waits for all of them, stores them in the cache and reports failures at the directive's
    line. Workers are started with ``spawn`` (the build process has threads: KaTeX's pipes) and
    import matplotlib once each. With one core, or when Sphinx reads in parallel itself, figures
    are drawn in the reading process.
    """

    def __init__(self) -> None:
        self.pool: Any = None
        self.pending: dict[str, tuple[Any, list[tuple[str, int, str]]]] = {}

    def workers(self) -> int:
        return max(0, min(4, (os.cpu_count() or 1) - 1))

    def submit(self, key: str, script: Path, function: str, where: tuple[str, int, str]) -> None:
        if key in self.pending:
            self.pending[key][1].append(where)
            return
        if self.pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            self.pool = ProcessPoolExecutor(self.workers(), mp_context=multiprocessing.get_context("spawn"))
        self.pending[key] = (self.pool.submit(render, script, function), [where])

    def collect(self) -> Iterator[tuple[str, Rendered | FigureError, list[tuple[str, int, str]]]]:
        """Each submitted figure, in submission order: its rendering or why it failed."""
        pending, self.pending = self.pending, {}
        for key, (future, places) in pending.items():
            try:
                yield key, future.result(), places
            except FigureError as exc:
                yield key, exc, places
            except Exception as exc:  # a worker that died, or an error outside the figure code
                yield key, FigureError(f"{type(exc).__name__}: {exc}"), places

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None
        self.pending = {}


RENDERER = Renderer()


# -- the directive and its node ------------------------------------------------------------------

class code_figure_image(nodes.General, nodes.Inline, nodes.Element):
    """The two images (light, dark) of a figure; attributes: key, name, alt, display_width."""


def _output_name(node: nodes.Element, dark: bool) -> str:
    return f"{node['name']}-{node['key'][:8]}{'-dark' if dark else ''}.svg"


class CodeFigure(SphinxDirective):
    required_arguments = 1
    final_argument_whitespace = False
    has_content = True
    option_spec = {
        "name": directives.unchanged,
        "alt": directives.unchanged,
        "width": directives.length_or_percentage_or_unitless,
        "class": directives.class_option,
    }

    def run(self) -> list[nodes.Node]:
        location = (self.env.docname, self.lineno)
        name = self.options.get("name", "").strip()
        alt = " ".join(self.options.get("alt", "").split())
        problems = []
        if not re.fullmatch(r"fig-[a-z0-9-]+", name):
            problems.append(f"needs :name: fig-<post>-<what> (lowercase), got {name!r}")
        if len(alt) < 8:
            problems.append("needs :alt: text that describes what the figure shows (for readers "
                            "who cannot see it)")
        if not self.content:
            problems.append("needs a caption (the directive's content)")
        spec = self.arguments[0]
        script_name, _, function = spec.partition(":")
        folder = Path(self.env.doc2path(self.env.docname)).parent
        script = (folder / script_name).resolve()
        if not function or not script_name.endswith(".py"):
            problems.append(f"argument must be <file>.py:<function>, got {spec!r}")
        elif script.parent != folder.resolve() or not script.is_file():
            problems.append(f"no file {script_name!r} in this post's folder")
        if problems:
            for problem in problems:
                logger.warning("code-figure: %s", problem, location=location, type="kb",
                               subtype="figure")
            return []
        for path in code_files(folder):
            self.env.note_dependency(str(path))
        cache = Path(self.env.app.doctreedir) / CACHE_DIR
        key = cache_key(script, function)
        size = cached_size(cache, key)
        if size is None and RENDERER.workers() and self.env.app.parallel <= 1:
            RENDERER.submit(key, script, function, (self.env.docname, self.lineno, name))
        elif size is None:
            try:
                rendered = render(script, function)
            except FigureError as exc:
                logger.warning("code-figure %s: %s", name, exc, location=location, type="kb",
                               subtype="figure")
                self.env.note_reread()  # until it is fixed, every build says so
                return []
            store(cache, key, rendered)

        figure = nodes.figure(classes=["kb-figure", *self.options.get("class", [])])
        image = code_figure_image(key=key, name=name, alt=alt,
                                  display_width=self.options.get("width", ""))
        figure += image
        parsed = self.parse_content_to_nodes()
        first = parsed[0] if parsed else None
        if not isinstance(first, nodes.paragraph):
            logger.warning("code-figure %s: the caption must start with a paragraph", name,
                           location=location, type="kb", subtype="figure")
            return []
        caption = nodes.caption(first.rawsource, "", *first.children)
        caption.source, caption.line = first.source, first.line
        figure += caption
        if len(parsed) > 1:
            figure += nodes.legend("", *parsed[1:])
        self.set_source_info(figure)
        self.add_name(figure)
        self.env.kb_figures.setdefault(self.env.docname, []).append(
            (name, key, self.lineno))
        return [figure]


def visit_code_figure_image_html(self: Any, node: code_figure_image) -> None:
    size = cached_size(Path(self.builder.doctreedir) / CACHE_DIR, node["key"])
    if size is None:  # drawing it failed; the build has reported where
        raise nodes.SkipNode
    base = f"{self.builder.imgpath}/{OUTPUT_SUBDIR}/"
    style = f' style="width: {node["display_width"]}"' if node["display_width"] else ""
    attrs = (f'alt="{self.attval(node["alt"])}" width="{size[0]}" height="{size[1]}" '
             f'loading="lazy" decoding="async"{style}')
    light = base + _output_name(node, dark=False)
    self.body.append(
        f'<a class="kb-figure-link" href="{light}">'
        f'<img class="kb-figure-light only-light" src="{light}" {attrs}/>'
        f'<img class="kb-figure-dark only-dark" src="{base + _output_name(node, dark=True)}" {attrs}/></a>')
    raise nodes.SkipNode


def visit_code_figure_image_other(self: Any, node: code_figure_image) -> None:
    self.body.append(self.encode(node["alt"]) if hasattr(self, "encode") else "")
    raise nodes.SkipNode


_DARK_IMG = re.compile(r"<img class=\"kb-figure-dark[^>]*/>")


def light_only(html: str) -> str:
    """HTML without the dark-mode copies of figures, for readers without the site's CSS (feeds)."""
    return _DARK_IMG.sub("", html)


def collect_renders(app: Sphinx, env: Any) -> list[str]:
    """Wait for the figures drawn in worker processes; store them; report the ones that failed
    (and read their documents again next time, so the error is not forgotten)."""
    cache = Path(app.doctreedir) / CACHE_DIR
    for key, result, places in RENDERER.collect():
        if isinstance(result, Rendered):
            store(cache, key, result)
            continue
        for docname, line, name in places:
            logger.warning("code-figure %s: %s", name, result, location=(docname, line),
                           type="kb", subtype="figure")
            env.reread_always.add(docname)
            env.kb_figures[docname] = [f for f in env.kb_figures.get(docname, []) if f[1] != key]
    return []


def stop_renderer(app: Sphinx, exception: Exception | None) -> None:
    RENDERER.close()


# -- checks over the whole document --------------------------------------------------------------

def check_figures(app: Sphinx, doctree: nodes.document) -> None:
    """Every image in a post has alt text and is not a committed raster file; every figure the
    post draws is referred to by a {numref} of the same post."""
    docname = app.env.docname
    if not docname.startswith("posts/"):
        return
    for image in doctree.findall(nodes.image):
        if not image.get("alt", "").strip():
            logger.warning("image %s has no alt text (:alt:)", image.get("uri"),
                           location=image, type="kb", subtype="figure")
        if Path(image.get("uri", "")).suffix.lower() in RASTER_SUFFIXES:
            logger.warning("image %s is an exported raster file that can go stale: draw it with "
                           "{code-figure} from code in the post folder", image.get("uri"),
                           location=image, type="kb", subtype="figure")
    from sphinx import addnodes
    referenced = {ref.get("reftarget", "").lower() for ref in doctree.findall(addnodes.pending_xref)
                  if ref.get("reftype") == "numref"}
    referenced |= {target.split("<")[-1].rstrip(">").strip().lower() for target in referenced}
    for name, _key, line in app.env.kb_figures.get(docname, ()):
        if name not in referenced:
            logger.warning("figure %s is never referred to: add {numref}`%s` where the text "
                           "discusses it", name, name, location=(docname, line), type="kb",
                           subtype="figure")


# -- numbers -------------------------------------------------------------------------------------

NUMBERED = ("figure", "table")  # code listings keep their file-name captions, unnumbered


def number_enumerables(app: Sphinx, doctree: nodes.document) -> None:
    """Number the document's labelled, captioned figures and tables, each kind from 1.

    Sphinx numbers figures only in documents reached through the toctree from the root document
    (``TocTreeCollector.assign_figure_numbers``); posts are deliberately outside the toctree (the
    theme renders the whole toctree into every page), so without this every ``{numref}`` to a
    post's figure fails with "no number is assigned". Each post numbers its own figures from 1,
    computed when it is read and handed to Sphinx at ``env-get-updated``.
    """
    std = app.env.domains.standard_domain
    numbers: dict[str, dict[str, tuple[int, ...]]] = {}
    for node in doctree.findall(nodes.Element):
        figtype = std.get_enumerable_node_type(node)
        if figtype in NUMBERED and node["ids"] and std.get_numfig_title(node):
            counter = numbers.setdefault(figtype, {})
            counter[node["ids"][0]] = (len(counter) + 1,)
    app.env.kb_fignumbers[app.env.docname] = numbers


def assign_numbers(app: Sphinx, env: Any) -> list[str]:
    """Give Sphinx the numbers of documents its toctree walk did not reach; return the documents
    that show a number of another document which changed (a {numref} across articles)."""
    if not app.config.numfig:
        return []
    for docname, numbers in env.kb_fignumbers.items():
        if numbers and docname not in env.toc_fignumbers:
            env.toc_fignumbers[docname] = numbers
    previous = env.__dict__.get("kb_fignumbers_shown", {})
    current = {doc: numbers for doc, numbers in env.kb_fignumbers.items() if numbers}
    env.kb_fignumbers_shown = current
    changed = {doc for doc in previous.keys() | current.keys()
               if previous.get(doc) != current.get(doc)}
    if not changed:
        return []
    std = env.domains.standard_domain
    readers = []
    for doc, links in getattr(env, "kb_outlinks", {}).items():
        for reftype, target in links:
            found = std.labels.get(target.lower()) if reftype == "numref" else None
            if found and found[0] in changed and found[0] != doc:
                readers.append(doc)
                break
    return sorted(set(readers))


# -- output files --------------------------------------------------------------------------------

def copy_figures(app: Sphinx, exception: Exception | None) -> None:
    """Put every figure the site shows into ``_images/figures/`` and remove the ones it no longer
    shows; files that are already there with the same bytes are left alone."""
    if exception is not None or app.builder.format != "html":
        return
    cache = Path(app.doctreedir) / CACHE_DIR
    target = Path(app.outdir) / app.builder.imagedir / OUTPUT_SUBDIR
    wanted: dict[str, Path] = {}
    for figures in app.env.kb_figures.values():
        for name, key, _line in figures:
            node = {"name": name, "key": key}
            wanted[_output_name(node, False)] = cache / f"{key}.svg"
            wanted[_output_name(node, True)] = cache / f"{key}-dark.svg"
    if not wanted and not target.exists():
        return
    target.mkdir(parents=True, exist_ok=True)
    for existing in target.iterdir():
        if existing.name not in wanted:
            existing.unlink()
    for filename, source in sorted(wanted.items()):
        data = source.read_bytes()
        destination = target / filename
        if not destination.is_file() or destination.read_bytes() != data:
            destination.write_bytes(data)


def setup(app: Sphinx) -> dict[str, Any]:
    track_per_document(app, "kb_figures")  # docname -> [(name, cache key, line)]
    track_per_document(app, "kb_fignumbers")  # docname -> {figtype: {id: (number,)}}
    app.add_node(code_figure_image,
                 html=(visit_code_figure_image_html, None),
                 latex=(visit_code_figure_image_other, None),
                 text=(visit_code_figure_image_other, None))
    app.add_directive("code-figure", CodeFigure)
    app.connect("doctree-read", check_figures)
    app.connect("doctree-read", number_enumerables)
    # After Sphinx's toctree collector (priority 500), which rebuilds env.toc_fignumbers.
    app.connect("env-get-updated", assign_numbers, priority=800)
    # Before the other env-updated handlers: the views they compute may include the figures.
    app.connect("env-updated", collect_renders, priority=100)
    app.connect("build-finished", copy_figures)
    app.connect("build-finished", stop_renderer)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
