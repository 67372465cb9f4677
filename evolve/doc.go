// Package evolve proves that every writer schema a project has ever used
// still reaches today's Go type by a declared path. It backs `strata schema
// verify`, the step a team runs before a deploy.
//
// The declarations live in the project's subjects file: each subject's
// history lists its older writer schemas, oldest first, each with the path
// its data takes to the next version: "upcaster" (a Go step of an
// upcasters.Chain) or "resolution" (Avro schema resolution filling defaults,
// which package compat, the gate's checker, must accept). The runtime
// (package upcasters) follows the same declarations: it has no implicit
// fallback.
//
//	cat, err := evolve.Load(p, subjects)          // checks every declaration
//	proof := cat.Prove(evolve.Writer{Source: "event store", Type: name, JSON: js})
//	if !proof.OK { fmt.Println(proof.Type, proof.Version, proof.Reason) }
package evolve
