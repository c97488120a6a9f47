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
    """A ``node`` process that renders LaTeX strings, one JSON line per formula."""

    def __init__(self, node: str, katex_module: Path, macros: dict[str, str], timeout: float):
        self.timeout = timeout
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
        ready = self._read_line()
        if "ready" not in ready:
            raise ExtensionError(f"KaTeX: renderer answered {ready!r} instead of its version")

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
    cache: dict[tuple[str, bool], dict[str, Any]] = {}


def katex_module(app: Sphinx) -> Path:
    module = Path(app.confdir, app.config.kb_math_node_modules, "katex")
    if not (module / "dist" / "katex.min.css").is_file():
        raise ExtensionError(f"KaTeX: {module} not found; run `npm ci` in {app.confdir} (make html does it)")
    return module


def renderer(app: Sphinx) -> KatexRenderer:
    if State.renderer is None:
        State.renderer = KatexRenderer(
            app.config.kb_math_node,
            katex_module(app),
            app.config.kb_math_macros,
            app.config.kb_math_render_timeout,
        )
    return State.renderer


def stop_renderer(app: Sphinx, exception: Exception | None) -> None:
    if State.renderer is not None:
        State.renderer.close()
        State.renderer = None
    State.cache.clear()  # the next build in this process may have other macros
