"""What an article shows as a program's output is what the program prints.

An article shows output by including a stored file: ``posts/<slug>/<stem>.output.txt`` is what
``python <stem>.py`` prints, run in the post's folder with no arguments. Each test here runs the
script again under the pinned environment and compares: the text must be the same, and each
number may differ from the stored one by at most one unit of its last printed digit (the same
code can round the last digit differently on another CPU or BLAS). Regenerate a stored output
with ``cd posts/<slug> && python <stem>.py > <stem>.output.txt``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from sitebuild import ROOT

OUTPUTS = sorted((ROOT / "posts").glob("*/*.output.txt"))
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _unit(token: str) -> Decimal:
    """One unit of the last digit ``token`` prints: 0.01 for ``3.25``, 1e-3 for ``1.2e-02``."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return Decimal(1).scaleb(-decimals + (int(exponent) if exponent else 0))


def differences(expected: str, actual: str) -> list[str]:
    """Where ``actual`` differs from ``expected`` beyond one unit of a number's last digit."""
    problems = []
    expected_lines, actual_lines = expected.splitlines(), actual.splitlines()
    if len(expected_lines) != len(actual_lines):
        problems.append(f"{len(actual_lines)} lines printed, {len(expected_lines)} stored")
    for number, (want, got) in enumerate(zip(expected_lines, actual_lines), 1):
        if _NUMBER.sub("#", want) != _NUMBER.sub("#", got):
            problems.append(f"line {number}: stored {want!r}, printed {got!r}")
            continue
        for a, b in zip(_NUMBER.findall(want), _NUMBER.findall(got)):
            if abs(Decimal(a) - Decimal(b)) > _unit(a):
                problems.append(f"line {number}: {a} stored, {b} printed ({want!r})")
    return problems


def test_every_post_with_a_program_has_stored_output():
    assert len(OUTPUTS) >= 30, [str(p.relative_to(ROOT)) for p in OUTPUTS]


@pytest.mark.slow  # runs every article's program (minutes in all; `make check` runs the changed posts')
@pytest.mark.parametrize("stored", OUTPUTS, ids=[f"{p.parent.name}/{p.name}" for p in OUTPUTS])
def test_stored_output_is_what_the_program_prints(stored: Path):
    script = stored.with_name(stored.name.removesuffix(".output.txt") + ".py")
    assert script.is_file(), f"{stored.name} has no program {script.name} beside it"
    page = (stored.parent / "index.md").read_text(encoding="utf-8")
    assert re.search(rf"^```{{literalinclude}} {re.escape(stored.name)}$", page, re.MULTILINE), (
        f"posts/{stored.parent.name}/index.md does not show {stored.name}"
    )
    result = subprocess.run(
        [sys.executable, script.name], cwd=stored.parent, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    problems = differences(stored.read_text(encoding="utf-8"), result.stdout)
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize(
    "expected, actual, ok",
    [
        ("W1 = 0.0193\n", "W1 = 0.0194\n", True),  # last digit off by one
        ("W1 = 0.0193\n", "W1 = 0.0196\n", False),
        ("err 4.4e-16\n", "err 4.5e-16\n", True),
        ("err 4.4e-16\n", "err 6.7e-16\n", False),
        ("相对误差 30 倍\n", "相对误差 20 倍\n", False),
        ("n = 14\n", "n = 14\nextra\n", False),
        ("均值 -0.25\n", "方差 -0.25\n", False),
    ],
)
def test_the_comparison_tolerates_only_the_last_digit(expected: str, actual: str, ok: bool):
    assert (differences(expected, actual) == []) is ok
