#!/usr/bin/env bash
# Differential test of package compat against Apache Avro Java itself.
# Fetches org.apache.avro:avro (default 1.12.0) from Maven Central with mvn,
# compiles JavaCheck.java, and runs TestDifferentialAgainstAvroJava with
# randomly generated and mutated schema pairs.
#
#   compat/testdata/javacheck/run.sh [N pairs, default 3000] [seed, default 1]
#   compat/testdata/javacheck/run.sh corpus
#       rewrites the conformance corpus compat/testdata/conformance/*.json
#       (hand-written and generated pairs, histories) with Avro Java's verdicts
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
version=${AVRO_VERSION:-1.12.0}
out=${TMPDIR:-/tmp}/strata-javacheck-$version
mkdir -p "$out"
mvn -q -B dependency:get -Dartifact="org.apache.avro:avro:$version" >/dev/null
m2=${M2_REPO:-$HOME/.m2/repository}
jar() { ls "$m2/$1"/*/"$2"-*.jar | grep -v -e sources -e javadoc | sort -V | tail -1; }
cp="$m2/org/apache/avro/avro/$version/avro-$version.jar"
cp="$cp:$(jar com/fasterxml/jackson/core/jackson-core jackson-core)"
cp="$cp:$(jar com/fasterxml/jackson/core/jackson-databind jackson-databind)"
cp="$cp:$(jar com/fasterxml/jackson/core/jackson-annotations jackson-annotations)"
cp="$cp:$(jar org/slf4j/slf4j-api slf4j-api)"
javac -d "$out" -cp "$cp" "$here/JavaCheck.java"
export STRATA_AVRO_JAVA="java -cp $out:$cp JavaCheck"
cd "$repo"
if [[ ${1:-} == corpus ]]; then
	STRATA_WRITE_CORPUS=1 go test -count=1 -run 'TestWriteCorpus$' -v ./compat/ | grep -v '^=== RUN'
	exit "${PIPESTATUS[0]}"
fi
export STRATA_AVRO_JAVA_N=${1:-3000} STRATA_AVRO_JAVA_SEED=${2:-1}
go test -count=1 -run TestDifferentialAgainstAvroJava -v ./compat/ | grep -v '^=== RUN'
