// Package compat decides whether Avro schemas are compatible, with the same
// verdicts as Apache Avro Java's SchemaCompatibility (the checker Confluent
// Schema Registry runs) and under every Confluent compatibility level.
//
// Two entry points:
//
//	// one reader/writer pair, every problem found (empty = compatible)
//	problems := compat.ReaderWriter(reader, writer)
//
//	// a subject's history (oldest first) and a candidate, at a level
//	problems := compat.Check(compat.BackwardTransitive, history, candidate)
//
// Schemas come from github.com/hamba/avro/v2. Parse them with compat.Parse:
// it gives each schema a fresh name cache (avro.Parse shares a global one),
// turns a hamba parser panic into an error, and refuses the few schemas that
// hamba would read differently from Avro Java (a reference resolvable only
// through an alias, an alias naming another type). Only hamba's parser is
// used: its SchemaCompatibility memoises verdicts by canonical fingerprint,
// which drops defaults and aliases, and stops at the first problem, so this
// package walks the schemas itself, following ReaderWriterCompatibilityChecker
// step by step:
//
//   - names of records, enums and fixed are compared without namespace; a
//     reader alias equal to the writer's full name allows a rename; writer
//     aliases play no part;
//   - logical types are ignored (timestamp-millis -> timestamp-micros passes);
//   - numeric promotions int->long/float/double, long->float/double,
//     float->double, and string<->bytes;
//   - a reader field missing from the writer needs a default;
//   - an enum symbol of the writer missing from the reader passes only when
//     the reader enum has a default;
//   - a writer union needs every branch readable; a reader union needs some
//     branch that reads the writer;
//   - recursive types terminate: a reader/writer pair already being checked
//     counts as compatible, and results are memoised per pair of schema nodes
//     exactly as Java does (so a named type reused in two places reports its
//     problems at the location where it was first checked).
//
// Each Incompatibility carries Java's SchemaIncompatibilityType, the location
// as Java prints it (a JSON pointer such as /fields/1/type) and Java's message.
// One Java behaviour is kept as a problem rather than an exception: a reader
// field whose name and aliases match two writer fields makes Java throw
// AvroRuntimeException (Confluent then reports "Unexpected exception during
// compatibility check"); ReaderWriter returns a single Incompatibility of type
// ERROR for it.
//
// The conformance test runs every pair and subject history in
// ../shared/reference/avro-compat/ (the verdicts of Avro Java) through this
// package. A differential test (testdata/javacheck/run.sh) compares it with
// Avro Java itself on generated and mutated schema pairs.
package compat
