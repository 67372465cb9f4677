#!/usr/bin/env bash
# `make demo`: the stack up, the shop's services up (both idempotent), then the
# demo driver (tools/demo) places a few hundred orders over gRPC, confirms,
# ships and cancels some, waits for the read models and prints a summary.
#
#   ci/demo.sh [demo flags...]     e.g. ci/demo.sh -orders 500 -concurrency 32
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
start=$SECONDS
"$here/stack.sh" up
"$here/run.sh" up
eval "$("$here/stack.sh" env)"
root=$(cd "$here/.." && pwd)
echo "demo: stack and services ready in $((SECONDS - start))s"
"$root/.local/bin/demo" "$@"
echo "demo: done in $((SECONDS - start))s (services keep running; \`make down\` stops everything)"
