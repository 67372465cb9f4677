package project

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/stratahq/strata/compat"
)

// Subject kinds: events are stored forever (the event store keeps every
// version ever written), commands are transient messages between services.
const (
	KindEvent   = "event"
	KindCommand = "command"
)

// Subjects is the subjects file (schemas/subjects.yaml): how Avro records map
// to registry subjects and the compatibility level each is held to.
type Subjects struct {
	File         string
	Naming       string       // RecordNameStrategy (the only one supported)
	DefaultLevel compat.Level // level of a subject the file does not list (default BACKWARD_TRANSITIVE)
	Subjects     map[string]Subject
}

// Subject is one entry of the subjects file.
type Subject struct {
	Level     compat.Level // "" when the entry sets none
	Kind      string       // KindEvent (default) or KindCommand
	Topic     string       // "" for the project's topic naming
	Producers []string
	Consumers []string
	History   []HistoryVersion // declared older writer schemas, oldest first
	Line      int              // line of the entry in the file
}

// Paths by which an older writer schema reaches the next version.
const (
	PathUpcaster   = "upcaster"   // a Go step (upcasters.Chain version with Up)
	PathResolution = "resolution" // Avro schema resolution (defaults filled), accepted by package compat
)

// HistoryVersion declares an older writer schema of a subject and how data
// written with it reaches the next version (the last one's next is the
// current schema).
type HistoryVersion struct {
	Version int    // consecutive; the current schema is the last + 1
	Schema  string // the version's self-contained schema file, relative to the project folder
	Path    string // PathUpcaster or PathResolution
	Line    int
}

// LoadSubjects reads the subjects file at file. A missing file gives every
// default and no subjects.
func LoadSubjects(file string) (*Subjects, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return &Subjects{File: file, Naming: "RecordNameStrategy", DefaultLevel: compat.BackwardTransitive, Subjects: map[string]Subject{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	return ParseSubjects(file, data)
}

// ParseSubjects parses data as the subjects file named file, strictly:
// unknown keys, values of the wrong kind and unknown levels are errors, all
// reported at once.
func ParseSubjects(file string, data []byte) (*Subjects, error) {
	return parseSubjects(file, data, false)
}

// ParseSubjectsAt parses the subjects file of an older commit (the gate's
// base): keys this version does not know are skipped, bad values are still
// errors.
func ParseSubjectsAt(file string, data []byte) (*Subjects, error) {
	return parseSubjects(file, data, true)
}

func parseSubjects(file string, data []byte, skipUnknown bool) (*Subjects, error) {
	s := &Subjects{File: file, Subjects: map[string]Subject{}}
	d := newDecoder(file)
	d.skipUnknown = skipUnknown
	root := d.document(data)
	if root == nil {
		return nil, d.err()
	}
	var defaultLevel string
	level := func(dst *compat.Level) func(*yaml.Node, string) {
		var v string
		return func(n *yaml.Node, key string) {
			d.str(&v)(n, key)
			if v == "" {
				return
			}
			l, err := compat.ParseLevel(v)
			if err != nil {
				d.errorf(n.Line, key, "unknown compatibility level %q (want one of %v)", v, compat.Levels)
				return
			}
			*dst = l
		}
	}
	d.mapping(root, "", map[string]func(*yaml.Node, string){
		"naming": func(n *yaml.Node, key string) {
			d.str(&s.Naming)(n, key)
			if s.Naming != "" && s.Naming != "RecordNameStrategy" {
				d.errorf(n.Line, key, "%q: only RecordNameStrategy is supported", s.Naming)
			}
		},
		"default_level": func(n *yaml.Node, key string) {
			d.str(&defaultLevel)(n, key)
			if defaultLevel != "" {
				level(&s.DefaultLevel)(n, key)
			}
		},
		"subjects": func(n *yaml.Node, key string) {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return
			}
			d.mapping(n, key, nil, func(name string, v *yaml.Node, key string) {
				sub := Subject{Line: v.Line, Kind: KindEvent}
				if !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
					d.mapping(v, key, map[string]func(*yaml.Node, string){
						"level": level(&sub.Level),
						"kind": func(n *yaml.Node, key string) {
							d.str(&sub.Kind)(n, key)
							if sub.Kind != KindEvent && sub.Kind != KindCommand {
								d.errorf(n.Line, key, "%q: want %s or %s", sub.Kind, KindEvent, KindCommand)
							}
						},
						"topic":     d.str(&sub.Topic),
						"producers": d.strings(&sub.Producers),
						"consumers": d.strings(&sub.Consumers),
						"history": func(n *yaml.Node, key string) {
							sub.History = d.history(n, key)
						},
					}, nil)
				}
				s.Subjects[name] = sub
			})
		},
	}, nil)
	if s.Naming == "" {
		s.Naming = "RecordNameStrategy"
	}
	if s.DefaultLevel == "" {
		s.DefaultLevel = compat.BackwardTransitive
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// Level returns the compatibility level of subject: its own, else the
// default level.
func (s *Subjects) Level(subject string) compat.Level {
	if sub, ok := s.Subjects[subject]; ok && sub.Level != "" {
		return sub.Level
	}
	return s.DefaultLevel
}

// HasLevel reports whether the file sets subject's level explicitly.
func (s *Subjects) HasLevel(subject string) bool {
	sub, ok := s.Subjects[subject]
	return ok && sub.Level != ""
}

// Defines reports whether the file lists subject.
func (s *Subjects) Defines(subject string) bool {
	_, ok := s.Subjects[subject]
	return ok
}

// Kind returns KindEvent or KindCommand for subject (KindEvent when unlisted).
func (s *Subjects) Kind(subject string) string {
	if sub, ok := s.Subjects[subject]; ok && sub.Kind != "" {
		return sub.Kind
	}
	return KindEvent
}

// Names lists the configured subjects, sorted.
func (s *Subjects) Names() []string {
	out := make([]string, 0, len(s.Subjects))
	for name := range s.Subjects {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// history decodes a subject's history: a list of {version, schema, path}.
func (d *decoder) history(n *yaml.Node, key string) []HistoryVersion {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, key, "want a list of {version, schema, path}, got %s", kindName(n))
		return nil
	}
	var out []HistoryVersion
	for i, item := range n.Content {
		item = deref(item)
		ikey := fmt.Sprintf("%s[%d]", key, i)
		h := HistoryVersion{Line: item.Line}
		seen := map[string]bool{}
		d.mapping(item, ikey, map[string]func(*yaml.Node, string){
			"version": func(n *yaml.Node, k string) { seen["version"] = true; d.integer(&h.Version)(n, k) },
			"schema":  func(n *yaml.Node, k string) { seen["schema"] = true; d.str(&h.Schema)(n, k) },
			"path": func(n *yaml.Node, k string) {
				seen["path"] = true
				d.str(&h.Path)(n, k)
				if h.Path != PathUpcaster && h.Path != PathResolution {
					d.errorf(n.Line, k, "%q: want %s or %s", h.Path, PathUpcaster, PathResolution)
				}
			},
		}, nil)
		if item.Kind != yaml.MappingNode {
			continue
		}
		for _, req := range []string{"version", "schema", "path"} {
			if !seen[req] {
				d.errorf(item.Line, ikey+"."+req, "missing")
			}
		}
		if h.Schema != "" {
			if err := checkRelPath(h.Schema); err != nil {
				d.errorf(item.Line, ikey+".schema", "%q: %v", h.Schema, err)
			}
		}
		if len(out) > 0 && h.Version != out[len(out)-1].Version+1 {
			d.errorf(item.Line, ikey+".version", "%d follows %d: versions are consecutive, oldest first", h.Version, out[len(out)-1].Version)
		}
		if len(out) == 0 && h.Version < 1 {
			d.errorf(item.Line, ikey+".version", "%d: versions start at 1 or later", h.Version)
		}
		out = append(out, h)
	}
	return out
}
