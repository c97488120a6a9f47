"""Keep the compiled Jinja templates between builds.

Sphinx compiles the theme's templates (sphinx-book-theme's layout pulls in some thirty files from
pydata-sphinx-theme and ABlog) from source on every build; at 1,000 posts that is about half a
second of every incremental build, paid before the first page is written. Jinja's own
``FileSystemBytecodeCache`` stores each compiled template next to the doctrees and checks it
against a checksum of the template's source, so an edited template is compiled again.
"""

from __future__ import annotations

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
    environment.bytecode_cache = FileSystemBytecodeCache(str(directory))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", use_bytecode_cache)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
