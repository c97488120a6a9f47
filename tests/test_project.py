"""The project's own files agree with each other: Python version, lock files, CI entry point."""

from __future__ import annotations

import re

import yaml

from sitebuild import PARALLEL, ROOT, STRICT

PYTHON = (ROOT / ".python-version").read_text(encoding="utf-8").strip()


def requirements(name: str) -> dict[str, str]:
    """Package (normalised name) -> pinned version, from a requirements file."""
    pins = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            package, _, version = line.partition("==")
            assert version, f"{name}: {line!r} is not pinned with =="
            pins[re.sub(r"[-_.]+", "-", package).lower()] = version
    return pins


def test_one_python_version_everywhere():
    assert re.fullmatch(r"3\.\d+", PYTHON)
    rtd = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text(encoding="utf-8"))
    assert rtd["build"]["tools"]["python"] == PYTHON
    assert f"Python **{PYTHON}**" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "$(shell cat .python-version)" in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_lock_files_pin_every_input_and_site_imports():
    site, dev = requirements("requirements.txt"), requirements("requirements-dev.txt")
    for source, lock in [("requirements.in", site), ("requirements-dev.in", {**site, **dev})]:
        for package, version in requirements(source).items():
            assert lock.get(package) == version, f"{source}: {package}=={version} not in its lock"
    assert not set(site) & set(dev), "the dev lock repeats a package of the site lock"
    # Imported by the site's own code, so Read the Docs (which installs requirements.txt) needs them.
    for package in ["lxml", "feedgen", "tinycss2", "matplotlib", "jieba", "scipy", "pyyaml"]:
        assert package in site, package
    assert "torch" not in site and "torch" in dev


def test_npm_packages_are_pinned_and_locked():
    """package.json names exact versions (KaTeX, axe-core, Lighthouse) and package-lock.json,
    which `make install` installs with `npm ci`, holds the same ones."""
    import json

    manifest = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    wanted = {**manifest["dependencies"], **manifest["devDependencies"]}
    assert {"katex", "axe-core", "lighthouse"} <= set(wanted)
    for package, version in wanted.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{package}: {version} is not an exact version"
        assert lock[f"node_modules/{package}"]["version"] == version, package
    bench = re.search(r"^bench:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert bench and "benchmarks/lighthouse.py" in bench.group(1)


def test_ci_runs_the_readmes_test_command_which_lints():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert [line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))] == [
        "make test"
    ]
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^test: install lint\b", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)


def test_the_pipeline_diagram_is_what_the_code_registers():
    """docs/pipeline.svg (in README.md) is drawn from a live Sphinx application; when a handler,
    its priority or the kept state changes, run scripts/pipeline_diagram.py again."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "scripts/pipeline_diagram.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def test_read_the_docs_builds_like_make_html():
    """Read the Docs runs the strict, parallel command of `make html` (Makefile: SPHINXOPTS, JOBS)."""
    rtd = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text(encoding="utf-8"))
    [command] = rtd["build"]["jobs"]["build"]["html"]
    words = command.split()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    strict = re.search(r"^SPHINXOPTS \?= (.+)$", makefile, re.MULTILINE)
    assert strict and " ".join(STRICT) == strict.group(1), "tests/sitebuild.py's STRICT is not make html's"
    assert " ".join(STRICT) in command and " ".join(PARALLEL) in command
    assert re.search(r"^JOBS \?= auto$", makefile, re.MULTILINE)
    assert words[-1] == "$READTHEDOCS_OUTPUT/html" and words[-2] == "."
