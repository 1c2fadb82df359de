# Weekly Discovery: `make demo` runs the whole chain on a generated library; `make test` runs the tests.
# Both create .venv when it is missing and are safe to run again.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (each test file runs whole on one worker; 1 = no parallelism). Files are
# handed out in collection order, longest first (tests/conftest.py): --no-loadscope-reorder stops xdist from
# reordering them by their number of tests, which started the one-test browser and services files last.
TEST_WORKERS ?= 2
# `make bench` ends by timing `make test` against its 10-minute target (~15 min more); TARGET_ARGS= leaves it out.
TARGET_ARGS ?= --with-tests

# Spark from the pip package: spark-submit must find this venv's pyspark and python, whatever
# `python3` is first on PATH (see docs/stack.md).
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# ($(shell ...) rather than $(wildcard ...): make caches folder listings, and .venv may be created mid-run)
export SPARK_HOME = $(shell ls -d $(CURDIR)/$(VENV)/lib/python3*/site-packages/pyspark 2>/dev/null)
export PYSPARK_PYTHON := $(CURDIR)/$(PY)
export PYSPARK_DRIVER_PYTHON := $(CURDIR)/$(PY)
export SPARK_LOCAL_IP := 127.0.0.1
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__PARALLELISM := 4

.PHONY: setup demo ui sql upgrade-lake test test-fast bench spotify-auth run stop status clean help

help:
	@echo "make demo          run the pipeline on a generated library (no Spotify account, no network)"
	@echo "make ui            the demo in the Airflow UI: trigger the chain, read the logs and the report (Ctrl-C stops)"
	@echo "make sql           spark-sql over the lake's tables (the demo's; LAKE=...); Q=\"SELECT ...\" runs one query"
	@echo "make upgrade-lake  turn a lake written before Delta Lake (LAKE=...) into Delta tables, in place (DRY_RUN=1: report only)"
	@echo "make test          run the test suite"
	@echo "make test-fast     the fast tier only: no Spark session, no Airflow run (about a minute)"
	@echo "make bench         measure requests, Spark jobs vs pandas, overheads (docs/benchmarks.md), then every"
	@echo "                   target of issues 13-14 with MET/MISSED and its baseline (benchmarks/targets.py; long)"
	@echo "make spotify-auth  authorize your Spotify account and store the connection for make run (AUTH_ARGS=--print-export:"
	@echo "                   print an export line instead); again within six months, when the token expires"
	@echo "make run           Airflow with your config (CONFIG=~/weekly-discovery.toml), a playlist every Monday (docs/run.md)"
	@echo "make stop          stop the running make run"
	@echo "make status        last runs, the playlist's week, the next run, the Spotify token's age"
	@echo "make clean         remove the demo's Airflow home and lake"

setup: $(STAMP)

$(STAMP):
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v <= (3, 13) else "Python 3.11-3.13 is required (found %d.%d); run e.g. make PYTHON=python3.11 ..." % v)'
	@scripts/check-java.sh
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the pinned stack into $(VENV) (about a minute)..."
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt 2>&1 | grep -v "is ignored: it is neither" || true
	@$(PY) -c 'import airflow, pyspark, spotipy, pyarrow, pytest' || { echo "pip install failed: see the messages above"; exit 1; }
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . 2>&1 | grep -v "is ignored: it is neither" || true
	@echo "fetching Delta Lake's jars for Spark into pyspark's jars/ (once, 9.6 MB)..."
	@$(PY) -m weekly_discovery.spark.jars delta --install >/dev/null
	@echo "recording Spark's classes in a class-data archive, so jobs start ~3 s faster (once, about 30 s)..."
	@$(PY) -m weekly_discovery.airflow.spark_class_data
	@rm -f $(VENV)/.installed-* && touch $@

demo: setup
	@scripts/check-java.sh
	$(PY) -m devtools.demo

ui: setup
	@scripts/check-java.sh
	$(PY) -m devtools.ui $(UI_ARGS)

sql: setup
	@scripts/check-java.sh
	@$(PY) -m weekly_discovery.spark.sql $(if $(LAKE),--lake "$$LAKE") $(if $(Q),-e "$$Q")

upgrade-lake: setup
	$(PY) -m weekly_discovery.upgrade_lake $(if $(LAKE),--lake "$$LAKE") $(if $(DRY_RUN),--dry-run)

test: setup
	@scripts/install-test-deps.sh
	@$(PY) -m weekly_discovery.spark.jars s3 >/dev/null  # the bucket tests: S3A and the AWS SDK (690 MB, once)
	@scripts/check-java.sh
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "not spark and not e2e" $(PYTEST_ARGS)

bench: setup
	@scripts/check-java.sh
	$(PY) -m benchmarks.run $(BENCH_ARGS)
	$(PY) -m benchmarks.targets $(TARGET_ARGS)

spotify-auth: setup
	@$(PY) -m weekly_discovery.service.spotify_auth $(AUTH_ARGS)

# The run home: $$WEEKLY_DISCOVERY_HOME, else ~/.local/share/weekly-discovery (docs/run.md).
run: setup
	@scripts/check-java.sh
	@$(PY) -m weekly_discovery.service run $(if $(CONFIG),--config "$$CONFIG") $(RUN_ARGS)

stop:
	@$(PY) -m weekly_discovery.service stop

status:
	@$(PY) -m weekly_discovery.service status $(if $(CONFIG),--config "$$CONFIG")

clean:
	rm -rf .demo
