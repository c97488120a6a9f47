"""The long-lived ``node`` process that renders formulas with KaTeX (``katex_render.js``).

All formulas of a document go to one process over a pipe, one JSON line each way; the renderer
exits when its stdin closes and every answer has a deadline, so a dead or stuck ``node`` is a
clear error, never a hang (sphinxcontrib-katex's own socket server can fail to start under load
and leave an orphaned ``node``).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

RENDERER_SCRIPT = Path(__file__).with_name("katex_render.js")


class KatexRenderer:
    """A ``node`` process that renders LaTeX strings, one JSON line per formula.

    With ``wait=False`` the constructor returns as soon as ``node`` is started, and the first
    :meth:`render_many` waits for its greeting: ``node`` loads KaTeX (about 0.07 s) while the
    build goes on."""

    def __init__(
        self, node: str, katex_module: Path, macros: dict[str, str], timeout: float, wait: bool = True
    ):
        self.timeout = timeout
        self.owner = os.getpid()  # a forked process must start its own: see renderer()
        self.ready = False
        env = dict(os.environ, KATEX_MODULE=str(katex_module))
        try:
            self.process = subprocess.Popen(
                [node, str(RENDERER_SCRIPT), json.dumps(macros)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                text=True,
                encoding="utf-8",
            )
        except OSError as exc:
            raise ExtensionError(
                f"KaTeX: cannot start Node.js ({node!r}): {exc}. "
                "Install Node.js >= 18 and run `npm ci` (make html does both checks)."
            ) from exc
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        if wait:
            self.wait_until_ready()

    def wait_until_ready(self) -> None:
        """Wait for the greeting ``node`` prints once KaTeX is loaded."""
        if self.ready:
            return
        greeting = self._read_line()
        if "ready" not in greeting:
            raise ExtensionError(f"KaTeX: renderer answered {greeting!r} instead of its version")
        self.ready = True

    def _read_stdout(self) -> None:
        """Reader thread: forward every answer line (and finally EOF as ``None``)."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_line(self) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=self.timeout)
        except queue.Empty:
            self.close()
            raise ExtensionError(
                f"KaTeX: renderer gave no answer within {self.timeout:.0f} s; stopped it"
            ) from None
        if line is None:
            self.process.wait(timeout=5)
            stderr = self.process.stderr.read() if self.process.stderr else ""
            raise ExtensionError(
                f"KaTeX: renderer exited with code {self.process.returncode}: {stderr.strip()}"
            )
        return json.loads(line)

    def render_many(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Render a batch; the answers come back in request order."""
        self.wait_until_ready()
        assert self.process.stdin is not None
        try:
            self.process.stdin.write("".join(json.dumps(r) + "\n" for r in requests))
            self.process.stdin.flush()
        except BrokenPipeError as exc:
            raise ExtensionError("KaTeX: renderer process is gone (broken pipe)") from exc
        return [self._read_line() for _r in requests]

    def close(self) -> None:
        if self.process.poll() is None:
            if self.process.stdin:
                self.process.stdin.close()
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class State:
    renderer: KatexRenderer | None = None
    inherited: list[KatexRenderer] = []  # a forked process's copies of its parent's renderer
    cache: dict[tuple[str, bool], dict[str, Any]] = {}


def katex_module(app: Sphinx) -> Path:
    module = Path(app.confdir, app.config.kb_math_node_modules, "katex")
    if not (module / "dist" / "katex.min.css").is_file():
        raise ExtensionError(f"KaTeX: {module} not found; run `npm ci` in {app.confdir} (make html does it)")
    return module


def _start(app: Sphinx) -> KatexRenderer:
    """This process's renderer, started (without waiting for its greeting) if it was not."""
    if State.renderer is not None and State.renderer.owner != os.getpid():
        # Inherited through a fork (Sphinx's parallel readers and writers): the pipe is the
        # parent's and its reader thread did not come along. This process starts its own. The
        # copy is kept, untouched, until the process ends (closing its streams could wait on a
        # lock the parent's reader thread held when the fork happened); the forks end before the
        # parent stops its renderer, as they always have.
        State.inherited.append(State.renderer)
        State.renderer = None
    if State.renderer is None:
        State.renderer = KatexRenderer(
            app.config.kb_math_node,
            katex_module(app),
            app.config.kb_math_macros,
            app.config.kb_math_render_timeout,
            wait=False,
        )
    return State.renderer


def renderer(app: Sphinx) -> KatexRenderer:
    """This process's renderer, started if it was not, and ready."""
    started = _start(app)
    started.wait_until_ready()
    return started


def start_renderer_early(app: Sphinx) -> None:
    """``builder-inited``: start ``node`` now, without waiting for it, so that it loads KaTeX
    (0.07 s) on the other core while Sphinx finds the changed documents and parses the first
    one, instead of after. A build that reads nothing has it stopped unused at its end. Where
    ``node`` cannot be started, the first formula to render says so, as before."""
    try:
        _start(app)
    except ExtensionError:
        pass


def stop_renderer(app: Sphinx, exception: Exception | None) -> None:
    if State.renderer is not None:
        State.renderer.close()
        State.renderer = None
    State.cache.clear()  # the next build in this process may have other macros
