"""Fixtures: one clean build of the real site per session, a local HTTP server, Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

import sitebuild
from posts_source import SourcePost
from sitebuild import CHROMIUM, CHROMIUM_ARGS, PARALLEL, ROOT, Build, serve, site_prefix, sphinx_build

# Fixtures that build the real site or serve it: a test using one is slow (or a browser test).
SITE_FIXTURES = {"site", "html_dir", "server", "hosted"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kb", "the knowledge base (make check)")
    group.addoption(
        "--kb-posts",
        default="",
        help="comma-separated slugs: run only the tests of these posts (their own tests, their stored "
        "output, the site's checks of each; tests parametrized by post)",
    )
    group.addoption(
        "--kb-built-site",
        default="",
        help="the HTML folder of a strict build of this site (make html's) to test instead of building one",
    )


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Build:
    """A clean, strict build of the real site (the same command as `make html`, in parallel).
    A warning fails ``test_site.py::test_build_has_no_warnings``; with ``--keep-going`` the pages
    are still written, so the other tests check them regardless. With ``--kb-built-site``, that
    build."""
    built = pytestconfig.getoption("--kb-built-site")
    if built:
        outdir = Path(built).resolve()
        if not (outdir / "index.html").is_file():
            pytest.fail(f"--kb-built-site {built}: no built site there")
        return Build(ROOT, outdir, 0, "", reused=True)
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


def _post_slugs(item: pytest.Item) -> set[str]:
    """The posts a test is about: its own folder under posts/, or a post given as a parameter
    (a SourcePost, a slug, a path into posts/<slug>/)."""
    slugs = set()
    values: list[object] = [Path(item.path)]
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        values += list(callspec.params.values())
    for value in values:
        if isinstance(value, SourcePost):
            slugs.add(value.slug)
        elif isinstance(value, str):
            slugs.add(value)
        elif isinstance(value, Path) and value.is_relative_to(ROOT / "posts"):
            parts = value.relative_to(ROOT / "posts").parts
            slugs.update(parts[:1])
    return slugs


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that drives Chromium must carry the ``browser`` marker (``-m "not browser"`` runs
    the rest), and one that needs the built site the ``slow`` or ``browser`` marker (``make check``
    runs ``-m "not slow and not browser"``)."""
    problems = []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        markers = {marker.name for marker in item.iter_markers()}
        if {"browser", "page"} & fixtures and "browser" not in markers:
            problems.append(f"browser tests without @pytest.mark.browser: {item.nodeid}")
        elif SITE_FIXTURES & fixtures and not {"slow", "browser"} & markers:
            problems.append(f"tests of the built site without @pytest.mark.slow: {item.nodeid}")
    if problems:
        raise pytest.UsageError("\n".join(problems))
    posts = {slug.strip() for slug in config.getoption("--kb-posts").split(",") if slug.strip()}
    if posts:
        kept = [item for item in items if _post_slugs(item) & posts]
        config.hook.pytest_deselected(items=[item for item in items if not _post_slugs(item) & posts])
        items[:] = kept


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the test's fixtures: may this test (and the fixtures it sets up) build a site?"""
    sitebuild.BUILDS_ALLOWED = bool({"slow", "browser"} & {marker.name for marker in item.iter_markers()})


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
