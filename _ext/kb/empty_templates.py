"""The theme's check for empty sidebar templates, without rendering what cannot be empty.

On every page, pydata-sphinx-theme renders each template of the sidebars, the navbar, the footer
and the article header once more than the page shows it, only to drop those that render empty
(``pydata_sphinx_theme.utils._update_and_remove_templates``). The site's sidebar has six
templates, ABlog's four among them (recent posts, categories, tag cloud, archives: each a loop
over the posts or collections with a ``pathto`` per link), so the check cost about a quarter of
the time of writing a collection page, and as much for every other page.

Whether a template can render empty is often plain from its source. This module parses each
template once per build and finds

* text outside every ``{% if %}``, ``{% for %}`` and block: the template is never empty, and is
  kept without rendering it (``kb-nav.html``: ``<nav …>``);
* a single ``{% if test %}`` with text in its body, around it and in its ``else`` only
  whitespace: the template is empty exactly when ``test`` is false, and only ``test`` is
  evaluated, in the same context (ABlog's sidebars: ``{% if ablog.tags %}<div …>``).

Only a template that calls nothing but functions without side effects (:data:`PURE_CALLS`:
``pathto``, ``gettext``, ABlog's ``recent`` …) and includes or imports nothing is decided so: the
rendering skipped must not change what the page renders later (the theme's ``unique_html_id``
counts its calls, so its ids would change). Any other template (``{% extends %}``, expressions
or loops at the top, an ``elif``, another call) is rendered as the theme does. The list that
results is the theme's, template for template: a template is dropped exactly when its rendering
would have been whitespace, and the page is the same.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import pydata_sphinx_theme.utils
from jinja2 import Environment, Template
from jinja2 import nodes as jinja_nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

ALWAYS = "always"  # the template renders text whatever the context
UNKNOWN = "unknown"  # rendered to find out, as the theme does

# Functions (by name) and methods (by attribute) that return a value and change nothing: pathto
# and hasdoc (Sphinx), gettext and _ (translations), ABlog's anchor, Blog.recent and
# Collection.relsize, and dict.get and date.strftime.
PURE_CALLS = frozenset({"pathto", "hasdoc", "gettext", "_", "anchor", "recent", "relsize", "get", "strftime"})
# Statements that run other templates or code.
_OPAQUE = (
    jinja_nodes.Include,
    jinja_nodes.Import,
    jinja_nodes.FromImport,
    jinja_nodes.Macro,
    jinja_nodes.CallBlock,
    jinja_nodes.ExprStmt,
    jinja_nodes.Extends,
)

# template name -> ALWAYS, UNKNOWN or the compiled guard (renders "x" when the template has text);
# filled once per build (the templates can change between ``make livehtml`` builds).
_kinds: dict[str, str | Template] = {}
_upstream = pydata_sphinx_theme.utils._update_and_remove_templates


def _has_text(body: list[jinja_nodes.Node]) -> bool:
    """Whether ``body`` always writes text that is not whitespace: literal text at its top."""
    return any(
        isinstance(node, jinja_nodes.Output)
        and any(isinstance(part, jinja_nodes.TemplateData) and part.data.strip() for part in node.nodes)
        for node in body
    )


def _is_blank(body: list[jinja_nodes.Node]) -> bool:
    """Whether ``body`` writes nothing but whitespace."""
    return all(
        isinstance(node, jinja_nodes.Output)
        and all(isinstance(part, jinja_nodes.TemplateData) and not part.data.strip() for part in node.nodes)
        for node in body
    )


def _callee(call: jinja_nodes.Call) -> str | None:
    if isinstance(call.node, jinja_nodes.Name):
        return call.node.name
    if isinstance(call.node, jinja_nodes.Getattr):
        return call.node.attr
    return None


def classify(environment: Environment, source: str, name: str) -> str | Template:
    """ALWAYS, UNKNOWN, or a template that renders ``"x"`` exactly when ``source`` renders text."""
    template = environment.parse(source, name)
    body = template.body
    if any(True for _node in template.find_all(_OPAQUE)) or not all(
        _callee(call) in PURE_CALLS for call in template.find_all(jinja_nodes.Call)
    ):
        return UNKNOWN  # what it runs may be needed even when its output is not
    if _has_text(body):
        return ALWAYS
    branches = [node for node in body if isinstance(node, jinja_nodes.If)]
    rest = [node for node in body if not isinstance(node, jinja_nodes.If)]
    if len(branches) != 1 or not _is_blank(rest):
        return UNKNOWN
    branch = branches[0]
    if branch.elif_ or not _is_blank(branch.else_) or not _has_text(branch.body):
        return UNKNOWN
    guard = jinja_nodes.Template(
        [jinja_nodes.If(branch.test, [jinja_nodes.Output([jinja_nodes.TemplateData("x")])], [], [])]
    )
    guard.set_lineno(branch.lineno)
    guard.set_environment(environment)
    code = environment.compile(guard, name, None)
    return environment.template_class.from_code(environment, code, environment.make_globals(None))


def _kind(app: Sphinx, name: str) -> str | Template:
    kind = _kinds.get(name)
    if kind is None:
        environment = app.builder.templates.environment
        try:
            source, _filename, _uptodate = environment.loader.get_source(environment, name)
        except Exception:  # not found: the theme's render reports it, as before
            kind = UNKNOWN
        else:
            try:
                kind = classify(environment, source, name)
            except Exception:  # a syntax error: the theme's render reports it, as before
                kind = UNKNOWN
        _kinds[name] = kind
    return kind


def update_and_remove_templates(
    app: Sphinx,
    context: dict[str, Any],
    templates: list[str] | str,
    section: str,
    templates_skip_empty_check: list[str] | None = None,
) -> list[str]:
    """``pydata_sphinx_theme.utils._update_and_remove_templates`` (0.20.0) step for step, with
    the templates whose emptiness their source decides not rendered (the module's docstring)."""
    if templates_skip_empty_check is None:
        templates_skip_empty_check = []
    if isinstance(templates, str):
        templates = [template.strip() for template in templates.split(",")]
    suffixed = [template if os.path.splitext(template)[1] else f"{template}.html" for template in templates]
    ctx = copy.copy(context)
    ctx.update({section: suffixed})
    kept = []
    for template in suffixed:
        if any(template.endswith(item) for item in templates_skip_empty_check):
            kept.append(template)
            continue
        kind = _kind(app, template)
        if kind == ALWAYS:
            kept.append(template)
        elif kind == UNKNOWN:
            if app.builder.templates.render(template, ctx).strip():
                kept.append(template)
        elif kind.render(ctx):
            kept.append(template)
    return kept


def forget(app: Sphinx) -> None:
    _kinds.clear()


def setup(app: Sphinx) -> dict[str, Any]:
    # The theme calls the function through its module (tests/test_upstream_contracts.py pins it).
    pydata_sphinx_theme.utils._update_and_remove_templates = update_and_remove_templates
    app.connect("builder-inited", forget)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
