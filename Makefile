# The README's commands. `make run` and `make test` are all the set-up a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := app

.PHONY: run test demo bench install install-dev migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,postgres]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/flask db upgrade

run: migrate
	$(BIN)/flask run --host $(HOST) --port $(PORT)

# The app and the Clockify sandbox together, with a demo account; Ctrl-C stops both.
demo: migrate
	$(BIN)/flask demo --port $(PORT)

# The suite runs in parallel (pytest-xdist; an idle worker takes tests queued for a
# busy one: --dist worksteal). PYTEST_WORKERS=0 runs it in one process. With HOURBILL_TEST_POSTGRES_URL set (.ci/run starts a server:
# see .ci/postgres), the tests that touch the database run a second time on PostgreSQL, each worker on
# its own database beside that one. Either run failing fails `make test`.
# One worker more than cores: the tests wait on servers, browsers and subprocesses about a third of the time
# (2 cores, quiet: -n 2 306 s, -n 3 275 s; later -n 3 163 s, -n 5 185 s: the run is CPU-bound).
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist worksteal

# Compiled files kept (the environment may say not to write them): each worker otherwise compiled the app
# and rewrote the tests' asserts from source on every run, ~6 s of CPU each.
test: export PYTHONDONTWRITEBYTECODE =
test: install-dev
	$(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)
	@if [ -n "$$HOURBILL_TEST_POSTGRES_URL" ]; then \
	  echo "== the database tests again, on PostgreSQL"; \
	  HOURBILL_TEST_DATABASE_URL="$$HOURBILL_TEST_POSTGRES_URL" $(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS); \
	fi

# Benchmarks (bench/README.md): one results table, about 80 s; exits 0 even when a target is missed.
bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
