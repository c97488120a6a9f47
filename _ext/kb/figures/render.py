"""Running a post's figure function: isolated imports, checked glyphs, SVG out, in workers.

:func:`render` imports the post's figure module (its siblings importable by bare name, forgotten
afterwards; torch blocked), calls the function under the site's style, checks that every
character has a glyph and every text colour has a dark-mode counterpart, and returns the light
and dark SVG. :class:`Renderer` runs it in worker processes while Sphinx reads; results are
cached beside the doctrees under a key of the post folder's code (:func:`cache_key`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import importlib.util
import io
import json
import os
import re
import sys
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sphinx.errors import ExtensionError

from .style import CJK_FONT, DARK_COLOURS, RC_PARAMS, compact, dark_variant, foreign_text_colours, svg_size

STYLE_VERSION = (
    2  # 2: coordinates rounded to 1/100 pt; bump when the rendering changes in a way the cache key cannot see
)


class FigureError(Exception):
    """A figure that cannot be drawn; the message says why, in the author's terms."""


@dataclass(frozen=True)
class Rendered:
    light: bytes
    dark: bytes
    width: int  # CSS pixels
    height: int


BLOCKED = ("torch",)  # not a site requirement: Read the Docs, which draws the figures too, lacks it


class _BlockedImports(importlib.abc.MetaPathFinder):
    """Makes ``import torch`` fail as it does where torch is not installed."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


@contextlib.contextmanager
def _post_imports(folder: Path) -> Iterator[None]:
    """Let the figure code import its siblings by bare name, without leaking them: the modules
    it imports from its folder are forgotten afterwards (two posts may both have a
    ``figures.py``), and torch cannot be imported (it is not a site requirement).

    torch is blocked by an import hook, and hidden from ``sys.modules`` if this process has
    imported it (a test run): libraries such as SciPy look torch up in ``sys.modules`` and would
    break on a placeholder there."""
    before = set(sys.modules)
    hidden = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] in BLOCKED}
    blocker = _BlockedImports()
    sys.meta_path.insert(0, blocker)
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        sys.meta_path.remove(blocker)
        sys.modules.update(hidden)
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


_covered: dict[tuple[Any, ...], frozenset[int]] = {}


def _covered_points(families: tuple[str, ...], style: Any, weight: Any) -> frozenset[int]:
    """The code points some font of a family list can draw (cached: the sets are large)."""
    key = (families, style, weight)
    if key not in _covered:
        from matplotlib import font_manager

        points: set[int] = set()
        for family in families:
            try:
                path = font_manager.findfont(
                    font_manager.FontProperties(family=family, style=style, weight=weight),
                    fallback_to_default=False,
                )
            except ValueError:
                continue
            points |= _characters(path)
        _covered[key] = frozenset(points)
    return _covered[key]


def missing_glyphs(figure: Any) -> list[str]:
    """Characters of the figure's text (mathtext aside) that none of its fonts can draw.

    matplotlib warns about a missing glyph only for some characters (none for those outside the
    Basic Multilingual Plane, e.g. emoji) and then draws an empty box, so every text artist is
    checked against the character maps of its own font family list."""
    from matplotlib.text import Text

    missing = []
    for text in figure.findobj(Text):
        content = _MATHTEXT.sub("", text.get_text()) if text.get_usetex() is False else ""
        if not content.strip():
            continue
        props = text.get_fontproperties()
        covered = _covered_points(tuple(props.get_family()), props.get_style(), props.get_weight())
        missing += [
            f"{ch!r} (U+{ord(ch):04X}) in {text.get_text()!r}"
            for ch in content
            if not ch.isspace() and ord(ch) not in covered
        ]
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
        raise ExtensionError(
            f"figures need the font {CJK_FONT!r}: install Debian's fonts-noto-cjk "
            "(scripts/install-system-deps.sh)"
        ) from None

    folder = script.parent
    module_name = "kb_figure_code_" + hashlib.sha1(str(script).encode()).hexdigest()[:12]
    with (
        _post_imports(folder),
        warnings.catch_warnings(record=True) as caught,
        matplotlib.rc_context(RC_PARAMS),  # type: ignore[arg-type]  # typed for literal keys
    ):
        warnings.simplefilter("always")
        try:
            spec = importlib.util.spec_from_file_location(module_name, script)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except ImportError as exc:
            if exc.name == "torch":
                raise FigureError(
                    f"{script.name} imports torch{_where(exc, folder)}: figure code "
                    "runs with the site requirements alone (Read the Docs does not "
                    "install torch); draw from NumPy"
                ) from exc
            raise FigureError(
                f"importing {script.name} failed{_where(exc, folder)}: {type(exc).__name__}: {exc}"
            ) from exc
        except Exception as exc:
            raise FigureError(
                f"importing {script.name} failed{_where(exc, folder)}: {type(exc).__name__}: {exc}"
            ) from exc
        draw = getattr(module, function, None)
        if not callable(draw):
            raise FigureError(f"{script.name} has no function {function!r}")
        try:
            figure = draw()
        except ImportError as exc:
            if exc.name == "torch":
                raise FigureError(
                    f"{script.name}:{function}() imports torch{_where(exc, folder)}: "
                    "figure code runs with the site requirements alone (Read the "
                    "Docs does not install torch); draw from NumPy"
                ) from exc
            raise FigureError(
                f"{script.name}:{function}() raised{_where(exc, folder)}: {type(exc).__name__}: {exc}"
            ) from exc
        except Exception as exc:
            raise FigureError(
                f"{script.name}:{function}() raised{_where(exc, folder)}: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(figure, Figure):
            plt.close("all")
            raise FigureError(
                f"{script.name}:{function}() must return a matplotlib Figure, not {type(figure).__name__}"
            )
        unknown = missing_glyphs(figure)
        if unknown:
            plt.close("all")
            raise FigureError(
                f"{script.name}:{function}(): no font can draw {unknown[0]} "
                "(it would show as an empty box; use characters the fonts have, "
                "or mathtext)"
            )
        buffer = io.StringIO()
        try:
            figure.savefig(buffer, format="svg", metadata={"Date": None})
        finally:
            plt.close(figure)
            plt.close("all")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    if missing:
        raise FigureError(
            f"{script.name}:{function}(): {missing[0]} (the figure would show an "
            "empty box; use characters the fonts have, or mathtext)"
        )
    light = compact(buffer.getvalue())
    foreign = foreign_text_colours(light)
    if foreign:
        raise FigureError(
            f"{script.name}:{function}(): text {foreign[0]} is not a site colour, so "
            "dark mode cannot adjust it; use 'C0'…'C9', 'black' or the default"
        )
    try:
        width, height = svg_size(light)
    except ValueError as exc:
        raise FigureError(f"{script.name}:{function}(): {exc}") from None
    return Rendered(light.encode(), dark_variant(light).encode(), width, height)


# -- caching -------------------------------------------------------------------------------------


def code_files(folder: Path) -> list[Path]:
    """The files a figure of this folder may run or read: all but the article text and the
    tests (figure code may read a stored program output, e.g. what a Java program printed)."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.name != "index.md" and not p.name.startswith("test_")
    )


def cache_key(script: Path, function: str) -> str:
    import matplotlib

    digest = hashlib.sha256()
    digest.update(
        repr(
            (
                STYLE_VERSION,
                matplotlib.__version__,
                sorted(RC_PARAMS.items(), key=str),
                sorted(DARK_COLOURS.items()),
                script.name,
                function,
            )
        ).encode()
    )
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
        import multiprocessing

        if multiprocessing.current_process().daemon:
            return 0  # a daemonic process cannot have children: make livehtml's forked builds
        return max(0, min(4, os.cpu_count() or 1))

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
