# The README's two commands: `make run` and `make test`. Each sets itself up first, from the
# committed lock file (uv.lock): what runs is what was locked, not the newest release.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export UV_PYTHON_DOWNLOADS := never

.PHONY: run test lint bench lock lock-upgrade clean

# uv lives in a venv of its own: `uv sync` makes .venv exactly the lock, which would remove it.
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet 'uv==$(UV_VERSION)'

$(STAMP): pyproject.toml uv.lock | $(UV)
	@# --locked: fails when pyproject.toml and uv.lock disagree (run `make lock` after editing pyproject.toml).
	@echo "installing $(VENV) from uv.lock (uv sync --locked --extra dev) ..."
	$(UV) sync --locked --extra dev --python $(PYTHON)
	@# Browser tests drive Debian's chromium (never a Playwright download); root installs it.
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium for the browser tests ..."; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null; \
	fi
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/estatecare run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

# After editing the dependencies in pyproject.toml: re-resolve only what changed.
lock: | $(UV)
	$(UV) lock --python $(PYTHON)

# Move every dependency to the newest release its range allows (then run `make test`).
lock-upgrade: | $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache .mypy_cache .ruff_cache
