"""``make livehtml``: sphinx-autobuild, with every rebuild forked from a warm process.

A ``sphinx-build`` process spends about 2 s importing Sphinx, the theme, ABlog, our extensions,
NumPy and SciPy, and 1.3–2 s loading jieba's dictionary, before it reads a single page. At
1,000 posts that was most of an edit-one-post rebuild (see the README's performance section).

:class:`WarmSphinx` starts one server process that pays those costs once. It imports modules (the
configuration's extensions and theme, then whatever each build imported that it lacks, except
the site's own ``_ext/`` modules, which an author may be editing) and loads the dictionary,
nothing else: it never creates a Sphinx application, so it holds no state of any build. For each
build it forks a child that runs ``sphinx-build``'s own ``main`` and exits. A child is therefore
a fresh ``sphinx-build`` in everything but its start-up time, and the output is the same as
``make html``'s (``tests/test_incremental.py`` checks this). After upgrading a package, restart
``make livehtml``. Linux ends the server when its parent dies, however it dies.

Warm builds need Linux: ``os.fork``, Unix sockets and ``prctl`` (which ties the server's life to
its parent). Where one of them is missing (macOS has no ``prctl``, Windows none of the three),
``make livehtml`` says so and runs plain sphinx-autobuild, each rebuild a fresh ``sphinx-build``:
slower to start, the same output.

sphinx-autobuild (pinned in ``requirements-dev.txt``) runs its builder in a new worker process
for every change, so the builder reaches the server through a Unix socket, not through an
inherited pipe.

Usage: ``python scripts/livehtml.py SOURCEDIR OUTDIR [sphinx and sphinx-autobuild options]``.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import TYPE_CHECKING

import sphinx_autobuild.__main__ as autobuild
from sphinx_autobuild.build import Builder
from sphinx_autobuild.utils import show_command, show_message

if TYPE_CHECKING:  # not importable where the system has no semaphores; only a type here
    from multiprocessing.synchronize import Event

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def _is_local(path: str | None, confdir: Path) -> bool:
    """A module of the site itself: under the configuration directory, not in the virtualenv."""
    if path is None:
        return False
    path = os.path.abspath(path)
    return path.startswith(f"{confdir}{os.sep}") and not path.startswith(f"{sys.prefix}{os.sep}")


def import_modules(names: Iterable[str], confdir: Path) -> None:
    """Import the named modules, except the site's own (``_ext/``): an author edits those while
    ``make livehtml`` runs, so every build must import them afresh."""
    for name in names:
        if name in sys.modules or name in ("__main__", "__mp_main__"):
            continue
        try:
            spec = importlib.util.find_spec(name)
            if spec is None or _is_local(spec.origin, confdir):
                continue
            importlib.import_module(name)
        except Exception:
            # Not ours to report: a build that needs the module fails with Sphinx's message.
            pass


def preload(confdir: Path) -> None:
    """Import the site's extensions and theme, and load jieba's dictionary. The modules they
    import lazily (builders, NumPy, fontTools, ...) come from the first build's report."""
    from sphinx.config import eval_config_file
    from sphinx.util.tags import Tags

    # conf.py is declarative; evaluating it adds _ext/ to sys.path, as it will in each build.
    namespace = eval_config_file(confdir / "conf.py", Tags())
    import_modules([*namespace.get("extensions", []), namespace.get("html_theme", "")], confdir)
    import jieba

    jieba.setLogLevel(60)  # its "Loading model" lines are not the build's output
    jieba.initialize()
    # Regular expressions every build compiles once per process, compiled here once for every
    # fork: Pygments compiles a lexer's rules when it is first made (the Python console lexer:
    # ~0.3 s), soupsieve its CSS grammar on the first selector (the theme's table of contents).
    import soupsieve
    from pygments.lexers import get_lexer_by_name

    soupsieve.compile("li.toctree-l1 > details")
    for alias in ("python", "pycon", "bash", "console", "text"):
        get_lexer_by_name(alias)


def _build_in_child(argv: list[str], cwd: str, confdir: Path) -> int:
    """Fork; the child runs ``sphinx-build argv`` in ``cwd``. Returns its exit status.

    The child also reports the modules it imported, and the server imports those it lacks
    (extensions' submodules, builders, writers, ...), so the next build imports nothing new."""
    modules_r, modules_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(modules_r)
            os.chdir(cwd)
            from sphinx.cmd.build import main

            # The server is a daemonic process (it ends with sphinx-autobuild), and so would be
            # this fork to multiprocessing, which then refuses to start Sphinx's worker
            # processes (-j). The fork is a build, not the server: it waits for its workers.
            multiprocessing.current_process().daemon = False
            code = main(argv)
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            try:
                names = [
                    name
                    for name, module in list(sys.modules.items())
                    if not _is_local(getattr(module, "__file__", None), confdir)
                ]
                with os.fdopen(modules_w, "w", encoding="utf-8") as report:
                    report.write("\n".join(names))
            finally:
                os._exit(code)
    os.close(modules_w)
    with os.fdopen(modules_r, encoding="utf-8") as report:
        names = report.read().split()
    _, status = os.waitpid(pid, 0)
    import_modules(names, confdir)
    return os.waitstatus_to_exitcode(status)


def _prctl() -> Callable[..., int]:
    """Linux's ``prctl``; ``AttributeError`` (or ``OSError``, ``TypeError``) where there is none."""
    return ctypes.CDLL(None, use_errno=True).prctl


def warm_builds_unavailable() -> str | None:
    """Why warm builds cannot run on this system, or None when they can."""
    if not hasattr(os, "fork"):
        return "os.fork() is missing"
    if not hasattr(socket, "AF_UNIX"):
        return "Unix sockets are missing"
    try:
        _prctl()
    except (AttributeError, OSError, TypeError):
        return "prctl() is missing (the call that ends the build server with its parent)"
    return None


def _die_with_parent() -> None:
    """Ask Linux to end this process when its parent ends, however the parent ends."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not a handler inherited from the parent
    _prctl()(PR_SET_PDEATHSIG, signal.SIGTERM)


def _serve(address: str, authkey: bytes, confdir: str, ready: Event) -> None:
    _die_with_parent()
    try:
        with Listener(address, family="AF_UNIX", authkey=authkey) as listener:
            ready.set()
            try:
                preload(Path(confdir))
            except Exception:
                # Builds still work, only slower; the traceback says why.
                traceback.print_exc()
            while True:
                with listener.accept() as connection:
                    request = connection.recv()
                    if request is None:
                        return
                    argv, cwd = request
                    connection.send(_build_in_child(argv, cwd, Path(confdir)))
    except KeyboardInterrupt:  # Ctrl+C in the terminal reaches the whole process group
        return


class WarmSphinx:
    """A warm build server for one site. Picklable: a copy reaches the same server."""

    def __init__(self, confdir: Path) -> None:
        self.address = str(Path(tempfile.mkdtemp(prefix="kb-warm-sphinx-")) / "socket")
        self.authkey = os.urandom(32)
        context = multiprocessing.get_context("fork")
        ready = context.Event()
        # Forked before any thread of sphinx-autobuild's server exists.
        self._server = context.Process(
            target=_serve,
            args=(self.address, self.authkey, str(Path(confdir).resolve()), ready),
            name="warm-sphinx",
            daemon=True,
        )
        self._server.start()
        if not ready.wait(timeout=60):
            raise RuntimeError("the warm build server did not start")

    def __getstate__(self) -> dict[str, object]:
        return {"address": self.address, "authkey": self.authkey}

    def _request(self, request: object) -> object:
        connection: Connection
        try:
            connection = Client(self.address, family="AF_UNIX", authkey=self.authkey)
        except (ConnectionRefusedError, FileNotFoundError) as error:
            raise RuntimeError(f"the warm build server at {self.address} is not running") from error
        with connection:
            connection.send(request)
            return connection.recv() if request is not None else None

    def build(self, argv: Sequence[str], cwd: Path | str = ".") -> int:
        """Run ``sphinx-build argv`` (``sphinx.cmd.build.main``) in a fork of the server."""
        result = self._request((list(argv), str(Path(cwd).resolve())))
        assert isinstance(result, int)
        return result

    def close(self) -> None:
        if self._server.is_alive():
            self._request(None)
        self._server.join(timeout=10)
        shutil.rmtree(Path(self.address).parent, ignore_errors=True)

    def __enter__(self) -> WarmSphinx:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class WarmBuilder(Builder):
    """sphinx-autobuild's builder, building through a warm server.

    sphinx-autobuild pickles its builder into a worker process for every change; this class
    lives at module level so that it can be pickled, and its server handle pickles as an address.
    """

    def __init__(self, sphinx_args: list[str], *, warm: WarmSphinx, **options: object) -> None:
        super().__init__(sphinx_args, **options)
        self.warm = warm

    def __call__(self, *, changed_paths: Sequence[Path]) -> None:
        if changed_paths:
            shown = [path.as_posix() for path in changed_paths[:5]]
            show_message(f"Detected changes ({', '.join(shown)})")
        if self._run_commands(self.pre_build_commands, "pre-build") != 0:
            return
        show_command(["sphinx-build", *self.sphinx_args])
        code = self.warm.build(self.sphinx_args)
        if code != 0:
            print(
                f"Sphinx exited with exit code: {code}. The server keeps serving the last "
                "output; fix the error above and save again, or press Ctrl+C."
            )
        else:
            self._run_commands(self.post_build_commands, "post-build")
        show_message(f"Serving on {self.uri}")


def main(argv: list[str]) -> None:
    if not argv or argv[0].startswith("-"):
        sys.exit("usage: livehtml.py SOURCEDIR OUTDIR [options of sphinx-autobuild and sphinx-build]")
    reason = warm_builds_unavailable()
    if reason is not None:
        show_message(f"Warm rebuilds need Linux ({reason}): each rebuild runs a fresh sphinx-build.")
        autobuild.main(argv)
        return
    with WarmSphinx(Path(argv[0])) as warm:
        # sphinx-autobuild's main() looks its builder class up by name when it runs.
        autobuild.Builder = partial(WarmBuilder, warm=warm)
        autobuild.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
