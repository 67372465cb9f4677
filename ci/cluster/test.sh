#!/usr/bin/env bash
# make test-cluster: the failure tests of ci/cluster/clustertest against the
# single-node stack (registry, primary PostgreSQL) plus the cluster
# (ci/cluster.sh: three Kafka nodes, the read replica). Both must be up
# (`make up CLUSTER=3`). CI is exported, so a missing server fails the tests.
#
#   ci/cluster/test.sh [go test flags...]     e.g. -run TestReplica
#
# CLUSTER_TEST_TIMEOUT (default 14m) bounds the whole run; CLUSTER_TEST_RACE=
# (empty) drops -race.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
eval "$(ci/stack.sh env)"
eval "$(ci/cluster.sh env)"
export CI=${CI:-1}
# shellcheck disable=SC2086 # CLUSTER_TEST_RACE is a flag or nothing
exec go test -tags cluster -count=1 -p 1 ${CLUSTER_TEST_RACE--race} \
	-timeout "${CLUSTER_TEST_TIMEOUT:-14m}" -v ./ci/cluster/clustertest/ "$@"
