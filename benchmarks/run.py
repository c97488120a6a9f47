"""Build-time and reader-side benchmark of the site on synthetic corpora (``make bench``).

For each N (default 100, 300, 1000) a temporary site is made of the real configuration, the real
homepage and N posts from ``corpus.py``, and measured:

* clean build, rebuild with nothing changed, rebuild after editing one post's body
  (median of ``--repeat`` runs; the same command as ``make html``), and the last two again as
  ``make livehtml`` runs them, forked from a warm process (``scripts/livehtml.py``);
* peak RSS of the build process, output size, search index size (raw and gzip);
* the largest listing page (the homepage, the pages of the post list, category, tag, year and
  author pages and their catalogs), gzip-compressed: paginated lists keep it flat;
* page weight of a typical post on first view in Chromium (every response, gzip-compressed as a
  web server would send it; fonts as they are);
* search latency in Chromium, after the index has loaded: the time from submitting a query to
  the first result on screen, and to the finished list (Sphinx fetches every listed page to show
  its excerpt, so the second grows with the number of hits); medians over several queries;
* MkDocs Material with its blog plugin on the same corpus (clean build), for the ratio.

Prints one Markdown table. Takes about 20 minutes on a 2-core machine for the default sizes.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpus import make_corpus, write_mkdocs, write_sphinx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))
from livehtml import WarmSphinx  # noqa: E402
from sitebuild import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402
from sitebuild import make_site as make_test_site  # noqa: E402

MKDOCS_VENV = ROOT / ".venv-mkdocs"
QUERIES = ["扩散模型", "梯度", "采样加速", "Transformer", "概率论 方差", "策略梯度"]


def run(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall time in seconds and peak RSS in MB of one command."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONHASHSEED="0"),
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.exit(f"{' '.join(command)} failed:\n{output.decode(errors='replace')[-3000:]}")
    return elapsed, usage.ru_maxrss // 1024


def sphinx(site: Path) -> list[str]:
    return [
        str(ROOT / ".venv/bin/python"),
        "-m",
        "sphinx",
        "-M",
        "html",
        str(site),
        str(site / "_build"),
        "-W",
        "--keep-going",
        "-n",
        "-q",
        "-j",
        os.environ.get("BENCH_JOBS", "auto"),  # as `make html` (Makefile: JOBS)
    ]


def make_site(base: Path, n: int) -> Path:
    """The real configuration and homepage with N synthetic posts."""
    site = make_test_site(base / f"site-{n}")
    shutil.copy2(ROOT / "index.md", site / "index.md")
    write_sphinx(make_corpus(n), site)
    return site


def dir_size(path: Path, skip: str = ".doctrees") -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and skip not in p.parts)


def largest_listing(html: Path) -> tuple[str, int, int]:
    """The listing page that is largest gzip-compressed (level 6, as a web server sends it):
    its path, raw and compressed size."""
    pages = [html / "index.html", html / "blog.html", *sorted((html / "blog").rglob("*.html"))]
    sizes = [(len(gzip.compress(data, 6)), len(data), page) for page in pages for data in [page.read_bytes()]]
    compressed, raw, page = max(sizes)
    return str(page.relative_to(html)), raw, compressed


def measure_builds(site: Path, repeat: int) -> dict[str, float]:
    clean, noop, edit, rss = [], [], [], []
    for _ in range(repeat):
        shutil.rmtree(site / "_build", ignore_errors=True)
        seconds, peak = run(sphinx(site), site)
        clean.append(seconds)
        rss.append(peak)
    for _ in range(repeat):
        noop.append(run(sphinx(site), site)[0])
    for i in range(repeat):
        edit_post(site, i)
        edit.append(run(sphinx(site), site)[0])
    # The same rebuilds as `make livehtml` runs them: forked from a warm process.
    warm_noop, warm_edit = [], []
    with WarmSphinx(site) as warm:
        argv = sphinx(site)[3:]
        warm.build(argv, site)  # waits for the server to warm up; not measured
        for _ in range(repeat):
            warm_noop.append(timed(lambda: warm.build(argv, site)))
        for i in range(repeat):
            edit_post(site, repeat + i)
            warm_edit.append(timed(lambda: warm.build(argv, site)))
    return {
        "clean": statistics.median(clean),
        "noop": statistics.median(noop),
        "edit": statistics.median(edit),
        "rss": max(rss),
        "warm_noop": statistics.median(warm_noop),
        "warm_edit": statistics.median(warm_edit),
    }


def edit_post(site: Path, i: int) -> None:
    post = site / "posts" / f"bench-{i:04d}" / "index.md"
    post.write_text(post.read_text(encoding="utf-8") + f"\n编辑后补充的第 {i} 段。\n", encoding="utf-8")


def timed(build) -> float:
    start = time.perf_counter()
    if build() != 0:
        sys.exit("a warm rebuild failed")
    return time.perf_counter() - start


def measure_browser(html: Path, n: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    server, base = serve(html)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            responses = []

            def collect(response) -> None:
                responses.append(response)

            page.on("response", collect)
            page.goto(f"{base}/posts/bench-{min(n - 1, 50):04d}/index.html", wait_until="networkidle")
            page.remove_listener("response", collect)
            weight = 0
            for response in responses:
                body = response.body()
                compressed = response.url.split("?")[0].endswith((".woff2", ".woff", ".png"))
                weight += len(body) if compressed else len(gzip.compress(body, 6))

            page.goto(f"{base}/search.html", wait_until="networkidle")
            page.wait_for_function('() => typeof Search !== "undefined" && Search.hasIndex()')
            first, complete = [], []
            for query in QUERIES:
                times = page.evaluate(
                    """async (query) => {
                    const results = document.getElementById("search-results");
                    let first = null;
                    const start = performance.now();
                    const done = new Promise((resolve) => {
                      const observer = new MutationObserver(() => {
                        if (first === null && results.querySelector("ul.search li")) {
                          first = performance.now() - start;
                        }
                        const summary = results.querySelector(".search-summary");
                        if (summary && summary.textContent.trim()) {
                          observer.disconnect();
                          resolve();
                        }
                      });
                      observer.observe(results, {subtree: true, childList: true, characterData: true});
                    });
                    results.innerHTML = "";
                    Search.performSearch(query);
                    await done;
                    const total = performance.now() - start;
                    return [first === null ? total : first, total];
                }""",
                    query,
                )
                first.append(times[0])
                complete.append(times[1])
            browser.close()
    finally:
        server.shutdown()
    return {
        "weight": weight,
        "search_ms": statistics.median(first),
        "search_all_ms": statistics.median(complete),
    }


def mkdocs_clean(base: Path, n: int, repeat: int) -> float:
    if not (MKDOCS_VENV / "bin" / "mkdocs").exists():
        subprocess.run([sys.executable, "-m", "venv", str(MKDOCS_VENV)], check=True)
        subprocess.run(
            [
                str(MKDOCS_VENV / "bin/pip"),
                "install",
                "--quiet",
                "-r",
                str(ROOT / "benchmarks" / "requirements-mkdocs.txt"),
            ],
            check=True,
        )
    site = base / f"mkdocs-{n}"
    write_mkdocs(make_corpus(n), site)
    times = []
    for _ in range(repeat):
        shutil.rmtree(site / "site", ignore_errors=True)
        times.append(run([str(MKDOCS_VENV / "bin/mkdocs"), "build", "-q"], site)[0])
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "100,300,1000"))
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "3")))
    parser.add_argument("--no-mkdocs", action="store_true")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        base = Path(tmp)
        for n in sizes:
            print(f"N = {n} …", file=sys.stderr, flush=True)
            site = make_site(base, n)
            builds = measure_builds(site, args.repeat)
            html = site / "_build" / "html"
            index = (html / "searchindex.js").read_bytes()
            browser = measure_browser(html, n)
            mkdocs = None if args.no_mkdocs else mkdocs_clean(base, n, args.repeat)
            listing = largest_listing(html)
            rows.append(
                (
                    n,
                    builds,
                    dir_size(html),
                    len(index),
                    len(gzip.compress(index, 6)),
                    browser,
                    mkdocs,
                    listing,
                )
            )
            shutil.rmtree(site)
    print(f"\nmedian of {args.repeat} runs; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}\n")
    print(
        "| posts | clean | ms/post | nothing changed | edit one post | livehtml: nothing changed / edit | peak RSS | output | "
        "search index (gzip) | post page weight (gzip) | search: first result / all shown | "
        "largest listing page (gzip) | MkDocs Material clean | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, b, out, raw, gz, browser, mkdocs, (listing_page, listing_raw, listing_gz) in rows:
        ratio = f"{b['clean'] / mkdocs:.2f}×" if mkdocs else "–"
        mk = f"{mkdocs:.1f} s" if mkdocs else "–"
        print(
            f"| {n} | {b['clean']:.1f} s | {1000 * b['clean'] / n:.0f} | {b['noop']:.1f} s | "
            f"{b['edit']:.1f} s | {b['warm_noop']:.1f} s / {b['warm_edit']:.1f} s | {b['rss']} MB | {out / 1e6:.1f} MB | {raw / 1e3:.0f} KB ({gz / 1e3:.0f} KB) | "
            f"{browser['weight'] / 1e3:.0f} KB | {browser['search_ms']:.0f} / {browser['search_all_ms']:.0f} ms | "
            f"{listing_page}: {listing_raw / 1e3:.0f} KB ({listing_gz / 1e3:.0f} KB) | {mk} | {ratio} |"
        )


if __name__ == "__main__":
    main()
