// Package codegen is `strata generate`: from a project's Avro schemas,
// protos and sqlc configuration (all named by its strata.yaml, package
// project) it writes the generated Go code, deterministically.
//
//	p, err := project.Load("strata.yaml")
//	err = codegen.Generate(ctx, p, codegen.Options{Log: os.Stderr})
//
// Layout rules it enforces: schemas live in <avro>/<domain>/<Name>.avsc, one
// named type per file, in the namespace <namespace>.<domain>; references stay
// within a domain (each domain is one self-contained Go package); no cycles.
// A message type is a record no other schema references; the records and
// enums other schemas reference are parts of message types.
//
// For each domain it writes OUT/avro/<domain>/<domain>.go with hamba/avro's
// generator (files parsed in dependency order, as hamba resolves a reference
// only to a type it has already parsed) and OUT/avro/<domain>/enums.go with
// each Avro enum's symbols as Go constants; OUT/events/registry.go is the type
// registry: func Types() []serde.Type with each message type's Avro full
// name, Go constructor, self-contained schema JSON (docs and defaults kept)
// and SHA-256 canonical-form fingerprint.
package codegen
