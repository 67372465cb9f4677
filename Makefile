# Strata's entry points. Every target is a thin call into ci/ or the go tool, so
# what CI runs is what a developer runs. `make help` lists them.
SHELL := /bin/bash
GO    ?= go
TOOLS := $(GO) tool -modfile=ci/tools/go.mod

.DEFAULT_GOAL := help
.PHONY: help up down status env test generate bench demo run lint soak

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# CLUSTER=3 adds the 3-node Kafka cluster and the PostgreSQL replica (ci/cluster.sh)
# beside the single-node stack; without it nothing changes.
CLUSTER ?=

up: ## start PostgreSQL, Kafka and the schema registry on 127.0.0.1 (idempotent; CLUSTER=3 adds the cluster)
	@ci/stack.sh up
	@if [[ -n "$(CLUSTER)" ]]; then CLUSTER=$(CLUSTER) ci/cluster.sh up; fi

down: ## stop the services and the local stack (data stays in .local/; CLUSTER=3 stops the cluster too)
	@if [[ -n "$(CLUSTER)" ]]; then CLUSTER=$(CLUSTER) ci/cluster.sh down; fi
	@ci/stack.sh down

status: ## show each component's health (CLUSTER=3: the cluster's too)
	@ci/stack.sh status
	@if [[ -n "$(CLUSTER)" ]]; then CLUSTER=$(CLUSTER) ci/cluster.sh status; fi

env: ## print export lines for the running stack and services (CLUSTER=3: cluster brokers, READ_DATABASE_URL)
	@ci/stack.sh env
	@if [[ -n "$(CLUSTER)" ]]; then CLUSTER=$(CLUSTER) ci/cluster.sh env; fi

test: up ## stack up, gofmt, go vet, then every test with -race against the real stack
	@ci/test.sh

soak: up ## the saga soak: 1,000 sagas over real Kafka with participants SIGKILLed at random (SOAK_N, SOAK_MINUTES)
	@eval "$$(ci/stack.sh env | grep -E '^export (DATABASE_URL|KAFKA_BROKERS|SCHEMA_REGISTRY_URL|SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO)=')" && \
		CI=true STRATA_SAGA_SOAK_N=$${SOAK_N:-1000} STRATA_SAGA_SOAK_MINUTES=$${SOAK_MINUTES:-20} \
		go test -count=1 -timeout 30m -run '^TestSagaSoak$$' -v ./services/saga/service/

generate: ## strata generate: gen/ (Avro types, type registry, buf) and sqlc output from strata.yaml; deterministic
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

.PHONY: up-cluster down-cluster status-cluster env-cluster test-cluster
up-cluster: ## the 3-node Kafka cluster and the PostgreSQL replica beside the stack (ci/cluster.sh)
	@ci/cluster.sh up

down-cluster: ## stop the cluster and the replica (the single-node stack keeps running)
	@ci/cluster.sh down

status-cluster: ## health of the cluster's nodes and the replica's lag
	@ci/cluster.sh status

env-cluster: ## export lines for the cluster (KAFKA_BROKERS, READ_DATABASE_URL, topic settings)
	@ci/cluster.sh env

test-cluster: up up-cluster ## failure tests on the cluster: broker kill, leader kill, replica down (ci/cluster/clustertest)
	@ci/cluster/test.sh
