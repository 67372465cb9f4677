#!/usr/bin/env bash
# The local cluster, BESIDE the single-node stack (ci/stack.sh), never instead of it:
# three Kafka KRaft nodes (each broker and controller, a 3-voter quorum) and a
# PostgreSQL streaming replica of the stack's PostgreSQL, all on 127.0.0.1.
#
#   ci/cluster.sh up [NODE...]      start what is down (needs `make up` first)
#   ci/cluster.sh down [NODE...]    stop nodes; data stays in .local/cluster
#   ci/cluster.sh status            one line per node; non-zero if any is down
#   ci/cluster.sh env               export lines: KAFKA_BROKERS (the cluster),
#                                   READ_DATABASE_URL (the replica), topic defaults
#   ci/cluster.sh pid NODE          the pid of a running node (for fault tests)
#   ci/cluster.sh clean             down, remove .local/cluster and the replica's slot
#
# Nodes: kafka-1 kafka-2 kafka-3 (brokers 127.0.0.1:19092..19094, controllers
# 127.0.0.1:19192..19194) and pg-replica (127.0.0.1:55433). Only CLUSTER=3 exists.
# See docs/cluster.md.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ci/stack/common.sh
source "$here/stack/common.sh"
# shellcheck source=ci/stack/kafka.sh
source "$here/stack/kafka.sh"    # kafka_fetch: the jars the stack caches
# shellcheck source=ci/stack/postgres.sh
source "$here/stack/postgres.sh" # as_pg, psql_admin, the primary's paths

if [[ -n ${CLUSTER:-} && ${CLUSTER} != 3 ]]; then
	echo "ci/cluster.sh: CLUSTER=$CLUSTER is not supported (only 3)" >&2
	exit 2
fi

CL_AREA=$LOCAL/cluster
CL_RUN=$CL_AREA/run
CL_NODES=(1 2 3)
CL_HOST=127.0.0.1
CL_BROKER_BASE=19091     # node n: broker 19091+n, controller 19191+n
CL_CONTROLLER_BASE=19191
CL_KAFKA_HEAP_OPTS=${CLUSTER_KAFKA_HEAP_OPTS:--Xms384m -Xmx384m}
CL_PARTITIONS=${CLUSTER_PARTITIONS:-3}
CL_START_TIMEOUT=${CLUSTER_START_TIMEOUT:-120}
CL_BROKERS=$(for n in "${CL_NODES[@]}"; do printf '%s:%d,' "$CL_HOST" $((CL_BROKER_BASE + n)); done)
CL_BROKERS=${CL_BROKERS%,}
CL_VOTERS=$(for n in "${CL_NODES[@]}"; do printf '%d@%s:%d,' "$n" "$CL_HOST" $((CL_CONTROLLER_BASE + n)); done)
CL_VOTERS=${CL_VOTERS%,}

REPLICA_PORT=55433
REPLICA_SLOT=strata_cluster_replica
READ_DATABASE_URL="postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$REPLICA_PORT/strata?sslmode=disable"

usage() {
	sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

lock() {
	mkdir -p "$CL_RUN"
	exec 9>"$CL_RUN/cluster.lock"
	flock -w 600 9 || {
		say cluster "FAILED: still locked after 600s ($CL_RUN/cluster.lock)" >&2
		exit 1
	}
}

# --- Kafka nodes ---------------------------------------------------------------

node_dir() { echo "$CL_AREA/kafka-$1"; }
node_port() { echo $((CL_BROKER_BASE + $1)); }
node_log() { echo "$(node_dir "$1")/log/server.log"; }
node_pidfile() { echo "$CL_RUN/kafka-$1.pid"; }

node_pid() {
	local pid
	pid=$(pid_from "$(node_pidfile "$1")") || return 1
	pid_alive "$pid" "$KAFKA_MAIN" || return 1
	# the pid must be ours: its command line names this node's properties file
	pid_alive "$pid" "$(node_dir "$1")/server.properties" || return 1
	printf '%s' "$pid"
}

node_answers() {
	port_open "$CL_HOST" "$(node_port "$1")" || return 1
	python3 "$ROOT/ci/stack/kafka_ping.py" "$CL_HOST:$(node_port "$1")" 5 >/dev/null 2>&1
}

node_status() { node_pid "$1" >/dev/null && node_answers "$1"; }

node_config() {
	local n=$1 d
	d=$(node_dir "$n")
	mkdir -p "$d/data" "$d/log"
	cat >"$d/server.properties" <<EOF
# Written by ci/cluster.sh on every start; edit that file, not this one.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$CL_VOTERS
listeners=PLAINTEXT://$CL_HOST:$(node_port "$n"),CONTROLLER://$CL_HOST:$((CL_CONTROLLER_BASE + n))
advertised.listeners=PLAINTEXT://$CL_HOST:$(node_port "$n")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$d/data

# Replication: every topic (auto-created or not) gets 3 replicas, and a write
# with acks=all needs 2 of them in sync, so one node may be down at any time.
auto.create.topics.enable=true
delete.topic.enable=true
num.partitions=$CL_PARTITIONS
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=3
num.replica.fetchers=1
log.retention.hours=24
EOF
	cp "$KAFKA_AREA/log4j2.properties" "$d/log4j2.properties" 2>/dev/null || kafka_config_log4j "$d"
}

# kafka_config_log4j DIR: the broker logs to stdout (its server.log), INFO.
kafka_config_log4j() {
	cat >"$1/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d{ISO8601}{UTC}Z] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
}

node_format() {
	local n=$1 d id
	d=$(node_dir "$n")
	[[ -f $d/data/meta.properties ]] && return 0
	if [[ ! -s $CL_AREA/cluster.id ]]; then
		id=$(java -Xmx128m -XX:TieredStopAtLevel=1 -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null) || {
			fail "kafka-$n" "" "kafka-storage random-uuid failed"
			return
		}
		echo "$id" >"$CL_AREA/cluster.id"
	fi
	id=$(<"$CL_AREA/cluster.id")
	say "kafka-$n" "formatting $d/data (cluster id $id)"
	java -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$d/log4j2.properties" \
		-cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format --ignore-formatted -t "$id" \
		-c "$d/server.properties" >>"$(node_log "$n")" 2>&1 ||
		fail "kafka-$n" "$(node_log "$n")" "kafka-storage format failed"
}

# node_launch N: start node N in the background (no waiting).
node_launch() {
	local n=$1 d pid port
	d=$(node_dir "$n")
	if pid=$(node_pid "$n"); then
		say "kafka-$n" "running (pid $pid) but not answering; waiting up to ${CL_START_TIMEOUT}s for it"
		return 0
	fi
	for port in "$(node_port "$n")" $((CL_CONTROLLER_BASE + n)); do
		if port_open "$CL_HOST" "$port"; then
			fail "kafka-$n" "" "port $CL_HOST:$port is taken: $(ss -ltnpH "sport = :$port" 2>/dev/null | head -1)"
			return
		fi
	done
	node_config "$n"
	rotate_log "$(node_log "$n")"
	node_format "$n" || return
	say "kafka-$n" "starting on $CL_HOST:$(node_port "$n") (log $(node_log "$n"))"
	# shellcheck disable=SC2086 # CL_KAFKA_HEAP_OPTS is a list of JVM flags
	setsid nohup java $CL_KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
		-Dlog4j2.configurationFile="$d/log4j2.properties" -Dkafka.logs.dir="$d/log" \
		-cp "$KAFKA_LIBS/*" "$KAFKA_MAIN" "$d/server.properties" \
		>>"$(node_log "$n")" 2>&1 </dev/null 9>&- &
	echo $! >"$(node_pidfile "$n")"
}

node_wait() {
	local n=$1 deadline=$((SECONDS + CL_START_TIMEOUT)) pid
	# Liveness by pid alone: right after the fork the process may not have
	# exec'd java yet, so its command line does not name kafka.Kafka.
	pid=$(pid_from "$(node_pidfile "$n")") || {
		fail "kafka-$n" "$(node_log "$n")" "no pid file"
		return
	}
	while ((SECONDS < deadline)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$(node_pidfile "$n")"
			fail "kafka-$n" "$(node_log "$n")" "the node exited during startup"
			return
		fi
		node_answers "$n" && return 0
		sleep 1
	done
	fail "kafka-$n" "$(node_log "$n")" "no metadata answer within ${CL_START_TIMEOUT}s (pid $pid)"
}

# nodes_stop N...: SIGTERM every node at once, then wait (60s) and SIGKILL
# what is left. One at a time, the last node's controlled shutdown would wait
# for a quorum that is already gone.
nodes_stop() {
	local n pid pids=() i
	for n in "$@"; do
		if pid=$(node_pid "$n"); then
			say "kafka-$n" "stopping (pid $pid)"
			kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
			pids+=("$n:$pid")
		fi
	done
	for ((i = 0; i < 240; i++)); do
		local alive=0 p
		for p in "${pids[@]}"; do kill -0 "${p#*:}" 2>/dev/null && alive=1; done
		((alive)) || break
		sleep 0.25
	done
	for p in "${pids[@]}"; do
		if kill -0 "${p#*:}" 2>/dev/null; then
			say "kafka-${p%%:*}" "did not stop within 60s, killing (pid ${p#*:})"
			kill -KILL -- "-${p#*:}" 2>/dev/null || kill -KILL "${p#*:}" 2>/dev/null || true
		fi
	done
	for n in "$@"; do rm -f "$(node_pidfile "$n")"; done
}

# --- PostgreSQL replica ----------------------------------------------------------

# replica_paths: like the primary, the replica lives where the postgres user can
# write: next to the primary's area (which may be /var/lib/strata/<hash>/pg).
replica_paths() {
	REPLICA_AREA=$(dirname "$PG_AREA")/pg-replica
	[[ $PG_AREA == "$LOCAL/pg" ]] && REPLICA_AREA=$CL_AREA/pg-replica
	REPLICA_DATA=$REPLICA_AREA/data
	REPLICA_SOCKET_DIR=$REPLICA_AREA/run
	REPLICA_LOG=$REPLICA_AREA/postgres.log
}
replica_paths

replica_running() {
	local pid
	pid=$(pid_from "$REPLICA_DATA/postmaster.pid" 2>/dev/null) || return 1
	pid_alive "$pid" postgres
}

replica_answers() {
	local r
	r=$(PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -q -tA \
		-h "$PG_HOST" -p "$REPLICA_PORT" -U "$PG_USER" -d strata -c "SELECT pg_is_in_recovery()" 2>/dev/null) || return 1
	[[ $r == t ]]
}

replica_status() { replica_running && replica_answers; }

replica_config() {
	as_pg tee "$REPLICA_DATA/strata.conf" >/dev/null <<EOF
# Written by ci/cluster.sh on every start: the replica's own settings (the copy
# of the primary's strata.conf that pg_basebackup brought is replaced).
listen_addresses = '$PG_HOST'
port = $REPLICA_PORT
unix_socket_directories = '$REPLICA_SOCKET_DIR'
max_connections = 300
shared_buffers = 128MB
wal_level = replica
max_wal_senders = 10
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 5s
wal_receiver_status_interval = 1s
fsync = on
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
EOF
}

# replica_basebackup: a physical replication slot on the primary (bounded by
# max_slot_wal_keep_size, so a replica that is gone for good cannot fill the
# primary's disk), then pg_basebackup -R (standby.signal, primary_conninfo).
replica_basebackup() {
	postgres_status || {
		fail pg-replica "" "the stack's PostgreSQL ($PG_HOST:$PG_PORT) is down; run make up first"
		return
	}
	say pg-replica "pg_basebackup from $PG_HOST:$PG_PORT into $REPLICA_DATA"
	psql_admin -c "ALTER SYSTEM SET max_slot_wal_keep_size = '2GB'" -c "SELECT pg_reload_conf()" >/dev/null &&
		psql_admin -c "SELECT pg_drop_replication_slot('$REPLICA_SLOT') FROM pg_replication_slots WHERE slot_name = '$REPLICA_SLOT' AND NOT active" >/dev/null ||
		{
			fail pg-replica "" "preparing the primary (slot $REPLICA_SLOT) failed"
			return
		}
	as_pg rm -rf "$REPLICA_DATA"
	as_pg env PGPASSWORD="$PG_PASSWORD" "$PG_BIN/pg_basebackup" -d "host=$PG_HOST port=$PG_PORT user=$PG_USER application_name=strata_cluster_replica" \
		-D "$REPLICA_DATA" -X stream -R -C -S "$REPLICA_SLOT" --checkpoint=fast >>"$REPLICA_LOG" 2>&1 || {
		as_pg rm -rf "$REPLICA_DATA"
		fail pg-replica "$REPLICA_LOG" "pg_basebackup failed"
		return
	}
	# -R wrote primary_conninfo without application_name in some versions; make it explicit.
	as_pg tee -a "$REPLICA_DATA/postgresql.auto.conf" >/dev/null <<EOF
primary_conninfo = 'host=$PG_HOST port=$PG_PORT user=$PG_USER password=$PG_PASSWORD application_name=strata_cluster_replica'
primary_slot_name = '$REPLICA_SLOT'
EOF
}

replica_area() {
	if [[ $EUID -eq 0 ]]; then
		mkdir -p "$REPLICA_AREA"
		chown postgres:postgres "$REPLICA_AREA"
		if [[ $REPLICA_AREA != "$CL_AREA/pg-replica" ]]; then
			ln -sfn "$REPLICA_AREA" "$CL_AREA/pg-replica"
		fi
	else
		mkdir -p "$REPLICA_AREA"
	fi
	as_pg mkdir -p "$REPLICA_SOCKET_DIR"
	as_pg touch "$REPLICA_LOG"
}

replica_start() {
	[[ -x $PG_BIN/pg_basebackup ]] || {
		fail pg-replica "" "$PG_BIN/pg_basebackup is missing (make up installs postgresql-$PG_MAJOR)"
		return
	}
	mkdir -p "$CL_AREA"
	replica_area || return
	if replica_running; then
		say pg-replica "running but not answering; waiting up to 30s"
		local i
		for ((i = 0; i < 30; i++)); do
			replica_answers && return 0
			sleep 1
		done
		as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -m fast -w -t 30 stop >>"$REPLICA_LOG" 2>&1 || true
	fi
	# A replica of an earlier primary (the stack's PostgreSQL was re-initialised)
	# can never stream from this one: take a new base backup.
	if [[ -f $REPLICA_DATA/standby.signal ]] && postgres_status; then
		local mine theirs
		mine=$(as_pg "$PG_BIN/pg_controldata" -D "$REPLICA_DATA" 2>/dev/null | sed -n 's/^Database system identifier: *//p')
		theirs=$(psql_admin -tA -c "SELECT system_identifier FROM pg_control_system()" 2>/dev/null)
		if [[ -n $mine && -n $theirs && $mine != "$theirs" ]]; then
			say pg-replica "the primary's system identifier changed ($mine -> $theirs); new base backup"
			as_pg rm -f "$REPLICA_DATA/standby.signal"
		fi
	fi
	if [[ ! -f $REPLICA_DATA/standby.signal ]]; then
		replica_basebackup || return
	fi
	if port_open "$PG_HOST" "$REPLICA_PORT"; then
		fail pg-replica "" "port $PG_HOST:$REPLICA_PORT is taken: $(ss -ltnpH "sport = :$REPLICA_PORT" 2>/dev/null | head -1)"
		return
	fi
	replica_config
	say pg-replica "starting on $PG_HOST:$REPLICA_PORT (log $REPLICA_LOG)"
	as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -l "$REPLICA_LOG" -w -t "$PG_START_TIMEOUT" start >/dev/null 2>&1 || {
		fail pg-replica "$REPLICA_LOG" "pg_ctl start failed"
		return
	}
	local i
	for ((i = 0; i < 30; i++)); do
		replica_answers && return 0
		sleep 1
	done
	fail pg-replica "$REPLICA_LOG" "started but does not answer as a standby"
}

replica_stop() {
	replica_running || return 0
	say pg-replica "stopping"
	as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -m fast -w -t 60 stop >>"$REPLICA_LOG" 2>&1 ||
		fail pg-replica "$REPLICA_LOG" "pg_ctl stop failed"
}

replica_pid() {
	replica_running || return 1
	pid_from "$REPLICA_DATA/postmaster.pid"
}

# --- commands ----------------------------------------------------------------------

ALL=(kafka-1 kafka-2 kafka-3 pg-replica)

check_names() {
	local c
	for c in "$@"; do
		[[ " ${ALL[*]} " == *" $c "* ]] || {
			echo "ci/cluster.sh: unknown node '$c' (known: ${ALL[*]})" >&2
			exit 2
		}
	done
}

selected() {
	if (($# == 0)); then printf '%s\n' "${ALL[@]}"; else printf '%s\n' "$@"; fi
}

cmd_up() {
	check_names "$@"
	lock
	local start=$SECONDS c n launched=() failed=()
	need_java cluster || return
	kafka_fetch || return
	mkdir -p "$CL_AREA" "$CL_RUN"
	# Kafka nodes start together: a node answers only once a quorum (2 of 3) is up.
	for c in $(selected "$@"); do
		[[ $c == kafka-* ]] || continue
		n=${c#kafka-}
		if node_status "$n"; then
			say "$c" "up ($CL_HOST:$(node_port "$n"))"
			continue
		fi
		node_launch "$n" && launched+=("$n") || failed+=("$c")
	done
	if ((${#launched[@]})); then
		say cluster "waiting up to ${CL_START_TIMEOUT}s for kafka-${launched[*]} to answer"
	fi
	for n in "${launched[@]}"; do
		if node_wait "$n"; then
			say "kafka-$n" "up ($CL_HOST:$(node_port "$n")) after $((SECONDS - start))s"
		else
			failed+=("kafka-$n")
		fi
	done
	if [[ " $(selected "$@" | tr '\n' ' ') " == *" pg-replica "* ]]; then
		if replica_status; then
			say pg-replica "up ($PG_HOST:$REPLICA_PORT)"
		elif replica_start; then
			say pg-replica "up ($PG_HOST:$REPLICA_PORT) after $((SECONDS - start))s"
		else
			failed+=(pg-replica)
		fi
	fi
	if ((${#failed[@]})); then
		say cluster "FAILED: ${failed[*]}; $((SECONDS - start))s" >&2
		return 1
	fi
	say cluster "up in $((SECONDS - start))s (brokers $CL_BROKERS, replica $PG_HOST:$REPLICA_PORT)"
}

cmd_down() {
	check_names "$@"
	lock
	local c rc=0 nodes=()
	for c in $(selected "$@"); do
		case $c in
		kafka-*) nodes+=("${c#kafka-}") ;;
		pg-replica) replica_stop || rc=1 ;;
		esac
	done
	((${#nodes[@]})) && { nodes_stop "${nodes[@]}" || rc=1; }
	((rc == 0)) && say cluster "down (data kept in $CL_AREA)"
	return $rc
}

cmd_status() {
	local n rc=0 lag
	for n in "${CL_NODES[@]}"; do
		if node_status "$n"; then
			say "kafka-$n" "up ($CL_HOST:$(node_port "$n"), pid $(node_pid "$n"))"
		else
			say "kafka-$n" "DOWN (log $(node_log "$n"))"
			rc=1
		fi
	done
	if replica_status; then
		lag=$(PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -q -tA -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d strata \
			-c "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), -1)::bigint || ' bytes behind, state ' || state FROM pg_stat_replication WHERE application_name = 'strata_cluster_replica'" 2>/dev/null)
		say pg-replica "up ($PG_HOST:$REPLICA_PORT${lag:+, $lag})"
	else
		say pg-replica "DOWN (log $REPLICA_LOG)"
		rc=1
	fi
	return $rc
}

cmd_env() {
	cat <<EOF
export KAFKA_BROKERS='$CL_BROKERS'
export READ_DATABASE_URL='$READ_DATABASE_URL'
export KAFKA_REPLICATION_FACTOR=3
export KAFKA_MIN_INSYNC_REPLICAS=2
export KAFKA_PARTITIONS=$CL_PARTITIONS
EOF
}

cmd_pid() {
	check_names "$1"
	case $1 in
	kafka-*) node_pid "${1#kafka-}" ;;
	pg-replica) replica_pid ;;
	esac
}

cmd_clean() {
	cmd_down || return
	if postgres_status; then
		psql_admin -c "SELECT pg_drop_replication_slot('$REPLICA_SLOT') FROM pg_replication_slots WHERE slot_name = '$REPLICA_SLOT'" >/dev/null || true
	fi
	# outside the work tree (see replica_paths) only the postgres user's area goes
	[[ $REPLICA_AREA != "$CL_AREA/pg-replica" ]] && as_pg rm -rf "$REPLICA_AREA"
	rm -rf "$CL_AREA"
	say cluster "removed $CL_AREA and the replication slot $REPLICA_SLOT"
}

cd "$ROOT" || exit 1
case ${1:-} in
up | down | status | env | clean)
	cmd=$1
	shift
	"cmd_$cmd" "$@"
	;;
pid)
	[[ $# == 2 ]] || usage
	cmd_pid "$2"
	;;
*) usage ;;
esac
