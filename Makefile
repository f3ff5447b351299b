# IPCam AI Retrofit: build, test, demo, deploy.
# `make demo` and `make test` are the two commands a new user needs.

CARGO ?= cargo
## The five Lambda functions, one crate each under crates/.
FUNCTIONS := ingest-ses ingest-sendgrid extract-attachments detect-labels notify
## Python tools (moto and pytest for the end-to-end tests; cfn-lint,
## cargo-lambda and the zig it cross-compiles with) live in this virtual
## environment, installed on first use.
VENV ?= .venv

.PHONY: help demo test lint unit fixtures-check e2e validate zips smoke-arm64 deploy snooze redrive bench-detect bench-extract bench-cold-start soak

## List the targets, with what each does (the `##` comments of this file).
help:
	@awk '/^## /{text = text substr($$0, 4) " "; next} /^[A-Z_]+ [?:]?=/{next} \
	  /^[a-z][a-z0-9-]*:/ && text {split($$0, target, ":"); printf "  %-16s %s\n", target[1], text} \
	  {text = ""}' $(MAKEFILE_LIST)

## Run the whole pipeline on the bundled sample e-mails, no AWS account:
## which e-mails alerted, on what, and the annotated pictures in out/.
## Each demo starts with no memory of earlier alerts, so that a second run
## shows the same as the first rather than the visitor "stationary".
## The demo runs the unoptimised build: from a fresh clone it compiles in
## about half the time of an optimised one (the detector's tract-core alone
## takes minutes to optimise), and two e-mails take seconds either way.
## For `ipcam serve` on real cameras, build with --release.
demo:
	rm -rf out/memory
	$(CARGO) run -p ipcam -- process --config samples/ipcam.toml --out out samples/*.eml

## How well the embedded model serves as the gate in front of Rekognition
## (not part of test; docs/detector-gate.md): builds the test scenes from
## public photos shipped in two PyPI wheels (bench/gate_scenes.py), then
## prints what the model saw in each, and per threshold the people let
## through and the empty scenes stopped.
GATE_DATA ?= out/gate-data
.PHONY: gate-recall
gate-recall: $(VENV)/.bench-tools
	test -d $(GATE_DATA)/skimage || { \
	  $(VENV)/bin/pip download --quiet --disable-pip-version-check --no-deps \
	    scikit-image==0.26.0 matplotlib==3.11.2 -d $(GATE_DATA) && cd $(GATE_DATA) && \
	  unzip -q -o 'scikit_image-*.whl' 'skimage/data/*' && \
	  unzip -q -o 'matplotlib-*.whl' 'matplotlib/mpl-data/sample_data/*'; }
	$(VENV)/bin/python bench/gate_scenes.py $(GATE_DATA) out/gate-scenes
	$(CARGO) run --release -p ipcam-detector-nanodet --example gate_recall -- out/gate-scenes

## Pillow and NumPy, for the scripts in bench/ that make pictures.
$(VENV)/.bench-tools:
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check pillow numpy
	touch $@

## Everything CI checks.
test: lint unit fixtures-check e2e validate zips smoke-arm64

## Formatting and lints, warnings as errors.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	# The workspace build turns on ipcam-core's `testing` feature for the
	# other crates' tests; lint the build that ipcam links, without it, too.
	$(CARGO) clippy -p ipcam-core -p ipcam --all-targets -- -D warnings

## Unit tests of every crate.
unit:
	$(CARGO) test --workspace

## The committed camera e-mail fixtures are byte for byte what
## crates/xtask writes (`cargo xtask fixtures` rewrites them).
fixtures-check:
	$(CARGO) xtask fixtures --check

## The whole AWS pipeline end to end: the Lambda functions (served by
## cargo-lambda) and the real state machine, on AWS emulated by moto.
## The functions are built first, one by one as cargo lambda watch builds
## them, so that a long first build shows its progress.
e2e: $(VENV)/.e2e-tools
	for function in $(FUNCTIONS); do $(CARGO) build --bin $$function || exit 1; done
	$(VENV)/bin/pytest -p no:cacheprovider tests

## The end-to-end test tools (moto, boto3, pytest, cargo-lambda, and the
## stack's tools: SAM's translator and cfn-lint), installed
## on first use into the venv, added to whatever else it holds.
$(VENV)/.e2e-tools: tests/requirements.txt infra/requirements.txt
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

.PHONY: cost
## What an e-mail costs on AWS, measured (not part of test).
## The scenarios of tests/cost_scenarios.py (nothing of interest in 3
## frames, an alert on frame 1 or 3, a text-only e-mail, a quiet hour, a
## stranger refused at the door; behind the embedded model's gate, a frame
## it stops, three frames of nothing, a visitor it lets through to
## Rekognition) run through the real state machine and
## functions on emulated AWS, as in e2e; bench/cost.py prints for each, per
## e-mail and per 1,000 e-mails, what AWS bills and at what price, and
## writes the report to out/cost.md (docs/deploy.md quotes it).
## The functions are the optimised (release) build, as deployed: the first
## build takes many minutes (the detector's tract).
## COST_RUNS=n runs each scenario n times (3) after one to warm up.
cost: $(VENV)/.e2e-tools
	for function in $(FUNCTIONS); do $(CARGO) build --release --bin $$function || exit 1; done
	IPCAM_FUNCTIONS_OPTIMISED=1 PYTHONPATH=tests $(VENV)/bin/pytest -p no:cacheprovider -p conftest -q -s bench/cost.py

# ---------------------------------------------------------------------------
# AWS: the SAM stack in infra/, its static checks, and the Lambda zips.

## cargo-lambda finds zig through `python3 -m ziglang`: the venv comes first.
WITH_VENV := PATH="$(CURDIR)/$(VENV)/bin:$$PATH"
LAMBDA_DIR ?= out/lambda
ARM64_TARGET := aarch64-unknown-linux-gnu

## The stack's tools, installed on first use: Python ones into the venv
## (added to whatever else it holds), asl-validator from package-lock.json.
$(VENV)/.infra-tools: infra/requirements.txt
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

## Static checks of the stack: cfn-lint on the SAM template and on what SAM's
## translator makes of it, asl-validator on every state machine, and
## infra/check_stack.py on the seams between template, state machine and crates.
## W1028 ("Fn::If branch not reachable") is ignored on the translated template
## only: SAM's translator nests the conditional HttpApi's routes in further
## Fn::If of the same condition. Our own template is linted with every check.
validate: $(VENV)/.infra-tools node_modules/.package-lock.json
	$(VENV)/bin/cfn-lint infra/template.yaml
	$(VENV)/bin/python infra/check_stack.py --translated out/template.cfn.json
	$(VENV)/bin/cfn-lint --ignore-checks W1028 -- out/template.cfn.json
	node_modules/.bin/asl-validator $(addprefix --json-path ,$(wildcard statemachine/*.asl.json))

## Deployable arm64 zips of the five functions, with their sizes.
zips: $(VENV)/.infra-tools
	@rustup target list --installed | grep -qx '$(ARM64_TARGET)' || rustup target add $(ARM64_TARGET) || { \
	  echo "zips: cannot install the Rust target $(ARM64_TARGET) (rustup target add $(ARM64_TARGET) failed)" >&2; exit 1; }
	@test -x $(VENV)/bin/cargo-lambda || { \
	  echo "zips: cargo-lambda is missing: run '$(VENV)/bin/pip install -r infra/requirements.txt' (see .ci/run)" >&2; exit 1; }
	$(WITH_VENV) $(CARGO) lambda build --release --arm64 --output-format zip \
	  --lambda-dir $(LAMBDA_DIR) $(addprefix --package ,$(FUNCTIONS))
	@for function in $(FUNCTIONS); do \
	  zip=$(LAMBDA_DIR)/$$function/bootstrap.zip; \
	  test -s $$zip || { echo "zips: $$zip was not built" >&2; exit 1; }; \
	  printf '%-22s %8d KiB  %s\n' $$function $$(( $$(stat -c %s $$zip) / 1024 )) $$zip; \
	done

# The emulator, and where Debian's libc6-arm64-cross keeps the aarch64 loader
# and glibc the functions' binaries are linked against.
QEMU_AARCH64 ?= qemu-aarch64-static
AARCH64_SYSROOT := /usr/aarch64-linux-gnu

## Does each arm64 zip start and answer as it would on Lambda? Runs each
## function's bootstrap under qemu-aarch64-static against a Lambda Runtime
## API and moto served on loopback, and sends it one event of a camera
## e-mail's way through the pipeline (infra/smoke_arm64.py); prints each
## one's init and answer times. Installs QEMU and Debian's aarch64 glibc
## with apt-get when they are missing (as root, or through sudo).
smoke-arm64: zips $(VENV)/.e2e-tools
	@if ! command -v $(QEMU_AARCH64) >/dev/null || ! test -e $(AARCH64_SYSROOT)/lib/ld-linux-aarch64.so.1; then \
	  sudo=; test "$$(id -u)" = 0 || sudo=sudo; \
	  echo "smoke-arm64: installing qemu-user-static and libc6-arm64-cross"; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq qemu-user-static libc6-arm64-cross >/dev/null || { \
	    echo "smoke-arm64: cannot install qemu-user-static and libc6-arm64-cross with apt-get" >&2; exit 1; }; \
	fi
	QEMU_AARCH64=$(QEMU_AARCH64) QEMU_LD_PREFIX=$(AARCH64_SYSROOT) $(VENV)/bin/python infra/smoke_arm64.py $(LAMBDA_DIR)

## Build for arm64 and deploy the stack, activate its SES receipt rule set,
## upload CONFIG as the functions' configuration (see docs/deploy.md).
CONFIG ?= ipcam.toml
STACK ?= ipcam
deploy: $(VENV)/.infra-tools
	CONFIG='$(CONFIG)' STACK='$(STACK)' VENV='$(VENV)' infra/deploy.sh

## Mute the alerts of the deployed stack: make snooze CAMERA=frontdoor FOR=2h
## (CAMERA=all: every camera; FOR in s, m, h or d; FOR=0s lifts a snooze).
## Writes the snooze to the stack's alerts table with the AWS CLI.
CAMERA ?=
FOR ?= 1h
snooze:
	@snooze=$$(python3 -c "$$SNOOZE_ITEM" '$(CAMERA)' '$(FOR)') || exit 1; \
	table=$$(aws cloudformation describe-stacks --stack-name '$(STACK)' \
	  --query "Stacks[0].Outputs[?OutputKey=='AlertsTableName'].OutputValue | [0]" --output text) || exit 1; \
	case "$$table" in ""|None) echo "snooze: stack $(STACK) has no AlertsTableName output: run make deploy first" >&2; exit 1;; esac; \
	aws dynamodb put-item --table-name "$$table" --item "$${snooze#* }" || exit 1; \
	echo "snooze: $(CAMERA) muted until $${snooze%% *} (the snooze in $$table)"

## Start the executions the deployed stack's ingest-ses never started: the
## SES events in its failure queue (deleted once started) and the stored
## e-mails under incoming/ that have none. Each execution is named after its
## message, so running it twice starts nothing twice (crates/redrive).
## Reads the stack's outputs with the AWS CLI; needs s3:ListBucket on the
## bucket and sqs:ReceiveMessage/DeleteMessage on the queue.
redrive:
	@outputs=$$(aws cloudformation describe-stacks --stack-name '$(STACK)' --query "Stacks[0].Outputs" --output json) || exit 1; \
	output() { printf '%s' "$$outputs" | python3 -c 'import json, sys; print(next((o["OutputValue"] for o in json.load(sys.stdin) or [] if o["OutputKey"] == sys.argv[1]), ""))' "$$1"; }; \
	queue=$$(output IngestSesFailureQueueUrl); config=$$(output ConfigLocation); \
	case "$$queue" in "") echo "redrive: stack $(STACK) has no IngestSesFailureQueueUrl output: run make deploy first" >&2; exit 1;; esac; \
	config=$${config#s3://}; \
	IPCAM_FAILURE_QUEUE_URL="$$queue" IPCAM_BUCKET="$${config%%/*}" IPCAM_CONFIG_KEY="$${config#*/}" \
	  IPCAM_STATE_MACHINE_ARN=$$(output StateMachineArn) IPCAM_INCOMING_PREFIX=incoming/ \
	  $(CARGO) run --quiet -p redrive

# The snooze item `make snooze` writes, in the shape the functions read
# (crates/adapters-aws/src/dynamodb.rs): its end, a space, the item's JSON.
define SNOOZE_ITEM
import datetime, json, re, sys
camera, span = sys.argv[1].strip(), sys.argv[2].strip()
if not camera:
    sys.exit("snooze: name the camera: make snooze CAMERA=frontdoor FOR=2h (CAMERA=all for every camera)")
found = re.fullmatch(r"([0-9]+)([smhd])", span)
if not found:
    sys.exit(f"snooze: FOR={span!r} is not a duration such as 30m, 2h or 1d")
seconds = int(found[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[found[2]]
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
until = now + datetime.timedelta(seconds=seconds)
item = {
    "camera": {"S": "*" if camera == "all" else camera},
    "entry": {"S": "snooze"},
    "until": {"S": until.strftime("%Y-%m-%dT%H:%M:%SZ")},
    "expiresAt": {"N": str(int(until.timestamp()))},
}
print(until.strftime("%Y-%m-%dT%H:%M:%SZ"), json.dumps(item))
endef
export SNOOZE_ITEM

## Time of the embedded detector on one 1920x1080 JPEG frame, bytes to
## labels (criterion, optimised build; see docs/performance.md).
bench-detect:
	$(CARGO) bench -p ipcam-detector-nanodet --bench detect

## Load and faults on ipcam serve, on loopback (not part of test, about 10
## minutes): 1,000 SMTP e-mails from 50 clients and 200 HTTP posts while 30
## slow clients hold connections, a kill -9 half-way and a restart, Ctrl-C at
## the end; prints lost (must be 0), duplicates (0) and the time to stop.
soak:
	$(CARGO) build --release -p ipcam
	python3 bench/soak.py --ipcam target/release/ipcam

## Extraction speed and memory against Python's email package, whole
## process, on three shapes of burst (64 distinct frames, 64 frames of 8
## scenes copied, 3 frames of one scene), and the floor (read, base64-decode
## and hash alone); not part of test, see docs/performance.md.
bench-extract:
	bench/extract_vs_python.sh

## Each Lambda function's start, process start to its first request to the
## Runtime API (a local one), each with the environment infra/template.yaml
## gives it and what that names created in moto on loopback, the config read
## from S3 counted apart, against a hello-world lambda_runtime function built
## alike in the same run (optimised native builds; see docs/performance.md).
bench-cold-start: $(VENV)/.e2e-tools $(VENV)/.infra-tools
	$(CARGO) build --release $(FUNCTIONS:%=-p %) -p ipcam-adapters-aws --bins --example hello_lambda
	$(VENV)/bin/python bench/cold_start.py target/release
