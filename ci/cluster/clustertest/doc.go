// Package clustertest holds the failure tests that need the 3-node Kafka
// cluster and the PostgreSQL read replica of ci/cluster.sh: a broker killed
// under load, the leader of events.order killed mid-batch, the replica
// stopped and restarted. They are behind the build tag "cluster" so that
// `make test` (single node) does not run them; `make test-cluster` does
// (ci/cluster/test.sh).
package clustertest
