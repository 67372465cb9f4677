// Package project loads a Strata project file, strata.yaml at a Go module's
// root: where the Avro schemas and protos are, the Avro namespace prefix, the
// Go module and output folder of generated code, the subjects file (one
// compatibility level per registry subject) and topic naming.
//
// Start with Find and Load:
//
//	path, err := project.Find(".")   // strata.yaml here or in a parent folder
//	p, err := project.Load(path)     // strict: unknown keys and bad values are errors
//	avroDir := p.Path(p.Schemas.Avro)
//
// Parsing is strict: an unknown key, a value of the wrong kind or an invalid
// value is an error naming the file, line and key, and every problem in the
// file is reported at once (errors.Join). LoadSubjects reads the subjects
// file (schemas/subjects.yaml by default) with the same rules.
package project
