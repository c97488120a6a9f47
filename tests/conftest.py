"""Fixtures: one clean build of the real site per session, a local HTTP server, Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from sitebuild import CHROMIUM, CHROMIUM_ARGS, ROOT, Build, serve, sphinx_build


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """A clean, strict build of the real site (the same command as `make html`)."""
    build = sphinx_build(ROOT, tmp_path_factory.mktemp("site") / "html")
    assert build.returncode == 0, build.output[-5000:]
    return build


@pytest.fixture(scope="session")
def html_dir(site: Build) -> Path:
    return site.outdir


@pytest.fixture(scope="session")
def server(html_dir: Path):
    httpd, url = serve(html_dir)
    yield url
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run scripts/install-system-deps.sh as root "
                    "(apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda request: None if request.url.startswith((server, "data:", "blob:"))
            else outside.append(request.url))
    yield page
    context.close()
    assert not outside, f"requests left the site: {outside}"
