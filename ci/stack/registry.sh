# shellcheck shell=bash
# Component "registry": Strata's own Confluent-compatible schema registry,
# `strata registry serve`, backed by the PostgreSQL database strata_registry,
# with basic auth on (REGISTRY_USER_INFO in common.sh, passed by environment).
#
# Layout: binary .local/bin/strata (built from ./tools/strata on each start),
# log .local/registry/registry.log, pid .local/run/registry.pid.

REGISTRY_AREA=$LOCAL/registry
REGISTRY_LOG=$REGISTRY_AREA/registry.log
REGISTRY_PID=$RUN/registry.pid

registry_where() { echo "$SCHEMA_REGISTRY_URL"; }
registry_log() { echo "$REGISTRY_LOG"; }

# registry_get PATH: the HTTP status of an authenticated GET (the credentials
# go to curl on stdin, not on its command line).
registry_get() {
	printf 'user = "%s"\n' "$REGISTRY_USER_INFO" |
		curl -s -o /dev/null -m 3 -w '%{http_code}' -K - "$SCHEMA_REGISTRY_URL$1" 2>/dev/null
}

registry_answers() {
	local code
	code=$(registry_get /subjects) || return 1
	if [[ $code == 401 ]]; then
		say registry "answers 401 to the credentials of common.sh (a registry started with other credentials?)" >&2
	fi
	[[ $code == 200 ]]
}

registry_pid() {
	local pid
	pid=$(pid_from "$REGISTRY_PID") || return 1
	pid_alive "$pid" "registry" || return 1
	printf '%s' "$pid"
}

registry_status() {
	registry_pid >/dev/null && registry_answers
}

registry_start() {
	mkdir -p "$REGISTRY_AREA" "$RUN" "$BIN"
	local pid
	if pid=$(registry_pid); then
		say registry "running (pid $pid) but not answering; waiting up to 15s before restarting it"
		local i
		for ((i = 0; i < 15; i++)); do
			registry_answers && return 0
			pid_alive "$pid" registry || break
			sleep 1
		done
		stop_pid registry "$pid" 10
	fi
	rm -f "$REGISTRY_PID"
	if port_open "$REGISTRY_HOST" "$REGISTRY_PORT"; then
		fail registry "" "port $REGISTRY_HOST:$REGISTRY_PORT is taken by another process: $(ss -ltnpH "sport = :$REGISTRY_PORT" 2>/dev/null | head -1)"
		return
	fi
	rotate_log "$REGISTRY_LOG"
	if [[ -n ${STRATA_BIN:-} ]]; then
		# `strata dev up`: the CLI that runs these scripts serves the registry.
		cp -f "$STRATA_BIN" "$BIN/strata" || {
			fail registry "" "cannot copy $STRATA_BIN to $BIN/strata"
			return
		}
	else
		say registry "building $BIN/strata from ./tools/strata"
		if ! (cd "$ROOT" && go build -ldflags "$(go_ldflags)" -o "$BIN/strata" ./tools/strata) >>"$REGISTRY_LOG" 2>&1; then
			fail registry "$REGISTRY_LOG" "go build ./tools/strata failed"
			return
		fi
	fi
	say registry "starting strata registry serve on $REGISTRY_HOST:$REGISTRY_PORT (log $REGISTRY_LOG)"
	# Secrets by environment, never argv (ps shows argv).
	REGISTRY_BASIC_AUTH_USER_INFO=$REGISTRY_USER_INFO REGISTRY_DATABASE_URL=$REGISTRY_DATABASE_URL \
		setsid nohup "$BIN/strata" registry serve --addr "$REGISTRY_HOST:$REGISTRY_PORT" \
		>>"$REGISTRY_LOG" 2>&1 </dev/null 9>&- &
	pid=$!
	echo "$pid" >"$REGISTRY_PID"
	local deadline=$((SECONDS + REGISTRY_START_TIMEOUT))
	while ((SECONDS < deadline)); do
		if ! pid_alive "$pid"; then
			rm -f "$REGISTRY_PID"
			fail registry "$REGISTRY_LOG" "strata registry serve exited during startup"
			return
		fi
		registry_answers && return 0
		sleep 0.5
	done
	fail registry "$REGISTRY_LOG" "GET $SCHEMA_REGISTRY_URL/subjects did not answer 200 within ${REGISTRY_START_TIMEOUT}s (pid $pid still running)"
}

registry_stop() {
	local pid
	pid=$(registry_pid) || {
		rm -f "$REGISTRY_PID"
		return 0
	}
	stop_pid registry "$pid" 15
	rm -f "$REGISTRY_PID"
}
