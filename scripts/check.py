"""``make check``: the quick check for an author who changed a few posts (``make test`` runs all).

1. The strict build of ``make html`` into ``_build/html``: incremental after the first build.
2. The changed posts' tests: each post's own ``test_*.py``, the comparison of its stored program
   output with what the program prints (``tests/test_post_outputs.py``), and the site's checks of
   that post (``tests/test_site.py``, ``tests/test_knowledge_base.py``, ``tests/test_citation.py``
   …) run on the build of step 1 instead of a build of their own (pytest's ``--kb-posts`` and
   ``--kb-built-site``, see ``tests/conftest.py``).
3. The fast tests: every test under ``tests/`` not marked ``slow`` or ``browser``.

"Changed" means changed relative to Git's HEAD: modified, added or untracked files under
``posts/<slug>/``; ``--posts`` (``make check POSTS="slug other-slug"``) names the posts instead.
Every step runs even when an earlier one fails; the summary gives each step's result and time.

Usage: ``python scripts/check.py [--posts "a b"] [--builddir _build] [-- sphinx-build options]``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class CheckError(Exception):
    """A problem with the arguments or the checkout, reported in one line."""


def changed_posts(root: Path = ROOT) -> list[str]:
    """Slugs of the posts with changes relative to HEAD (staged, unstaged or untracked files)."""
    result = subprocess.run(
        ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", "posts"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise CheckError(f"cannot ask Git what changed ({result.stderr.strip()}); name the posts: POSTS=…")
    slugs = set()
    entries = iter(result.stdout.split("\0"))
    for entry in entries:
        if not entry:
            continue
        status, path = entry[:2], entry[3:]
        if "R" in status or "C" in status:
            next(entries, None)  # the old path of a rename or copy follows
        parts = Path(path).parts
        if len(parts) >= 3 and parts[0] == "posts":
            slugs.add(parts[1])
    return sorted(slug for slug in slugs if (root / "posts" / slug / "index.md").is_file())


def named_posts(names: str, root: Path = ROOT) -> list[str]:
    slugs = [
        name.strip().strip("/").removeprefix("posts/") for name in re.split(r"[\s,]+", names) if name.strip()
    ]
    unknown = [slug for slug in slugs if not (root / "posts" / slug / "index.md").is_file()]
    if unknown:
        raise CheckError(f"no post {', '.join(map(repr, unknown))} (posts/<slug>/index.md)")
    return sorted(set(slugs))


def run(title: str, command: list[str], results: list[tuple[str, bool, float]]) -> None:
    print(f"\n== make check: {title}\n$ {' '.join(command)}", flush=True)
    start = time.monotonic()
    code = subprocess.run(command, cwd=ROOT).returncode
    results.append((title, code == 0, time.monotonic() - start))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", default="", help="the posts to check (default: those changed since HEAD)")
    parser.add_argument("--builddir", default="_build")
    parser.add_argument("sphinxopts", nargs="*", help="sphinx-build options (default: -W --keep-going -n)")
    args = parser.parse_args(argv)
    try:
        posts = named_posts(args.posts) if args.posts.strip() else changed_posts()
    except CheckError as error:
        print(f"make check: error: {error}", file=sys.stderr)
        return 2
    started = time.monotonic()
    results: list[tuple[str, bool, float]] = []
    options = args.sphinxopts or ["-W", "--keep-going", "-n"]
    build = [sys.executable, str(ROOT / "scripts" / "build_site.py"), "html", ".", args.builddir, *options]
    run("strict build", build, results)  # make html's command: nothing to do when nothing changed
    html = str(Path(args.builddir, "html"))
    if posts:
        run(
            f"tests of {len(posts)} changed post{'s' if len(posts) > 1 else ''}: {', '.join(posts)}",
            [
                sys.executable, "-m", "pytest", "-q", "-m", "not browser",
                f"--kb-posts={','.join(posts)}", f"--kb-built-site={html}", "tests",
                *(f"posts/{slug}" for slug in posts),
            ],
            results,
        )  # fmt: skip
    else:
        print("\n== make check: no post changed relative to HEAD (name some with POSTS=…)")
    run(
        "fast tests",
        [sys.executable, "-m", "pytest", "-q", "-m", "not slow and not browser", "tests"],
        results,
    )
    print("\n== make check: summary")
    for title, ok, seconds in results:
        print(f"  {'ok    ' if ok else 'FAILED'} {seconds:6.1f} s  {title}")
    print(f"  total  {time.monotonic() - started:6.1f} s")
    return 0 if all(ok for _title, ok, _seconds in results) else 1


if __name__ == "__main__":
    sys.exit(main())
