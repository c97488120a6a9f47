"""``make livehtml``: sphinx-autobuild, with every rebuild forked from a warm process.

A ``sphinx-build`` process spends about 2 s importing Sphinx, the theme, ABlog, our extensions,
NumPy and SciPy, and 1.3–2 s loading jieba's dictionary, before it reads a single page. At
1,000 posts that was most of an edit-one-post rebuild (see the README's performance section).

:class:`WarmSphinx` starts one server process that pays those costs once. It imports modules (the
configuration's extensions and theme, then whatever each build imported that it lacks) and loads
the dictionary, nothing else: it never creates a Sphinx application, so it holds no state of any
build. The site's own ``_ext/`` modules, which an author may be editing, are imported after each
build for the next one, with the stamps of every file and folder under their packages; a build
that finds one of those stamps changed drops them and imports the files (0.03-0.09 s of a warm
edit at 1,000 posts). For each
build it forks a child that runs ``sphinx-build``'s own ``main`` and exits. A child is therefore
a fresh ``sphinx-build`` in everything but its start-up time, and the output is the same as
``make html``'s (``tests/test_incremental.py`` checks this). After upgrading a package, restart
``make livehtml``. Linux ends the server when its parent dies, however it dies.

The server also keeps the environment the last build saved, unpickled: it loads
``environment.pickle`` again after each build that succeeded, while the author reads the page,
and a build whose environment file is still that one starts from the server's copy instead of
unpickling it. The fork skips the load (0.09 s at 1,000 posts, 0.76 s at 10,000), and its
collections skip the environment, frozen in the server: a warm edit at 10,000 posts took 16.3
and 15.4 s against 21.2 and 18.9 s. Unpickling may import a module of the site (a class of
``_ext/`` kept in the environment). A build forked after such a module's file changed drops the
server's copies of the site's modules and that environment and loads both from the files; so
does the server before it loads the next environment.

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
import gc
import importlib
import importlib.util
import json
import multiprocessing
import os
import pickle
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
from typing import TYPE_CHECKING, Any, NamedTuple

import sphinx_autobuild.__main__ as autobuild
from sphinx_autobuild.build import Builder
from sphinx_autobuild.utils import show_command, show_message

if TYPE_CHECKING:  # not importable where the system has no semaphores; only a type here
    from multiprocessing.synchronize import Event

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
IDLE = "idle?"  # a request the server answers once it has done what it does after a build
STATS = "stats?"  # ... and this one with how many builds took its environment, its site modules


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
    """Import the site's extensions and theme, NumPy and SciPy's sparse matrices, and load
    jieba's dictionary. The other modules they import lazily (builders, fontTools, ...) come from
    the first build's report."""
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
    # What every build that reads a post imports on first use (the related articles, the search
    # index): 0.2 s of the first edit after the server starts, otherwise.
    import numpy  # noqa: F401
    import scipy.sparse  # noqa: F401


class Environment(NamedTuple):
    """An environment the server unpickled: its file, the file's stamp when loaded, and the
    stamps of the files of the site's modules that unpickling it imported (see :func:`_stamp`)."""

    path: Path
    stamp: tuple[int, int, int]
    env: Any
    modules: dict[str, tuple[int, int, int] | None]


_environment: Environment | None = None  # the server's copy (preload_environment)


class LocalCode(NamedTuple):
    """The site's own modules (``_ext/``) the server imported for the next build: the folders
    (or files) of their top-level packages, and the stamp of every file and folder under them,
    taken before the import."""

    roots: tuple[str, ...]
    stamps: dict[str, tuple[int, int, int] | None]


_local_code: LocalCode | None = None  # (preload_local_modules)


def _stamp(path: Path | str) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _local_modules(confdir: Path) -> dict[str, str]:
    """The site's own modules this process has imported, by name, with their files."""
    return {
        name: file
        for name, module in list(sys.modules.items())
        if (file := getattr(module, "__file__", None)) is not None and _is_local(file, confdir)
    }


def preload_environment(path: Path, confdir: Path) -> None:
    """Unpickle the environment at ``path`` (saved by the build that just ended) unless the
    server holds that file already. The objects are frozen (``gc.freeze``): no collection in a
    build walks them. The copy it replaces is freed first."""
    global _environment
    stamp = _stamp(path)
    if stamp is None or (
        _environment is not None and (_environment.path, _environment.stamp) == (path, stamp)
    ):
        return
    if _environment is not None:
        _environment = None
        gc.unfreeze()
        gc.collect()  # the old environment's cycles (doctree nodes) go only with a collection
    # The site's modules the last copy imported may have been edited since: imported again,
    # unless they are the ones the server imported for the next build and still current.
    if _local_code is None:
        _forget_local_modules(confdir)
    gc.disable()  # unpickling makes no garbage
    try:
        with path.open("rb") as stream:
            env = pickle.load(stream)
    except Exception:
        env = None  # not ours to report: the next build loads the file and says what is wrong
    finally:
        gc.enable()
    if env is None or _stamp(path) != stamp:  # unreadable, or written again meanwhile
        # No copy, so no build checks the modules unpickling imported: none is kept.
        _forget_stale_local_code(confdir)
        return
    # The server imports no module of the site otherwise: these are the ones unpickling imported.
    modules = {file: _stamp(file) for file in _local_modules(confdir).values()}
    _environment = Environment(path, stamp, env, modules)
    gc.freeze()


def _forget_local_modules(confdir: Path) -> None:
    for name in _local_modules(confdir):
        del sys.modules[name]


def _local_roots(names: Iterable[str], confdir: Path) -> dict[str, tuple[str, ...]]:
    """For each top-level package of ``names`` that is the site's own and importable here, its
    folders (or its file, for a single module); finding them imports nothing."""
    roots: dict[str, tuple[str, ...]] = {}
    for top in sorted({name.partition(".")[0] for name in names}):
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin and _is_local(spec.origin, confdir):
            roots[top] = tuple(spec.submodule_search_locations or [spec.origin])
    return roots


def _all_roots(roots: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(sorted({root for folders in roots.values() for root in folders}))


def _tree_stamps(roots: Iterable[str]) -> dict[str, tuple[int, int, int] | None]:
    """The stamp of every file under ``roots`` (compiled caches aside), and of every folder: a
    folder's changes when a file in it is added, removed or renamed. Data files count: a module
    may read one when it is imported."""
    stamps: dict[str, tuple[int, int, int] | None] = {}
    for root in roots:
        stamps[root] = _stamp(root)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(name for name in dirnames if name != "__pycache__")
            stamps[dirpath] = _stamp(dirpath)
            for name in filenames:
                path = os.path.join(dirpath, name)
                stamps[path] = _stamp(path)
    return stamps


def _drop_local_code(confdir: Path) -> None:
    """Forget the site's modules this process imported, and that the server imported them."""
    global _local_code
    _local_code = None
    _forget_local_modules(confdir)


def _forget_stale_local_code(
    confdir: Path, roots: dict[str, tuple[str, ...]] | None = None, stamps: dict[str, Any] | None = None
) -> None:
    """Drop the site's modules the server imported, unless they were imported from files that
    still have ``stamps`` (none given: drop them)."""
    if (
        _local_code is None
        or roots is None
        or (_local_code.roots, _local_code.stamps) != (_all_roots(roots), stamps)
    ):
        _drop_local_code(confdir)


def preload_local_modules(
    names: Iterable[str], roots: dict[str, tuple[str, ...]], stamps: dict[str, Any], confdir: Path
) -> None:
    """Import the site's own modules the last build imported (``names``), so that the next build
    imports none of them (0.03-0.04 s of a warm edit at 1,000 posts) unless a file under their
    folders has changed since ``stamps`` were taken, before importing; then the build drops them
    (:func:`_use_preloaded_environment`). Importing runs each module's top level only, never a
    ``setup``: the site's modules change nothing outside themselves when imported."""
    global _local_code
    try:
        for name in sorted(names):
            if name not in sys.modules and name.partition(".")[0] in roots:
                importlib.import_module(name)
    except Exception:  # not ours to report: the next build imports the files and fails there
        _drop_local_code(confdir)
        return
    _local_code = LocalCode(_all_roots(roots), stamps)


SITE_PRELOAD = "kb.preloaded"  # the site's module that keeps its own pickles for the next build


def preload_site_files(doctreedir: Path) -> int:
    """Have the site's module :data:`SITE_PRELOAD`, when the server imported it for the next
    build, unpickle the files it keeps beside the doctrees (its ``preload``); a build forked
    after it takes those objects while the files are unchanged. The module goes with the rest
    of the site's modules when one of their files changes, and its copies with it. Returns
    how many files the server holds."""
    module = sys.modules.get(SITE_PRELOAD) if _local_code is not None else None
    return module.preload(doctreedir) if module is not None else 0


def _use_preloaded_environment(confdir: Path, report: dict[str, Any]) -> None:
    """In a build's fork: Sphinx takes the server's environment when it would unpickle that very
    file (``Sphinx._init_env``; ``tests/test_upstream_contracts.py`` states what this relies
    on), unless a module file of the site that the unpickling imported has changed since; then
    the server's copies of the site's modules are dropped too, and the build imports the files.
    ``report`` gets the path of the environment file (``environment``) and whether the server's
    copy was taken (``reused``)."""
    global _environment
    from sphinx.application import ENV_PICKLE_FILENAME, Sphinx

    if (_local_code is not None and _tree_stamps(_local_code.roots) != _local_code.stamps) or (
        _environment is not None
        and any(_stamp(file) != stamp for file, stamp in _environment.modules.items())
    ):
        _environment = None  # its objects are instances of the old modules' classes
        _drop_local_code(confdir)
    report["kept_modules"] = _local_code is not None
    original = Sphinx._init_env

    def _init_env(app: Sphinx, freshenv: bool) -> Any:
        path = Path(app.doctreedir) / ENV_PICKLE_FILENAME
        report["environment"] = str(path)
        kept = _environment
        if not freshenv and kept is not None and kept.path == path and kept.stamp == _stamp(path):
            try:
                kept.env.setup(app)  # as Sphinx's _load_existing_env does with what it unpickled
            except Exception:
                pass  # another version, say: Sphinx loads the file and decides
            else:
                app._fresh_env_used = False
                report["reused"] = True
                return kept.env
        return original(app, freshenv)

    Sphinx._init_env = _init_env  # type: ignore[method-assign,assignment]


def _build_in_child(argv: list[str], cwd: str, confdir: Path) -> tuple[int, dict[str, Any]]:
    """Fork; the child runs ``sphinx-build argv`` in ``cwd``. Returns its exit status and its
    report: the path of the environment file it loaded or would have (``environment``, None for
    a build without one) and whether it took the server's copy (``reused``).

    The child also reports the modules it imported, and the server imports those it lacks
    (extensions' submodules, builders, writers, ...), so the next build imports nothing new."""
    modules_r, modules_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        report: dict[str, Any] = {"environment": None, "reused": False}
        try:
            os.close(modules_r)
            os.chdir(cwd)
            from sphinx.cmd.build import main

            _use_preloaded_environment(confdir, report)
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
                names: list[str] = []
                local: list[str] = []
                for name, module in list(sys.modules.items()):
                    (local if _is_local(getattr(module, "__file__", None), confdir) else names).append(name)
                with os.fdopen(modules_w, "w", encoding="utf-8") as stream:
                    json.dump({"modules": names, "local_modules": local, **report}, stream)
            finally:
                os._exit(code)
    os.close(modules_w)
    with os.fdopen(modules_r, encoding="utf-8") as stream:
        text = stream.read()
    _, status = os.waitpid(pid, 0)
    try:
        result: dict[str, Any] = json.loads(text)
    except ValueError:  # the fork died before reporting
        result = {}
    import_modules(result.pop("modules", []), confdir)
    return os.waitstatus_to_exitcode(status), result


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
            reused = kept = 0  # builds that took the server's environment, its site modules
            files = 0  # the site's pickles the server holds (preload_site_files)
            while True:
                with listener.accept() as connection:
                    request = connection.recv()
                    if request is None:
                        return
                    if request == IDLE:
                        connection.send(reused)
                        continue
                    if request == STATS:
                        connection.send(
                            {"reused_environment": reused, "kept_modules": kept, "site_files": files}
                        )
                        continue
                    argv, cwd = request
                    status, report = _build_in_child(argv, cwd, Path(confdir))
                    reused += bool(report.get("reused"))
                    kept += bool(report.get("kept_modules"))
                    connection.send(status)
                if status == 0 and report.get("environment"):
                    # While the author reads the page: what the next build loads first.
                    local = report.get("local_modules", [])
                    roots = _local_roots(local, Path(confdir))
                    stamps = _tree_stamps(_all_roots(roots))  # before anything of the site is imported
                    try:
                        _forget_stale_local_code(Path(confdir), roots, stamps)
                        preload_environment(Path(report["environment"]), Path(confdir))
                        preload_local_modules(local, roots, stamps, Path(confdir))
                        files = preload_site_files(Path(report["environment"]).parent)
                    except Exception:
                        traceback.print_exc()  # the next build loads the files itself
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

    def wait_until_idle(self) -> int:
        """Return once the server is done with what it does after a build (loading the
        environment it saved), as when an author saves again after reading the page: how many
        builds so far took the server's copy of the environment."""
        result = self._request(IDLE)
        assert isinstance(result, int)
        return result

    def stats(self) -> dict[str, int]:
        """Once the server is idle: how many builds so far took its environment
        (``reused_environment``) and the site's modules it had imported (``kept_modules``), and
        how many of the site's pickles it holds for the next build (``site_files``)."""
        result = self._request(STATS)
        assert isinstance(result, dict)
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
