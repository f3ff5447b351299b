# IPCam AI Retrofit: build, test, demo, deploy.
# `make demo` and `make test` are the two commands a new user needs.

CARGO ?= cargo
PYTHON ?= python3
VENV ?= .venv

.PHONY: demo test lint unit e2e

## Run the whole pipeline on the bundled sample e-mails, no AWS account.
demo:
	$(CARGO) run --release -p ipcam -- process samples/*.eml

## Everything CI checks.
test: lint unit e2e

## Formatting and lints, warnings as errors.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

## Unit tests of every crate.
unit:
	$(CARGO) test --workspace

## The whole AWS pipeline end to end: the Lambda functions (served by
## cargo-lambda) and the real state machine, on AWS emulated by moto.
e2e: $(VENV)/e2e-requirements.txt
	$(VENV)/bin/pytest -p no:cacheprovider tests

# The test tools, installed in a project virtual environment; reinstalled
# when tests/requirements.txt changes.
$(VENV)/e2e-requirements.txt: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	cp tests/requirements.txt $@
