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

The style is in :mod:`kb.figures.style`, the drawing in :mod:`kb.figures.render`. Renders are
cached beside the doctrees, keyed by the contents of the post folder's Python files
(tests excluded), the function name, the style and matplotlib's version. Editing an article's
prose re-reads it without running any plot code; editing one of its Python files renders its
figures again. Figures are drawn in worker processes while Sphinx reads on (:class:`Renderer`).
SVG output is byte-reproducible (fixed ``svg.hashsalt``, no date metadata).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .. import pipeline
from ..cross_page import track_per_document
from .numbers import assign_numbers, cache_numref_targets, forget_numref_targets, number_enumerables
from .render import RENDERER, FigureError, Rendered, cache_key, cached_size, code_files, render, store

logger = logging.getLogger(__name__)

CACHE_DIR = "kb_figures"
KEPT_BESIDE_DOCTREES = (CACHE_DIR + "/",)
OUTPUT_SUBDIR = "figures"  # under the builder's _images/
RASTER_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}


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
            problems.append(
                "needs :alt: text that describes what the figure shows (for readers who cannot see it)"
            )
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
                logger.warning("code-figure: %s", problem, location=location, type="kb", subtype="figure")
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
                logger.warning(
                    "code-figure %s: %s", name, exc, location=location, type="kb", subtype="figure"
                )
                self.env.note_reread()  # until it is fixed, every build says so
                return []
            store(cache, key, rendered)

        figure = nodes.figure(classes=["kb-figure", *self.options.get("class", [])])
        image = code_figure_image(key=key, name=name, alt=alt, display_width=self.options.get("width", ""))
        figure += image
        parsed = self.parse_content_to_nodes()
        first = parsed[0] if parsed else None
        if not isinstance(first, nodes.paragraph):
            logger.warning(
                "code-figure %s: the caption must start with a paragraph",
                name,
                location=location,
                type="kb",
                subtype="figure",
            )
            return []
        caption = nodes.caption(first.rawsource, "", *first.children)
        caption.source, caption.line = first.source, first.line
        figure += caption
        if len(parsed) > 1:
            figure += nodes.legend("", *parsed[1:])
        self.set_source_info(figure)
        self.add_name(figure)
        self.env.kb_figures.setdefault(self.env.docname, []).append((name, key, self.lineno))
        return [figure]


def visit_code_figure_image_html(self: Any, node: code_figure_image) -> None:
    size = cached_size(Path(self.builder.doctreedir) / CACHE_DIR, node["key"])
    if size is None:  # drawing it failed; the build has reported where
        raise nodes.SkipNode
    base = f"{self.builder.imgpath}/{OUTPUT_SUBDIR}/"
    style = f' style="width: {node["display_width"]}"' if node["display_width"] else ""
    attrs = (
        f'alt="{self.attval(node["alt"])}" width="{size[0]}" height="{size[1]}" '
        f'loading="lazy" decoding="async"{style}'
    )
    light = base + _output_name(node, dark=False)
    self.body.append(
        f'<a class="kb-figure-link" href="{light}">'
        f'<img class="kb-figure-light only-light" src="{light}" {attrs}/>'
        f'<img class="kb-figure-dark only-dark" src="{base + _output_name(node, dark=True)}" {attrs}/></a>'
    )
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
            logger.warning(
                "code-figure %s: %s", name, result, location=(docname, line), type="kb", subtype="figure"
            )
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
            logger.warning(
                "image %s has no alt text (:alt:)",
                image.get("uri"),
                location=image,
                type="kb",
                subtype="figure",
            )
        if Path(image.get("uri", "")).suffix.lower() in RASTER_SUFFIXES:
            logger.warning(
                "image %s is an exported raster file that can go stale: draw it with "
                "{code-figure} from code in the post folder",
                image.get("uri"),
                location=image,
                type="kb",
                subtype="figure",
            )
    referenced = {
        ref.get("reftarget", "").lower()
        for ref in doctree.findall(addnodes.pending_xref)
        if ref.get("reftype") == "numref"
    }
    referenced |= {target.split("<")[-1].rstrip(">").strip().lower() for target in referenced}
    for name, _key, line in app.env.kb_figures.get(docname, ()):
        if name not in referenced:
            logger.warning(
                "figure %s is never referred to: add {numref}`%s` where the text discusses it",
                name,
                name,
                location=(docname, line),
                type="kb",
                subtype="figure",
            )


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
    app.add_node(
        code_figure_image,
        html=(visit_code_figure_image_html, None),
        latex=(visit_code_figure_image_other, None),
        text=(visit_code_figure_image_other, None),
    )
    app.add_directive("code-figure", CodeFigure)
    app.connect("doctree-read", check_figures)
    app.connect("doctree-read", number_enumerables)
    # After Sphinx's toctree collector (priority 500), which rebuilds env.toc_fignumbers.
    app.connect("env-get-updated", assign_numbers, priority=pipeline.ASSIGN_FIGURE_NUMBERS)
    cache_numref_targets()
    app.connect("env-updated", forget_numref_targets)
    app.connect("build-finished", forget_numref_targets)
    app.connect("env-updated", collect_renders, priority=pipeline.COLLECT_FIGURES)
    app.connect("build-finished", copy_figures, priority=pipeline.COPY_FIGURES)
    app.connect("build-finished", stop_renderer, priority=pipeline.STOP_RENDERERS)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
