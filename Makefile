# authconform: `make test-mock` sets up .venv and runs the conformance suite against every mock;
# `make test` runs the project's own tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test-mock test live mutation bench clean help

help:
	@echo "make test-mock   set up $(VENV) and run the conformance suite against every provider's mock"
	@echo "make test        set up $(VENV) and run the project's own tests"
	@echo "make live        run the suite against live endpoints (needs ID_API_KEY variables)"
	@echo "make bench       run the benchmarks in bench/ and print their figures"

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[clients]'
	@touch $(STAMP)

test-mock: $(STAMP)
	$(PY) -m pytest suites $(PYTEST_ARGS)

test: $(STAMP)
	$(PY) -m pytest tests $(PYTEST_ARGS)

live: $(STAMP)
	$(PY) -m pytest suites --live $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .hypothesis reports
