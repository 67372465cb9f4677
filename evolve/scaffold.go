package evolve

import (
	"bytes"
	"fmt"
	"go/format"
	"path"
	"strings"
	"text/template"
	"unicode"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/compat"
)

// ScaffoldInput describes a change of one type: its schema before (the
// version data was written with) and now.
type ScaffoldInput struct {
	Type     string // Avro full name
	Old, New string // self-contained schema JSON
	Version  int    // the version number Old gets (the current one gets Version+1)
	Dir      string // the Go package folder of the project's upcasters, relative to the project folder
	Package  string // its package name
}

// Scaffold is what ScaffoldUpcaster writes and says.
type Scaffold struct {
	Files       map[string][]byte // path relative to the project folder -> content
	Declaration string            // the subjects-file history entry to add
	Problems    []compat.Incompatibility
}

// ScaffoldUpcaster prepares an upcaster for a change Avro resolution cannot
// carry: the old schema under <dir>/history/<type>/v<N>.avsc, a Go step
// that fails until written (<dir>/<type>_v<N>.go), a golden payload of the
// old version (<dir>/testdata/<type>/v<N>.avro, a zero-valued record) and
// the history declaration. When resolution can carry the change it returns
// only the history file and a path: resolution declaration.
func ScaffoldUpcaster(in ScaffoldInput) (*Scaffold, error) {
	old, err := avro.ParseWithCache(in.Old, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("evolve: old schema of %s: %w", in.Type, err)
	}
	cur, err := avro.ParseWithCache(in.New, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("evolve: new schema of %s: %w", in.Type, err)
	}
	if old.Fingerprint() == cur.Fingerprint() {
		return nil, fmt.Errorf("evolve: %s has not changed: no new version to declare", in.Type)
	}
	_, short := splitFull(in.Type)
	hist := path.Join(in.Dir, "history", in.Type, fmt.Sprintf("v%d.avsc", in.Version))
	sc := &Scaffold{Files: map[string][]byte{hist: []byte(strings.TrimSpace(in.Old) + "\n")}}
	sc.Problems = compat.ReaderWriter(cur, old)
	pathKind := "resolution"
	if len(sc.Problems) > 0 {
		pathKind = "upcaster"
		goName := exportName(short)
		var b bytes.Buffer
		err := stepTmpl.Execute(&b, map[string]any{
			"Package": in.Package, "Type": in.Type, "Name": goName, "N": in.Version, "Next": in.Version + 1,
			"Embed": path.Join("history", in.Type, fmt.Sprintf("v%d.avsc", in.Version)), "Problems": sc.Problems,
		})
		if err != nil {
			return nil, fmt.Errorf("evolve: render step: %w", err)
		}
		src, err := format.Source(b.Bytes())
		if err != nil {
			return nil, fmt.Errorf("evolve: format step: %w\n%s", err, b.Bytes())
		}
		sc.Files[path.Join(in.Dir, fmt.Sprintf("%s_v%d.go", snake(short), in.Version))] = src
		payload, err := avro.Marshal(old, zeroValue(old))
		if err != nil {
			return nil, fmt.Errorf("evolve: golden payload of %s v%d: %w", in.Type, in.Version, err)
		}
		sc.Files[path.Join(in.Dir, "testdata", in.Type, fmt.Sprintf("v%d.avro", in.Version))] = payload
	}
	sc.Declaration = fmt.Sprintf("  %s:\n    history:\n      - version: %d\n        schema: %s\n        path: %s\n", in.Type, in.Version, hist, pathKind)
	return sc, nil
}

var stepTmpl = template.Must(template.New("step").Parse(`package {{.Package}}

import (
	_ "embed"
	"errors"
)

// {{.Name}}V{{.N}} is the writer schema of {{.Type}} version {{.N}}.
//
//go:embed {{.Embed}}
var {{.Name}}V{{.N}}Schema string

// {{.Name}}V{{.N}}ToV{{.Next}} upcasts a version {{.N}} {{.Type}} record (Avro's
// generic form: records map[string]any, arrays []any) to version {{.Next}}.
// Avro resolution cannot do it alone:
{{- range .Problems}}
//   - {{.}}
{{- end}}
//
// Add {Version: {{.N}}, Schema: {{.Name}}V{{.N}}Schema, Up: {{.Name}}V{{.N}}ToV{{.Next}}} to
// the type's upcasters.Chain, write the expected value of the golden payload
// testdata/{{.Type}}/v{{.N}}.avro, and replace the body.
func {{.Name}}V{{.N}}ToV{{.Next}}(rec map[string]any) (map[string]any, error) {
	return nil, errors.New("{{.Type}} v{{.N}} -> v{{.Next}}: upcaster not written yet")
}
`))

func splitFull(full string) (ns, name string) {
	i := strings.LastIndex(full, ".")
	if i < 0 {
		return "", full
	}
	return full[:i], full[i+1:]
}

func exportName(s string) string {
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// zeroValue is a value of s in Avro's generic form with every field at its
// zero: the golden payload a scaffold starts from.
func zeroValue(s avro.Schema) any {
	switch s := s.(type) {
	case *avro.RecordSchema:
		m := map[string]any{}
		for _, f := range s.Fields() {
			m[f.Name()] = zeroValue(f.Type())
		}
		return m
	case *avro.RefSchema:
		return zeroValue(s.Schema())
	case *avro.ArraySchema:
		return []any{}
	case *avro.MapSchema:
		return map[string]any{}
	case *avro.EnumSchema:
		return s.Symbols()[0]
	case *avro.FixedSchema:
		return make([]byte, s.Size())
	case *avro.UnionSchema:
		if s.Nullable() {
			return nil
		}
		return zeroValue(s.Types()[0])
	case *avro.PrimitiveSchema:
		if s.Logical() != nil {
			switch s.Logical().Type() {
			case avro.TimestampMillis, avro.TimestampMicros:
				return time0
			}
		}
		switch s.Type() {
		case avro.String:
			return ""
		case avro.Bytes:
			return []byte{}
		case avro.Int:
			return 0
		case avro.Long:
			return int64(0)
		case avro.Float:
			return float32(0)
		case avro.Double:
			return float64(0)
		case avro.Boolean:
			return false
		}
	}
	return nil
}
