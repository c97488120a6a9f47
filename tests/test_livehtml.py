"""``make livehtml``: the server builds the site, serves it, and rebuilds it when a post is saved;
where Linux's ``prctl`` is missing it does so as plain sphinx-autobuild."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import livehtml
from corpus import make_corpus, write_sphinx
from sitebuild import ROOT, make_site

# ``python -c NO_PRCTL scripts/livehtml.py SOURCEDIR OUTDIR …`` runs livehtml.py as on a system whose
# C library has no prctl (macOS, the BSDs): ctypes is made to hide the function.
NO_PRCTL = """
import ctypes, runpy, sys

class WithoutPrctl:
    def __init__(self, library):
        self._library = library

    def __getattr__(self, name):
        if name == "prctl":
            raise AttributeError("simulated: this C library has no prctl")
        return getattr(self._library, name)

real_cdll = ctypes.CDLL
ctypes.CDLL = lambda *args, **kwargs: WithoutPrctl(real_cdll(*args, **kwargs))
runpy.run_path(sys.argv.pop(1), run_name="__main__")
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_for(condition, seconds: float, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        assert process.poll() is None, f"livehtml exited with {process.returncode} before {what}"
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def pids_of_session(session: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == session:
                    pids.append(int(entry.name))
            except ProcessLookupError:
                pass
    return pids


def serve_edit_and_stop(tmp_path: Path, command: list[str]) -> str:
    """Run ``command SOURCEDIR OUTDIR …`` (``make livehtml``'s arguments) on a small site, wait for
    the served post, save an edit and wait for it to be served, press Ctrl+C; check that no
    process is left behind. Returns the server's output."""
    site = make_site(tmp_path / "site")
    write_sphinx(make_corpus(4, seed=4), site)
    port = free_port()
    log = (tmp_path / "livehtml.log").open("w")
    process = subprocess.Popen(
        [*command, str(site), str(site / "_build/html"), "-W", "--keep-going", "-n", "--port", str(port)],
        cwd=site,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/posts/bench-0002/index.html"
    try:
        wait_for(lambda: fetch(url) is not None, 300, "the first build to be served", process)
        post = site / "posts/bench-0002/index.md"
        post.write_text(
            post.read_text(encoding="utf-8") + "\n保存之后应当立刻出现的句子。\n", encoding="utf-8"
        )
        wait_for(
            lambda: "保存之后应当立刻出现的句子" in (fetch(url) or ""),
            120,
            "the saved post to be rebuilt",
            process,
        )
        # The page is written before the build ends; Ctrl+C now would interrupt the build.
        log.flush()
        wait_for(
            lambda: "Serving on" in (tmp_path / "livehtml.log").read_text().split("Detected changes")[-1],
            120,
            "the rebuild to finish",
            process,
        )
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl+C in its terminal
        try:
            process.wait(timeout=30)
        finally:
            log.close()
    deadline = time.monotonic() + 10
    while pids_of_session(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = {
        pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        for pid in pids_of_session(process.pid)
    }
    output = (tmp_path / "livehtml.log").read_text()
    assert left == {}, output
    assert "Detected changes" in output and "exit code" not in output, output
    return output


@pytest.mark.slow
def test_livehtml_rebuilds_a_saved_post_and_leaves_no_process(tmp_path: Path):
    output = serve_edit_and_stop(tmp_path, [sys.executable, str(ROOT / "scripts/livehtml.py")])
    assert "Warm rebuilds need Linux" not in output


@pytest.mark.slow
def test_without_prctl_livehtml_is_plain_sphinx_autobuild(tmp_path: Path):
    """Where the C library has no ``prctl`` (macOS), no warm server is started: sphinx-autobuild
    runs its own builder, and the site is still served and rebuilt on save."""
    output = serve_edit_and_stop(
        tmp_path, [sys.executable, "-c", NO_PRCTL, str(ROOT / "scripts/livehtml.py")]
    )
    assert "Warm rebuilds need Linux (prctl() is missing" in output, output


def test_missing_prctl_is_detected_and_main_falls_back(monkeypatch: pytest.MonkeyPatch):
    class WithoutPrctl:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

    assert livehtml.warm_builds_unavailable() is None  # this machine: Linux
    monkeypatch.setattr(ctypes, "CDLL", WithoutPrctl)
    assert "prctl() is missing" in (livehtml.warm_builds_unavailable() or "")
    ran: list[list[str]] = []

    def no_warm_server(*args: object) -> None:
        raise AssertionError("a warm build server was started without prctl")

    monkeypatch.setattr(livehtml, "WarmSphinx", no_warm_server)
    monkeypatch.setattr(livehtml.autobuild, "main", ran.append)
    builder = livehtml.autobuild.Builder
    livehtml.main([".", "_build/html", "--port", "8000"])
    assert ran == [[".", "_build/html", "--port", "8000"]]
    assert livehtml.autobuild.Builder is builder  # sphinx-autobuild's own builder
    monkeypatch.delattr(os, "fork")
    assert livehtml.warm_builds_unavailable() == "os.fork() is missing"


# Appended to the site's copy of kb/blog/bodies.py, a module that unpickling the environment
# imports (ABlog's copies of the posts are its StoredBody objects): every feed entry then ends
# with a marker, so a feed shows which copy of the module the build used.
MARKED_BODIES = """

_unmarked_deepcopy = StoredBody.deepcopy


def _marked_deepcopy(self):
    body = _unmarked_deepcopy(self)
    body += nodes.paragraph(text="BODIES-EDITED")
    return body


StoredBody.deepcopy = _marked_deepcopy
"""


# Run as ``python -c WARM_SESSION SCRIPTS SITE OUTDIR``: a server started by a process that has
# not imported the site's extensions, as ``make livehtml`` starts it (this test process has: a
# server forked from it would use those). Prints what each step saw, as JSON.
WARM_SESSION = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import livehtml

site, outdir = Path(sys.argv[2]), Path(sys.argv[3])
argv = ["-b", "html", "-W", "--keep-going", "-q", "-j", "2", "-d", str(outdir) + ".doctrees", str(site), str(outdir)]
post = site / "posts" / "bench-0001" / "index.md"
feed = outdir / "blog" / "atom.xml"
bodies = site / "_ext" / "kb" / "blog" / "bodies.py"
seen = []

def build(step):
    status = warm.build(argv, cwd=site)
    seen.append({"step": step, "status": status, "reused": warm.wait_until_idle(),
                 "kept": warm.stats()["kept_modules"], "files": warm.stats()["site_files"],
                 "page": (outdir / "posts" / "bench-0001" / "index.html").read_text(encoding="utf-8"),
                 "feed": feed.read_text(encoding="utf-8")})

with livehtml.WarmSphinx(site) as warm:
    build("first")
    post.write_text(post.read_text(encoding="utf-8") + "\\n热身后保存的一段。\\n", encoding="utf-8")
    build("post edited")
    bodies.write_text(bodies.read_text(encoding="utf-8") + sys.stdin.read(), encoding="utf-8")
    build("module edited")
    post.write_text(post.read_text(encoding="utf-8") + "\\n再保存一次。\\n", encoding="utf-8")
    build("post edited again")
print(json.dumps(seen))
"""


@pytest.mark.slow
def test_warm_builds_start_from_the_servers_environment_until_its_modules_change(tmp_path: Path):
    """The server keeps the environment the last build saved (scripts/livehtml.py), and the next
    build starts from it; once a module file of the site that unpickling it imported changes,
    the build drops the server's copies of both and runs the edited module."""
    site = make_site(tmp_path / "site")
    write_sphinx(make_corpus(3, seed=5), site)
    run = subprocess.run(
        [sys.executable, "-c", WARM_SESSION, str(ROOT / "scripts"), str(site), str(tmp_path / "out")],
        input=MARKED_BODIES,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    first, edited, module_edited, again = json.loads(run.stdout.splitlines()[-1])
    assert [step["status"] for step in (first, edited, module_edited, again)] == [0, 0, 0, 0]
    assert first["reused"] == 0  # the first build had no copy to take
    assert edited["reused"] == 1 and "热身后保存的一段" in edited["page"]
    assert "BODIES-EDITED" not in edited["feed"]
    assert module_edited["reused"] == 1  # not taken: a module unpickling imported has changed
    # The edited module ran, not the server's copy: every entry of the feed has the marker, the
    # entry of the post saved again last too (the server imported the edited module anew).
    for step in (module_edited, again):
        assert step["feed"].count("BODIES-EDITED") == step["feed"].count("<entry>") > 0
    assert again["reused"] == 2 and "再保存一次" in again["page"]
    # The site's modules the server imported after a build: kept by the next build while their
    # files are unchanged (not by the first, nor after bodies.py changed).
    assert [step["kept"] for step in (first, edited, module_edited, again)] == [0, 1, 1, 2]
    # After each build the server holds the search records and the stylesheet trim's registry
    # (kb/preloaded.py) for the next one.
    assert [step["files"] for step in (first, edited, module_edited, again)] == [2, 2, 2, 2]


# Run as ``python -c EDITED_MODULE SCRIPTS SITE OUTDIR MARKED_REASON``: one build, then an edit
# of kb/pages/related_posts.py, a module the server imported after that build (the environment
# it loaded then did not import it: no object of the environment is of its classes), then a build.
EDITED_MODULE = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import livehtml

site, outdir = Path(sys.argv[2]), Path(sys.argv[3])
argv = ["-b", "html", "-W", "--keep-going", "-q", "-j", "2", "-d", str(outdir) + ".doctrees", str(site), str(outdir)]
related = site / "_ext" / "kb" / "pages" / "related_posts.py"
with livehtml.WarmSphinx(site) as warm:
    statuses = [warm.build(argv, cwd=site)]
    warm.wait_until_idle()
    related.write_text(related.read_text(encoding="utf-8") + sys.argv[4], encoding="utf-8")
    statuses.append(warm.build(argv, cwd=site))
    warm.wait_until_idle()
    page = (outdir / "posts" / "bench-0001" / "index.html").read_text(encoding="utf-8")
    print(json.dumps({"statuses": statuses, "stats": warm.stats(), "page": page}))
"""

# Appended to the site's copy of kb/pages/related_posts.py: every related article's reason.
MARKED_REASON = """

def _reason(shared, link):
    return "RELATED-EDITED"
"""


@pytest.mark.slow
def test_a_build_drops_the_servers_site_modules_once_one_of_their_files_changed(tmp_path: Path):
    """The server imports the site's own modules after each build, for the next one
    (scripts/livehtml.py); a build after one of their files changed runs the file, not the
    server's copy, also for a module that no object of the environment comes from."""
    site = make_site(tmp_path / "site")
    write_sphinx(make_corpus(3, seed=5), site)
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            EDITED_MODULE,
            str(ROOT / "scripts"),
            str(site),
            str(tmp_path / "out"),
            MARKED_REASON,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["statuses"] == [0, 0]
    assert result["stats"]["kept_modules"] == 0  # the edited build did not keep them
    assert "RELATED-EDITED" in result["page"]


@pytest.mark.slow
def test_the_warm_build_server_ends_with_its_parent_however_it_ends():
    """Linux ends the server when the process that started it dies, even by SIGKILL, so no
    build server outlives a ``make livehtml`` that crashed or was killed."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys; sys.path.insert(0, sys.argv[1] + '/scripts'); from livehtml import WarmSphinx; "
            "warm = WarmSphinx(sys.argv[1]); print(warm._server.pid, flush=True); os._exit(0)",
            str(ROOT),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    server = int(parent.stdout.readline())  # not read to the end: the server holds the pipe
    parent.wait(timeout=60)
    parent.stdout.close()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{server}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{server}").exists(), "the warm build server outlived its parent"
