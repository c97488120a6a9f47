"""Fixtures: one clean build of the real site per session, a local HTTP server, Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from sitebuild import CHROMIUM, CHROMIUM_ARGS, PARALLEL, ROOT, Build, serve, site_prefix, sphinx_build


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """A clean, strict build of the real site (the same command as `make html`, in parallel).
    A warning fails ``test_site.py::test_build_has_no_warnings``; with ``--keep-going`` the pages
    are still written, so the other tests check them regardless."""
    return sphinx_build(ROOT, tmp_path_factory.mktemp("site") / "html", *PARALLEL)


@pytest.fixture(scope="session")
def html_dir(site: Build) -> Path:
    if not (site.outdir / "index.html").is_file():
        pytest.fail(f"the site build wrote no pages:\n{site.output[-5000:]}")
    return site.outdir


@pytest.fixture(scope="session")
def server(html_dir: Path):
    httpd, url = serve(html_dir)
    yield url
    httpd.shutdown()


@pytest.fixture(scope="session")
def hosted(html_dir: Path):
    """The site under Read the Docs' path (conf.py's site_url), with its 404 page for every
    missing path, where the 404 page's absolute links work."""
    httpd, url = serve(html_dir, prefix=site_prefix())
    yield url
    httpd.shutdown()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that drives Chromium must carry the ``browser`` marker (``-m "not browser"`` runs
    the rest)."""
    unmarked = [
        item.nodeid
        for item in items
        if {"browser", "page"} & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("browser") is None
    ]
    if unmarked:
        raise pytest.UsageError("browser tests without @pytest.mark.browser: " + ", ".join(unmarked))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: run scripts/install-system-deps.sh as root (apt-get install chromium)"
        )
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
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith((server, "data:", "blob:")) else outside.append(request.url)
        ),
    )
    yield page
    context.close()
    assert not outside, f"requests left the site: {outside}"
