#!/usr/bin/env bash
# make generate: every generated file in the repository, from its sources, as
# strata.yaml names them (`strata generate`, package codegen):
#   schemas/avro  -> gen/avro/<domain>/, gen/events/registry.go
#   schemas/proto -> gen/proto/ (buf generate with local protoc-gen-go{,-grpc})
#   sqlc.yaml     -> sqlc output (eventstore/internal/db, ...)
# Deterministic: running it twice leaves `git status` unchanged. buf and sqlc
# are pinned in ci/tools/go.mod and run with `go tool -modfile`.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
exec "$GO" run ./tools/strata generate --tools-modfile ci/tools/go.mod
