"""Build the real site, or a tiny site made of the real configuration plus a test root."""

from __future__ import annotations

import http.server
import os
import runpy
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
ROOTS = Path(__file__).resolve().parent / "roots"
# What a tiny test site shares with the real one; posts come from the test root.
SHARED = ["conf.py", "_ext", "_templates", "_static", "locales", "references.bib"]
BUILD_TIMEOUT = 600
# Under pytest, whether the running test may build a site: tests/conftest.py sets it from the
# test's markers, so that a build (seconds to minutes) happens only in tests marked slow or
# browser, and `make check`, which leaves those out, never builds one. None: not under pytest.
BUILDS_ALLOWED: bool | None = None
# The strict build of `make html` (Makefile: SPHINXOPTS): every warning is an error, all reported.
STRICT = ("-W", "--keep-going", "-n")
# `make html` reads and writes in one process per core (Makefile: JOBS).
PARALLEL = ("-j", "auto")
# Debian's Chromium, driven by Playwright in the browser tests and the benchmark.
# What a page linked before kb/assets/css_bundle.py put it into one file, in the page's order
# (ABlog's tag cloud linked its sheet in the sidebar): test_site checks the bundle holds them,
# test_unused_css links them one by one again.
BUNDLED_STYLESHEETS = [
    "styles/theme.css",
    "styles/pydata-sphinx-theme.css",
    "pygments.css",
    "styles/sphinx-book-theme.css",
    "copybutton.css",
    "katex/katex.min.css",
    "katex-math.css",
    "kb.css",
    "ablog/tagcloud.css",
]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Build:
    srcdir: Path
    outdir: Path
    returncode: int
    output: str
    reused: bool = False  # an existing build (pytest --kb-built-site), not one this session ran

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.output.splitlines() if "WARNING:" in line or "ERROR:" in line]

    @property
    def doctreedir(self) -> Path:
        """This build's doctrees: beside the output for a test build, ``<builddir>/doctrees`` for
        a reused build of ``make html`` (``sphinx-build -M html . <builddir>``)."""
        return self.outdir.parent / "doctrees" if self.reused else doctrees(self.outdir)


def sphinx_argv(srcdir: Path, outdir: Path, *extra: str, files: tuple[str, ...] = ()) -> list[str]:
    """``sphinx-build``'s arguments for a strict HTML build, as ``make html`` runs it."""
    return [
        "-b",
        "html",
        *STRICT,
        "--no-color",
        "-d",
        str(doctrees(outdir)),
        *extra,
        str(srcdir),
        str(outdir),
        *files,
    ]


def source_date_epoch(year: int, month: int, day: int) -> dict[str, str]:
    """``SOURCE_DATE_EPOCH`` (the build's date, ``sphinx_build(environ=…)``) for midnight of a day
    in the site's timezone, in which post dates are written."""
    zone = ZoneInfo(str(site_config()["kb_timezone"]))
    return {"SOURCE_DATE_EPOCH": str(int(datetime(year, month, day, tzinfo=zone).timestamp()))}


def doctrees(outdir: Path) -> Path:
    """Where a test build keeps its doctrees: beside the output (``Build.doctreedir`` also knows
    ``make html``'s ``_build/doctrees``)."""
    return outdir.with_name(outdir.name + ".doctrees")


def sphinx_build(
    srcdir: Path,
    outdir: Path,
    *extra: str,
    files: tuple[str, ...] = (),
    environ: dict[str, str] | None = None,
) -> Build:
    """Build ``srcdir`` into ``outdir``; ``files`` limits the build to those source files;
    ``environ`` adds environment variables (``SOURCE_DATE_EPOCH``: the build's date)."""
    if BUILDS_ALLOWED is False:
        raise RuntimeError("a test that builds a site must be marked @pytest.mark.slow (or browser)")
    command = [sys.executable, "-m", "sphinx", *sphinx_argv(srcdir, outdir, *extra, files=files)]
    env = dict(os.environ, PYTHONHASHSEED="0", **(environ or {}))
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT, cwd=srcdir
    )
    return Build(srcdir, outdir, result.returncode, result.stdout + result.stderr)


def output_files(outdir: Path) -> dict[str, bytes]:
    """Every file a build left, by path relative to ``outdir``."""
    return {
        str(path.relative_to(outdir)): path.read_bytes()
        for path in sorted(outdir.rglob("*"))
        if path.is_file()
    }


@cache
def site_config() -> dict[str, object]:
    """The real site's configuration, as conf.py sets it."""
    return runpy.run_path(str(ROOT / "conf.py"))


def site_url() -> str:
    return str(site_config()["site_url"])


def site_prefix() -> str:
    """The path the site is hosted under (``/zh-cn/latest/`` on Read the Docs)."""
    return urlsplit(site_url()).path


def parse_html(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def make_site(destination: Path, testroot: str | None = None) -> Path:
    """A site with the real configuration, a minimal homepage and the test root's files."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in SHARED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy2(source, destination / name)
    (destination / "node_modules").symlink_to(ROOT / "node_modules")
    (destination / "index.md").write_text(
        "# 测试站点\n\n## 最新更新\n\n```{postlist} 10\n:excerpts:\n```\n", encoding="utf-8"
    )
    if testroot is not None:
        shutil.copytree(ROOTS / f"test-{testroot}", destination, dirs_exist_ok=True)
    return destination


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _HostedHandler(_QuietHandler):
    """The site under a path prefix, with 404.html for every missing path (like Read the Docs)."""

    prefix = "/"

    def translate_path(self, path: str) -> str:
        path = path.split("?")[0].split("#")[0]
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / "does-not-exist")
        return super().translate_path("/" + path[len(self.prefix) :])

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def serve(directory: Path, prefix: str | None = None) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve a built site on a free localhost port; the caller shuts the server down.

    With ``prefix`` (e.g. ``/zh-cn/latest/``) the site is hosted below that path and every
    missing path gets the site's 404 page, as on Read the Docs; the URL returned includes it."""
    if prefix is None:
        handler = partial(_QuietHandler, directory=str(directory))
    else:
        handler = partial(type("Hosted", (_HostedHandler,), {"prefix": prefix}), directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}{(prefix or '/').rstrip('/')}"
