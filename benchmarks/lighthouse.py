"""Lighthouse's mobile performance score of the real site's pages, served gzip-compressed.

    python benchmarks/lighthouse.py [_build/html …] [--repeat 3] [--all] [--page posts/x/index.html]

By default three pages of each built site: the homepage, the lightest and the heaviest article
(by the size of their HTML, which is what the formulas make heavy); ``--all`` adds every article.
Each page is served by a local web server that gzip-compresses text the way a real host does
(Lighthouse scores a raw-served page far lower: it counts the uncompressed bytes), and audited by
npm's ``lighthouse`` (pinned in ``package.json``) with Debian's Chromium (``CHROME_PATH``; no
browser is ever downloaded), mobile defaults (simulated slow 4G and a 4× slower CPU), performance
category only. Every page is audited ``--repeat`` times and the medians are printed.

Given several built sites (e.g. before and after a change), the runs alternate between them, page
by page, so that a machine that gets busier or quieter affects both alike: compare columns of one
run only.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from sitebuild import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

LIGHTHOUSE = Path(os.environ.get("LIGHTHOUSE", ROOT / "node_modules" / ".bin" / "lighthouse"))
PRECOMPRESSED = (".woff2", ".woff", ".png", ".jpg", ".gz")
# Screenshots cost time and score nothing.
SKIPPED_AUDITS = "full-page-screenshot,screenshot-thumbnails,final-screenshot"
METRICS = {
    "score": ("categories", "performance", "score"),
    "fcp": ("audits", "first-contentful-paint", "numericValue"),
    "lcp": ("audits", "largest-contentful-paint", "numericValue"),
    "tbt": ("audits", "total-blocking-time", "numericValue"),
    "cls": ("audits", "cumulative-layout-shift", "numericValue"),
    "si": ("audits", "speed-index", "numericValue"),
    "dom": ("audits", "dom-size", "numericValue"),
}


class GzipHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, text gzip-compressed (level 6) when the client accepts it, cacheable."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path.split("?")[0].split("#")[0]))
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        compress = "gzip" in self.headers.get("Accept-Encoding", "") and not path.name.endswith(PRECOMPRESSED)
        if compress:
            body = gzip.compress(body, 6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        if compress:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=3600")
        self.end_headers()
        self.wfile.write(body)


def serve_gzip(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(GzipHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def default_pages(html: Path, every_article: bool) -> list[str]:
    """The homepage, the lightest and the heaviest article (or every article)."""
    articles = sorted(
        (p.stat().st_size, str(p.relative_to(html))) for p in (html / "posts").glob("*/index.html")
    )
    if not articles:
        raise SystemExit(f"{html}: no posts/*/index.html (build the site first: make html)")
    chosen = [path for _size, path in articles] if every_article else [articles[0][1], articles[-1][1]]
    return ["index.html", *chosen]


def audit(url: str) -> dict[str, float]:
    """One Lighthouse run (mobile defaults, performance only): the score (0–100) and metrics."""
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"{LIGHTHOUSE} is missing: run `make install` (npm devDependency lighthouse)")
    with tempfile.TemporaryDirectory(prefix="kb-lighthouse-") as profile:
        completed = subprocess.run(
            [
                str(LIGHTHOUSE),
                url,
                "--quiet",
                "--output=json",
                "--output-path=stdout",
                "--only-categories=performance",
                f"--skip-audits={SKIPPED_AUDITS}",
                f"--chrome-flags={' '.join(CHROMIUM_ARGS)} --user-data-dir={profile}",
            ],
            env=dict(os.environ, CHROME_PATH=CHROMIUM),
            capture_output=True,
            text=True,
            timeout=300,
        )
    if completed.returncode != 0:
        raise RuntimeError(f"lighthouse failed on {url}:\n{completed.stderr[-2000:]}")
    report = json.loads(completed.stdout)
    if report.get("runtimeError"):
        raise RuntimeError(f"lighthouse on {url}: {report['runtimeError']}")
    result: dict[str, float] = {}
    for name, keys in METRICS.items():
        value: Any = report
        for key in keys:
            value = value[key]
        result[name] = float(value) * (100 if name == "score" else 1)
    return result


def measure(sites: list[Path], pages: list[str], repeat: int) -> dict[tuple[int, str], dict[str, float]]:
    """Medians per (site index, page) over ``repeat`` runs, alternating between the sites."""
    servers = [serve_gzip(site) for site in sites]
    runs: dict[tuple[int, str], list[dict[str, float]]] = {}
    try:
        for round_ in range(repeat):
            for page in pages:
                for i, (_server, base) in enumerate(servers):
                    print(f"  run {round_ + 1}/{repeat} {page} [{i}]", file=sys.stderr, flush=True)
                    runs.setdefault((i, page), []).append(audit(f"{base}/{page}"))
    finally:
        for server, _base in servers:
            server.shutdown()
    return {
        key: {name: statistics.median(run[name] for run in values) for name in METRICS}
        for key, values in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sites", nargs="*", type=Path, default=[ROOT / "_build" / "html"])
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "3")))
    parser.add_argument("--all", action="store_true", help="every article, not only the extremes")
    parser.add_argument("--page", action="append", help="a page to audit (path in the site)")
    args = parser.parse_args()
    pages = args.page or default_pages(args.sites[0], args.all)
    load_before = os.getloadavg()[0]
    result = measure(args.sites, pages, args.repeat)
    # Lighthouse scales the CPU work it observes: other jobs on the machine lower the scores.
    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    print(
        f"\nLighthouse {subprocess.run([str(LIGHTHOUSE), '--version'], capture_output=True, text=True).stdout.strip()}, "
        f"mobile, served gzip-compressed; median of {args.repeat} runs; {load}\n"
    )
    print("| page | site | performance | FCP | LCP | TBT | CLS | Speed Index | DOM elements |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for page in pages:
        for i, site in enumerate(args.sites):
            m = result[(i, page)]
            print(
                f"| {page} | {site} | {m['score']:.0f} | {m['fcp'] / 1e3:.1f} s | "
                f"{m['lcp'] / 1e3:.1f} s | {m['tbt']:.0f} ms | {m['cls']:.3f} | "
                f"{m['si'] / 1e3:.1f} s | {m['dom']:.0f} |"
            )
    for i, site in enumerate(args.sites):
        articles = [result[(i, page)]["score"] for page in pages if page.startswith("posts/")]
        if len(articles) > 2:
            print(
                f"\n{site}: {len(articles)} articles, performance min {min(articles):.0f}, "
                f"median {statistics.median(articles):.0f}, below 95: {sum(s < 95 for s in articles)}"
            )


if __name__ == "__main__":
    main()
