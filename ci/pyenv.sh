#!/usr/bin/env bash
# Prints the path of a Python interpreter whose venv has confluent-kafka with its
# Avro and schema-registry extras (ci/stack/python-requirements.txt, exact pins).
# The venv is created once per hash of that file, in the cache that survives
# `make down` and fresh clones: ${XDG_CACHE_HOME:-~/.cache}/strata/pyenv-<hash>.
#
#   py=$(ci/pyenv.sh) && "$py" -c 'import confluent_kafka'
#
# Progress goes to stderr; stdout is only the interpreter path. Uses python3 from
# PATH (3.11 here; confluent-kafka ships wheels for it).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
reqs=$root/ci/stack/python-requirements.txt
cache=${XDG_CACHE_HOME:-$HOME/.cache}/strata
python=${PYTHON:-python3}

command -v "$python" >/dev/null || {
	echo "pyenv: FAILED: $python not on PATH (install python3 and python3-venv)" >&2
	exit 1
}
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
hash=$( { cat "$reqs"; echo "$pyver"; } | sha256sum | cut -c1-12)
venv=$cache/pyenv-$hash

if [[ -f $venv/.complete ]]; then
	echo "$venv/bin/python"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/pyenv.lock"
flock -w 600 9 || {
	echo "pyenv: FAILED: $cache/pyenv.lock held for 600s" >&2
	exit 1
}
if [[ -f $venv/.complete ]]; then # built by whoever held the lock
	echo "$venv/bin/python"
	exit 0
fi

log=$cache/pyenv-$hash.log
echo "pyenv: creating $venv with Python $pyver (log $log)" >&2
rm -rf "$venv"
if ! { "$python" -m venv "$venv" &&
	"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$reqs" &&
	"$venv/bin/python" -c 'from confluent_kafka.schema_registry import SchemaRegistryClient; from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer; import importlib.metadata as m; print("confluent-kafka", m.version("confluent-kafka"))'; } >"$log" 2>&1; then
	echo "pyenv: FAILED: see $log; last lines:" >&2
	tail -n 20 "$log" | sed 's/^/    /' >&2
	rm -rf "$venv"
	exit 1
fi
touch "$venv/.complete"
echo "pyenv: ready ($(tail -n 1 "$log"))" >&2
echo "$venv/bin/python"
