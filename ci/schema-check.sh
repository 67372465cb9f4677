#!/usr/bin/env bash
# The schema gate (`make schema-check`): lint every Avro contract under
# schemas/avro, then check every subject changed since the merge-base with
# main at the compatibility level schemas/subjects.yaml gives it (transitive
# levels against every version in the git history of schemas/avro).
#
# Environment:
#   SCHEMA_CHECK_AGAINST  what to check against instead of the merge-base:
#                         git:REF, or registry (uses SCHEMA_REGISTRY_URL)
#   SCHEMA_CHECK_FORMAT   text (default) or json
# Exit status: 0 clean, 1 lint findings or a breaking change, 2 usage error.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2
GO=${GO:-go}

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
if ! "$GO" build -o "$tmp/strata" ./tools/strata; then
	echo "schema-check: cannot build the strata CLI" >&2
	exit 2
fi

status=0
echo "== strata schema lint"
"$tmp/strata" schema lint --format "${SCHEMA_CHECK_FORMAT:-text}" || status=$?

echo "== strata schema check ${SCHEMA_CHECK_AGAINST:-(merge-base with main)}"
args=(schema check --format "${SCHEMA_CHECK_FORMAT:-text}")
[[ -n ${SCHEMA_CHECK_AGAINST:-} ]] && args+=(--against "$SCHEMA_CHECK_AGAINST")
"$tmp/strata" "${args[@]}" || { rc=$?; (( rc > status )) && status=$rc; }

if (( status == 1 )); then
	echo "schema-check: fix the findings above; a breaking change needs a new event type or an upcaster (docs/schema-evolution.md)" >&2
fi
exit "$status"
