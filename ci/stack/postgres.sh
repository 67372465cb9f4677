# shellcheck shell=bash
# Component "postgres": PostgreSQL 15 from Debian's packages, one cluster of our
# own (not Debian's default cluster) on 127.0.0.1:55432.
#
# Layout: .local/pg/{data,run,postgres.log}. PostgreSQL refuses to run as root,
# so when we are root the server runs as the `postgres` user; if that user cannot
# write below the work tree (a clone under /root, mode 0700), the cluster lives in
# /var/lib/strata/<hash of the repo path>/pg and .local/pg is a symlink to it.

PG_LINK=$LOCAL/pg

# postgres_paths: the server gets real paths, never ones through .local/pg when
# that is a symlink (the postgres user may not be allowed to traverse the work tree).
postgres_paths() {
	PG_AREA=$PG_LINK
	[[ -L $PG_LINK ]] && PG_AREA=$(readlink -m "$PG_LINK")
	PG_DATA=$PG_AREA/data
	PG_SOCKET_DIR=$PG_AREA/run
	PG_LOG=$PG_AREA/postgres.log
}
postgres_paths

postgres_where() { echo "$PG_HOST:$PG_PORT"; }
postgres_log() { echo "$PG_LOG"; }

# as_pg CMD...: run a PostgreSQL binary as the postgres user when we are root,
# from / so that it never needs to read an inaccessible working directory, and
# without fd 9 (ci/stack.sh's lock) so the server does not hold the lock.
as_pg() {
	if [[ $EUID -eq 0 ]]; then
		(cd / && runuser -u postgres -- "$@") 9>&-
	else
		(cd / && "$@") 9>&-
	fi
}

# psql_admin ARGS...: psql as the cluster's superuser over the Unix socket.
psql_admin() {
	as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres "$@"
}

# postgres_answers: the strata role logs in over TCP and both databases exist.
postgres_answers() {
	local n
	n=$(PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -q -tA \
		-h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d strata \
		-c "SELECT count(*) FROM pg_database WHERE datname IN ('strata', 'strata_registry')" 2>/dev/null) || return 1
	[[ $n == "${#PG_DATABASES[@]}" ]]
}

# postgres_running: the postmaster named in postmaster.pid is alive (a killed,
# not yet reaped postmaster is a zombie with no command line: not alive).
postgres_running() {
	local pid
	pid=$(pid_from "$PG_DATA/postmaster.pid" 2>/dev/null) || return 1
	pid_alive "$pid" postgres
}

postgres_status() {
	[[ -x $PG_BIN/postgres ]] || return 1
	postgres_running && postgres_answers
}

# postgres_wait_reaped: after a crash (kill -9) the dead postmaster stays a
# zombie until its parent reaps it, and a new postmaster refuses to start while
# the pid in postmaster.pid exists. Wait for the reaping (bounded); a zombie that
# nobody reaps is dead, so its stale postmaster.pid is removed.
postgres_wait_reaped() {
	local pid i
	pid=$(pid_from "$PG_DATA/postmaster.pid" 2>/dev/null) || return 0
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.5
	done
	if [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]]; then
		say postgres "postmaster $pid is dead but not reaped; removing its stale postmaster.pid"
		rm -f "$PG_DATA/postmaster.pid"
	fi
}

postgres_install() {
	[[ -x $PG_BIN/postgres ]] && return 0
	apt_install postgres "postgresql-$PG_MAJOR" || return
	[[ -x $PG_BIN/postgres ]] || fail postgres "" "postgresql-$PG_MAJOR installed but $PG_BIN/postgres is missing"
}

# postgres_area: make .local/pg a directory the server's user can write.
postgres_area() {
	mkdir -p "$LOCAL"
	if [[ $EUID -ne 0 ]]; then
		mkdir -p "$PG_LINK"
		postgres_paths
		return
	fi
	if [[ -L $PG_LINK ]]; then
		postgres_paths
		mkdir -p "$PG_AREA"
		chown postgres:postgres "$PG_AREA"
		return
	fi
	mkdir -p "$PG_LINK"
	chown postgres:postgres "$PG_LINK"
	if runuser -u postgres -- test -w "$PG_LINK" -a -x "$PG_LINK"; then
		postgres_paths
		return
	fi
	if [[ -n $(ls -A "$PG_LINK") ]]; then
		fail postgres "" "$PG_LINK is not writable by the postgres user and not empty; move it away"
		return
	fi
	local hash alt
	hash=$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
	alt=/var/lib/strata/$hash/pg
	mkdir -p "$alt"
	chmod 755 /var/lib/strata "/var/lib/strata/$hash"
	chown postgres:postgres "$alt"
	rmdir "$PG_LINK"
	ln -s "$alt" "$PG_LINK"
	postgres_paths
	say postgres "note: the postgres user cannot reach $ROOT; the cluster lives in $alt (.local/pg links to it)"
}

# postgres_config: our settings, rewritten on every start so edits here apply.
postgres_config() {
	local conf=$PG_DATA/strata.conf
	as_pg tee "$conf" >/dev/null <<EOF
# Written by ci/stack/postgres.sh on every start; edit that file, not this one.
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 300
shared_buffers = 256MB
wal_level = replica
max_wal_senders = 10
# Durable on purpose: benchmarks on this stack must be honest.
fsync = on
synchronous_commit = on
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
EOF
	grep -q "^include_if_exists = 'strata.conf'" "$PG_DATA/postgresql.conf" ||
		echo "include_if_exists = 'strata.conf'" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

postgres_bootstrap() {
	psql_admin <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
  END IF;
END
\$\$;
$(for db in "${PG_DATABASES[@]}"; do
		printf "SELECT 'CREATE DATABASE %s OWNER %s' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '%s')\\\\gexec\n" "$db" "$PG_USER" "$db"
	done)
EOF
}

postgres_start() {
	postgres_install || return
	postgres_area || return
	as_pg mkdir -p "$PG_SOCKET_DIR"
	as_pg touch "$PG_LOG"
	if [[ ! -f $PG_DATA/PG_VERSION ]]; then
		say postgres "initdb $PG_DATA"
		as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C \
			--auth-local=peer --auth-host=scram-sha-256 >>"$PG_LOG" 2>&1 ||
			{
				fail postgres "$PG_LOG" "initdb failed"
				return
			}
	fi
	if postgres_running; then
		# Alive but not answering: give it a moment (it may be starting), then restart.
		say postgres "running but not answering; waiting up to 30s before restarting it"
		local i
		for ((i = 0; i < 30; i++)); do
			postgres_answers && return 0
			postgres_running || break
			sleep 1
		done
		if postgres_running; then
			say postgres "restarting"
			as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >>"$PG_LOG" 2>&1 || true
		fi
	fi
	postgres_wait_reaped
	if port_open "$PG_HOST" "$PG_PORT"; then
		fail postgres "" "port $PG_HOST:$PG_PORT is taken by another process: $(ss -ltnpH "sport = :$PG_PORT" 2>/dev/null | head -1)"
		return
	fi
	postgres_config
	say postgres "starting on $PG_HOST:$PG_PORT (log $PG_LOG)"
	# A second try: after a crash, orphaned backends may hold the old shared
	# memory for a moment and the new postmaster refuses to start.
	if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_START_TIMEOUT" start >/dev/null 2>&1; then
		say postgres "pg_ctl start failed; retrying once in 3s"
		sleep 3
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_START_TIMEOUT" start >/dev/null 2>&1 ||
			{
				fail postgres "$PG_LOG" "pg_ctl start failed or timed out after ${PG_START_TIMEOUT}s"
				return
			}
	fi
	postgres_bootstrap >>"$PG_LOG" 2>&1 || {
		fail postgres "$PG_LOG" "creating role $PG_USER and databases ${PG_DATABASES[*]} failed"
		return
	}
	postgres_answers || fail postgres "$PG_LOG" "started but $PG_USER cannot query over TCP"
}

postgres_stop() {
	postgres_running || return 0
	say postgres "stopping"
	as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >>"$PG_LOG" 2>&1 ||
		fail postgres "$PG_LOG" "pg_ctl stop failed"
}
