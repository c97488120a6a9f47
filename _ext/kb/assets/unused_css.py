"""Drop the theme's CSS rules that no page of the site can match.

pydata-sphinx-theme ships all of Bootstrap 5 in its stylesheet: 311 KB, 46 KB gzip, on every
first view, for a site that uses a few hundred class names. After each build this extension
rewrites the stylesheets named in ``unused_css_files`` (paths under ``_static``) without

* the selectors that cannot match, and the rules left without one: a selector is kept when
  every class it requires is *possibly used*. Classes inside ``:not()``, ``:is()``, ``:where()``, ``:has()`` and
  attribute brackets do not count as required, and a selector with an escaped character is
  always kept;
* the custom properties (``--bs-…``) that no remaining rule, no other stylesheet of the site, no
  page and no script refers to.

A class is possibly used when it is in a ``class`` attribute of a page in the output, or is a
word of a script that some page loads (scripts add classes such as ``show`` at run time), or
matches a pattern of ``unused_css_keep`` (for the few classes a script assembles, e.g.
Bootstrap's ``bs-tooltip-auto``). The pages are all HTML files in the output directory, not
only the ones this build wrote: what each page uses is kept in the doctree folder and read again
only when the file changed, so an incremental build trims exactly as a clean one does.

A page the builder writes (``handle_page``, in the main process or a forked writer) is scanned
from the text it was just written with, and the writer notes what it uses beside the doctrees
with the file's stamp (:func:`record_written_pages`); the step at the end takes a page's note
instead of reading the file only when the file still has that stamp. A clean build then reads no
page again (at 1,000 posts ~1,740 pages, 100 MB: 1.2-2.6 s of the build's end in two processes).

Sphinx copies the full stylesheets again on every build, so the rewriting starts from the
originals each time; its result is cached for the same inputs. ``-D unused_css_files=`` builds an
untrimmed site (the browser test compares the two).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.parallel import ParallelTasks, make_chunks, parallel_available

from .. import pipeline, preloaded
from .css_bundle import BUNDLE

logger = logging.getLogger(__name__)

REGISTRY_FILE = "kb_page_classes.pickle"
CACHE_DIR = "unused-css"
WRITTEN_DIR = "kb-written-pages"  # this build's notes of the pages it wrote, one file a process
KEPT_BESIDE_DOCTREES = (REGISTRY_FILE, CACHE_DIR + "/", WRITTEN_DIR + "/")
REGISTRY_VERSION = 2
# ``class=`` not preceded by a letter, digit or ``_`` (``\bclass=``), written so that the pattern
# starts with its literal: the regex engine then jumps between occurrences of ``class``
# instead of trying every position of the page (a sixth of the time on the site's pages).
_CLASS_ATTR = re.compile(r"""class(?<!\wclass)=(?:"([^"]*)"|'([^']*)')""")
_SCRIPT_TAG = re.compile(r"<script\b[^>]*>")
# Every script a tag names: its src, and the theme script it loads later (layout.html's lazy
# loader names it in data-kb-lazy-src). One tag can name both.
_SCRIPT_SRC = re.compile(r'\s(?:src|data-kb-lazy-src)="([^"]+)"')
_CUSTOM_PROPERTY = re.compile(r"--[A-Za-z_][\w-]*")
_VAR_REFERENCE = re.compile(r"var\(\s*(--[A-Za-z_][\w-]*)")
_WORD = re.compile(r"[A-Za-z_][\w-]*")
_REQUIRED_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_NESTING_AT_RULES = {"media", "supports", "layer", "container"}


@dataclass
class PageUse:
    """What one output page can make the stylesheets match or refer to."""

    stamp: tuple[int, int]  # (mtime_ns, size) of the file when it was read
    classes: frozenset[str]
    properties: frozenset[str]  # custom property names written anywhere in the page
    scripts: frozenset[str]  # output-relative paths of the scripts the page loads


@dataclass
class Registry:
    version: int = REGISTRY_VERSION
    pages: dict[str, PageUse] = field(default_factory=dict)


@dataclass
class RealPaths:
    """``os.path.realpath`` of pages' folders, and where their scripts' links lead, kept for one
    pass over the pages (folders do not move meanwhile)."""

    folders: dict[str, str] = field(default_factory=dict)
    targets: dict[str, str | None] = field(default_factory=dict)


def read_page(path: Path, outdir: Path, stamp: tuple[int, int], real: RealPaths | None = None) -> PageUse:
    """What the page at ``path`` (under ``outdir``, resolved) uses."""
    return page_use(path.read_text(encoding="utf-8"), path, outdir, stamp, real or RealPaths())


def page_use(html: str, path: Path, outdir: Path, stamp: tuple[int, int], real: RealPaths) -> PageUse:
    """:func:`read_page` of a page whose text is ``html``."""
    classes = set(
        map(sys.intern, " ".join({double or single for double, single in _CLASS_ATTR.findall(html)}).split())
    )
    scripts = set()
    folder = str(path.parent)
    for src in {src for tag in _SCRIPT_TAG.findall(html) for src in _SCRIPT_SRC.findall(tag)}:
        parts = urlsplit(src)
        if parts.scheme or parts.netloc:
            continue
        script = _script_path(folder, unquote(parts.path), outdir, real)
        if script is not None:
            scripts.add(sys.intern(script))
    properties = set(map(sys.intern, set(_CUSTOM_PROPERTY.findall(html))))
    return PageUse(stamp, frozenset(classes), frozenset(properties), frozenset(scripts))


def _script_path(folder: str, src: str, outdir: Path, real: RealPaths) -> str | None:
    """The output-relative path of ``src`` (a page's relative link) from the page's ``folder``:
    ``(folder / src).resolve()`` when it is inside ``outdir``, else None.

    Resolving every script of every page took a third of the pages' scan (each a ``realpath``
    through every folder above the page). The same result with two caches: the page's folder
    resolved once per folder; the ``..`` that lead ``src`` then climb the resolved folder (what
    ``realpath`` does with them), and the rest is resolved once per target. An absolute or
    empty ``src`` is resolved as it is."""
    names = [name for name in src.split("/") if name not in ("", ".")]
    ups = 0
    while ups < len(names) and names[ups] == "..":
        ups += 1
    if not names or src.startswith("/"):
        return _inside((Path(folder) / src).resolve(), outdir)
    base = real.folders.get(folder)
    if base is None:
        base = real.folders[folder] = str(Path(folder).resolve())
    for _ in range(ups):
        base = os.path.dirname(base)
    target = os.path.join(base, *names[ups:])
    if target not in real.targets:
        real.targets[target] = _inside(Path(target).resolve(), outdir)
    return real.targets[target]


def _inside(target: Path, outdir: Path) -> str | None:
    return str(target.relative_to(outdir)) if target.is_relative_to(outdir) else None


MIN_PARALLEL_PAGES = 128  # fewer pages to read are read by the main process


def _read_pages(outdir: Path, pages: list[tuple[str, tuple[int, int]]]) -> list[PageUse]:
    real = RealPaths()
    return [read_page(outdir / relpath, outdir, stamp, real) for relpath, stamp in pages]


def read_pages(outdir: Path, pages: list[tuple[str, tuple[int, int]]], processes: int) -> list[PageUse]:
    """:func:`read_page` of each ``(relpath, stamp)``, in order; in ``processes`` forked processes
    when there are many (a clean build reads every page: ~1,700 at 1,000 posts, 3 s in one)."""
    if processes < 2 or not parallel_available or len(pages) < MIN_PARALLEL_PAGES:
        return _read_pages(outdir, pages)
    chunks = make_chunks(pages, processes, maxbatch=MIN_PARALLEL_PAGES)  # type: ignore[arg-type]
    results: dict[int, list[PageUse]] = {}

    def keep(number: int, _chunk: object, read: list[PageUse]) -> None:
        results[number] = read

    tasks = ParallelTasks(processes)
    for number, chunk in enumerate(chunks):
        tasks.add_task(partial(_read_pages, outdir), chunk, partial(keep, number))
    tasks.join()
    return [page for number in range(len(chunks)) for page in results[number]]


def _html_files(outdir: str) -> Iterator[tuple[str, os.stat_result]]:
    """Every ``.html`` file under ``outdir`` (links to folders not followed, as ``os.walk``):
    its path relative to ``outdir`` and its ``stat``."""
    folders = [("", outdir)]
    while folders:
        relative, folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:  # removed meanwhile: as os.walk, nothing
            continue
        for entry in entries:
            name = relative + entry.name
            if entry.is_dir(follow_symlinks=False):
                folders.append((name + os.sep, entry.path))
            elif entry.name.endswith(".html"):
                try:
                    yield name, entry.stat()
                except OSError:
                    continue


def update_registry(
    registry: Registry, outdir: Path, processes: int = 1, written: dict[str, PageUse] | None = None
) -> bool:
    """Read the pages that are new or changed since the registry saw them (in ``processes``
    forked processes when there are many); forget deleted ones. A page of ``written`` (this
    build's notes, :func:`load_written_pages`) whose stamp is the file's is taken, not read."""
    written = written or {}
    outdir = outdir.resolve()
    changed = False
    seen = set()
    stale: list[tuple[str, tuple[int, int]]] = []
    # os.scandir, and each path relative to outdir by prefix: a fraction of Path.rglob's and
    # os.path.relpath's time, which every build pays (1,740 pages at 1,000 posts).
    for relpath, stat in _html_files(str(outdir)):
        seen.add(relpath)
        stamp = (stat.st_mtime_ns, stat.st_size)
        known = registry.pages.get(relpath)
        if known is not None and known.stamp == stamp:
            continue
        noted = written.get(relpath)
        if noted is not None and noted.stamp == stamp:
            registry.pages[relpath] = noted
            changed = True
        else:
            stale.append((relpath, stamp))
    for (relpath, _stamp), page in zip(stale, read_pages(outdir, stale, processes), strict=True):
        registry.pages[relpath] = page
        changed = True
    for relpath in [name for name in registry.pages if name not in seen]:
        del registry.pages[relpath]
        changed = True
    return changed


# -- the pages as the builder writes them ---------------------------------------------------------


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def written_text(output: str, stamp: tuple[int, int]) -> str | None:
    """The text :func:`read_page` reads from a file Sphinx wrote with ``output`` (UTF-8, errors
    as character references; read back with universal newlines), or None when the file's size is
    not that of ``output`` or ``output`` holds what UTF-8 cannot encode (lone surrogates)."""
    try:
        size = len(output.encode("utf-8"))
    except UnicodeEncodeError:
        return None
    if size != stamp[1]:
        return None
    return output.replace("\r\n", "\n").replace("\r", "\n") if "\r" in output else output


def record_written_pages(app: Sphinx) -> None:
    """``builder-inited``: every page the HTML builder writes from now on (``handle_page``, in
    this process or a forked writer) is scanned from its text and noted, with the stamp the file
    got, in this process's file under ``WRITTEN_DIR``. A page is noted only when its file's stamp
    changed during the call and the file's size is the text's: then the file holds that text,
    the last template rendering of the call (Sphinx writes it right after rendering it).

    Relies on ``StandaloneHTMLBuilder.handle_page`` rendering the page with
    ``self.templates.render`` and writing its result (tests/test_upstream_contracts.py)."""
    builder = app.builder
    if (
        builder.format != "html"
        or not hasattr(builder, "handle_page")
        or builder.config.html_output_encoding != "utf-8"
    ):
        return
    folder = Path(app.doctreedir) / WRITTEN_DIR
    shutil.rmtree(folder, ignore_errors=True)  # an earlier build's, killed before its end
    folder.mkdir(parents=True, exist_ok=True)
    outdir = Path(app.outdir).resolve()
    unresolved = os.path.abspath(app.outdir)
    templates = builder.templates
    render = templates.render
    handle_page = builder.handle_page
    last: list[str | None] = [None]
    real = RealPaths()

    def rendering(template: str, context: dict[str, Any]) -> str:
        output = render(template, context)
        last[0] = output
        return output

    def writing(
        pagename: str, addctx: dict[str, Any], templatename: str = "page.html", **kwargs: Any
    ) -> None:
        path = Path(kwargs["outfilename"]) if kwargs.get("outfilename") else builder.get_output_path(pagename)
        before = _stamp(path)
        last[0] = None
        handle_page(pagename, addctx, templatename, **kwargs)
        output, last[0] = last[0], None
        after = _stamp(path)
        relpath = os.path.relpath(os.path.abspath(path), unresolved)
        if output is None or after is None or after == before or relpath.startswith(".."):
            return
        text = written_text(output, after)
        if text is None:
            return
        use = page_use(text, outdir / relpath, outdir, after, real)
        with (folder / f"{os.getpid()}.pickle").open("ab") as stream:
            pickle.dump((relpath, use), stream, protocol=pickle.HIGHEST_PROTOCOL)

    templates.render = rendering
    builder.handle_page = writing


def load_written_pages(doctreedir: Path) -> dict[str, PageUse]:
    """This build's notes (:func:`record_written_pages`), then deleted; a page noted more than
    once (written twice, or by two processes) is left out, to be read."""
    folder = doctreedir / WRITTEN_DIR
    notes: dict[str, PageUse] = {}
    twice = set()
    for path in sorted(folder.glob("*.pickle")) if folder.is_dir() else ():
        with path.open("rb") as stream:
            while True:
                try:
                    relpath, use = pickle.load(stream)
                except EOFError:
                    break
                if relpath in notes:
                    twice.add(relpath)
                # One string per name across pages, as a page read here has (the registry's
                # pickle stores each once).
                notes[relpath] = PageUse(
                    use.stamp,
                    frozenset(map(sys.intern, use.classes)),
                    frozenset(map(sys.intern, use.properties)),
                    frozenset(map(sys.intern, use.scripts)),
                )
    shutil.rmtree(folder, ignore_errors=True)
    for relpath in twice:
        del notes[relpath]
    return notes


def load_registry(path: Path) -> Registry:
    """The registry the last build saved, or the copy ``make livehtml``'s server holds
    (:mod:`kb.preloaded`); an empty one when the file is missing or damaged."""
    try:
        registry = preloaded.load(path)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return Registry()
    return registry if getattr(registry, "version", None) == REGISTRY_VERSION else Registry()


def site_classes(app: Sphinx) -> frozenset[str]:
    """Every class in a ``class`` attribute of some page of the output (after ``build-finished``
    ran this extension's handler)."""
    return app._kb_site_classes


# -- trimming ------------------------------------------------------------------------------------


def _top_level(text: str):
    """``(index, char, top)``: whether ``char`` is outside any ``(…)`` or ``[…]`` of ``text``."""
    depth = 0
    for index, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        yield index, char, depth == 0 and char not in ")]"


def _outside_brackets(selector: str) -> str:
    """The selector without what is inside ``(…)`` and ``[…]``."""
    return "".join(char for _, char, top in _top_level(selector) if top)


def _split_selectors(prelude: str) -> list[str]:
    """Top-level comma-separated selectors (commas inside ``:is(a, b)`` do not split)."""
    cuts = [index for index, char, top in _top_level(prelude) if top and char == ","]
    return [prelude[start + 1 : end] for start, end in zip([-1, *cuts], [*cuts, len(prelude)])]


def selector_may_match(selector: str, possible: set[str] | frozenset[str]) -> bool:
    if "\\" in selector:
        return True
    return all(name in possible for name in _REQUIRED_CLASS.findall(_outside_brackets(selector)))


def drop_unmatched_rules(rules: list, possible: set[str] | frozenset[str]) -> list:
    import tinycss2

    kept = []
    for rule in rules:
        if rule.type == "qualified-rule":
            selectors = _split_selectors(tinycss2.serialize(rule.prelude))
            matching = [part for part in selectors if selector_may_match(part, possible)]
            if len(matching) < len(selectors) and matching:
                rule.prelude = tinycss2.parse_component_value_list(",".join(matching))
            if matching:
                kept.append(rule)
        elif _holds_rules(rule):
            inner = drop_unmatched_rules(
                tinycss2.parse_blocks_contents(rule.content, skip_whitespace=True, skip_comments=True),
                possible,
            )
            if inner:
                rule.content = inner
                kept.append(rule)
        elif rule.type == "comment" and rule.value.lstrip().startswith("# sourceMappingURL"):
            continue  # the theme's source map describes the untrimmed file
        elif rule.type != "whitespace":
            kept.append(rule)  # other at-rules, and comments (Bootstrap's licence)
    return kept


def _holds_rules(rule) -> bool:
    """An at-rule whose block holds rules (``@media``, ...); after :func:`drop_unmatched_rules`
    its content is the list of those rules, parsed."""
    return rule.type == "at-rule" and rule.content is not None and rule.lower_at_keyword in _NESTING_AT_RULES


def _declaration_blocks(rules: list):
    """Every qualified rule, those inside ``@media`` and the like included."""
    for rule in rules:
        if rule.type == "qualified-rule":
            yield rule
        elif _holds_rules(rule):
            yield from _declaration_blocks(rule.content)


def drop_unreferenced_properties(sheets: dict[str, list], referenced_elsewhere: set[str]) -> None:
    """Remove ``--name: …`` declarations that nothing refers to, until none is left to remove."""
    import tinycss2

    while True:
        text = "".join(tinycss2.serialize(rules) for rules in sheets.values())
        referenced = set(_VAR_REFERENCE.findall(text)) | referenced_elsewhere
        removed = False
        for rules in sheets.values():
            for rule in _declaration_blocks(rules):
                declarations = tinycss2.parse_blocks_contents(
                    rule.content, skip_whitespace=True, skip_comments=True
                )
                if any(node.type != "declaration" for node in declarations):
                    continue  # nested rules: left as they are
                kept = [
                    node
                    for node in declarations
                    if not (node.name.startswith("--") and node.name not in referenced)
                ]
                if len(kept) != len(declarations):
                    removed = True
                    rule.content = tinycss2.parse_component_value_list(
                        ";".join(tinycss2.serialize([node]) for node in kept)
                    )
        if not removed:
            return


def trim_stylesheets(
    sheets: dict[str, str], possible: set[str] | frozenset[str], referenced_elsewhere: set[str]
) -> dict[str, str]:
    """``sheets`` (name → CSS) without unmatched rules and unreferenced custom properties."""
    import tinycss2

    parsed = {
        name: drop_unmatched_rules(tinycss2.parse_stylesheet(css, skip_whitespace=True), possible)
        for name, css in sheets.items()
    }
    drop_unreferenced_properties(parsed, referenced_elsewhere)
    return {name: tinycss2.serialize(_without_empty_rules(rules)) for name, rules in parsed.items()}


def _without_empty_rules(rules: list) -> list:
    """Rules left without declarations (``:root{}``) and at-rules left without rules."""
    kept = []
    for rule in rules:
        if rule.type == "qualified-rule" and not [
            token for token in rule.content if token.type not in ("whitespace", "comment")
        ]:
            continue
        if _holds_rules(rule):
            rule.content = _without_empty_rules(rule.content)
            if not rule.content:
                continue
        kept.append(rule)
    return kept


# -- the build step ------------------------------------------------------------------------------


def _script_texts(outdir: Path, scripts: set[str]) -> list[str]:
    return [
        path.read_text(encoding="utf-8", errors="replace")
        for path in (outdir / relpath for relpath in sorted(scripts))
        if path.is_file()
    ]


def trim_site_css(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir).resolve()
    registry_path = Path(app.doctreedir) / REGISTRY_FILE
    registry = load_registry(registry_path)
    known = dict(registry.pages)
    written = load_written_pages(Path(app.doctreedir))
    if update_registry(registry, outdir, app.parallel, written):
        with registry_path.open("wb") as stream:
            pickle.dump(registry, stream, protocol=pickle.HIGHEST_PROTOCOL)
    new = [
        (use, written.get(relpath))
        for relpath, use in registry.pages.items()
        if use is not known.get(relpath)
    ]
    taken = sum(use is noted for use, noted in new)
    logger.info("stylesheet trim: %d pages scanned as written, %d read again", taken, len(new) - taken)
    pages = registry.pages.values()
    classes = frozenset().union(*(page.classes for page in pages))
    app._kb_site_classes = classes
    names = [name for name in app.config.unused_css_files if name]
    if not names:
        return
    static = outdir / "_static"
    missing = [name for name in names if not (static / name).is_file()]
    if missing:
        logger.warning(
            "unused_css_files names stylesheets the build did not copy: %s",
            ", ".join(missing),
            type="kb",
            subtype="css",
        )
        names = [name for name in names if name not in missing]
    scripts = _script_texts(outdir, set().union(*(page.scripts for page in pages)))
    words = set(_WORD.findall(" ".join(scripts)))
    keep = [re.compile(pattern) for pattern in app.config.unused_css_keep]
    sheets = {name: (static / name).read_text(encoding="utf-8") for name in names}
    possible = (
        classes
        | words
        | {
            name
            for name in _REQUIRED_CLASS.findall(" ".join(sheets.values()))
            if any(pattern.fullmatch(name) for pattern in keep)
        }
    )
    # Custom properties the trimmed sheets may define for others: the other stylesheets of the
    # site, the scripts and the pages (inline styles) may refer to them.
    # Not the bundle of them all (css_bundle): it holds the previous build's trimmed sheets.
    others = [
        path.read_text(encoding="utf-8")
        for path in sorted(static.rglob("*.css"))
        if path.relative_to(static).as_posix() not in {*names, BUNDLE}
    ]
    referenced = set(_CUSTOM_PROPERTY.findall(" ".join(others + scripts)))
    referenced |= set().union(*(page.properties for page in pages))

    key = hashlib.sha1(
        pickle.dumps((sorted(sheets.items()), sorted(possible), sorted(referenced)))
    ).hexdigest()
    cache = Path(app.doctreedir) / CACHE_DIR / key
    if not cache.is_dir():
        trimmed = trim_stylesheets(sheets, possible, referenced)
        shutil.rmtree(cache.parent, ignore_errors=True)  # results for earlier inputs
        cache.parent.mkdir(parents=True)
        staging = cache.with_suffix(".tmp")
        for name, css in trimmed.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(css, encoding="utf-8")
        staging.rename(cache)
    for name in names:
        (static / name).write_bytes((cache / name).read_bytes())
        # The theme's source map describes the untrimmed file, and the trimmed one drops the
        # comment that pointed to it.
        (static / f"{name}.map").unlink(missing_ok=True)


preloaded.register(REGISTRY_FILE)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("unused_css_files", [], "html", list)
    app.add_config_value("unused_css_keep", [], "html", list)
    # After the blog deleted the pages of removed posts (pipeline.REMOVE_STALE_BLOG_OUTPUTS).
    app.connect("builder-inited", record_written_pages)
    app.connect("build-finished", trim_site_css, priority=pipeline.TRIM_CSS)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
