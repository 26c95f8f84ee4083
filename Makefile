# The two commands of the README: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-kafka test-docker test-unit test-integration lint venv clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/battrace demo $(ARGS)

# ruff, the layer contract, then every test: unit (starts nothing) and integration (real broker, chDB, browser).
test: lint
	sh deploy/browser/install-chromium.sh
	$(BIN)/python -m pytest tests/unit tests/integration $(PYTEST_ARGS)

# The end-to-end, replay, restart, SIGKILL and broker-restart tests again, against Apache Kafka (KRaft; Java 17+ and
# Maven fetch its jars from Maven Central once, into ~/.cache/battrace).
KAFKA_TESTS := tests/integration/test_pipeline.py tests/integration/test_restart.py \
	tests/integration/processors/test_table_store.py tests/integration/processors/test_changelog_on_broker.py \
	tests/integration/processors/test_group_takeover.py \
	tests/integration/stack
test-kafka: $(STAMP)
	BATTRACE_BROKER=kafka $(BIN)/python -m pytest $(KAFKA_TESTS) $(PYTEST_ARGS)

# The suite's assertions on ClickHouse server and Kafka in containers, two workers and a SIGKILL of one; where no
# Docker engine answers, each test skips saying so.
test-docker: $(STAMP)
	$(BIN)/python -m pytest -m docker tests/integration $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-integration: $(STAMP)
	sh deploy/browser/install-chromium.sh
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

# ... and the event contracts against their released versions (HEAD in a git work tree, else the installed copies).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/battrace schemas check --against $$(git rev-parse -q --verify HEAD >/dev/null 2>&1 && echo HEAD || echo packaged) schemas/*.avsc

bench: $(STAMP)
	$(BIN)/battrace bench $(ARGS)

clean:
	rm -rf .battrace .pytest_cache
