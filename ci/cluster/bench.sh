#!/usr/bin/env bash
# The numbers of docs/benchmarks/cluster.md: the existing runners
# (ci/bench/messaging, ci/bench/commands) run against the single Kafka broker
# of ci/stack.sh and against the 3-node cluster of ci/cluster.sh, one after the
# other, same machine, same PostgreSQL and registry. Each run's full section is
# kept in .local/cluster/bench/<runner>-<target>.md; nothing here asserts on
# timings. Needs `make up CLUSTER=3`.
#
#   ci/cluster/bench.sh              messaging (-events 20000 -rounds 3) and commands
#                                    (-max-rate 40: the same sustained rate on both), both targets
#   MESSAGING_FLAGS=-quick COMMANDS_FLAGS="-max-rate 60" ROUNDS=2 ci/cluster/bench.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
eval "$(ci/stack.sh env)"
single=$KAFKA_BROKERS
cluster=$(ci/cluster.sh env | sed -n "s/^export KAFKA_BROKERS='\(.*\)'$/\1/p")
out=.local/cluster/bench
mkdir -p "$out"
go build -o "$out/messaging" ./ci/bench/messaging
go build -o "$out/commands" ./ci/bench/commands
# shellcheck disable=SC2206 # flags are meant to split
mflags=(${MESSAGING_FLAGS:--events 20000 -rounds 3 -latency-for 5s -encodes 20000})
# shellcheck disable=SC2206
cflags=(${COMMANDS_FLAGS:--max-rate 40})
for ((round = 1; round <= ${ROUNDS:-1}; round++)); do
	for runner in messaging commands; do
		for target in cluster single; do
			if [[ $target == cluster ]]; then b=$cluster rf=3; else b=$single rf=1; fi
			if [[ $runner == messaging ]]; then flags=("${mflags[@]}"); else flags=("${cflags[@]}"); fi
			echo "== round $round: $runner on $target ($b, topics RF $rf) $(date -u +%T)" >&2
			KAFKA_BROKERS=$b KAFKA_REPLICATION_FACTOR=$rf "$out/$runner" "${flags[@]}" \
				-out "$out/$runner-$target-$round.md" >"$out/$runner-$target-$round.log" 2>&1 ||
				{
					echo "bench: $runner on $target failed; see $out/$runner-$target-$round.log" >&2
					exit 1
				}
		done
	done
done
grep -H -E '^\| (strata relay|relay /|command -> read model|PlaceOrder over)' "$out"/*.md
