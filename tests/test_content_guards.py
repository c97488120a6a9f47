"""Checks of the articles' text and references that catch real mistakes, not style.

* ``references.bib``: a key names the first author and a year of the entry (its publication year
  or, for a preprint published later, the arXiv year), an arXiv id agrees with the year (an
  entry cannot be published before its preprint, nor cite a preprint from years later), and
  every arXiv id is well formed and used once;
* the articles' prose recites no local timings or test-run logs (the test files are shown on
  the page; a timing depends on the machine), and carries no first-person hedges;
* each equation label is defined once on the site.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pybtex.database
import pytest

from sitebuild import ROOT

POSTS = sorted((ROOT / "posts").glob("*/index.md"))
ENTRIES = pybtex.database.parse_file(str(ROOT / "references.bib")).entries
ARXIV_ID = re.compile(r"(\d{2})(\d{2})\.\d{4,5}")


def ascii_name(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", plain.lower())


def arxiv_year(fields) -> int | None:
    eprint = fields.get("eprint", "")
    if (
        fields.get("archiveprefix", "").lower() != "arxiv"
        and "arxiv" not in fields.get("journal", "").lower()
    ):
        return None
    found = ARXIV_ID.fullmatch(eprint) or ARXIV_ID.search(fields.get("journal", "") + fields.get("url", ""))
    return 2000 + int(found[1]) if found else None


@pytest.mark.parametrize("key", sorted(ENTRIES))
def test_bib_key_year_and_arxiv_id_agree(key: str):
    entry = ENTRIES[key]
    found = re.fullmatch(r"([a-z]+)(\d{4})([a-z0-9]+)", key)
    assert found, f"{key}: keys are <first author><year><first word>"
    author, key_year = found[1], int(found[2])
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    if people:
        first = people[0]
        # "van der Walt" keys as vanderwalt; a group author ({PyTorch Contributors}) by its first word.
        surname = ascii_name("".join(first.prelast_names + first.last_names))
        if not first.first_names and len(first.last_names) == 1 and " " in first.last_names[0]:
            surname = ascii_name(first.last_names[0].strip("{}").split()[0])
        if surname in {"the"}:
            surname = ascii_name(first.last_names[0].strip("{}").split()[1])
        assert surname == author, f"{key}: first author is {first}, key says {author!r}"
    year = int(entry.fields["year"])
    preprint = arxiv_year(entry.fields)
    assert key_year in {year, preprint}, f"{key}: year {year}, arXiv {preprint}, key says {key_year}"
    if preprint is not None:
        # A workshop paper can precede its arXiv version; anything else cannot.
        earliest = preprint - 1 if "workshop" in entry.fields.get("booktitle", "").lower() else preprint
        assert earliest <= year <= preprint + 3, f"{key}: published {year}, arXiv id from {preprint}"


def test_each_arxiv_id_is_used_once():
    seen: dict[str, str] = {}
    for key, entry in ENTRIES.items():
        eprint = entry.fields.get("eprint")
        if not eprint:
            continue
        assert ARXIV_ID.fullmatch(eprint) or re.fullmatch(r"[a-z-]+(\.[A-Z]{2})?/\d{7}", eprint), (
            f"{key}: malformed arXiv id {eprint!r}"
        )
        assert eprint not in seen, f"{key} and {seen[eprint]} are the same preprint {eprint}"
        seen[eprint] = key


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """The article's lines outside code fences and display math."""
    lines, fence, math = [], None, False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        marker = re.match(r"(`{3,}|:{3,})", stripped)
        if fence is None and marker:
            fence = marker[1]
            continue
        if fence is not None:
            if stripped == fence:
                fence = None
            continue
        if stripped.startswith("$$"):
            math = not math if stripped == "$$" or not stripped.endswith("$$") or len(stripped) == 2 else math
            continue
        if not math:
            lines.append((number, line))
    return lines


RECITED = [
    (re.compile(r"本机[^。；，,]{0,12}?\d+(\.\d+)?\s*(秒|毫秒|ms|s\b|分钟)"), "a local timing"),
    (re.compile(r"\d+\s*个(测试|用例)[^。]{0,20}(通过|秒)"), "a test-run log"),
    (re.compile(r"(测试|用例)[^。]{0,10}在[^。]{0,6}\d+(\.\d+)?\s*秒内"), "a test-run timing"),
]
HEDGES = ["就我所知", "据我所知", "我有把握", "我不确定", "我没能", "我查到", "我猜", "笔者认为"]


@pytest.mark.parametrize("path", POSTS, ids=[p.parent.name for p in POSTS])
def test_prose_recites_no_timings_or_test_logs_and_no_hedges(path: Path):
    problems = []
    for number, line in prose_lines(path):
        for pattern, what in RECITED:
            if pattern.search(line):
                problems.append(f"{path.parent.name}/index.md:{number}: {what}: {line.strip()[:80]}")
        for hedge in HEDGES:
            if hedge in line:
                problems.append(f"{path.parent.name}/index.md:{number}: first-person hedge {hedge!r}")
    assert not problems, "\n".join(problems)


def test_post_modules_have_names_of_their_own():
    """Each post's tests import its modules by bare name (pytest puts the test's folder first on
    sys.path), and Python keeps the first module of a name it imported: a second post with a
    ``utils.py`` would silently test the first post's. So every module name is used once."""
    seen: dict[str, str] = {}
    clashes = []
    for path in sorted((ROOT / "posts").glob("*/*.py")):
        if path.stem in seen:
            clashes.append(f"{path.stem}.py: posts/{seen[path.stem]} and posts/{path.parent.name}")
        seen[path.stem] = path.parent.name
    assert len(seen) >= 35
    assert not clashes, clashes


def test_each_equation_label_is_defined_once():
    labels: dict[str, str] = {}
    duplicates = []
    for path in POSTS:
        for label in re.findall(
            r"^\$\$\s*\((eq-[^)]+)\)\s*$", path.read_text(encoding="utf-8"), re.MULTILINE
        ):
            where = f"{path.parent.name}/index.md"
            if label in labels:
                duplicates.append(f"{label}: {labels[label]} and {where}")
            labels[label] = where
    assert len(labels) > 100
    assert not duplicates, duplicates
