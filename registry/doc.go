// Package registry is Strata's schema registry: the Confluent Schema Registry
// REST API (subjects, versions, global schema ids, references, compatibility,
// config and mode), backed by PostgreSQL, with the compat package's
// Avro-Java-conformant checker deciding compatibility, so the registry and the
// CI gate (`strata schema compat`) give one verdict.
//
// Run it with `strata registry serve`, or in a program:
//
//	err := registry.Run(ctx, registry.Config{
//		Addr:        "127.0.0.1:8081",
//		DatabaseURL: "postgres://strata:strata@127.0.0.1:55432/strata_registry?sslmode=disable",
//		Logger:      slog.Default(),
//	})
//
// Config.Users (LoadUsers reads a file of user:password lines) turns on HTTP
// basic auth, Config.TLS serves HTTPS (with a client CA, mutual TLS). The
// modes are READWRITE, READONLY and IMPORT (register under the ids and
// versions another registry gave, to move here keeping them).
//
// Or assemble it: Open (connect and migrate), NewStore, NewServer (an
// http.Handler), BasicAuth around it. Clients: package registry/client. Any Confluent client works against it; see docs/registry.md
// for what is supported, what "the same schema" means and what is not done.
package registry
