# Strata's entry points. Every target is a thin call into ci/ or the go tool, so
# what CI runs is what a developer runs. `make help` lists them.
SHELL := /bin/bash
GO    ?= go
TOOLS := $(GO) tool -modfile=ci/tools/go.mod

.DEFAULT_GOAL := help
.PHONY: help up down status env test generate bench demo run lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

up: ## start PostgreSQL, Kafka and the schema registry on 127.0.0.1 (idempotent)
	@ci/stack.sh up

down: ## stop the services and the local stack (data stays in .local/)
	@ci/stack.sh down

status: ## show each component's health
	@ci/stack.sh status

env: ## print export lines for the running stack and services
	@ci/stack.sh env

test: up ## stack up, gofmt, go vet, then every test with -race against the real stack
	@ci/test.sh

generate: ## regenerate gen/ (avrogen + gentypes + buf) and sqlc output; deterministic
	@ci/generate.sh

.PHONY: schema-check
schema-check: ## lint the Avro contracts and check changed subjects against main's merge-base (ci/schema-check.sh)
	@ci/schema-check.sh

run: up ## build and start the shop's services in the background (idempotent; `make env` shows addresses)
	@ci/run.sh up

demo: ## stack up, services up, a few hundred orders through the shop, then a summary (under 2 minutes warm)
	@ci/demo.sh

bench: ## run the benchmark runners (BENCH="eventstore ..." for some) against the local stack -> docs/benchmarks.md
	@ci/bench.sh $(BENCH)
