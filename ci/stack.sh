#!/usr/bin/env bash
# The local stack (`make up|down|status|env`): the scripts live in ci/stack/,
# which `strata dev` embeds to run the same stack for any project.
exec "$(dirname "${BASH_SOURCE[0]}")/stack/stack.sh" "$@"
