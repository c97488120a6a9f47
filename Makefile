# Knowledge-base site. `make html` builds it, `make test` tests it; both set everything up.
SHELL := /bin/bash
PYTHON ?= python3
# The Python version the site is built and tested with: stated once, in .python-version
# (README.md and .readthedocs.yaml name the same; tests/test_project.py checks that they agree).
PYTHON_VERSION := $(shell cat .python-version)
VENV := .venv
PY := $(VENV)/bin/python
SPHINXBUILD := $(VENV)/bin/sphinx-build
SOURCEDIR := .
BUILDDIR := _build
# Strict: every warning (bad front matter, formula, dangling reference) fails the build.
SPHINXOPTS ?= -W --keep-going -n
# Sphinx reads and writes pages in one process per core: every extension of the site is
# parallel-safe, and any -j gives the same bytes (tests/test_reproducible.py, test_incremental.py).
JOBS ?= auto
PYTEST_ARGS ?=
# A preview: drafts and scheduled posts built too, marked 草稿 / 定时发布 (`DRAFTS=1 make html`;
# `make livehtml` always). It goes to its own folder, so a draft never lands in _build/html.
DRAFTS ?=
PREVIEWDIR := $(BUILDDIR)/preview
PREVIEWOPTS := -D kb_drafts=1

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt .python-version
	@$(PYTHON) -c 'import sys; want = tuple(map(int, "$(PYTHON_VERSION)".split("."))); sys.exit(f"Python $(PYTHON_VERSION) is required (.python-version), found {sys.version.split()[0]}") if sys.version_info[:2] != want else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	@command -v node >/dev/null || { echo "Node.js >= 18 is required (KaTeX renders formulas at build time)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: system-deps
system-deps: # Debian packages the build needs (Node.js, the CJK font of the figures); apt as root
	@bash scripts/install-system-deps.sh build

.PHONY: install
install: system-deps $(VENV)/.installed node_modules/.installed ## create .venv and node_modules

.PHONY: html
html: install ## build the site into _build/html (strict; skipped when no file changed); DRAFTS=1: a preview with drafts, into _build/preview/html
ifneq ($(filter 1 yes true,$(DRAFTS)),)
	$(PY) scripts/build_site.py html $(SOURCEDIR) $(PREVIEWDIR) $(SPHINXOPTS) -j $(JOBS) $(PREVIEWOPTS)
else
	$(PY) scripts/build_site.py html $(SOURCEDIR) $(BUILDDIR) $(SPHINXOPTS) -j $(JOBS)
endif

.PHONY: livehtml
livehtml: install ## serve a preview (drafts included) on http://127.0.0.1:8000, rebuilt on every change
	$(PY) scripts/livehtml.py $(SOURCEDIR) $(PREVIEWDIR)/html -d $(PREVIEWDIR)/doctrees $(SPHINXOPTS) -j $(JOBS) $(PREVIEWOPTS) \
		--ignore '*/.venv/*' --ignore '*/node_modules/*' --ignore '*/_build/*' \
		--ignore '*/tests/*' --ignore '*/__pycache__/*' --ignore '*.mo' --ignore '*/.pytest_cache/*' \
		--watch _ext --port 8000

.PHONY: check
check: install ## quick check after editing posts: strict build, the changed posts' tests (POSTS="a b" to name them), fast tests
	$(PY) scripts/check.py --posts "$$POSTS" --builddir $(BUILDDIR) -- $(SPHINXOPTS) -j $(JOBS)

.PHONY: lint
lint: install ## ruff (lint and format check) and mypy over _ext, scripts, benchmarks and tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

.PHONY: test
test: install lint ## lint, then the whole test suite (builds the site, runs article code, browser tests)
	@bash scripts/install-system-deps.sh test
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: lock
lock: ## re-resolve requirements*.in into the fully pinned requirements*.txt
	PYTHON=$(PYTHON) bash scripts/lock_requirements.sh

.PHONY: bench
bench: html ## benchmark builds and pages on 100/300/1000 synthetic posts (BENCH_SIZES=…, BENCH_REPEAT=…), Lighthouse on the real site
	$(PY) benchmarks/run.py
	$(PY) benchmarks/lighthouse.py $(BUILDDIR)/html

.PHONY: post
post: install ## scaffold a post that builds and passes: make post SLUG=my-topic TITLE="标题" CATEGORY="Deep Learning" TAGS="标签1, 标签2" [DESCRIPTION=… SERIES=… SERIES_ORDER=…]
	@# the values reach the script through the environment (make exports command-line variables),
	@# so quotes and $ in a title stay text
	@$(PY) scripts/new_post.py --slug "$$SLUG" --title "$$TITLE" --category "$$CATEGORY" --tags "$$TAGS" \
		--description "$$DESCRIPTION" --series "$$SERIES" --series-order "$$SERIES_ORDER"

.PHONY: clean
clean: ## remove the build output
	rm -rf $(BUILDDIR)

# Files make must never try to remake through the catch-all rule below.
Makefile requirements.txt requirements-dev.txt requirements.in requirements-dev.in .python-version package.json package-lock.json: ;

# Any other Sphinx builder: make linkcheck, make dirhtml, ...
%: install
	$(SPHINXBUILD) -M $@ $(SOURCEDIR) $(BUILDDIR) $(SPHINXOPTS) -j $(JOBS)
