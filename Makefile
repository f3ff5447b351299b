# IPCam AI Retrofit: build, test, demo, deploy.
# `make demo` and `make test` are the two commands a new user needs.

CARGO ?= cargo

.PHONY: demo test lint unit bench-extract

## Run the whole pipeline on the bundled sample e-mails, no AWS account.
demo:
	$(CARGO) run --release -p ipcam -- process samples/*.eml

## Everything CI checks.
test: lint unit

## Formatting and lints, warnings as errors.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

## Unit tests of every crate.
unit:
	$(CARGO) test --workspace

## Extraction speed and memory against Python's email package (not part of test).
bench-extract:
	bench/extract_vs_python.sh
