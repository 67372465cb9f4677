package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// FileName is the project file's name at a module's root.
const FileName = "strata.yaml"

// Version is the only project file format version.
const Version = 1

// ErrNotFound is returned by Find when no folder up to the file system's root
// holds a project file.
var ErrNotFound = errors.New("project: no " + FileName + " found")

// Project is a loaded strata.yaml. Paths are as written (slash-separated,
// relative to Dir); Path makes them absolute.
type Project struct {
	File string // the project file's path as given to Load
	Dir  string // its folder: relative paths are relative to it

	Version   int
	Module    string // Go module of the generated code
	Namespace string // Avro namespace prefix: <Namespace>.<domain>.<Name>
	Schemas   Schemas
	Generate  Generate
	Topics    Topics

	lines map[string]int // key path -> line, for Validate's messages
}

// Schemas says where the contracts are.
type Schemas struct {
	Avro     string // <domain>/<Name>.avsc below it (default schemas/avro)
	Proto    string // a buf module; "" when the project has no protos
	Subjects string // compatibility level per subject (default schemas/subjects.yaml)
}

// Generate says where generated code goes.
type Generate struct {
	Out  string // gen/events (Avro types + type registry), gen/avro, gen/proto below it (default gen)
	SQLC string // sqlc configuration; "" when the project has none
}

// Topics names Kafka topics. {stream_type} and {domain} are replaced.
type Topics struct {
	Events   string // default events.{stream_type}
	Commands string // default commands.{domain}
}

// Defaults of every optional key.
const (
	DefaultAvro     = "schemas/avro"
	DefaultProto    = "schemas/proto"
	DefaultSubjects = "schemas/subjects.yaml"
	DefaultOut      = "gen"
	DefaultEvents   = "events.{stream_type}"
	DefaultCommands = "commands.{domain}"
)

// Find returns the project file in dir or the nearest parent folder that
// has one, or ErrNotFound.
func Find(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("project: %w", err)
	}
	for {
		p := filepath.Join(abs, FileName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return "", fmt.Errorf("%w in %s or a parent folder", ErrNotFound, dir)
		}
		abs = parent
	}
}

// Load reads, parses and validates the project file at file.
func Load(file string) (*Project, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	return Parse(file, data)
}

// Parse parses and validates data as the project file named file (used for
// messages and as the base of relative paths). Every problem is reported,
// each as an *Error.
func Parse(file string, data []byte) (*Project, error) {
	p := &Project{File: file, Dir: filepath.Dir(file)}
	d := newDecoder(file)
	root := d.document(data)
	if root == nil {
		return nil, d.err()
	}
	present := map[string]bool{}
	track := func(name string, fn func(*yaml.Node, string)) func(*yaml.Node, string) {
		return func(n *yaml.Node, key string) { present[name] = true; fn(n, key) }
	}
	d.mapping(root, "", map[string]func(*yaml.Node, string){
		"version":   track("version", d.integer(&p.Version)),
		"module":    d.str(&p.Module),
		"namespace": d.str(&p.Namespace),
		"schemas": func(n *yaml.Node, key string) {
			d.mapping(n, key, map[string]func(*yaml.Node, string){
				"avro":     d.str(&p.Schemas.Avro),
				"proto":    track("proto", d.str(&p.Schemas.Proto)),
				"subjects": d.str(&p.Schemas.Subjects),
			}, nil)
		},
		"generate": func(n *yaml.Node, key string) {
			d.mapping(n, key, map[string]func(*yaml.Node, string){
				"out":  d.str(&p.Generate.Out),
				"sqlc": d.str(&p.Generate.SQLC),
			}, nil)
		},
		"topics": func(n *yaml.Node, key string) {
			d.mapping(n, key, map[string]func(*yaml.Node, string){
				"events":   d.str(&p.Topics.Events),
				"commands": d.str(&p.Topics.Commands),
			}, nil)
		},
	}, nil)
	p.lines = d.lines
	if !present["version"] {
		d.errorf(root.Line, "version", "missing (want version: %d)", Version)
		p.Version = Version // reported; do not report it twice below
	}
	p.applyDefaults(present["proto"])
	if err := p.Validate(); err != nil {
		d.addValid(err)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// applyDefaults fills every optional key left empty. The proto folder
// defaults to schemas/proto only when that folder exists.
func (p *Project) applyDefaults(protoSet bool) {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&p.Schemas.Avro, DefaultAvro)
	def(&p.Schemas.Subjects, DefaultSubjects)
	def(&p.Generate.Out, DefaultOut)
	def(&p.Topics.Events, DefaultEvents)
	def(&p.Topics.Commands, DefaultCommands)
	if !protoSet {
		if st, err := os.Stat(p.Path(DefaultProto)); err == nil && st.IsDir() {
			p.Schemas.Proto = DefaultProto
		}
	}
}

var (
	modulePathRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*$`)
	avroNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	placeholder  = regexp.MustCompile(`\{[^}]*\}`)
)

// Validate reports every problem of p at once (errors.Join of *Error).
func (p *Project) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &Error{File: p.File, Line: p.lines[key], Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if p.Version != Version {
		bad("version", "unsupported version %d (want %d)", p.Version, Version)
	}
	switch {
	case p.Module == "":
		bad("module", "required: the Go module of the generated code, e.g. github.com/example/ledger")
	case !modulePathRE.MatchString(p.Module) || strings.Contains(p.Module, ".."):
		bad("module", "%q is not a Go module path", p.Module)
	}
	switch {
	case p.Namespace == "":
		bad("namespace", "required: the Avro namespace prefix, e.g. bank")
	default:
		for _, part := range strings.Split(p.Namespace, ".") {
			if !avroNameRE.MatchString(part) {
				bad("namespace", "%q is not an Avro namespace (dot-separated names of letters, digits and _)", p.Namespace)
				break
			}
		}
	}
	for key, v := range map[string]string{
		"schemas.avro": p.Schemas.Avro, "schemas.proto": p.Schemas.Proto, "schemas.subjects": p.Schemas.Subjects,
		"generate.out": p.Generate.Out, "generate.sqlc": p.Generate.SQLC,
	} {
		if v == "" {
			continue
		}
		if err := checkRelPath(v); err != nil {
			bad(key, "%q: %v", v, err)
		}
	}
	if p.Generate.Out == "." {
		bad("generate.out", "must be a folder of its own (it is emptied before generating)")
	}
	checkTopic := func(key, v string, allowed ...string) {
		if v == "" {
			bad(key, "must not be empty")
			return
		}
		for _, ph := range placeholder.FindAllString(v, -1) {
			if !slices.Contains(allowed, ph) {
				bad(key, "%q: unknown placeholder %s (want %s)", v, ph, strings.Join(allowed, " or "))
			}
		}
	}
	checkTopic("topics.events", p.Topics.Events, "{stream_type}", "{domain}")
	checkTopic("topics.commands", p.Topics.Commands, "{domain}")
	sortErrors(errs)
	return errors.Join(errs...)
}

// checkRelPath accepts a clean relative slash path inside the project.
func checkRelPath(v string) error {
	switch {
	case path.IsAbs(v) || filepath.IsAbs(v):
		return errors.New("must be relative to the project folder")
	case strings.Contains(v, `\`):
		return errors.New("use / as the separator")
	case !fs.ValidPath(path.Clean(v)):
		return errors.New("must stay inside the project folder")
	}
	return nil
}

// Path returns rel (a path of the project file) as a path of the file system.
func (p *Project) Path(rel string) string {
	if rel == "" || filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(p.Dir, filepath.FromSlash(rel))
}

// AvroNamespace is the Avro namespace of a domain's schemas.
func (p *Project) AvroNamespace(domain string) string { return p.Namespace + "." + domain }

// EventsTopic is the topic of a stream type's events.
func (p *Project) EventsTopic(streamType, domain string) string {
	return strings.NewReplacer("{stream_type}", streamType, "{domain}", domain).Replace(p.Topics.Events)
}

// CommandsTopic is the topic of a domain's commands.
func (p *Project) CommandsTopic(domain string) string {
	return strings.ReplaceAll(p.Topics.Commands, "{domain}", domain)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func sortErrors(errs []error) {
	slices.SortStableFunc(errs, func(a, b error) int {
		var ea, eb *Error
		if errors.As(a, &ea) && errors.As(b, &eb) {
			if ea.Line != eb.Line {
				return ea.Line - eb.Line
			}
			return strings.Compare(ea.Key, eb.Key)
		}
		return 0
	})
}

func sortStrings(s []string) { slices.Sort(s) }

// Open loads file, or when file is "" the project file found from the
// working folder (Find).
func Open(file string) (*Project, error) {
	if file == "" {
		found, err := Find(".")
		if err != nil {
			return nil, err
		}
		file = found
	}
	return Load(file)
}
