"""The two designs of issue 17 measured on the same synthetic posts: the site's own sharded index
(``_ext/kb/search/``) against Pagefind's extended build fed with the same segmented text.

    python benchmarks/search_designs.py --sizes 1000,10000

For each N: the real configuration builds N posts from ``corpus.py`` (``make html``'s command);
the site's index is what that build wrote. Pagefind (``pagefind[extended]`` from PyPI, installed
into ``.venv-pagefind`` on first use, like MkDocs for ``make bench``) indexes one HTML record
per page made from the same page records (:mod:`kb.search.extract`): title, section headings
and prose as jieba words separated by spaces, formula terms at a low weight, category and tags
as filters, ``force_language: en`` so that Pagefind splits on the spaces instead of running its
own Chinese segmenter. Queries are segmented the same way before they are handed to Pagefind.

Measured for both, in Chromium with ``search_bench.py``: the build time of the index, its files
and size, and per query (fresh cache, index entry loaded) the compressed bytes transferred, the
time to the first result and to 20 results with excerpts, unthrottled and throttled.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "_ext"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from run import dir_size, index_build_seconds, make_site, run, sphinx  # noqa: E402
from search_bench import QUERIES, measure_queries, measure_site_search, serve_gzip  # noqa: E402

PAGEFIND_VENV = ROOT / ".venv-pagefind"
PAGEFIND_VERSION = "1.5.2"  # benchmarks/requirements-pagefind.txt

PAGEFIND_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pagefind</title></head>
<body><form id="f"><input id="q" name="q"></form><p id="status"></p><ol id="results"></ol>
<script type="module">
const pagefind = await import("./pagefind/pagefind.js");
window.pf = pagefind;
window.pfReady = pagefind.init();
</script></body></html>
"""
PAGEFIND_PREPARE = """async () => {
  while (!window.pfReady) await new Promise((r) => setTimeout(r, 10));
  await window.pfReady;
}"""
PAGEFIND_RUN = """async (query) => {
  const list = document.getElementById("results");
  const status = document.getElementById("status");
  list.replaceChildren();
  const start = performance.now();
  let first = null;
  const search = await pf.search(query);
  const shown = search.results.slice(0, 20);
  const items = shown.map(() => { const li = document.createElement("li"); list.append(li); return li; });
  await Promise.all(shown.map(async (result, i) => {
    const data = await result.data();
    const a = document.createElement("a");
    a.href = data.url;
    a.textContent = data.meta.title;
    const p = document.createElement("p");
    p.innerHTML = data.excerpt;  // Pagefind's excerpt is HTML with <mark>
    items[i].append(a, p);
    if (first === null && i === 0) first = performance.now() - start;
  }));
  const total = performance.now() - start;
  status.dataset.state = "done";
  return {first: first === null ? total : first, all: total, hits: search.results.length, state: "done"};
}"""


def pagefind_python() -> Path:
    python = PAGEFIND_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PAGEFIND_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "-r",
                str(ROOT / "benchmarks" / "requirements-pagefind.txt"),
            ],
            check=True,
        )
    return python


def segmented(text: str) -> str:
    from kb.search.zh import split_text

    return " ".join(split_text(text))


def pagefind_records(site: Path) -> list[dict[str, str]]:
    """One HTML document per page, from the same records the site's index is built from."""
    records = json.loads((site / "_bench_records.json").read_text(encoding="utf-8"))
    documents = []
    for name, record in sorted(records.items()):
        parts = [f'<h1 data-pagefind-meta="title" data-pagefind-weight="10">{escape(record["title"])}</h1>']
        parts.append(f"<p data-pagefind-ignore>{escape(segmented(record['title']))}</p>")
        if record["category"]:
            parts.append(f'<span data-pagefind-filter="category" hidden>{escape(record["category"])}</span>')
        for tag in record["tags"]:
            parts.append(f'<span data-pagefind-filter="tag" hidden>{escape(tag)}</span>')
        formulas = [t for t, (tier, _count, _mask) in record["terms"].items() if tier == 0]
        for anchor, heading, text, _code in record["chunks"]:
            if heading:
                parts.append(
                    f'<h2 id="{escape(anchor)}" data-pagefind-weight="5">{escape(segmented(heading))}</h2>'
                )
            parts.append(f"<p>{escape(segmented(text))}</p>")
        parts.append(f'<p data-pagefind-weight="0.5">{escape(" ".join(formulas))}</p>')
        html = f'<html lang="en"><body><main data-pagefind-body>{"".join(parts)}</main></body></html>'
        documents.append({"url": f"/{name}.html", "content": html})
    return documents


PAGEFIND_INDEXER = """
import asyncio, json, sys, time
from pagefind.index import PagefindIndex, IndexConfig

async def main(documents, output):
    start = time.perf_counter()
    config = IndexConfig(force_language="en", output_path=output)
    async with PagefindIndex(config=config) as index:
        for document in documents:
            await index.add_html_file(content=document["content"], url=document["url"])
    print(time.perf_counter() - start)

asyncio.run(main(json.load(open(sys.argv[1], encoding="utf-8")), sys.argv[2]))
"""


def build_pagefind(site: Path, html: Path) -> float:
    documents = pagefind_records(site)
    source = site / "_pagefind_documents.json"
    source.write_text(json.dumps(documents, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run(
        [str(pagefind_python()), "-c", PAGEFIND_INDEXER, str(source), str(html / "pagefind")],
        capture_output=True,
        text=True,
        check=True,
    )
    (html / "pf-search.html").write_text(PAGEFIND_PAGE, encoding="utf-8")
    return float(result.stdout.strip().splitlines()[-1])


def save_records(site: Path) -> None:
    """The page records of the clean build, for Pagefind (kept beside the doctrees)."""
    records = {}
    folder = site / "_build" / "doctrees" / "kb_search"
    for path in sorted(folder.rglob("*.json")):
        records[path.relative_to(folder).with_suffix("").as_posix()] = json.loads(
            path.read_text(encoding="utf-8")
        )
    (site / "_bench_records.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")


def measure_pagefind(site: Path, html: Path) -> dict[str, float]:
    """Pagefind's build time, size and query measurements on the pages of a built site."""
    save_records(site)
    build_s = build_pagefind(site, html)
    server, base = serve_gzip(html)
    try:
        # Pagefind gets the queries cut as the site's index was.
        queries = [segmented(q) or q for q in QUERIES]
        plain = measure_queries(
            base, "pf-search.html", PAGEFIND_PREPARE, PAGEFIND_RUN, queries, False, "/pagefind/"
        )
        slow = measure_queries(
            base, "pf-search.html", PAGEFIND_PREPARE, PAGEFIND_RUN, queries, True, "/pagefind/"
        )
    finally:
        server.shutdown()
    return {
        "bytes": plain["bytes"],
        "bytes_max": plain["bytes_max"],
        "first_ms": plain["first_ms"],
        "all_ms": plain["all_ms"],
        "slow_first_ms": slow["first_ms"],
        "slow_all_ms": slow["all_ms"],
        "build_s": build_s,
        "files": sum(1 for p in (html / "pagefind").rglob("*") if p.is_file()),
        "size": dir_size(html / "pagefind"),
    }


def print_comparison(rows: list[tuple[int, dict[str, float], dict[str, float]]]) -> None:
    print(
        "\n| posts | design | index build | files (size) | bytes per query, gzip: median / max | "
        "first result / 20 results | throttled: first / 20 |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n, ours, theirs in rows:
        print(
            f"| {n} | own sharded index | {ours['extract_s']:.1f} s records + {ours['assemble_s']:.1f} s assembly | "
            f"{ours['files']} ({ours['size'] / 1e6:.1f} MB) | {ours['bytes'] / 1e3:.0f} / {ours['bytes_max'] / 1e3:.0f} KB | "
            f"{ours['first_ms']:.0f} / {ours['all_ms']:.0f} ms | {ours['slow_first_ms']:.0f} / {ours['slow_all_ms']:.0f} ms |"
        )
        print(
            f"| {n} | Pagefind {PAGEFIND_VERSION} extended | {theirs['build_s']:.1f} s (+ the same records) | "
            f"{theirs['files']} ({theirs['size'] / 1e6:.1f} MB) | {theirs['bytes'] / 1e3:.0f} / {theirs['bytes_max'] / 1e3:.0f} KB | "
            f"{theirs['first_ms']:.0f} / {theirs['all_ms']:.0f} ms | {theirs['slow_first_ms']:.0f} / {theirs['slow_all_ms']:.0f} ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "1000"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kb-designs-") as tmp:
        for n in [int(size) for size in args.sizes.split(",")]:
            print(f"N = {n} …", file=sys.stderr, flush=True)
            site = make_site(Path(tmp), n)
            seconds, _peak = run(sphinx(site), site)
            html = site / "_build" / "html"
            print(f"  clean build {seconds:.0f} s", file=sys.stderr, flush=True)
            ours = measure_site_search(html, f"posts/bench-{min(n - 1, 50):04d}/index.html")
            ours["extract_s"], ours["assemble_s"] = index_build_seconds(site)
            ours["files"] = sum(1 for p in (html / "_search").rglob("*") if p.is_file())
            ours["size"] = dir_size(html / "_search")
            rows.append((n, ours, measure_pagefind(site, html)))
            shutil.rmtree(site)
    print_comparison(rows)
    print(f"\n(the site's dialog: {rows[-1][1]['keystroke_ms']:.0f} ms per keystroke at {rows[-1][0]} posts)")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"\ntotal {time.perf_counter() - start:.0f} s", file=sys.stderr)
