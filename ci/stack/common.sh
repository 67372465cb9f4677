# shellcheck shell=bash
# Shared settings and helpers of the local stack. Sourced by ci/stack.sh and by
# each component file (ci/stack/<component>.sh); not meant to be run alone.
#
# The ports and credentials here are a contract: internal/testenv, the services
# and docs/architecture.md use the same values. Change them together.

STACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) # these scripts
# The project whose stack this is: STRATA_PROJECT (set by `strata dev`), or
# the Strata checkout these scripts are in.
ROOT=${STRATA_PROJECT:-$(cd "$STACK_DIR/../.." && pwd)}
LOCAL=$ROOT/.local          # everything the stack writes in the work tree
RUN=$LOCAL/run              # pid files (*.pid) and exported addresses (*.env)
BIN=$LOCAL/bin              # binaries built from this repository
# Downloads that survive `make down`, `rm -rf .local` and a fresh clone.
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/strata

# --- PostgreSQL -------------------------------------------------------------
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_HOST=127.0.0.1
PG_PORT=55432
PG_USER=strata
PG_PASSWORD=strata
PG_DATABASES=(strata strata_registry)
DATABASE_URL="postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/strata?sslmode=disable"
REGISTRY_DATABASE_URL="postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/strata_registry?sslmode=disable"

# --- Kafka ------------------------------------------------------------------
# Keep KAFKA_VERSION equal to kafka.version in ci/stack/kafka-pom.xml.
KAFKA_VERSION=4.1.1
KAFKA_HOST=127.0.0.1
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_BROKERS=$KAFKA_HOST:$KAFKA_PORT
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m}
KAFKA_LIBS=$CACHE/kafka-$KAFKA_VERSION/libs

# --- Schema registry (strata registry serve) ---------------------------------
REGISTRY_HOST=127.0.0.1
REGISTRY_PORT=8081
SCHEMA_REGISTRY_URL=http://$REGISTRY_HOST:$REGISTRY_PORT
# Basic auth is on: a fixed development credential, as PostgreSQL's
# strata:strata (set REGISTRY_BASIC_AUTH_USER_INFO=user:password before
# `make up` for another). The server gets it through its environment, never
# argv; `make env` exports it as SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO, which
# every client reads (package registry/client, internal/testenv).
REGISTRY_USER_INFO=${REGISTRY_BASIC_AUTH_USER_INFO:-strata:strata}

# How long each component may take to answer after it is started (seconds).
PG_START_TIMEOUT=${PG_START_TIMEOUT:-60}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
REGISTRY_START_TIMEOUT=${REGISTRY_START_TIMEOUT:-30}

# say COMPONENT MESSAGE...: one progress line, "component: message".
say() {
	local who=$1
	shift
	printf '%s: %s\n' "$who" "$*"
}

# fail COMPONENT LOGFILE MESSAGE...: report a failure with the tail of the
# component's log on stderr and return 1, so callers can `fail ... || return`.
fail() {
	local who=$1 log=$2
	shift 2
	{
		printf '%s: FAILED: %s\n' "$who" "$*"
		if [[ -n $log && -s $log ]]; then
			printf '%s: last lines of %s:\n' "$who" "$log"
			tail -n 40 "$log" | sed 's/^/    /'
		elif [[ -n $log ]]; then
			printf '%s: log file %s is empty or missing\n' "$who" "$log"
		fi
	} >&2
	return 1
}

# go_ldflags: -X flags naming the build (observe.Version, observe.Commit) from
# git, for `strata version` and the strata_build_info metric. Empty outside git.
go_ldflags() {
	local v c
	v=$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null) || return 0
	c=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null) || return 0
	printf -- '-X github.com/stratahq/strata/observe.Version=%s -X github.com/stratahq/strata/observe.Commit=%s' "$v" "$c"
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
	timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# pid_from FILE: the pid recorded in a pid file, or nothing.
pid_from() {
	[[ -r $1 ]] || return 1
	local pid
	read -r pid <"$1" || true
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	printf '%s' "$pid"
}

# pid_alive PID [PATTERN]: the process exists (and its command line contains
# PATTERN, so a recycled pid is not mistaken for ours).
pid_alive() {
	local pid=$1 pattern=${2:-}
	kill -0 "$pid" 2>/dev/null || return 1
	[[ -z $pattern ]] && return 0
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern"
}

# stop_pid NAME PID GRACE: SIGTERM the process group led by PID (our
# background processes are started with setsid) or the process alone, wait up to
# GRACE seconds, then SIGKILL.
stop_pid() {
	local who=$1 pid=$2 grace=${3:-20} i
	kill -0 "$pid" 2>/dev/null || return 0
	say "$who" "stopping (pid $pid)"
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 4; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.25
	done
	say "$who" "did not stop within ${grace}s, killing (pid $pid)"
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	sleep 0.5
}

# rotate_log FILE: keep the previous run's log as FILE.1.
rotate_log() {
	[[ -s $1 ]] && mv -f "$1" "$1.1"
	: >"$1"
}

# APT_UPDATED is set once `apt-get update` has run in this invocation.
APT_UPDATED=
# apt_install COMPONENT PACKAGE...: install Debian packages (root only).
apt_install() {
	local who=$1
	shift
	if [[ $EUID -ne 0 ]]; then
		fail "$who" "" "missing packages ($*); install them with: sudo apt-get install -y $*"
		return
	fi
	if [[ -z $APT_UPDATED ]]; then
		say "$who" "apt-get update"
		apt-get update -qq >/dev/null || {
			fail "$who" "" "apt-get update failed"
			return
		}
		APT_UPDATED=1
	fi
	say "$who" "installing Debian packages: $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
		fail "$who" "" "apt-get install $* failed"
}

# need_chromium COMPONENT: Debian's Chromium on PATH (installed when missing),
# for the real-browser tests (ci/browser).
need_chromium() {
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 && return 0
	apt_install "$1" chromium fonts-dejavu-core || return
	command -v chromium >/dev/null 2>&1 || fail "$1" "" "chromium is still not on PATH after apt-get install"
}

# need_java COMPONENT: a Java 17+ runtime on PATH (installed when missing).
need_java() {
	if ! command -v java >/dev/null 2>&1; then
		apt_install "$1" openjdk-17-jre-headless || return
	fi
	local v
	v=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
	if [[ -z $v || ${v%%.*} -lt 17 ]]; then
		fail "$1" "" "Kafka $KAFKA_VERSION needs Java 17 or newer; java on PATH is ${v:-unknown}"
		return
	fi
}
