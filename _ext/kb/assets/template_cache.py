"""Keep the compiled Jinja templates between builds.

Sphinx compiles the theme's templates (sphinx-book-theme's layout pulls in some thirty files from
pydata-sphinx-theme and ABlog) from source on every build; at 1,000 posts that is about half a
second of every incremental build, paid before the first page is written. Jinja's own
``FileSystemBytecodeCache`` stores each compiled template next to the doctrees and checks it
against a checksum of the template's source, so an edited template is compiled again.

The same cache holds the templates Sphinx renders from a string (``render_string``: the static
files ending in ``.jinja`` or ``_t``, here Sphinx's ``basic.css``, ``documentation_options.js``
and ``language_data.js`` and sphinx-copybutton's ``copybutton.js``), which Jinja's
``from_string`` compiled on every build: 10-14 ms for the four, 0.4 ms from the cache. Each is
kept under a name made from its source.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import FileSystemBytecodeCache
from sphinx.application import Sphinx

CACHE_DIR = "kb_jinja"
KEPT_BESIDE_DOCTREES = (CACHE_DIR + "/",)


def use_bytecode_cache(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    environment = app.builder.templates.environment  # tests/test_upstream_contracts.py
    # The compiled code also depends on Jinja's version and on the extensions in use.
    variant = "-".join([jinja2.__version__, *sorted(environment.extensions)])
    directory = Path(app.doctreedir) / CACHE_DIR / variant.replace("/", "_")
    directory.mkdir(parents=True, exist_ok=True)
    cache = FileSystemBytecodeCache(str(directory))
    environment.bytecode_cache = cache
    templates = app.builder.templates

    def render_string(source: str, context: dict[str, Any]) -> str:
        """``BuiltinTemplateLoader.render_string`` (``environment.from_string(source).render``,
        tests/test_upstream_contracts.py) with the compiled code taken from the cache."""
        name = "<string " + hashlib.sha1(source.encode("utf-8")).hexdigest() + ">"
        bucket = cache.get_bucket(environment, name, None, source)
        if bucket.code is None:
            bucket.code = environment.compile(source)  # as from_string compiles it
            cache.set_bucket(bucket)
        template = environment.template_class.from_code(
            environment, bucket.code, environment.make_globals(None), None
        )
        return template.render(context)

    templates.render_string = render_string


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", use_bytecode_cache)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
