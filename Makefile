# The two commands of the README: `make demo` and `make test`. Each builds what it needs.
# Dependencies come from the pinned locks (docs/operations.md, "Pinned dependencies"):
# `make lock` after changing pyproject.toml's dependencies, `make lock-upgrade` for newer
# releases within its ranges, `make lock-check` to fail when a lock is stale.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(DEV_LOCK) 2>/dev/null | cksum | cut -d' ' -f1)
COMPILE := pip compile pyproject.toml --universal --python-version 3.11 --quiet \
	--custom-compile-command "make lock"

.PHONY: demo test lint bench serve clean messages catalogues lock lock-upgrade lock-check

$(STAMP): pyproject.toml $(DEV_LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@$(PYTHON) .ci/lockfile.py check || { \
	  echo "*** the locks do not match pyproject.toml: regenerating them; commit requirements*.lock ***"; \
	  $(MAKE) --no-print-directory lock; }
	$(BIN)/python -m pip install --quiet -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $(VENV)/.installed-$$(cat pyproject.toml $(DEV_LOCK) | cksum | cut -d' ' -f1)

# The compiled catalogues (.mo) are built, never committed: every target that runs the app
# compiles them first (pybabel compile only rewrites what changed).
LOCALES := handlers/i18n/locale
catalogues: $(STAMP)
	$(BIN)/pybabel compile -D salesbot -d $(LOCALES) --statistics

# Re-extract the English strings and merge them into every catalogue (then translate).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k N_plural:1,2 -k ngettext:1,2 -o $(LOCALES)/salesbot.pot \
		--no-location --sort-output --project salesbot --no-wrap .
	$(BIN)/pybabel update -D salesbot -i $(LOCALES)/salesbot.pot -d $(LOCALES) \
		--no-fuzzy-matching --ignore-obsolete --no-wrap

demo: catalogues
	$(BIN)/salesbot demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint catalogues
	$(BIN)/pytest -n 2

bench: $(STAMP)
	$(BIN)/python -m bench

# Resolve pyproject.toml's dependencies into the locks, keeping the versions already pinned.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv
	$(BIN)/uv $(COMPILE) $(UPGRADE) -o $(LOCK)
	$(BIN)/uv $(COMPILE) $(UPGRADE) --extra dev -o $(DEV_LOCK)
	$(PYTHON) .ci/lockfile.py stamp

lock-upgrade:
	$(MAKE) lock UPGRADE=--upgrade

lock-check:
	$(PYTHON) .ci/lockfile.py check

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
