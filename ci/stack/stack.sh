#!/usr/bin/env bash
# The local stack: PostgreSQL, Kafka and Strata's schema registry on 127.0.0.1,
# data and logs under .local/, downloads cached in ${XDG_CACHE_HOME:-~/.cache}/strata.
#
#   ci/stack.sh up [COMPONENT...]     start what is down, leave what is healthy alone
#   ci/stack.sh down [COMPONENT...]   stop services (.local/run/*.pid), then the stack
#   ci/stack.sh status                health of each component and service; non-zero if any is down
#   ci/stack.sh env                   export lines for DATABASE_URL, KAFKA_BROKERS,
#                                     SCHEMA_REGISTRY_URL, SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO,
#                                     then every .local/run/*.env
#
# STRATA_PROJECT=DIR runs the stack for the project in DIR (data in DIR/.local;
# `strata dev` sets it); by default the project is this repository.
#
# A component is a file ci/stack/<name>.sh defining <name>_status (0 = process
# alive and answering), <name>_start, <name>_stop, <name>_where and <name>_log;
# COMPONENTS below lists them in start order. See ci/README.md.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ci/stack/common.sh
source "$here/common.sh"

COMPONENTS=(postgres kafka registry)
# What each component needs up before it can start.
declare -A NEEDS=([registry]=postgres)

for c in "${COMPONENTS[@]}"; do
	# shellcheck source=/dev/null
	source "$here/$c.sh"
done

usage() {
	sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# lock: one `up`/`down` at a time (engineers and test runs share the work tree).
lock() {
	mkdir -p "$RUN"
	exec 9>"$RUN/stack.lock"
	if ! flock -n 9; then
		say stack "another ci/stack.sh up/down is running; waiting for it (up to 600s)"
		flock -w 600 9 || {
			say stack "FAILED: still locked after 600s ($RUN/stack.lock)" >&2
			exit 1
		}
	fi
}

# check_names NAME...: exit 2 on a name that is not a component.
check_names() {
	local c
	for c in "$@"; do
		[[ " ${COMPONENTS[*]} " == *" $c "* ]] || {
			echo "ci/stack.sh: unknown component '$c' (known: ${COMPONENTS[*]})" >&2
			exit 2
		}
	done
}

# selected [NAME...]: the named components, or all of them, in start order.
selected() {
	if (($# == 0)); then
		printf '%s\n' "${COMPONENTS[@]}"
		return
	fi
	printf '%s\n' "$@"
}

cmd_up() {
	check_names "$@"
	lock
	local started=() failed=() c start=$SECONDS t
	for c in $(selected "$@"); do
		if "${c}_status"; then
			say "$c" "up ($("${c}_where"))"
			continue
		fi
		local need=${NEEDS[$c]:-}
		if [[ -n $need && " ${failed[*]} " == *" $need "* ]]; then
			say "$c" "FAILED: not started because $need is down" >&2
			failed+=("$c")
			continue
		fi
		t=$SECONDS
		say "$c" "down; starting"
		if "${c}_start"; then
			say "$c" "up ($("${c}_where")) after $((SECONDS - t))s"
			started+=("$c")
		else
			failed+=("$c")
		fi
	done
	if ((${#failed[@]})); then
		say stack "FAILED: ${failed[*]} (see the log lines above); $((SECONDS - start))s" >&2
		return 1
	fi
	if ((${#started[@]} == 0)); then
		say stack "everything already up; nothing to do"
	else
		say stack "up in $((SECONDS - start))s (started: ${started[*]})"
	fi
}

# Services started by `make run` leave .local/run/<name>.pid (and <name>.env).
service_pidfiles() {
	local f name
	for f in "$RUN"/*.pid; do
		[[ -e $f ]] || continue
		name=$(basename "$f" .pid)
		[[ " ${COMPONENTS[*]} " == *" $name "* ]] && continue
		echo "$f"
	done
}

cmd_down() {
	check_names "$@"
	lock
	local f name pid rc=0 i
	if (($# == 0)); then
		for f in $(service_pidfiles); do
			name=$(basename "$f" .pid)
			if pid=$(pid_from "$f"); then
				stop_pid "$name" "$pid" 20
			fi
			rm -f "$f" "$RUN/$name.env"
		done
	fi
	local comps
	mapfile -t comps < <(selected "$@")
	for ((i = ${#comps[@]} - 1; i >= 0; i--)); do
		"${comps[i]}_stop" || rc=1
	done
	((rc == 0)) && say stack "down (data kept in $LOCAL)"
	return $rc
}

cmd_status() {
	local c rc=0 f name pid
	for c in "${COMPONENTS[@]}"; do
		if "${c}_status"; then
			say "$c" "up ($("${c}_where"))"
		else
			say "$c" "DOWN (log $("${c}_log"))"
			rc=1
		fi
	done
	for f in $(service_pidfiles); do
		name=$(basename "$f" .pid)
		if pid=$(pid_from "$f") && pid_alive "$pid"; then
			say "$name" "up (pid $pid)"
		else
			say "$name" "DOWN (stale pid file $f)"
			rc=1
		fi
	done
	return $rc
}

cmd_env() {
	cat <<EOF
export DATABASE_URL='$DATABASE_URL'
export KAFKA_BROKERS='$KAFKA_BROKERS'
export SCHEMA_REGISTRY_URL='$SCHEMA_REGISTRY_URL'
export SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO='$REGISTRY_USER_INFO'
EOF
	local f
	for f in "$RUN"/*.env; do
		[[ -e $f ]] && cat "$f"
	done
	return 0
}

cd "$ROOT" || exit 1
case ${1:-} in
up | down | status | env)
	cmd=$1
	shift
	"cmd_$cmd" "$@"
	;;
*) usage ;;
esac
