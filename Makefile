# The two commands: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test test-fast lint typecheck compat unit demo serve stack bench package clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

# The deployed code must run on SCF's Python 3.10: vermin finds the minimum version.
compat: $(STAMP)
	$(VENV)/bin/vermin --no-tips --violations --target=3.10- --eval-annotations --backport typing_extensions handler.py lib

# With the branch-coverage gate: below [tool.coverage.report] fail_under of lib and handler, it fails.
unit: $(STAMP)
	$(PY) -m pytest --cov

test: lint typecheck compat unit

# The unit tests alone (tests/unit/), without coverage: the quick loop while editing lib.
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit -q

demo: $(STAMP)
	$(PY) -m devstack demo

# The handler as a local Function URL, with serverless.yml's triggers on the local stack (port 9100).
# Options: make serve SERVE_ARGS="--port 9200 --tick-every 5"
serve: $(STAMP)
	$(PY) -m devstack serve $(SERVE_ARGS)

# The local stand-ins on their own until Ctrl-C (devstack/commands/stack.py), for another shell, SAM or the
# Serverless Framework: endpoints and credentials printed, and written to build/stack.env (KEY=VALUE)
# and build/sam-env.json (sam local invoke --env-vars). Ports: make stack STACK_ARGS="--vod-port 9000"
stack: $(STAMP)
	$(PY) -m devstack stack --env-file build/stack.env --sam-env-vars build/sam-env.json $(STACK_ARGS)

bench: $(STAMP)
	$(PY) bench/run.py

# The deployment zip (devstack/packaging/build.py), on Linux x86_64 for the target's runtime by default:
#   make package                  build/element-relay.zip, build/package/ (SCF Python3.10; Tencent SDKs)
#   make package TARGET=lambda    build/element-relay-lambda.zip, build/package-lambda/ (python3.12; boto3)
# Another runtime: make package PYTHON_VERSION=3.13 PLATFORM=manylinux2014_aarch64
TARGET ?= scf
PYTHON_VERSION ?=
PLATFORM ?= manylinux2014_x86_64
package: $(STAMP)
	$(PY) -m devstack package --target $(TARGET) $(if $(PYTHON_VERSION),--python-version $(PYTHON_VERSION)) --platform $(PLATFORM)

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
