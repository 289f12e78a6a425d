# Jingzhun (精准) — the commands a newcomer needs. `make help` lists them.
# Needs only Python 3.11 and access to the package registries: the first target run
# installs uv into .tools/ and the locked dependencies into .venv/.

SHELL := /bin/bash
PYTHON ?= python3
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
DATA ?= .data
ROLE ?= county_admin
REGION ?= 622924000000
# Test processes: most of a test's time is spent waiting on PostgreSQL and NATS, so two
# processes (each with its own servers) take 40% off on 2 cores; more gained nothing there.
JOBS ?= 2
export JINGZHUN_DATA_DIR := $(DATA)
export UV_PYTHON_DOWNLOADS := never

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	@$(PYTHON) -m venv .tools
	@.tools/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"

$(BIN)/devstack: $(UV) uv.lock pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml
	@$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(BIN)/devstack ## install the locked dependencies into .venv

run: $(BIN)/devstack ## start PostgreSQL, NATS and every service (data in DATA=.data); Ctrl-C stops all
	@$(BIN)/devstack run

test: $(BIN)/devstack ## run the whole test suite (real PostgreSQL and NATS, started by fixtures; JOBS=2 processes)
	@$(BIN)/pytest -n $(JOBS) --dist loadfile

token: $(BIN)/devstack ## print a bearer token: make token ROLE=village_cadre REGION=622924100201 (ROLE=helper HELPER=<helper id>)
	@$(BIN)/devstack token --role $(ROLE) --region $(REGION) $(if $(HELPER),--helper-id $(HELPER))

bench: $(BIN)/devstack ## benchmark the event flow (relay throughput, write-to-gateway latency)
	@$(BIN)/python tests/benchmarks/event_flow.py

bench-registry: $(BIN)/devstack ## benchmark the registry: import rate vs raw COPY, read p95 (PERSONS=1000000)
	@$(BIN)/python tests/benchmarks/registry_scale.py --persons $(or $(PERSONS),1000000)

bench-gateway: $(BIN)/devstack ## benchmark the gateway and health's persons: projection and rebuild vs their raw baselines, status reads vs a bare app, commit→projection p99 idle and under a backlog (HOUSEHOLDS=100000)
	@$(BIN)/python tests/benchmarks/gateway_scale.py --households $(or $(HOUSEHOLDS),100000)

rebuild-gateway: $(BIN)/devstack ## rebuild the gateway's projections beside the live ones, then switch them in (stack of make run)
	@$(BIN)/devstack rebuild-gateway

replay-dead-letters: $(BIN)/devstack ## deliver again what consumers dead-lettered, once the cause is fixed (SERVICE=health; stack of make run)
	@$(BIN)/devstack replay-dead-letters $(if $(SERVICE),--service $(SERVICE))

generate: $(BIN)/devstack ## regenerate the service lists, openapi/*.json, the event and problem catalogues, format the code
	@$(BIN)/devstack lists
	@$(BIN)/ruff format --quiet libs services tests
	@$(BIN)/devstack openapi
	@$(BIN)/devstack catalogue

lock: $(UV) ## re-resolve dependencies into uv.lock (after adding a service or a dependency)
	@$(UV) lock

clean-data: ## delete the local data folder (databases, streams, keys)
	rm -rf $(DATA)

.PHONY: help install run test token bench bench-registry bench-gateway rebuild-gateway replay-dead-letters generate lock clean-data
