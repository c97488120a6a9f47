"""Build-time and reader-side benchmark of the site on synthetic corpora (``make bench``).

For each N (default 100, 300, 1000) a temporary site is made of the real configuration, the real
homepage and N posts from ``corpus.py``, and measured:

* clean build, rebuild with nothing changed, rebuild after editing one post's body
  (median of ``--repeat`` runs; the same command as ``make html``, ``scripts/build_site.py``; with
  nothing changed also sphinx-build alone, which that script does not start), and the last two again as
  ``make livehtml`` runs them, forked from a warm process (``scripts/livehtml.py``);
* peak RSS of the build process, output size, search index size (raw and gzip);
* the largest listing page (the homepage, the pages of the post list, category, tag, year and
  author pages and their catalogs), gzip-compressed: paginated lists keep it flat;
* page weight of a typical post on first view in Chromium (every response, gzip-compressed as a
  web server would send it; fonts as they are);
* search (``search_bench.py``): the compressed bytes a query transfers (index pieces and
  excerpt records), the time from submitting it to the first result on screen and to the whole
  first page of results, unthrottled and under Lighthouse's mobile throttling (150 ms, 1.6 Mbit/s,
  4x CPU), medians over several queries; the dialog's time per keystroke; and the index build
  time (every page's record extracted from its doctree, then the index assembled);
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "_ext"))
from search_bench import measure_site_search  # noqa: E402

from corpus import make_corpus, write_mkdocs, write_sphinx  # noqa: E402
from livehtml import WarmSphinx  # noqa: E402
from sitebuild import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402
from sitebuild import make_site as make_test_site  # noqa: E402

MKDOCS_VENV = ROOT / ".venv-mkdocs"


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


def make_html(site: Path) -> list[str]:
    """``make html``'s command: sphinx-build, not started when no file changed (scripts/build_site.py)."""
    command = sphinx(site)
    return [command[0], str(ROOT / "scripts" / "build_site.py"), "html", *command[5:]]


def make_site(base: Path, n: int) -> Path:
    """The real configuration and homepage with N synthetic posts."""
    site = make_test_site(base / f"site-{n}")
    shutil.copy2(ROOT / "index.md", site / "index.md")
    write_sphinx(make_corpus(n), site)
    return site


def dir_size(path: Path, skip: str = ".doctrees") -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and skip not in p.parts)


def biggest_file(path: Path) -> tuple[str, int]:
    """The largest single file of the output: its path and size."""
    size, name = max((p.stat().st_size, str(p.relative_to(path))) for p in path.rglob("*") if p.is_file())
    return name, size


def largest_listing(html: Path) -> tuple[str, int, int]:
    """The listing page that is largest gzip-compressed (level 6, as a web server sends it):
    its path, raw and compressed size."""
    pages = [html / "index.html", html / "blog.html", *sorted((html / "blog").rglob("*.html"))]
    sizes = [(len(gzip.compress(data, 6)), len(data), page) for page in pages for data in [page.read_bytes()]]
    compressed, raw, page = max(sizes)
    return str(page.relative_to(html)), raw, compressed


def measure_builds(site: Path, repeat: int) -> dict[str, float]:
    clean, noop, sphinx_noop, edit, rss = [], [], [], [], []
    for _ in range(repeat):
        shutil.rmtree(site / "_build", ignore_errors=True)
        seconds, peak = run(make_html(site), site)
        clean.append(seconds)
        rss.append(peak)
    for _ in range(repeat):
        noop.append(run(make_html(site), site)[0])
    for _ in range(repeat):
        # What Sphinx alone takes to find nothing to do. It copies the static files again, which
        # changes the output's folders, so the next make html starts Sphinx: measured after.
        sphinx_noop.append(run(sphinx(site), site)[0])
    for i in range(repeat):
        edit_post(site, i)
        edit.append(run(make_html(site), site)[0])
    # The same rebuilds as `make livehtml` runs them: forked from a warm process.
    warm_noop, warm_edit = [], []
    with WarmSphinx(site) as warm:
        argv = sphinx(site)[3:]
        warm.build(argv, site)  # waits for the server to warm up; not measured
        # Each rebuild starts once the server is done after the last one (it loads the
        # environment that build saved), as when an author reads the page before saving again.
        for _ in range(repeat):
            warm.wait_until_idle()
            warm_noop.append(timed(lambda: warm.build(argv, site)))
        for i in range(repeat):
            edit_post(site, repeat + i)
            warm.wait_until_idle()
            warm_edit.append(timed(lambda: warm.build(argv, site)))
    return {
        "clean": statistics.median(clean),
        "noop": statistics.median(noop),
        "sphinx_noop": statistics.median(sphinx_noop),
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

            browser.close()
    finally:
        server.shutdown()
    return {"weight": weight}


def index_build_seconds(site: Path) -> tuple[float, float]:
    """Seconds to extract every page's search record from its doctree, and to assemble the
    index from the records (the two steps of kb.search in a build), measured in this process."""
    import json
    import pickle
    import runpy

    from kb.search import extract, index
    from kb.search.zh import split_text, use_dictionary

    config = runpy.run_path(str(site / "conf.py"))
    use_dictionary(site / config["kb_search_dictionary"])
    split_text("预热")  # jieba's dictionary loads once per build, not per page
    doctrees = site / "_build" / "doctrees"
    env = pickle.loads((doctrees / "environment.pickle").read_bytes())
    names = sorted(n for n in env.found_docs if n != "index" and (doctrees / f"{n}.doctree").is_file())
    start = time.perf_counter()
    records = {}
    for name in names:
        doctree = pickle.loads((doctrees / f"{name}.doctree").read_bytes())
        records[name] = json.loads(
            json.dumps(
                extract.page_record(
                    doctree,
                    env.titles[name].astext(),
                    env.metadata.get(name, {}),
                    config["kb_math_macros"],
                    frozenset(config["kb_search_skip_headings"]),
                )
            )
        )
    extracted = time.perf_counter() - start
    start = time.perf_counter()
    urls = {name: f"{name}.html" for name in records}
    titles = {name: env.titles[name].astext() for name in records}
    files = index.build_index(records, urls, config["kb_math_macros"], {}, titles)
    for name, data in files.items():
        target = site / "_bench_index" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return extracted, time.perf_counter() - start


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
    parser.add_argument("--no-mkdocs", action="store_true", default=bool(os.environ.get("BENCH_NO_MKDOCS")))
    parser.add_argument(
        "--clean-only",
        action="store_true",
        default=bool(os.environ.get("BENCH_CLEAN_ONLY")),
        help="one clean build, no rebuilds (for 10,000 posts: BENCH_SIZES=10000 BENCH_CLEAN_ONLY=1)",
    )
    parser.add_argument(
        "--pagefind",
        action="store_true",
        default=bool(os.environ.get("BENCH_PAGEFIND")),
        help="also index the same posts with Pagefind and compare (benchmarks/search_designs.py)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=os.environ.get("BENCH_KEEP"),
        help="build the sites in this folder and keep them (to profile a rebuild afterwards)",
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    biggest: dict[int, tuple[str, int]] = {}
    rows = []
    designs: list[tuple[int, dict[str, float], dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            print(f"N = {n} …", file=sys.stderr, flush=True)
            site = make_site(base, n)
            if args.clean_only:
                seconds, peak = run(make_html(site), site)
                builds = {"clean": seconds, "rss": peak}
            else:
                builds = measure_builds(site, args.repeat)
            html = site / "_build" / "html"
            index = (html / "_search" / "index.json").read_bytes()
            browser = measure_browser(html, n)
            browser |= measure_site_search(html, f"posts/bench-{min(n - 1, 50):04d}/index.html")
            browser["extract_s"], browser["assemble_s"] = index_build_seconds(site)
            browser["index_files"] = sum(1 for p in (html / "_search").rglob("*") if p.is_file())
            browser["index_bytes"] = dir_size(html / "_search")
            if args.pagefind:
                from search_designs import measure_pagefind

                ours = browser | {"files": browser["index_files"], "size": browser["index_bytes"]}
                designs.append((n, ours, measure_pagefind(site, html)))
            mkdocs = None if args.no_mkdocs else mkdocs_clean(base, n, args.repeat)
            listing = largest_listing(html)
            biggest[n] = biggest_file(html)
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
            if not args.keep:
                shutil.rmtree(site)
    print(f"\nmedian of {args.repeat} runs; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}\n")
    print(
        "| posts | clean | ms/post | nothing changed | edit one post | livehtml: nothing changed / edit | "
        "peak RSS | output | post page weight (gzip) | largest listing page (gzip) | MkDocs Material clean | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, b, out, _raw, _gz, browser, mkdocs, (listing_page, listing_raw, listing_gz) in rows:
        ratio = f"{b['clean'] / mkdocs:.2f}×" if mkdocs else "–"
        mk = f"{mkdocs:.1f} s" if mkdocs else "–"
        listing_cell = f"{listing_page}: {listing_raw / 1e3:.0f} KB ({listing_gz / 1e3:.0f} KB)"
        rebuilds = (
            f"{b['noop']:.2f} s (sphinx-build: {b['sphinx_noop']:.1f} s) | {b['edit']:.1f} s | {b['warm_noop']:.2f} s / {b['warm_edit']:.2f} s"
            if "noop" in b
            else "– | – | –"
        )
        print(
            f"| {n} | {b['clean']:.1f} s | {1000 * b['clean'] / n:.0f} | {rebuilds} | {b['rss']} MB | "
            f"{out / 1e6:.1f} MB | {browser['weight'] / 1e3:.0f} KB | {listing_cell} | {mk} | {ratio} |"
        )
    print("\n| posts | biggest file of the output |\n|---:|---|")
    for n, (name, size) in biggest.items():
        print(f"| {n} | `{name}`: {size / 1e6:.1f} MB |")
    print(
        "\n| posts | index files (size) | index.json (gzip) | bytes per query, gzip: median / max | "
        "first result / first page of results | throttled: first result / first page | "
        "dialog, per keystroke | index build: records / assembly |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, _b, _out, raw, gz, s_, _mk, _listing in rows:
        print(
            f"| {n} | {s_['index_files']} ({s_['index_bytes'] / 1e6:.1f} MB) | {raw / 1e3:.1f} KB ({gz / 1e3:.1f} KB) | "
            f"{s_['bytes'] / 1e3:.0f} / {s_['bytes_max'] / 1e3:.0f} KB | {s_['first_ms']:.0f} / {s_['all_ms']:.0f} ms | "
            f"{s_['slow_first_ms']:.0f} / {s_['slow_all_ms']:.0f} ms | {s_['keystroke_ms']:.0f} ms | "
            f"{s_['extract_s']:.1f} s / {s_['assemble_s']:.1f} s |"
        )
    if designs:
        from search_designs import print_comparison

        print_comparison(designs)


if __name__ == "__main__":
    main()
