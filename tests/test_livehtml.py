"""``make livehtml``: the server builds the site, serves it, and rebuilds it when a post is saved."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from corpus import make_corpus, write_sphinx
from sitebuild import ROOT, make_site


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


def test_livehtml_rebuilds_a_saved_post_and_leaves_no_process(tmp_path: Path):
    site = make_site(tmp_path / "site")
    write_sphinx(make_corpus(4, seed=4), site)
    port = free_port()
    log = (tmp_path / "livehtml.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts/livehtml.py"),
            str(site),
            str(site / "_build/html"),
            "-W",
            "--keep-going",
            "-n",
            "--port",
            str(port),
        ],
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
    assert left == {}, (tmp_path / "livehtml.log").read_text()
    output = (tmp_path / "livehtml.log").read_text()
    assert "Detected changes" in output and "exit code" not in output, output


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
