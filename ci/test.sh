#!/usr/bin/env bash
# The whole check, as CI runs it (`make test`, after `make up`): formatting,
# go vet, then every test with the race detector against the real local stack.
#
# Each check is a function step_<name>; STEPS lists them in order. To add one
# (a generation diff check, the schema gate, a linter), write its function in
# the "steps" section and add its name to STEPS. A step fails by returning
# non-zero; it should print what to do about it.
#
# Environment: the `make env` variables are exported; CI is passed through
# (set, integration tests fail instead of skipping when a server is missing).
# GOTESTFLAGS adds flags to `go test` (e.g. GOTESTFLAGS=-count=1, or -run X).
# TEST_STEPS="vet gotest" runs only those steps (CI runs them all).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

# Only the stack's addresses: services left running by `make run` export
# theirs too (.local/run/*.env), and tests must not pick those up.
eval "$(ci/stack.sh env | grep -E '^export (DATABASE_URL|KAFKA_BROKERS|SCHEMA_REGISTRY_URL|SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO)=')"
export CI=${CI:-}
GO=${GO:-go}

STEPS=(gofmt vet gotest)

# --- steps -------------------------------------------------------------------

step_gofmt() {
	local files bad
	files=$(git ls-files '*.go' 2>/dev/null) || files=$(find . -name '*.go' -not -path './.local/*')
	[[ -z $files ]] && return 0
	# shellcheck disable=SC2086 # one file per word; paths have no spaces
	bad=$(gofmt -l $files)
	if [[ -n $bad ]]; then
		echo "these files are not gofmt-formatted (fix: gofmt -w FILE):"
		echo "$bad" | sed 's/^/    /'
		return 1
	fi
}

step_vet() {
	"$GO" vet ./...
}

step_gotest() {
	# -count=1: integration tests talk to real servers; a cached "ok" proves nothing.
	# shellcheck disable=SC2086 # GOTESTFLAGS is a list of flags
	"$GO" test -race -count=1 -p 2 -timeout 30m ${GOTESTFLAGS:-} ./...
}

# --- contracts and generated code (issue 3) --------------------------------
# Run first: a stale gen/ would make every later step test the wrong code.
STEPS=(generate buf "${STEPS[@]}")

step_generate() {
	# make generate must change nothing: generated files are committed with the
	# schemas, protos and queries they come from. On a clean checkout (CI) this
	# is `git diff --exit-code`; with local edits it compares the tree before
	# and after generating, so only what generation changes counts.
	local before after
	before=$(tree_state)
	ci/generate.sh || { echo "make generate failed"; return 1; }
	after=$(tree_state)
	if [[ $before != "$after" ]]; then
		git status --short
		echo "generated code is out of date: run 'make generate' and commit the result"
		return 1
	fi
}

# tree_state fingerprints tracked changes and untracked files (names and contents).
tree_state() {
	{
		git diff --binary HEAD
		git ls-files --others --exclude-standard -z | xargs -0 -r sha256sum
	} | sha256sum
}

step_buf() {
	local buf=("$GO" tool -modfile=ci/tools/go.mod buf)
	"${buf[@]}" lint || { echo "buf lint failed (schemas/proto, rules in buf.yaml)"; return 1; }
	# Breaking-change check against the previous commit of main, when there is
	# one that already has the protos (not on the first commit).
	if git rev-parse -q --verify 'HEAD~1^{commit}' >/dev/null &&
		git cat-file -e HEAD~1:buf.yaml 2>/dev/null && git cat-file -e HEAD~1:schemas/proto 2>/dev/null; then
		"${buf[@]}" breaking --against '.git#branch=main,ref=HEAD~1' ||
			{ echo "buf breaking: an incompatible change to schemas/proto against HEAD~1"; return 1; }
	else
		echo "buf breaking: skipped (no previous commit with schemas/proto)"
	fi
}

# --- the schema gate (issue 5) ------------------------------------------------
STEPS=(generate buf schema "${STEPS[@]:2}")

step_schema() {
	# Lint, then check every changed subject at its level. On a branch that is
	# the merge-base with main; on main itself (CI checks out main) it is the
	# previous commit, so the change being landed is what gets checked.
	local against=${SCHEMA_CHECK_AGAINST:-}
	if [[ -z $against ]] && [[ $(git merge-base HEAD main 2>/dev/null) == "$(git rev-parse HEAD)" ]] &&
		git rev-parse -q --verify 'HEAD~1^{commit}' >/dev/null; then
		against=git:HEAD~1
	fi
	SCHEMA_CHECK_AGAINST=$against ci/schema-check.sh
}

# --- compat against Avro Java itself (issue 5) --------------------------------
# Random and mutated schema pairs checked by package compat and by Apache Avro
# Java's checker (fetched with Maven, as Kafka is): the verdicts must agree.
STEPS+=(javacheck)

step_javacheck() {
	compat/testdata/javacheck/run.sh 3000 1
}

# --- examples: their own Go modules (replace to this checkout) ------------------
# `go vet ./...` and `go test ./...` above stop at a nested go.mod, so each
# examples/<name> module is vetted and tested here; gofmt above covers it.
STEPS+=(examples)

step_examples() {
	local mod dir before
	for mod in examples/*/go.mod; do
		dir=$(dirname "$mod")
		echo "  $dir: make generate (must change nothing), vet, test"
		before=$(tree_state)
		make -s -C "$dir" generate || { echo "$dir: make generate failed"; return 1; }
		if [[ $before != "$(tree_state)" ]]; then
			git status --short -- "$dir"
			echo "$dir: generated code is out of date: run 'make generate' there and commit the result"
			return 1
		fi
		# shellcheck disable=SC2086 # GOTESTFLAGS is a list of flags
		(cd "$dir" && "$GO" vet ./... && "$GO" test -race -count=1 -p 2 ${GOTESTFLAGS:-} ./...) ||
			{ echo "$dir: vet or tests failed (cd $dir && go test ./...)"; return 1; }
	done
}

# --- strata init, end to end ---------------------------------------------------
# A module scaffolded outside the repository (namespace acme): make generate,
# make test against the stack, then a new .avsc through strata generate.
STEPS+=(scaffold)

step_scaffold() {
	STRATA_SCAFFOLD_TEST=1 "$GO" test -count=1 -timeout 20m -run 'TestInitGenerateTest' ./tools/strata/cli/initcmd/
}

# --- strata dev for any project (issue 13) ----------------------------------------
# `strata dev up|status|down` starts a whole stack on the fixed ports, so it runs
# in a private network namespace (unshare -n, which needs root, as CI has),
# where those ports are free and nothing of it can reach the stack above.
STEPS+=(devstack)

step_devstack() {
	unshare -n bash -c 'ip link set lo up && STRATA_DEV_TEST=1 "$0" test -count=1 -timeout 10m -run TestDevUpStatusDown ./tools/strata/cli/dev/' "$GO" ||
		{ echo "strata dev up|status|down failed in a private network namespace (needs root for unshare -n)"; return 1; }
}

# --- fault tests (issue 6) ---------------------------------------------------
# They SIGKILL the relay and stop the stack's Kafka for ~30 s, so they run
# alone, after every other test, and ci/stack.sh brings Kafka back.
STEPS+=(faults)

step_faults() {
	STRATA_FAULT_TESTS=1 "$GO" test -race -count=1 -timeout 15m -run 'TestRelayFaults' ./messaging/ || return 1
	ci/stack.sh up kafka >/dev/null || { echo "Kafka did not come back after the fault tests"; return 1; }
}

# --- demo, down, demo (issue 14) ---------------------------------------------
# A new user's first session: `make demo`, `make down`, `make demo`, then
# `ci/run.sh stop` and `make demo` again (ci/demo-twice.sh). It stops the
# whole stack, so it runs last and brings the stack back up. About 4 minutes
# warm (three 60-order demos, one stack restart, one binary build).
STEPS+=(demotwice)

step_demotwice() {
	local rc=0
	timeout 900 ci/demo-twice.sh -orders 60 -timeout 2m || rc=1
	ci/stack.sh up >/dev/null || { echo "the stack did not come back after ci/demo-twice.sh"; return 1; }
	((rc == 0)) || echo "ci/demo-twice.sh failed: a demo after a restart stalled (see its output above; logs in .local/log)"
	return $rc
}

# --- real-browser tests (issue 20) --------------------------------------------
# ci/browser drives Debian's Chromium; install it when missing (idempotent),
# before the Go tests, which fail under CI without it.
STEPS=(chromium "${STEPS[@]}")

step_chromium() {
	# shellcheck source=ci/stack/common.sh
	(source ci/stack/common.sh && need_chromium chromium)
}

# --- stored writer schemas (issue 16) ------------------------------------------
# Every writer schema in the demo's database (DATABASE_URL: what make run and
# make demo write to, here the demos of the demotwice step just before) and
# every registry version of the project's subjects must reach today's Go type
# by a path the subjects file declares (TestSchemaVerifyDatabase proves that an
# undeclared writer schema fails this step). Addresses and credentials come
# from the environment, not argv.
STEPS+=(verify)

step_verify() {
	"$GO" run ./tools/strata schema verify ||
		{ echo "a stored writer schema has no declared path: declare it in schemas/subjects.yaml (docs/schema-evolution.md)"; return 1; }
}

# --- runner ------------------------------------------------------------------

if [[ -n ${TEST_STEPS:-} ]]; then
	read -ra STEPS <<<"$TEST_STEPS"
	for step in "${STEPS[@]}"; do
		declare -F "step_$step" >/dev/null || {
			echo "test.sh: unknown step '$step' in TEST_STEPS"
			exit 2
		}
	done
fi

start=$SECONDS
echo "test.sh: $("$GO" version), CI=${CI:-<unset>}"
for step in "${STEPS[@]}"; do
	t=$SECONDS
	echo "==> $step"
	if ! "step_$step"; then
		echo "test.sh: FAILED at step '$step' after $((SECONDS - t))s (total $((SECONDS - start))s)"
		exit 1
	fi
	echo "--- $step ok ($((SECONDS - t))s)"
done
echo "test.sh: all steps passed (${STEPS[*]}) in $((SECONDS - start))s"
