#!/usr/bin/env bash
# `make run`: build the shop's binaries into .local/bin and start its services
# in the background against the local stack (`make up`), idempotently.
#
#   ci/run.sh [up]     start every service that is not running (default)
#   ci/run.sh stop     stop the services (the stack stays up; `make down` stops both)
#   ci/run.sh status   one line per service
#
# Each service leaves .local/run/<name>.pid (its process group leader, started
# with setsid) and .local/run/<name>.env (export lines with its addresses, read
# by `make env`); logs go to .local/log/<name>.log. `ci/stack.sh down` stops
# every pid it finds in .local/run.
#
# Adding a service: append a line to SERVICES below ("name|binary|args") and, if
# it is a Go main, a line to BUILDS ("binary|package"). A service that writes
# its own env file gets --env-file (see services/order/main.go).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ci/stack/common.sh
source "$here/stack/common.sh"
LOG=$LOCAL/log
mkdir -p "$RUN" "$BIN" "$LOG"

export DATABASE_URL=${DATABASE_URL:-$DATABASE_URL}
export KAFKA_BROKERS=${KAFKA_BROKERS:-$KAFKA_BROKERS}
export SCHEMA_REGISTRY_URL=${SCHEMA_REGISTRY_URL:-$SCHEMA_REGISTRY_URL}
export SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=${SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO:-$REGISTRY_USER_INFO}
export ORDER_GRPC_ADDR=${ORDER_GRPC_ADDR:-127.0.0.1:50051}
export ORDER_METRICS_ADDR=${ORDER_METRICS_ADDR:-127.0.0.1:9465}
export QUERY_GRPC_ADDR=${QUERY_GRPC_ADDR:-127.0.0.1:50052}
export PROJECTOR_METRICS_ADDR=${PROJECTOR_METRICS_ADDR:-127.0.0.1:9466}
export PAYMENT_METRICS_ADDR=${PAYMENT_METRICS_ADDR:-127.0.0.1:9467}
export INVENTORY_METRICS_ADDR=${INVENTORY_METRICS_ADDR:-127.0.0.1:9468}
export SAGA_METRICS_ADDR=${SAGA_METRICS_ADDR:-127.0.0.1:9469}
export SHOPWEB_ADDR=${SHOPWEB_ADDR:-127.0.0.1:8090}
export CONSOLE_ADDR=${CONSOLE_ADDR:-127.0.0.1:8091}
# The console's token, kept in .local/console.token (mode 600) so it survives
# restarts; `make env` prints it with CONSOLE_ADDR. CONSOLE_ALLOW_WRITE=1 lets
# the console replay, retry and rebuild (read-only otherwise).
console_token() {
	local f=$LOCAL/console.token
	if [[ ! -s $f ]]; then
		(umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$f")
	fi
	cat "$f"
}
export CONSOLE_TOKEN=${CONSOLE_TOKEN:-$(console_token)}
console_write=
[[ ${CONSOLE_ALLOW_WRITE:-} == 1 ]] && console_write=--allow-write
# The demo's declined card (tools/demo/sagas.go): the saga cancels its orders.
export PAYMENT_DECLINE_CUSTOMERS=${PAYMENT_DECLINE_CUSTOMERS:-demo-declined}

# binary|go package
BUILDS=(
	"strata|./tools/strata"
	"order|./services/order"
	"projector|./services/projector"
	"payment|./services/payment"
	"inventory|./services/inventory"
	"saga|./services/saga"
	"shopweb|./services/shopweb"
	"demo|./tools/demo"
)

# name|binary|arguments (word-split). Start order matters: the relay first.
SERVICES=(
	"relay|strata|relay --progress 0 --metrics-addr ${RELAY_METRICS_ADDR:-127.0.0.1:9464} --env-file $RUN/relay.env"
	"order|order|--env-file $RUN/order.env"
	"projector|projector|--env-file $RUN/projector.env"
	"payment|payment|--env-file $RUN/payment.env"
	"inventory|inventory|--env-file $RUN/inventory.env"
	"saga|saga|--env-file $RUN/saga.env"
	"shopweb|shopweb|--env-file $RUN/shopweb.env"
	"console|projector|console $console_write --env-file $RUN/console.env"
)

build() {
	local b pkg start=$SECONDS ldflags
	ldflags=$(go_ldflags)
	for b in "${BUILDS[@]}"; do
		IFS='|' read -r bin pkg <<<"$b"
		(cd "$ROOT" && go build -ldflags "$ldflags" -o "$BIN/$bin" "$pkg") || { say run "FAILED: go build $pkg"; return 1; }
	done
	say run "built ${#BUILDS[@]} binaries into $BIN in $((SECONDS - start))s"
}

running() { # running NAME -> pid on stdout when alive
	local pid
	pid=$(pid_from "$RUN/$1.pid") || return 1
	pid_alive "$pid" "$BIN/" || return 1
	printf '%s' "$pid"
}

start_one() {
	local name=$1 bin=$2 args=$3 pid
	if pid=$(running "$name"); then
		say "$name" "already running (pid $pid)"
		return 0
	fi
	rm -f "$RUN/$name.env"
	# shellcheck disable=SC2086 # args are word-split on purpose
	setsid "$BIN/$bin" $args >>"$LOG/$name.log" 2>&1 </dev/null &
	echo $! >"$RUN/$name.pid"
	say "$name" "started (pid $!, log $LOG/$name.log)"
}

# wait_ready NAME: the process stays alive and, if it writes an env file, has
# written it (it does so once it listens and its consumer, if any, holds its
# partitions: a consumer service is not ready before it consumes).
wait_ready() {
	local name=$1 want_env=$2 i
	for ((i = 0; i < 240; i++)); do
		if ! running "$name" >/dev/null; then
			say "$name" "FAILED: exited; last log lines:"
			tail -n 20 "$LOG/$name.log" >&2
			return 1
		fi
		if [[ $want_env == no || -s $RUN/$name.env ]]; then
			return 0
		fi
		sleep 0.25
	done
	say "$name" "FAILED: not ready after 60s (log $LOG/$name.log; a consumer service waits for its group: \`strata consumers lag --group G\`)"
	return 1
}

cmd_up() {
	local hp down=()
	for hp in "$PG_HOST:$PG_PORT" "$KAFKA_HOST:$KAFKA_PORT" "$REGISTRY_HOST:$REGISTRY_PORT"; do
		(exec 3<>"/dev/tcp/${hp%:*}/${hp#*:}") 2>/dev/null || down+=("$hp")
	done
	if ((${#down[@]})); then
		say run "nothing listens on ${down[*]}: run \`make up\` first"
		return 1
	fi
	build || return 1
	# The deploy step: register the writer schemas (and set their levels)
	# before anything produces; the relay only looks schemas up.
	if ! (cd "$ROOT" && "$BIN/strata" schema register) >>"$LOG/schema-register.log" 2>&1; then
		say run "FAILED: strata schema register (log $LOG/schema-register.log):"
		tail -n 20 "$LOG/schema-register.log" >&2
		return 1
	fi
	say run "schemas registered (strata schema register; log $LOG/schema-register.log)"
	local s name bin args rc=0
	for s in "${SERVICES[@]}"; do
		IFS='|' read -r name bin args <<<"$s"
		start_one "$name" "$bin" "$args" || rc=1
	done
	for s in "${SERVICES[@]}"; do
		IFS='|' read -r name bin args <<<"$s"
		if [[ $args == *--env-file* ]]; then
			wait_ready "$name" yes || rc=1
		else
			sleep 0.5
			wait_ready "$name" no || rc=1
			[[ -s $RUN/$name.env ]] || echo "# $name: no listening address" >"$RUN/$name.env"
		fi
	done
	((rc == 0)) && say run "services up; \`make env\` prints their addresses"
	return $rc
}

cmd_stop() {
	local s name bin args pid
	for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
		IFS='|' read -r name bin args <<<"${SERVICES[i]}"
		if pid=$(pid_from "$RUN/$name.pid"); then
			stop_pid "$name" "$pid" 20
		fi
		rm -f "$RUN/$name.pid" "$RUN/$name.env"
	done
}

cmd_status() {
	local s name bin args pid rc=0
	for s in "${SERVICES[@]}"; do
		IFS='|' read -r name bin args <<<"$s"
		if pid=$(running "$name"); then
			say "$name" "up (pid $pid)"
		else
			say "$name" "DOWN"
			rc=1
		fi
	done
	return $rc
}

case ${1:-up} in
up) cmd_up ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
