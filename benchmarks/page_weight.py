"""Page weight of the real site's articles in Chromium: what a first view loads, gzip-compressed.

    python benchmarks/page_weight.py [_build/html]

For every post, Chromium (1280×900, light mode) opens the page and waits for the network to go
quiet; every response counts with the size a web server would send (gzip level 6, except files
that are compressed already). "first view" is what loads without scrolling: lazy images below the
first screen are not fetched. "whole page" scrolls to the end first, so every figure has loaded.
Prints one line per post and the median and maximum of both.
"""

from __future__ import annotations

import gzip
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from sitebuild import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402

PRECOMPRESSED = (".woff2", ".woff", ".png", ".jpg", ".gz")


def sent_bytes(url: str, body: bytes) -> int:
    return len(body) if url.split("?")[0].endswith(PRECOMPRESSED) else len(gzip.compress(body, 6))


def measure(html: Path) -> dict[str, tuple[int, int]]:
    from playwright.sync_api import sync_playwright

    pages = sorted(str(p.relative_to(html)) for p in (html / "posts").glob("*/index.html"))
    server, base = serve(html)
    result: dict[str, tuple[int, int]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for path in pages:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                responses: list[Any] = []

                def collect(response: Any, into: list[Any] = responses) -> None:
                    into.append(response)  # Playwright cannot wrap a builtin method

                page.on("response", collect)
                page.goto(f"{base}/{path}", wait_until="networkidle")
                first = sum(sent_bytes(r.url, r.body()) for r in responses if r.ok)
                seen = len(responses)
                height = page.evaluate("document.documentElement.scrollHeight")
                for y in range(0, height + 900, 600):
                    page.evaluate(f"window.scrollTo(0, {y})")
                    page.wait_for_timeout(30)
                page.wait_for_load_state("networkidle")
                whole = first + sum(sent_bytes(r.url, r.body()) for r in responses[seen:] if r.ok)
                result[path] = (first, whole)
                context.close()
            browser.close()
    finally:
        server.shutdown()
    return result


def main() -> None:
    html = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "_build" / "html"
    result = measure(html)
    for path, (first, whole) in sorted(result.items(), key=lambda item: -item[1][0]):
        print(f"{first / 1e3:7.1f} KB first view  {whole / 1e3:7.1f} KB whole page  {path}")
    firsts = [first for first, _whole in result.values()]
    wholes = [whole for _first, whole in result.values()]
    print(
        f"{len(result)} articles: first view median {statistics.median(firsts) / 1e3:.0f} KB, "
        f"max {max(firsts) / 1e3:.0f} KB, over 200 KB: {sum(f > 200e3 for f in firsts)}; "
        f"whole page median {statistics.median(wholes) / 1e3:.0f} KB, max {max(wholes) / 1e3:.0f} KB"
    )


if __name__ == "__main__":
    main()
