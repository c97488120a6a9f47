"""``make html`` without starting Sphinx when nothing changed (``scripts/build_site.py``).

The slow tests build a tiny site through the script, as ``make html`` does, and check both
halves of the promise: a run with nothing changed does not start Sphinx and leaves every output
file as it was, and every kind of change the script watches (a source edited, an output file
deleted, the build's date past a scheduled post, an option, a failed build) does start it. The
fast tests check the decision itself with Sphinx replaced by a stand-in.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import build_site
import pytest

from kb.blog import drafts
from kb.blog.drafts import Unpublished, note_next_scheduled
from sitebuild import BUILD_TIMEOUT, ROOT, STRICT, make_site, source_date_epoch

SKIPPED = "sphinx-build not run"
RAN = "build succeeded"
MARCH, JULY = source_date_epoch(2026, 3, 1), source_date_epoch(2026, 7, 1)


def make_html(
    site: Path, *extra: str, environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``make html`` on ``site``: the Makefile's command, with the strict options."""
    command = [
        sys.executable,
        str(ROOT / "scripts" / "build_site.py"),
        "html",
        str(site),
        str(site / "_build"),
    ]
    return subprocess.run(
        [*command, *STRICT, "--no-color", "-j", "auto", *extra],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONHASHSEED="0", **(environ or {})),
        timeout=BUILD_TIMEOUT,
        cwd=site,
    )


def stamps(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``folder``: its modification time and bytes."""
    return {
        str(path.relative_to(folder)): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.slow
def test_sphinx_runs_exactly_when_something_it_reads_changed(tmp_path: Path):
    site = make_site(tmp_path / "site", "drafts")
    html = site / "_build" / "html"
    first = make_html(site, environ=MARCH)
    assert first.returncode == 0, first.stdout + first.stderr
    assert RAN in first.stdout and SKIPPED not in first.stdout
    assert not (html / "posts" / "scheduled-post" / "index.html").exists()  # scheduled for June

    built = stamps(site / "_build")
    again = make_html(site, environ=MARCH)
    assert again.returncode == 0 and SKIPPED in again.stdout and RAN not in again.stdout
    assert stamps(site / "_build") == built  # not one file written

    post = site / "posts" / "first-post" / "index.md"
    post.write_text(post.read_text(encoding="utf-8") + "\n编辑之后新加的一句话。\n", encoding="utf-8")
    edited = make_html(site, environ=MARCH)
    assert edited.returncode == 0 and RAN in edited.stdout, edited.stdout + edited.stderr
    assert "编辑之后新加的一句话" in (html / "posts" / "first-post" / "index.html").read_text(
        encoding="utf-8"
    )
    assert SKIPPED in make_html(site, environ=MARCH).stdout

    page = html / "posts" / "second-post" / "index.html"
    page.unlink()  # an output file removed by hand is written again, as Sphinx would
    restored = make_html(site, environ=MARCH)
    assert restored.returncode == 0 and RAN in restored.stdout and page.is_file()

    later = make_html(site, environ=JULY)  # another build date: the scheduled post is due
    assert later.returncode == 0 and RAN in later.stdout, later.stdout + later.stderr
    assert (html / "posts" / "scheduled-post" / "index.html").is_file()

    forced = make_html(site, "-a", environ=JULY)
    assert forced.returncode == 0 and RAN in forced.stdout


@pytest.mark.slow
def test_a_failed_build_is_never_skipped(tmp_path: Path):
    site = make_site(tmp_path / "site", "dangling-doc")
    for _ in range(2):
        result = make_html(site)
        assert result.returncode != 0 and SKIPPED not in result.stdout
        assert "WARNING" in result.stderr  # reported again, not hidden by a skip
    assert not build_site.state_file(site / "_build", "html").exists()


# -- the decision, with Sphinx replaced by a stand-in -------------------------------------------


@pytest.fixture
def fake_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "posts" / "a").mkdir(parents=True)
    (site / "posts" / "a" / "index.md").write_text("# A\n", encoding="utf-8")
    (site / "conf.py").write_text("", encoding="utf-8")
    for ignored in (".git", "node_modules", "__pycache__", "_build/preview"):
        (site / ignored).mkdir(parents=True)
        (site / ignored / "file").write_text("1", encoding="utf-8")
    return site


class FakeSphinx:
    """Stands in for ``sphinx.cmd.build.main``: writes one output file, returns ``status``,
    and runs ``during`` (an edit made while Sphinx runs) first."""

    def __init__(self, site: Path, status: int = 0, during=None, scheduled: float | None = None):
        self.site, self.status, self.during, self.scheduled, self.calls = site, status, during, scheduled, 0

    def __call__(self, argv: list[str]) -> int:
        self.calls += 1
        assert argv[:4] == ["-M", "html", str(self.site), str(self.site / "_build")]
        if self.during:
            self.during()
        (self.site / "_build" / "html").mkdir(parents=True, exist_ok=True)
        (self.site / "_build" / "html" / "index.html").write_text(f"build {self.calls}", encoding="utf-8")
        (self.site / "_build" / "doctrees").mkdir(parents=True, exist_ok=True)
        note = self.site / "_build" / "doctrees" / build_site.SCHEDULED
        note.write_text(json.dumps({"next": self.scheduled}), encoding="utf-8")
        return self.status


def run(site: Path, fake: FakeSphinx, monkeypatch, *options: str, environ=None) -> int:
    import sphinx.cmd.build

    monkeypatch.setattr(sphinx.cmd.build, "main", fake)
    return build_site.main(["html", str(site), str(site / "_build"), *options], environ or {})


def test_skips_after_a_success_and_builds_after_any_change(fake_site: Path, monkeypatch):
    fake = FakeSphinx(fake_site)
    assert run(fake_site, fake, monkeypatch, "-W") == 0 and fake.calls == 1
    assert run(fake_site, fake, monkeypatch, "-W") == 0 and fake.calls == 1
    for ignored in (".git", "node_modules", "__pycache__", "_build/preview"):  # not read by the build
        (fake_site / ignored / "file").write_text("2", encoding="utf-8")
    assert run(fake_site, fake, monkeypatch, "-W") == 0 and fake.calls == 1

    elsewhere = fake_site.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "macros.py").write_text("x = 1\n", encoding="utf-8")
    (fake_site / "linked").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(fake_site, target_is_directory=True)  # walked once
    assert run(fake_site, fake, monkeypatch, "-W") == 0 and fake.calls == 2
    calls = fake.calls
    changes = [
        lambda: (elsewhere / "macros.py").write_text("x = 22\n", encoding="utf-8"),  # through a link
        lambda: (fake_site / "posts" / "a" / "index.md").write_text("# A!\n", encoding="utf-8"),
        lambda: (fake_site / "posts" / "b.md").write_text("# B\n", encoding="utf-8"),
        lambda: (fake_site / "posts" / "b.md").unlink(),
        lambda: (fake_site / "_build" / "html" / "index.html").unlink(),
        lambda: (fake_site / "_build" / "html" / "sub" / "deeper").mkdir(parents=True),
        lambda: (fake_site / "_build" / "html" / "sub" / "deeper" / "page.html").write_text(
            "", encoding="utf-8"
        ),
        lambda: (fake_site / "_build" / "html" / "sub" / "deeper" / "page.html").rename(
            fake_site / "_build" / "html" / "sub" / "deeper" / "other.html"
        ),
        lambda: (fake_site / "_build" / "doctrees" / "environment.pickle").write_text(
            "other", encoding="utf-8"
        ),
    ]
    for number, change in enumerate(changes, start=calls + 1):
        change()
        assert run(fake_site, fake, monkeypatch, "-W") == 0 and fake.calls == number
        assert run(fake_site, fake, monkeypatch, "-W") == 0 and fake.calls == number
    calls = fake.calls
    assert run(fake_site, fake, monkeypatch, "-W", "-n") == 0 and fake.calls == calls + 1  # options
    assert run(fake_site, fake, monkeypatch, "-W", "-n", environ={"SOURCE_DATE_EPOCH": "1"}) == 0
    assert fake.calls == calls + 2  # a variable the build reads
    assert (
        run(fake_site, fake, monkeypatch, "-W", "-n", environ={"SOURCE_DATE_EPOCH": "1", "HOME": "/x"}) == 0
    )
    assert fake.calls == calls + 2  # one it does not read
    for forcing in build_site.FORCING:
        assert run(fake_site, fake, monkeypatch, "-W", "-n", forcing) == 0
    assert fake.calls == calls + 2 + len(build_site.FORCING)


def test_a_failed_build_or_an_edit_during_the_build_saves_nothing(fake_site: Path, monkeypatch):
    failing = FakeSphinx(fake_site, status=1)
    assert run(fake_site, failing, monkeypatch) == 1
    assert run(fake_site, failing, monkeypatch) == 1 and failing.calls == 2

    post = fake_site / "posts" / "a" / "index.md"
    racing = FakeSphinx(fake_site)
    racing.during = lambda: post.write_text(f"# {racing.calls}\n", encoding="utf-8")
    assert run(fake_site, racing, monkeypatch) == 0
    assert not build_site.state_file(fake_site / "_build", "html").exists()
    racing.during = None
    assert run(fake_site, racing, monkeypatch) == 0 and racing.calls == 2  # built again
    assert run(fake_site, racing, monkeypatch) == 0 and racing.calls == 2  # now skipped


def test_the_clock_reaching_a_scheduled_post_builds_again(fake_site: Path, monkeypatch):
    due = 2_000_000_000.0
    fake = FakeSphinx(fake_site, scheduled=due)
    environ = {"SOURCE_DATE_EPOCH": str(int(due) - 60)}
    assert run(fake_site, fake, monkeypatch, environ=environ) == 0 and fake.calls == 1
    assert run(fake_site, fake, monkeypatch, environ=environ) == 0 and fake.calls == 1
    builddir = fake_site / "_build"
    assert build_site.is_current("html", fake_site, builddir, [], environ, now=due - 1)[0]
    assert build_site.is_current("html", fake_site, builddir, [], environ, now=due) == (
        False,
        "a scheduled post is due",
    )
    monkeypatch.setattr(build_site.time, "time", lambda: due + 1)
    assert run(fake_site, fake, monkeypatch) == 0 and fake.calls == 2  # the clock, no variable


def test_the_next_scheduled_date_is_the_earliest_scheduled_posts(tmp_path: Path):
    assert drafts.NEXT_SCHEDULED == build_site.SCHEDULED
    zone = "Asia/Shanghai"
    posts = {
        "posts/d": Unpublished("posts/d", True, datetime(2026, 1, 1, 8, 0), frozenset()),  # a draft
        "posts/s": Unpublished("posts/s", False, datetime(2026, 6, 1, 10, 0), frozenset()),
        "posts/t": Unpublished("posts/t", False, datetime(2026, 5, 1, 9, 30), frozenset()),
    }
    note_next_scheduled(tmp_path, posts, zone)
    expected = datetime(2026, 5, 1, 9, 30, tzinfo=ZoneInfo(zone)).timestamp()
    assert build_site.scheduled(tmp_path.parent / "x") is None
    assert json.loads((tmp_path / drafts.NEXT_SCHEDULED).read_text(encoding="utf-8")) == {"next": expected}
    note_next_scheduled(tmp_path, {"posts/d": posts["posts/d"]}, zone)
    assert json.loads((tmp_path / drafts.NEXT_SCHEDULED).read_text(encoding="utf-8")) == {"next": None}


def test_every_environment_variable_the_build_reads_is_in_the_fingerprint():
    reads = re.compile(
        r"""(?:environ\.get|getenv)\(\s*["']([A-Za-z_0-9]+)["']|environ\[\s*["']([A-Za-z_0-9]+)["']\s*\]"""
    )
    files = [ROOT / "conf.py", *sorted((ROOT / "_ext").rglob("*.py"))]
    found = {
        name
        for path in files
        for match in reads.findall(path.read_text(encoding="utf-8"))
        for name in match
        if name
    }
    assert found, "the pattern finds nothing: the test would pass whatever the code reads"
    assert found <= set(build_site.ENVIRONMENT), found - set(build_site.ENVIRONMENT)


def test_a_preview_does_not_watch_the_published_output_beside_it(fake_site: Path, monkeypatch):
    """``DRAFTS=1 make html`` builds into ``_build/preview``; ``make html``'s ``_build/html`` beside
    it is output, not a source."""
    import sphinx.cmd.build

    preview = fake_site / "_build" / "preview"
    calls: list[list[str]] = []

    def fake(argv: list[str]) -> int:
        calls.append(argv)
        (preview / "html").mkdir(parents=True, exist_ok=True)
        (preview / "doctrees").mkdir(parents=True, exist_ok=True)
        return 0

    monkeypatch.setattr(sphinx.cmd.build, "main", fake)
    argv = ["html", str(fake_site), str(preview), "-D", "kb_drafts=1"]
    assert build_site.main(argv, {}) == 0 and len(calls) == 1
    (fake_site / "_build" / "html").mkdir(parents=True)
    (fake_site / "_build" / "html" / "index.html").write_text("published", encoding="utf-8")
    assert build_site.main(argv, {}) == 0 and len(calls) == 1
    (fake_site / "posts" / "a" / "index.md").write_text("# A, edited\n", encoding="utf-8")
    assert build_site.main(argv, {}) == 0 and len(calls) == 2


def test_sphinx_runs_with_the_collector_paused_until_kb_starts_it_and_it_runs_after(
    fake_site: Path, monkeypatch
):
    """Sphinx and the extensions are imported with the garbage collector paused (kb.rebuilds
    starts it again once the environment is loaded); whatever the build did, it runs afterwards."""
    import gc

    seen: list[bool] = []
    fake = FakeSphinx(fake_site)
    fake.during = lambda: seen.append(gc.isenabled())
    assert run(fake_site, fake, monkeypatch) == 0
    assert seen == [False] and gc.isenabled()
