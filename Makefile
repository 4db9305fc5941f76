# The two commands of the README: `make demo` and `make test`. Each builds what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint bench serve clean messages catalogues

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# The compiled catalogues (.mo) are built, never committed: every target that runs the app
# compiles them first (pybabel compile only rewrites what changed).
LOCALES := handlers/i18n/locale
catalogues: $(STAMP)
	$(BIN)/pybabel compile -D salesbot -d $(LOCALES) --statistics

# Re-extract the English strings and merge them into every catalogue (then translate).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k ngettext:1,2 -o $(LOCALES)/salesbot.pot \
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

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
