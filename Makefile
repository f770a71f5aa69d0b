# One front door: `make run` starts the whole system, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= dev

.PHONY: run test check lint format install static clean

# uv (from PyPI, into the venv) installs in a fraction of pip's time and keeps downloaded
# wheels in its cache (~/.cache/uv) for the next install.
UV := $(BIN)/uv pip install -q --python $(BIN)/python

$(BIN)/.installed-$(EXTRAS): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/pip install -q 'uv>=0.5,<1'
	$(UV) -e '.[$(EXTRAS)]'
	touch $@

# Pico CSS, vendored at build time from the npm registry (pinned; not committed, no CDN).
PICO_VERSION := 2.1.1
PICO_DIR := storefront/static/vendor/pico

$(PICO_DIR)/pico.min.css:
	rm -rf var/npm && mkdir -p var/npm $(PICO_DIR)
	cd var/npm && npm pack --silent @picocss/pico@$(PICO_VERSION) >/dev/null
	tar -xzf var/npm/picocss-pico-$(PICO_VERSION).tgz -C var/npm
	cp var/npm/package/css/pico.min.css var/npm/package/LICENSE.md $(PICO_DIR)/
	rm -rf var/npm

# Chart.js for the console's dashboard charts, the same way (pinned, npm registry, not committed).
CHARTJS_VERSION := 4.5.1
CHARTJS_DIR := console/static/vendor/chartjs

$(CHARTJS_DIR)/chart.umd.min.js:
	rm -rf var/npm-chartjs && mkdir -p var/npm-chartjs $(CHARTJS_DIR)
	cd var/npm-chartjs && npm pack --silent chart.js@$(CHARTJS_VERSION) >/dev/null
	tar -xzf var/npm-chartjs/chart.js-$(CHARTJS_VERSION).tgz -C var/npm-chartjs
	cp var/npm-chartjs/package/dist/chart.umd.min.js var/npm-chartjs/package/LICENSE.md $(CHARTJS_DIR)/
	rm -rf var/npm-chartjs

static: $(PICO_DIR)/pico.min.css $(CHARTJS_DIR)/chart.umd.min.js

install: $(BIN)/.installed-$(EXTRAS) static

run: install
	$(BIN)/python scripts/run.py

test: install
	$(BIN)/pytest -q

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy givrwrld core accounts catalog billing provisioning panel storefront console sandbox
	$(BIN)/lint-imports
	GIVRWRLD_SKIP_DOTENV=1 DJANGO_SETTINGS_MODULE=givrwrld.settings_test $(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var/*.sqlite3* var/*.json

# Benchmarks (bench/, results in bench/results/): loopback only, bounded. Needs MariaDB/MySQL at
# BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/givrwrld_bench, dropped and recreated).
.PHONY: bench
bench: install
	$(UV) -e '.[mysql]'
	cd bench && ../$(BIN)/python webhook_ingest.py
	cd bench && ../$(BIN)/python provisioning_bench.py
	cd bench && ../$(BIN)/python latency_bench.py
	cd bench && ../$(BIN)/python flash_sale.py
	# One fleet size per run, so that each stays under 10 minutes (50,000 servers: ~9 min).
	for n in 100 1000 10000 50000; do (cd bench && BENCH_FLEET_SIZES=$$n ../$(BIN)/python fleet_bench.py) || exit 1; done
	cd bench && ../$(BIN)/python topology_bench.py
