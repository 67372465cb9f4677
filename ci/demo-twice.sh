#!/usr/bin/env bash
# ci/demo-twice.sh: what a new user does on a fresh machine, twice over:
# `make demo`, `make down`, `make demo`, then `ci/run.sh stop` and `make demo`
# once more. Each demo must pass: services that stop leave their consumer
# groups, and a restarted consumer service reports itself ready (and the demo
# starts) only once its partitions are assigned. A run that stalls (the read
# models of the second demo not moving) fails the demo's own checks.
#
#   ci/demo-twice.sh [demo flags...]    default: -orders 60
#
# It stops and starts the whole local stack: run it on a stack of your own
# (CI runs it as the last step of ci/test.sh and brings the stack back up).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
args=("$@")
((${#args[@]})) || args=(-orders 60)
start=$SECONDS
step() { echo "demo-twice: $* ($((SECONDS - start))s)"; }

step "demo 1"
"$here/demo.sh" "${args[@]}"
step "make down"
"$here/stack.sh" down
step "demo 2 (after make down)"
"$here/demo.sh" "${args[@]}"
step "ci/run.sh stop"
"$here/run.sh" stop
step "demo 3 (after ci/run.sh stop)"
"$here/demo.sh" "${args[@]}"
"$here/run.sh" stop
step "passed"
