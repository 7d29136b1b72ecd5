# msante — the two set-up commands of the README are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check i18n bench clean pg

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

## demo: install, build a demo vault in a temporary home with sample data, and show it
demo: $(STAMP)
	$(BIN)/python -m msante.demo

## test: install with the test extras and run the whole suite in parallel (pytest-xdist); the TUI
## tests spend much of their time waiting on timers, so one worker more than this 2-core machine
## has cores: 6:24 against 7:00 with two (same clean clone, 2091 tests)
WORKERS ?= 3
test: $(STAMP) pg
	$(BIN)/python -m pytest -q -n $(WORKERS)

## pg: PostgreSQL's server programs, which the server's tests start a throwaway cluster with
## (tests/pg_cluster.py); from the distribution's packages when missing, as root with apt-get;
## elsewhere it says what to install, and those tests skip (they fail under CI=true)
PG_FOUND := command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1
pg:
	@if ! { $(PG_FOUND); }; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing PostgreSQL: apt-get install postgresql"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else \
	    echo "PostgreSQL is missing: install it (apt-get install postgresql, dnf install" \
	      "postgresql-server, brew install postgresql); the server's PostgreSQL tests skip without it"; \
	  fi; \
	fi

## check: lint, types, import contracts
check: $(STAMP)
	$(BIN)/ruff check msante tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## i18n: extract strings, update the catalogs, compile them into the package (idempotent)
I18N_KEYWORDS := --no-default-keywords -k _ -k N_ -k ngettext:1,2
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(I18N_KEYWORDS) -c TRANSLATORS: --no-location \
		--omit-header --sort-output -o msante/locale/msante.pot msante
	$(BIN)/pybabel update -i msante/locale/msante.pot -d msante/locale -D msante \
		--no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	$(BIN)/pybabel compile -d msante/locale -D msante --statistics

## bench: the performance figures, as ratios against baselines measured in the same run
bench: $(STAMP)
	$(BIN)/python bench/vault.py
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/profile_measures.py
	$(BIN)/python bench/agenda.py
	$(BIN)/python bench/tui.py
	$(BIN)/python bench/sync_crypto.py
	$(BIN)/python bench/sync_server.py
	$(BIN)/python bench/sync.py

clean:
	rm -rf $(VENV) build *.egg-info
