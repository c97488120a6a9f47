"""Search in Chromium: bytes a query transfers and time to its results, with and without throttling.

Used by ``benchmarks/run.py`` (``make bench``) for the site's search and by
``benchmarks/search_designs.py`` for Pagefind on the same posts. The site is served over
localhost by a server that gzip-compresses text responses, as a real host does (Python's
``http.server`` does not, and throttled timings would then measure uncompressed transfers).

For each query, in a fresh browser context (empty cache):

* the search page is opened and the index's entry point is loaded ("index loaded", as the issue
  measures it: ``_search/index.json`` and the stemmer for the site; Pagefind's entry, WASM and
  metadata for Pagefind);
* the query is submitted; the time to the first result on screen and to the whole first page of
  results (20 hits with titles and excerpts) is taken in the page (``performance.now``);
* the bytes of every response the query caused are counted as the server sent them (gzip).

*Throttled* repeats this under Lighthouse's mobile settings through the Chrome DevTools Protocol:
150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up (``Network.emulateNetworkConditions``) and a
4x slower CPU (``Emulation.setCPUThrottlingRate``). The dialog's time per keystroke is measured
unthrottled: a query typed one character at a time, each search timed from the keystroke to
its results on screen (debounce excluded).
"""

from __future__ import annotations

import gzip
import http.server
import statistics
import sys
import threading
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from sitebuild import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

QUERIES = [
    "扩散模型",
    "梯度",
    "采样加速",
    "Transformer",
    "概率论 方差",
    "策略梯度",
    r"\bar\alpha_t",
    "difusion",
]
TYPED = "扩散模型采样"
THROTTLING = {"latency": 150, "download": 1.6e6 / 8, "upload": 750e3 / 8, "cpu": 4}
COMPRESSIBLE = (".html", ".js", ".json", ".css", ".svg", ".xml", ".txt")  # Pagefind's .pf_* are gzip already


class GzipHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, gzip-compressed (level 6) when the client accepts it; compressed once."""

    cache: dict[str, bytes] = {}

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if (
            not path.is_file()
            or "gzip" not in self.headers.get("Accept-Encoding", "")
            or not str(path).endswith(COMPRESSIBLE)
        ):
            super().do_GET()
            return
        key = str(path)
        if key not in self.cache:
            self.cache[key] = gzip.compress(path.read_bytes(), 6)
        body = self.cache[key]
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_gzip(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    GzipHandler.cache = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(GzipHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def throttle(page: Any) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": THROTTLING["latency"],
            "downloadThroughput": THROTTLING["download"],
            "uploadThroughput": THROTTLING["upload"],
        },
    )
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": THROTTLING["cpu"]})


# The site's search: index.json and the stemmer loaded, then the form submitted.
SITE_PREPARE = """async () => {
  await kbSearchIndex.load();
  await kbSearchQuery("");
}"""
SITE_RUN = """async (query) => {
  const list = document.getElementById("kb-search-results");
  const status = document.getElementById("kb-search-status");
  const input = document.getElementById("kb-search-input");
  let first = null;
  const start = performance.now();
  const done = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (first === null && list.querySelector("li.kb-hit:not(.is-loading)")) first = performance.now() - start;
      if (status.dataset.state === "done" || status.dataset.state === "error") {
        observer.disconnect();
        resolve();
      }
    });
    observer.observe(document.getElementById("kb-search-page"), {subtree: true, childList: true, attributes: true});
  });
  input.value = query;
  input.form.requestSubmit();
  await done;
  const total = performance.now() - start;
  return {first: first === null ? total : first, all: total, hits: list.children.length, state: status.dataset.state};
}"""


def measure_queries(
    base: str,
    page_path: str,
    prepare: str,
    run: str,
    queries: list[str],
    throttled: bool,
    index_prefix: str,
) -> dict[str, float]:
    """Medians over ``queries`` of time to first result, to the full first page, and the
    compressed bytes the query transferred under ``index_prefix`` (index pieces + excerpts)."""
    from playwright.sync_api import sync_playwright

    first, complete, transferred = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for query in queries:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(f"{base}/{page_path}", wait_until="networkidle")
            page.evaluate(prepare)
            if throttled:
                throttle(page)
            sizes: list[int] = []

            def count(response: Any, into: list[int] = sizes) -> None:
                if index_prefix in response.url:
                    try:
                        into.append(int(response.header_value("content-length") or len(response.body())))
                    except Exception:  # a response the page no longer waits for
                        pass

            page.on("response", count)
            result = page.evaluate(run, query)
            page.wait_for_load_state("networkidle")
            assert result["state"] == "done", (query, result)
            first.append(result["first"])
            complete.append(result["all"])
            transferred.append(sum(sizes))
            context.close()
        browser.close()
    return {
        "first_ms": statistics.median(first),
        "all_ms": statistics.median(complete),
        "bytes": statistics.median(transferred),
        "bytes_max": max(transferred),
    }


def measure_keystrokes(base: str, article: str, typed: str = TYPED) -> float:
    """Median time per keystroke in the dialog: from the search starting to its results shown."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    times: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/{article}", wait_until="networkidle")
        # On a busy machine a key pressed right after loading can come before the theme's
        # Ctrl+K handler is registered; what is measured here is the search, not the opening.
        for _ in range(10):
            page.keyboard.press("Control+k")
            try:
                page.wait_for_selector("#pst-search-dialog[open]", timeout=2_000)
                break
            except PlaywrightTimeout:
                continue
        field = page.locator("#pst-search-dialog input[name=q]")
        for i in range(1, len(typed) + 1):
            page.evaluate("() => { delete document.getElementById('pst-search-dialog').dataset.ms; }")
            field.fill(typed[:i])
            page.wait_for_function(
                "() => document.getElementById('pst-search-dialog').dataset.ms !== undefined", timeout=30_000
            )
            times.append(float(page.evaluate("document.getElementById('pst-search-dialog').dataset.ms")))
        browser.close()
    return statistics.median(times)


def measure_site_search(html: Path, article: str) -> dict[str, float]:
    server, base = serve_gzip(html)
    try:
        plain = measure_queries(base, "search.html", SITE_PREPARE, SITE_RUN, QUERIES, False, "/_search/")
        slow = measure_queries(base, "search.html", SITE_PREPARE, SITE_RUN, QUERIES, True, "/_search/")
        keystroke = measure_keystrokes(base, article)
    finally:
        server.shutdown()
    return {
        "bytes": plain["bytes"],
        "bytes_max": plain["bytes_max"],
        "first_ms": plain["first_ms"],
        "all_ms": plain["all_ms"],
        "slow_first_ms": slow["first_ms"],
        "slow_all_ms": slow["all_ms"],
        "keystroke_ms": keystroke,
    }
