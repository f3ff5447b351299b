# IPCam AI Retrofit: build, test, demo, deploy.
# `make demo` and `make test` are the two commands a new user needs.

CARGO ?= cargo

.PHONY: demo test lint unit bench-detect

## Run the whole pipeline on the bundled sample e-mails, no AWS account:
## which e-mails alerted, on what, and the annotated pictures in out/.
demo:
	$(CARGO) run --release -p ipcam -- process --out out samples/*.eml

## Everything CI checks.
test: lint unit

## Formatting and lints, warnings as errors.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

## Unit tests of every crate.
unit:
	$(CARGO) test --workspace

## Time of the embedded detector on one 1920x1080 JPEG frame (criterion).
bench-detect:
	$(CARGO) bench -p ipcam-detector-nanodet --bench detect
