"""Draw docs/pipeline.svg: which of the site's extensions acts at which Sphinx event, in which
order, and what each keeps in the build environment or beside the doctrees.

    .venv/bin/python scripts/pipeline_diagram.py            # rewrite docs/pipeline.svg
    .venv/bin/python scripts/pipeline_diagram.py --check    # exit 1 if it is out of date

The handlers are read from a real Sphinx application set up with the site's configuration (what
``app.connect`` registered, with priorities), the stored state from the extensions' sources
(``env.kb_…`` attributes, the files and folders named in ``KEPT_BESIDE_DOCTREES``). README.md
shows the drawing; tests/test_project.py fails when the committed file is not what this script
draws, so the picture cannot drift from the code.
"""

from __future__ import annotations

import importlib
import io
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "_ext"), str(ROOT / "tests")]
OUTPUT = ROOT / "docs" / "pipeline.svg"

# Sphinx's events in the order a build emits them (those no extension of ours uses are left out).
EVENTS = [
    "config-inited",
    "builder-inited",
    "env-get-outdated",
    "env-purge-doc",
    "env-before-read-docs",
    "doctree-read",
    "env-merge-info",
    "env-get-updated",
    "env-updated",
    "env-check-consistency",
    "missing-reference",
    "doctree-resolved",
    "html-page-context",
    "html-collect-pages",
    "build-finished",
]
SUBSYSTEMS = [
    "blog",
    "math",
    "figures",
    "search",
    "pages",
    "assets",
    "cross_page",
    "rebuilds",
    "found_documents",
    "warned_documents",
    "empty_templates",
]
# Matplotlib's colour cycle has ten colours ("C10" is "C0" again); the eleventh subsystem on is
# given one of tab20b's darker hues, so no two share a colour (a sixteenth fails here, loudly).
PALETTE = [f"C{index}" for index in range(10)] + ["#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]
COLOURS = dict(zip(SUBSYSTEMS, PALETTE[: len(SUBSYSTEMS)], strict=True))


def listeners() -> dict[str, list[tuple[int, str, str]]]:
    """event -> [(priority, subsystem, module.function)] of the site's own handlers, in call order."""
    from sphinx.application import Sphinx

    from sitebuild import make_site

    with tempfile.TemporaryDirectory() as tmp:
        site = make_site(Path(tmp) / "src")
        app = Sphinx(
            str(site),
            str(site),
            str(Path(tmp) / "out"),
            str(Path(tmp) / "doctrees"),
            "html",
            status=None,
            warning=None,
            freshenv=True,
        )
        found: dict[str, list[tuple[int, str, str]]] = {}
        for event in EVENTS:
            rows = []
            for listener in app.events.listeners.get(event, []):
                module = getattr(listener.handler, "__module__", "") or ""
                if not module.startswith("kb."):
                    continue
                parts = module.split(".")
                name = getattr(listener.handler, "__qualname__", repr(listener.handler))
                if "<locals>" in name:  # a closure made per tracked attribute (cross_page)
                    name = name.split(".<locals>")[0] + "…"
                rows.append((listener.priority, parts[1], f"{'.'.join(parts[2:]) or parts[1]}.{name}"))
            # Sphinx calls by priority, then in connection order.
            found[event] = sorted(dict.fromkeys(rows), key=lambda row: row[0])
        return found


def stored_state() -> dict[str, tuple[list[str], list[str]]]:
    """subsystem -> (env attributes it keeps, files/folders beside the doctrees)."""
    attrs: dict[str, set[str]] = defaultdict(set)
    files: dict[str, set[str]] = defaultdict(set)
    for path in sorted((ROOT / "_ext" / "kb").rglob("*.py")):
        relative = path.relative_to(ROOT / "_ext")
        subsystem = relative.parts[1] if len(relative.parts) > 2 else relative.stem
        text = path.read_text(encoding="utf-8")
        attrs[subsystem] |= set(re.findall(r'track_per_document\(app, "(kb_\w+)"', text))
        attrs[subsystem] |= set(re.findall(r"\benv\.(kb_\w+)\s*=", text))
        attrs[subsystem] |= set(re.findall(r'__dict__\.setdefault\("(kb_\w+)"', text))
        attrs[subsystem] |= set(re.findall(r'add_page_directive\([^)]*"(kb_\w+)"\)', text))
        module = importlib.import_module(".".join(relative.with_suffix("").parts).removesuffix(".__init__"))
        files[subsystem] |= set(getattr(module, "KEPT_BESIDE_DOCTREES", ()))
    return {name: (sorted(attrs[name]), sorted(files[name])) for name in SUBSYSTEMS}


def draw(
    found: dict[str, list[tuple[int, str, str]]], state: dict[str, tuple[list[str], list[str]]]
) -> bytes:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    from kb.figures.style import RC_PARAMS

    events = [event for event in EVENTS if found.get(event)]
    line = 0.3
    heights = [0.3 + line * len(found[event]) for event in events]
    total = sum(heights) + 0.6
    settings: dict = {**RC_PARAMS, "font.size": 9, "figure.constrained_layout.use": False}
    with matplotlib.rc_context(settings):
        fig = plt.figure(figsize=(11.5, total))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 11.5)
        ax.set_ylim(total, 0)
        ax.set_axis_off()
        ax.text(0.15, 0.35, "Sphinx event (build order)", fontsize=10, fontweight="bold", va="center")
        ax.text(
            2.75,
            0.35,
            "the site's handlers, in call order (priority · subsystem · module.function)",
            fontsize=10,
            fontweight="bold",
            va="center",
        )
        y = 0.6
        for event, height in zip(events, heights):
            ax.add_patch(
                FancyBboxPatch(
                    (0.1, y + 0.05),
                    2.45,
                    height - 0.15,
                    boxstyle="round,pad=0.02",
                    facecolor="#eaeef2",
                    edgecolor="none",
                )
            )
            ax.text(0.2, y + 0.3, event, fontsize=9.5, va="center", family="DejaVu Sans Mono")
            for row, (priority, subsystem, name) in enumerate(found[event]):
                top = y + 0.12 + row * line
                ax.add_patch(
                    FancyBboxPatch(
                        (2.75, top),
                        0.14,
                        line - 0.1,
                        boxstyle="square,pad=0",
                        facecolor=COLOURS[subsystem],
                        edgecolor="none",
                    )
                )
                ax.text(
                    3.0,
                    top + (line - 0.1) / 2,
                    f"{priority:>4} · {subsystem:<10} · {name}",
                    fontsize=8.5,
                    va="center",
                    family="DejaVu Sans Mono",
                )
            y += height
        # What each subsystem keeps between builds.
        x = 8.3
        ax.text(x, 0.35, "kept between builds", fontsize=10, fontweight="bold", va="center")
        y = 0.6
        for subsystem in SUBSYSTEMS:
            attrs, files = state[subsystem]
            lines = [f"env.{attr}" for attr in attrs] + [f"doctrees/{name}" for name in files]
            if not lines:
                continue
            ax.add_patch(
                FancyBboxPatch(
                    (x, y + 0.08),
                    0.14,
                    0.25,
                    boxstyle="square,pad=0",
                    facecolor=COLOURS[subsystem],
                    edgecolor="none",
                )
            )
            ax.text(x + 0.25, y + 0.2, subsystem, fontsize=9.5, fontweight="bold", va="center")
            for index, text in enumerate(lines):
                ax.text(
                    x + 0.25, y + 0.5 + index * 0.26, text, fontsize=8, va="center", family="DejaVu Sans Mono"
                )
            y += 0.6 + 0.26 * len(lines)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches=None)
        plt.close(fig)
    return buffer.getvalue().encode()


def main() -> int:
    svg = draw(listeners(), stored_state())
    if "--check" in sys.argv:
        if not OUTPUT.is_file() or OUTPUT.read_bytes() != svg:
            print(
                f"{OUTPUT.relative_to(ROOT)} is out of date: run scripts/pipeline_diagram.py", file=sys.stderr
            )
            return 1
        return 0
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_bytes(svg)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
