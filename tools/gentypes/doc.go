// Command gentypes is Strata's own code generator for the Avro contracts in
// schemas/avro, run by `make generate` (ci/generate.sh) next to avrogen.
//
// It fills the gaps avrogen v2.31.0 leaves:
//
//   - gentypes order ROOT DOMAIN prints the .avsc files of one domain sorted so
//     that every named type comes after the types it references (avrogen, like
//     hamba's parser, resolves a reference only to a type it has already
//     parsed), for ci/generate.sh to pass to avrogen in that order;
//   - gentypes registry -root ROOT -out GEN writes GEN/events/registry.go, the
//     type registry: func Types() []serde.Type with each message type's Avro
//     full name, Go constructor, self-contained schema JSON (docs and defaults
//     kept) and SHA-256 canonical-form fingerprint; and GEN/avro/<domain>/enums.go
//     with the symbols of each Avro enum as Go constants (avrogen maps enums to
//     string; its -enums flag declares an enum twice when two schemas use it).
//
// Layout rules it enforces: schemas live in ROOT/<domain>/<Name>.avsc, one
// named type per file, the namespace ends in the domain name, references stay
// within a domain (each domain is one self-contained Go package), no cycles.
// A message type is a record no other schema references; the records and enums
// other schemas reference (OrderItem, Address, ShippingMethod) are parts.
package main
