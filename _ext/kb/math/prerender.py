"""Render every formula with KaTeX at build time, strictly, with the site's macros.

sphinxcontrib-katex stays the math extension of the site (its config names and its
``katex-math.css``), but its own prerender mode cannot be used as it is:

* it hard-codes ``throwOnError: false``, so a bad formula becomes a red span and the build
  passes;
* it ignores ``katex_options`` and therefore the macros (hagenw/sphinxcontrib-katex#145);
* its socket server can fail to start under load and leave an orphaned ``node``.

This extension renders while a document is read: all formulas of the document go to one
long-lived ``node`` process (``katex_render.js``) over a pipe, each answer is stored on the
math node, and the HTML writer only copies it out. Consequences:

* a formula that KaTeX rejects, or accepts only with a LaTeX-incompatibility complaint, is a
  warning with ``file:line`` (and ``-W`` makes it an error);
* excerpts on the homepage, archives and the feed reuse the stored HTML instead of rendering
  the same formula again, and an unchanged document is not rendered again on a rebuild;
* identical formulas are rendered once per build (an in-memory cache);
* the renderer exits when its stdin closes and every answer has a deadline, so a dead or
  stuck ``node`` is a clear error, never a hang.

KaTeX's CSS and fonts are copied from ``node_modules/katex/dist`` into ``_static/katex`` so
that pages make no third-party request; :mod:`kb.math.fonts` then cuts the fonts down.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.locale import _
from sphinx.util import logging
from sphinxcontrib.katex import get_node_equation_number

from .. import pipeline
from ..cross_page import track_per_document
from .fonts import STATIC_SUBDIR, shown_characters, start_math_fonts, subset_math_fonts
from .mathml import page_formula
from .renderer import State, katex_module, renderer, start_renderer_early, stop_renderer

logger = logging.getLogger(__name__)

# amsmath environments that KaTeX would number itself; Sphinx numbers the block instead.
_NUMBERED_ENV = re.compile(r"\\(begin|end)\{(equation|align|gather|alignat|multline)\}")


def latex_for_katex(node: nodes.Element) -> str:
    latex = node.astext()
    if isinstance(node, nodes.math_block) and node.get("nowrap"):
        # MyST's amsmath blocks are whole environments; Sphinx numbers them, so KaTeX must not.
        latex = _NUMBERED_ENV.sub(lambda m: f"\\{m[1]}{{{m[2]}*}}", latex)
    return latex


def render_math_nodes(app: Sphinx, doctree: nodes.document) -> None:
    """Render all math of a freshly read document, store the HTML on each node, and note the
    characters the formulas show (for the font subsets)."""
    math_nodes = list(doctree.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block))))
    render_nodes(app, math_nodes)
    chars = set().union(*(shown_characters(node.get("katex_html", "")) for node in math_nodes))
    if chars:
        app.env.kb_math_chars[app.env.docname] = "".join(sorted(chars))
    else:
        app.env.kb_math_chars.pop(app.env.docname, None)


def render_nodes(app: Sphinx, math_nodes: list[nodes.Element]) -> None:
    if not math_nodes:
        return
    keys = [(latex_for_katex(n), isinstance(n, nodes.math_block)) for n in math_nodes]
    missing = sorted({k for k in keys if k not in State.cache})
    if missing:
        answers = renderer(app).render_many(
            [{"latex": latex, "display": display} for latex, display in missing]
        )
        State.cache.update(zip(missing, answers))
    for node, key in zip(math_nodes, keys):
        answer = State.cache[key]
        formula = key[0].strip().replace("\n", " ")
        if len(formula) > 60:
            formula = formula[:57] + "..."
        for warning in answer.get("warnings", []):
            logger.warning(
                'KaTeX: %s in formula "%s"',
                warning,
                formula,
                location=node,
                type="katex",
                subtype="strict",
            )
        if "error" in answer:
            logger.warning(
                'invalid formula "%s": %s',
                formula,
                answer["error"],
                location=node,
                type="katex",
                subtype="error",
            )
            node["katex_html"] = f'<span class="katex-error">{html.escape(key[0])}</span>'
        else:
            node["katex_html"] = answer["html"]


def _stored_html(self, node: nodes.Element) -> str:
    """The formula as the page shows it (:func:`kb.math.mathml.page_formula`)."""
    if "katex_html" not in node:
        # Math created after reading (by a later transform): render it now rather than lose it.
        render_nodes(self.builder.app, [node])
    return page_formula(node["katex_html"], node.astext())


def html_visit_math(self, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math"))
    self.body.append(_stored_html(self, node))
    self.body.append("</span>")
    raise nodes.SkipNode


def html_visit_displaymath(self, node: nodes.math_block) -> None:
    # A wide formula scrolls sideways (kb.css); tabindex lets keyboard users scroll it (WCAG 2.1.1).
    self.body.append(self.starttag(node, "div", CLASS="math", tabindex="0"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Permalink to this equation"))
        self.body.append("</span>")
    self.body.append(_stored_html(self, node))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def copy_katex_assets(app: Sphinx) -> None:
    """Serve KaTeX's CSS and fonts from the site itself.

    Copied before any page is written, so every build (clean or incremental) links the CSS
    with the same ``?v=`` checksum.
    """
    if app.builder.format != "html":
        return
    dist = katex_module(app) / "dist"
    target = Path(app.outdir, "_static", STATIC_SUBDIR)
    (target / "fonts").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dist / "katex.min.css", target / "katex.min.css")
    for font in (dist / "fonts").iterdir():
        destination = target / "fonts" / font.name
        # The woff2 files are replaced by subsets when the build finishes.
        if not destination.exists() or (
            font.suffix != ".woff2" and destination.stat().st_size != font.stat().st_size
        ):
            shutil.copyfile(font, destination)


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinxcontrib.katex")
    # The site's own options: named kb_math_* so that no future option of sphinxcontrib-katex
    # (whose options are katex_*) can collide with them.
    app.add_config_value("kb_math_macros", {}, "env", types=[dict])
    app.add_config_value("kb_math_node", "node", "", types=[str])
    app.add_config_value("kb_math_node_modules", "node_modules", "", types=[str])
    app.add_config_value("kb_math_render_timeout", 60.0, "", types=[float, int])
    app.add_html_math_renderer(
        "katex_prerendered",
        inline_renderers=(html_visit_math, None),
        block_renderers=(html_visit_displaymath, None),
    )
    app.connect("builder-inited", start_renderer_early)
    app.connect("doctree-read", render_math_nodes, priority=pipeline.RENDER_MATH)
    app.connect("builder-inited", copy_katex_assets)
    app.connect("build-finished", stop_renderer, priority=pipeline.STOP_RENDERERS)
    track_per_document(app, "kb_math_chars")  # docname -> the characters its formulas show
    app.connect("build-finished", start_math_fonts, priority=pipeline.START_MATH_FONTS)
    app.connect("build-finished", subset_math_fonts, priority=pipeline.SUBSET_MATH_FONTS)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
        "env_version": 2,
    }  # 2: per-document characters of the formulas
