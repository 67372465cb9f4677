package evolve

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/compat"
	"github.com/stratahq/strata/project"
	"github.com/stratahq/strata/schemalint"
)

// Type is one subject: its current schema and its declared history.
type Type struct {
	Name     string
	Current  avro.Schema
	Versions []Version // declared older writer schemas, oldest first
}

// CurrentVersion is the current schema's version number: the last declared
// version + 1, or 1 without a history.
func (t *Type) CurrentVersion() int {
	if len(t.Versions) == 0 {
		return 1
	}
	return t.Versions[len(t.Versions)-1].Number + 1
}

// Version is one declared older writer schema.
type Version struct {
	Number      int
	Schema      avro.Schema
	Fingerprint [32]byte
	Path        string // project.PathUpcaster or project.PathResolution
	File        string // the schema file, relative to the project folder
}

// Catalog is every subject of a project with its declarations.
type Catalog struct {
	types map[string]*Type
	byFP  map[[32]byte]ref
}

type ref struct {
	typ   *Type
	index int // into typ.Versions; -1 for the current schema
}

// Load reads the project's current schemas and the histories its subjects
// file declares, and checks every declaration: the schema file parses,
// defines the subject, differs from the current schema and from every other
// version, and a resolution step is accepted by package compat (the next
// version reads data written with it). Every problem is reported at once.
func Load(p *project.Project, subjects *project.Subjects) (*Catalog, error) {
	set, err := schemalint.Load(os.DirFS(p.Dir), p.Schemas.Avro)
	if err != nil {
		return nil, fmt.Errorf("evolve: %w", err)
	}
	c := &Catalog{types: map[string]*Type{}, byFP: map[[32]byte]ref{}}
	var errs []error
	for _, f := range set.Files {
		if f.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Path, f.Err))
		}
	}
	for _, f := range set.Subjects() {
		t := &Type{Name: f.FullName, Current: f.Schema}
		c.types[t.Name] = t
		c.byFP[f.Schema.Fingerprint()] = ref{typ: t, index: -1}
	}
	for _, name := range subjects.Names() {
		sub := subjects.Subjects[name]
		if len(sub.History) == 0 {
			continue
		}
		t, ok := c.types[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%d: %s declares a history but is not a subject of %s", subjects.File, sub.Line, name, p.Schemas.Avro))
			continue
		}
		for _, h := range sub.History {
			bad := func(format string, args ...any) {
				errs = append(errs, fmt.Errorf("%s:%d: %s v%d: %s", subjects.File, h.Line, name, h.Version, fmt.Sprintf(format, args...)))
			}
			data, err := os.ReadFile(p.Path(h.Schema))
			if err != nil {
				bad("%v", err)
				continue
			}
			s, err := avro.ParseWithCache(string(data), "", &avro.SchemaCache{})
			if err != nil {
				bad("%s: %v", h.Schema, err)
				continue
			}
			if n, ok := s.(avro.NamedSchema); !ok || n.FullName() != name {
				bad("%s does not define %s", h.Schema, name)
				continue
			}
			fp := s.Fingerprint()
			if prev, dup := c.byFP[fp]; dup {
				if prev.index < 0 {
					bad("%s is the current schema", h.Schema)
				} else {
					bad("%s is the same schema as %s v%d", h.Schema, prev.typ.Name, prev.typ.Versions[prev.index].Number)
				}
				continue
			}
			c.byFP[fp] = ref{typ: t, index: len(t.Versions)}
			t.Versions = append(t.Versions, Version{Number: h.Version, Schema: s, Fingerprint: fp, Path: h.Path, File: h.Schema})
		}
		for i, v := range t.Versions {
			if v.Path != project.PathResolution {
				continue
			}
			next, label := t.Current, "the current schema"
			if i+1 < len(t.Versions) {
				next, label = t.Versions[i+1].Schema, fmt.Sprintf("v%d", t.Versions[i+1].Number)
			}
			if probs := compat.ReaderWriter(next, v.Schema); len(probs) > 0 {
				errs = append(errs, fmt.Errorf("%s: %s v%d is declared path: resolution, but %s cannot read it: %s (declare path: upcaster and write the step)", subjects.File, name, v.Number, label, probs[0]))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Type returns the subject named name.
func (c *Catalog) Type(name string) (*Type, bool) {
	t, ok := c.types[name]
	return t, ok
}

// Names lists the subjects, sorted.
func (c *Catalog) Names() []string {
	out := make([]string, 0, len(c.types))
	for n := range c.types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Writer is a writer schema found somewhere data lives.
type Writer struct {
	Source string // where it was found: "event store", "archive 2024-...", "registry version 3"
	Type   string // the Avro full name it was stored under
	JSON   string
}

// Proof is the verdict for one writer schema.
type Proof struct {
	Source      string `json:"source"`
	Type        string `json:"type"`
	Version     string `json:"version"`     // the declared version number, or "undeclared"
	Fingerprint string `json:"fingerprint"` // first 8 bytes of the SHA-256 canonical-form fingerprint, hex
	Path        string `json:"path,omitempty"`
	OK          bool   `json:"ok"`
	Skipped     bool   `json:"skipped,omitempty"` // not a subject of the project (e.g. a snapshot schema)
	Reason      string `json:"reason,omitempty"`
}

// Prove finds the declared path from w to the current type of w.Type.
func (c *Catalog) Prove(w Writer) Proof {
	pr := Proof{Source: w.Source, Type: w.Type, Version: "undeclared"}
	s, err := avro.ParseWithCache(w.JSON, "", &avro.SchemaCache{})
	if err != nil {
		pr.Reason = fmt.Sprintf("the writer schema does not parse: %v", err)
		return pr
	}
	fp := s.Fingerprint()
	pr.Fingerprint = hex.EncodeToString(fp[:8])
	t, ok := c.types[w.Type]
	if !ok {
		pr.OK, pr.Skipped = true, true
		pr.Reason = "not a subject of the project (snapshot or foreign type): not checked"
		return pr
	}
	r, ok := c.byFP[fp]
	switch {
	case ok && r.typ == t && r.index < 0:
		pr.OK, pr.Version, pr.Path = true, fmt.Sprintf("%d", t.CurrentVersion()), "current"
		return pr
	case ok && r.typ == t:
		pr.OK = true
		pr.Version = fmt.Sprintf("%d", t.Versions[r.index].Number)
		pr.Path = t.pathFrom(r.index)
		return pr
	}
	// Undeclared: say what would be needed.
	if probs := compat.ReaderWriter(t.Current, s); len(probs) > 0 {
		pr.Reason = fmt.Sprintf("undeclared writer schema; the current schema cannot read it (%s): write an upcaster and declare it in the subjects file's history", probs[0])
	} else {
		pr.Reason = "undeclared writer schema; Avro resolution into the current schema is possible (package compat accepts it) but not declared: add it to the subjects file's history with path: resolution"
	}
	return pr
}

// pathFrom describes the steps from version index i to the current schema,
// e.g. "v1 -upcaster-> v2 -resolution-> v3 (current)".
func (t *Type) pathFrom(i int) string {
	var b strings.Builder
	for k := i; k < len(t.Versions); k++ {
		fmt.Fprintf(&b, "v%d -%s-> ", t.Versions[k].Number, t.Versions[k].Path)
	}
	fmt.Fprintf(&b, "v%d (current)", t.CurrentVersion())
	return b.String()
}
