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
that pages make no third-party request. The fonts are then cut down to the characters the
site's formulas show (collected per document while reading, so an incremental build still
knows every page's): a post with ordinary formulas loads four or five KaTeX fonts, 90 KB in
full and about a third of that as subsets. Only the ``woff2`` files are cut; every browser that
runs KaTeX's CSS picks them over the ``woff`` and ``ttf`` fallbacks.
"""

from __future__ import annotations

import html
import json
import os
import re
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.locale import _
from sphinx.util import logging
from sphinxcontrib.katex import get_node_equation_number

from cross_page import track_per_document

logger = logging.getLogger(__name__)

RENDERER_SCRIPT = Path(__file__).with_name("katex_render.js")
STATIC_SUBDIR = "katex"
# amsmath environments that KaTeX would number itself; Sphinx numbers the block instead.
_NUMBERED_ENV = re.compile(r"\\(begin|end)\{(equation|align|gather|alignat|multline)\}")


class KatexRenderer:
    """A ``node`` process that renders LaTeX strings, one JSON line per formula."""

    def __init__(self, node: str, katex_module: Path, macros: dict[str, str], timeout: float):
        self.timeout = timeout
        env = dict(os.environ, KATEX_MODULE=str(katex_module))
        try:
            self.process = subprocess.Popen(
                [node, str(RENDERER_SCRIPT), json.dumps(macros)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                text=True,
                encoding="utf-8",
            )
        except OSError as exc:
            raise ExtensionError(
                f"KaTeX: cannot start Node.js ({node!r}): {exc}. "
                "Install Node.js >= 18 and run `npm ci` (make html does both checks)."
            ) from exc
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        ready = self._read_line()
        if "ready" not in ready:
            raise ExtensionError(f"KaTeX: renderer answered {ready!r} instead of its version")

    def _read_stdout(self) -> None:
        """Reader thread: forward every answer line (and finally EOF as ``None``)."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_line(self) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=self.timeout)
        except queue.Empty:
            self.close()
            raise ExtensionError(
                f"KaTeX: renderer gave no answer within {self.timeout:.0f} s; stopped it"
            ) from None
        if line is None:
            self.process.wait(timeout=5)
            stderr = self.process.stderr.read() if self.process.stderr else ""
            raise ExtensionError(
                f"KaTeX: renderer exited with code {self.process.returncode}: {stderr.strip()}"
            )
        return json.loads(line)

    def render_many(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Render a batch; the answers come back in request order."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write("".join(json.dumps(r) + "\n" for r in requests))
            self.process.stdin.flush()
        except BrokenPipeError as exc:
            raise ExtensionError("KaTeX: renderer process is gone (broken pipe)") from exc
        return [self._read_line() for _r in requests]

    def close(self) -> None:
        if self.process.poll() is None:
            if self.process.stdin:
                self.process.stdin.close()
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class _State:
    renderer: KatexRenderer | None = None
    cache: dict[tuple[str, bool], dict[str, Any]] = {}


def _katex_module(app: Sphinx) -> Path:
    module = Path(app.confdir, app.config.katex_node_modules, "katex")
    if not (module / "dist" / "katex.min.css").is_file():
        raise ExtensionError(
            f"KaTeX: {module} not found; run `npm ci` in {app.confdir} (make html does it)"
        )
    return module


def _renderer(app: Sphinx) -> KatexRenderer:
    if _State.renderer is None:
        _State.renderer = KatexRenderer(
            app.config.katex_node_binary,
            _katex_module(app),
            app.config.katex_macros,
            app.config.katex_render_timeout,
        )
    return _State.renderer


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
    missing = sorted({k for k in keys if k not in _State.cache})
    if missing:
        answers = _renderer(app).render_many(
            [{"latex": latex, "display": display} for latex, display in missing]
        )
        _State.cache.update(zip(missing, answers))
    for node, key in zip(math_nodes, keys):
        answer = _State.cache[key]
        formula = key[0].strip().replace("\n", " ")
        if len(formula) > 60:
            formula = formula[:57] + "..."
        for warning in answer.get("warnings", []):
            logger.warning(
                'KaTeX: %s in formula "%s"', warning, formula,
                location=node, type="katex", subtype="strict",
            )
        if "error" in answer:
            logger.warning(
                'invalid formula "%s": %s', formula, answer["error"],
                location=node, type="katex", subtype="error",
            )
            node["katex_html"] = f'<span class="katex-error">{html.escape(key[0])}</span>'
        else:
            node["katex_html"] = answer["html"]


_TAG = re.compile(r"<[^>]*>")


def shown_characters(katex_html: str) -> set[str]:
    """The characters KaTeX's fonts draw in one rendered formula: the text of its visible
    ``katex-html`` part (the MathML part holds the source for screen readers)."""
    _mathml, _sep, visible = katex_html.partition('class="katex-html"')
    return set(html.unescape(_TAG.sub("", visible.partition(">")[2])))


def subset_math_fonts(app: Sphinx, exception: Exception | None) -> None:
    """Cut the copied KaTeX fonts to the characters of every formula on the site."""
    if exception is not None or app.builder.format != "html":
        return
    from icon_font import cached_subset  # the same fontTools subsetting as the icon font

    env = app.env
    used = {ord(char) for doc, chars in env.kb_math_chars.items() if doc in env.found_docs
            for char in chars}
    cache_dir = Path(app.doctreedir) / "katex-fonts"
    dist = _katex_module(app) / "dist" / "fonts"
    for font in sorted(Path(app.outdir, "_static", STATIC_SUBDIR, "fonts").glob("*.woff2")):
        cached = cached_subset(dist / font.name, used, cache_dir)
        if not font.is_file() or font.read_bytes() != cached.read_bytes():
            shutil.copyfile(cached, font)


_KATEX_HTML = '<span class="katex-html" aria-hidden="true">'
_SPAN_TAG = re.compile(r"<span\b|</span>")


def mathml_only(page_html: str) -> str:
    """``page_html`` with each formula as KaTeX's MathML alone, without its HTML rendering.

    KaTeX writes every formula twice: as MathML (``span.katex-mathml``, which its CSS hides from
    sight but leaves to screen readers) and as positioned spans (``span.katex-html``), which only
    KaTeX's CSS and fonts make legible. A feed reader has neither: it would show each formula
    twice, the second time as a jumble of letters. Every browser engine renders MathML Core, so
    the MathML alone is the formula there; it also keeps the TeX source as its annotation.
    """
    parts: list[str] = []
    position = 0
    while (start := page_html.find(_KATEX_HTML, position)) != -1:
        parts.append(page_html[position:start])
        depth = 0
        for tag in _SPAN_TAG.finditer(page_html, start):
            depth += -1 if tag.group() == "</span>" else 1
            if depth == 0:
                position = tag.end()
                break
        else:
            raise ValueError(f"unclosed KaTeX HTML at offset {start}")
    parts.append(page_html[position:])
    return "".join(parts)


def _stored_html(self, node: nodes.Element) -> str:
    if "katex_html" not in node:
        # Math created after reading (by a later transform): render it now rather than lose it.
        render_nodes(self.builder.app, [node])
    return node["katex_html"]


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
    dist = _katex_module(app) / "dist"
    target = Path(app.outdir, "_static", STATIC_SUBDIR)
    (target / "fonts").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dist / "katex.min.css", target / "katex.min.css")
    for font in (dist / "fonts").iterdir():
        destination = target / "fonts" / font.name
        # The woff2 files are replaced by subsets when the build finishes.
        if not destination.exists() or (font.suffix != ".woff2"
                                        and destination.stat().st_size != font.stat().st_size):
            shutil.copyfile(font, destination)


def stop_renderer(app: Sphinx, exception: Exception | None) -> None:
    if _State.renderer is not None:
        _State.renderer.close()
        _State.renderer = None
    _State.cache.clear()  # the next build in this process may have other macros


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinxcontrib.katex")
    app.add_config_value("katex_macros", {}, "env", types=[dict])
    app.add_config_value("katex_node_binary", "node", "", types=[str])
    app.add_config_value("katex_node_modules", "node_modules", "", types=[str])
    app.add_config_value("katex_render_timeout", 60.0, "", types=[float, int])
    app.add_html_math_renderer(
        "katex_prerendered",
        inline_renderers=(html_visit_math, None),
        block_renderers=(html_visit_displaymath, None),
    )
    # Before ABlog (priority 500) copies paragraphs into excerpts, so the copies carry the HTML.
    app.connect("doctree-read", render_math_nodes, priority=400)
    app.connect("builder-inited", copy_katex_assets)
    app.connect("build-finished", stop_renderer, priority=900)
    track_per_document(app, "kb_math_chars")  # docname -> the characters its formulas show
    app.connect("build-finished", subset_math_fonts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True,
            "env_version": 2}  # 2: per-document characters of the formulas
