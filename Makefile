# One front door: `make run` starts the whole system, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= dev

.PHONY: run test check lint format install clean

$(BIN)/.installed-$(EXTRAS): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	touch $@

install: $(BIN)/.installed-$(EXTRAS)

run: install
	$(BIN)/python scripts/run.py

test: install
	$(BIN)/pytest -q

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy givrwrld core accounts catalog billing provisioning panel storefront sandbox
	GIVRWRLD_SKIP_DOTENV=1 DJANGO_SETTINGS_MODULE=givrwrld.settings_test $(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var/*.sqlite3* var/*.json
