package codegen

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"unicode"

	"github.com/hamba/avro/v2"
)

// message is one entry of the generated registry.
type message struct {
	FullName    string
	Domain      string
	GoType      string
	JSON        string
	Fingerprint string
}

type enum struct {
	FullName string
	GoName   string
	Doc      string
	Symbols  []symbol
}

type symbol struct {
	Const string
	Value string
}

// writeRegistry writes outDir/events/registry.go and
// outDir/avro/<domain>/enums.go for files. module/outRel is the import path
// of outDir.
func writeRegistry(files []*schemaFile, outDir, module, outRel string) error {
	msgs, enums, err := collect(files)
	if err != nil {
		return err
	}
	reg, err := renderRegistry(msgs, path.Join(module, outRel))
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(outDir, "events", "registry.go"), reg); err != nil {
		return err
	}
	domains := make([]string, 0, len(enums))
	for d := range enums {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	for _, d := range domains {
		src, err := renderEnums(d, enums[d])
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(outDir, "avro", d, "enums.go"), src); err != nil {
			return err
		}
	}
	return nil
}

// collect splits the parsed files into message types and enums, sorted by
// full name.
func collect(files []*schemaFile) ([]message, map[string][]enum, error) {
	var msgs []message
	enums := map[string][]enum{}
	for _, f := range files {
		switch s := f.Schema.(type) {
		case *avro.RecordSchema:
			if f.Referenced {
				continue
			}
			js, err := s.MarshalJSON()
			if err != nil {
				return nil, nil, fmt.Errorf("%s: marshal schema: %w", f.Path, err)
			}
			fp := s.Fingerprint()
			msgs = append(msgs, message{
				FullName:    f.FullName,
				Domain:      f.Domain,
				GoType:      f.Domain + "." + goName(f.Name),
				JSON:        string(js),
				Fingerprint: byteLiteral(fp[:]),
			})
		case *avro.EnumSchema:
			e := enum{FullName: f.FullName, GoName: goName(f.Name), Doc: s.Doc()}
			for _, sym := range s.Symbols() {
				e.Symbols = append(e.Symbols, symbol{Const: e.GoName + goName(strings.ToLower(sym)), Value: sym})
			}
			enums[f.Domain] = append(enums[f.Domain], e)
		default:
			return nil, nil, fmt.Errorf("%s: %s schemas are not supported by the generator", f.Path, f.Kind)
		}
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].FullName < msgs[j].FullName })
	for d := range enums {
		sort.Slice(enums[d], func(i, j int) bool { return enums[d][i].FullName < enums[d][j].FullName })
	}
	if len(msgs) == 0 {
		return nil, nil, errors.New("no message types: every record is referenced by another")
	}
	return msgs, enums, nil
}

func byteLiteral(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "0x%02x", c)
	}
	return sb.String()
}

// goLiteral quotes s as a Go raw string when it can, so schemas stay readable.
func goLiteral(s string) string {
	if !strings.Contains(s, "`") && !strings.Contains(s, "\r") {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

// initialisms are the golint initialisms github.com/ettle/strcase (which
// avrogen uses) upper-cases; goName must name types exactly as avrogen does.
var initialisms = map[string]bool{
	"ACL": true, "API": true, "ASCII": true, "CPU": true, "CSS": true, "DNS": true,
	"EOF": true, "GUID": true, "HTML": true, "HTTP": true, "HTTPS": true, "ID": true,
	"IP": true, "JSON": true, "LHS": true, "QPS": true, "RAM": true, "RHS": true,
	"RPC": true, "SLA": true, "SMTP": true, "SQL": true, "SSH": true, "TCP": true,
	"TLS": true, "TTL": true, "UDP": true, "UI": true, "UID": true, "UUID": true,
	"URI": true, "URL": true, "UTF8": true, "VM": true, "XML": true, "XMPP": true,
	"XSRF": true, "XSS": true,
}

// goName turns an Avro name into a Go identifier the way avrogen does for
// PascalCase and snake_case names: words split at underscores and at
// lower-to-upper changes, each capitalised, initialisms upper-cased.
func goName(name string) string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	runes := []rune(name)
	for i, r := range runes {
		switch {
		case r == '_' || r == '-' || r == ' ':
			flush()
		case unicode.IsUpper(r) && i > 0 && (unicode.IsLower(runes[i-1]) || unicode.IsDigit(runes[i-1])):
			flush()
			cur = append(cur, r)
		case unicode.IsUpper(r) && i > 0 && i+1 < len(runes) && unicode.IsUpper(runes[i-1]) && unicode.IsLower(runes[i+1]):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	var sb strings.Builder
	for _, w := range words {
		if up := strings.ToUpper(w); initialisms[up] {
			sb.WriteString(up)
			continue
		}
		rs := []rune(strings.ToLower(w))
		rs[0] = unicode.ToUpper(rs[0])
		sb.WriteString(string(rs))
	}
	return sb.String()
}

var registryTmpl = template.Must(template.New("registry").Funcs(template.FuncMap{"lit": goLiteral}).Parse(`// Code generated by strata generate. DO NOT EDIT.

// Package events is the generated type registry of the project's Avro
// message types: pass Types() to serde.NewRegistry.
package events

import (
	"fmt"

	"github.com/hamba/avro/v2"

	"{{.Serde}}"
{{- range .Domains}}
	"{{$.Gen}}/avro/{{.}}"
{{- end}}
)

// Types returns every message type: Avro full name, Go constructor, parsed
// current schema, its self-contained JSON (docs and defaults kept) and its
// SHA-256 Parsing Canonical Form fingerprint. Each call parses the schemas
// afresh with private caches (nothing global is touched); call it once at
// startup. It panics only if a generated schema does not parse, which the
// generated package's tests rule out.
func Types() []serde.Type {
	return []serde.Type{
{{- range .Messages}}
		{
			Name:        "{{.FullName}}",
			Schema:      mustParse("{{.FullName}}", {{.Const}}),
			JSON:        {{.Const}},
			Fingerprint: [32]byte{ {{.Fingerprint}} },
			New:         func() any { return new({{.GoType}}) },
		},
{{- end}}
	}
}

// Names returns the Avro full names of every message type, sorted.
func Names() []string {
	return []string{
{{- range .Messages}}
		"{{.FullName}}",
{{- end}}
	}
}

func mustParse(name, schema string) avro.Schema {
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		panic(fmt.Sprintf("events: generated schema %s does not parse: %v", name, err))
	}
	return s
}

const (
{{- range .Messages}}
	// {{.Const}} is the full schema of {{.FullName}}.
	{{.Const}} = {{lit .JSON}}
{{- end}}
)
`))

var enumsTmpl = template.Must(template.New("enums").Parse(`// Code generated by strata generate. DO NOT EDIT.

package {{.Package}}
{{range .Enums}}
// Symbols of the Avro enum {{.FullName}}. Fields of this enum are Go strings
// in the generated structs; encoding a string that is not a symbol fails.
{{- if .Doc}}
//
// {{.Doc}}
{{- end}}
const (
{{- range .Symbols}}
	{{.Const}} = "{{.Value}}"
{{- end}}
)

// {{.GoName}}Symbols returns the symbols of {{.FullName}} in schema order.
func {{.GoName}}Symbols() []string {
	return []string{ {{- range $i, $s := .Symbols}}{{if $i}}, {{end}}{{$s.Const}}{{end -}} }
}
{{end}}`))

type registryMessage struct {
	message
	Const string // name of the Go constant holding the schema JSON
}

// serdePath is the import path of Strata's serde package, which the
// generated registry uses.
const serdePath = "github.com/stratahq/strata/serde"

// renderRegistry renders registry.go; gen is the import path of the output
// folder.
func renderRegistry(msgs []message, gen string) ([]byte, error) {
	seen := map[string]bool{}
	var domains []string
	rm := make([]registryMessage, len(msgs))
	for i, m := range msgs {
		if !seen[m.Domain] {
			seen[m.Domain] = true
			domains = append(domains, m.Domain)
		}
		_, name := splitName(m.FullName)
		rm[i] = registryMessage{message: m, Const: "schema" + goName(m.Domain) + goName(name)}
	}
	sort.Strings(domains)
	var buf bytes.Buffer
	err := registryTmpl.Execute(&buf, struct {
		Serde    string
		Gen      string
		Domains  []string
		Messages []registryMessage
	}{serdePath, gen, domains, rm})
	if err != nil {
		return nil, fmt.Errorf("render registry: %w", err)
	}
	return gofmt("registry.go", buf.Bytes())
}

func renderEnums(domain string, enums []enum) ([]byte, error) {
	var buf bytes.Buffer
	err := enumsTmpl.Execute(&buf, struct {
		Package string
		Enums   []enum
	}{domain, enums})
	if err != nil {
		return nil, fmt.Errorf("render enums of %s: %w", domain, err)
	}
	return gofmt(domain+"/enums.go", buf.Bytes())
}

func gofmt(name string, src []byte) ([]byte, error) {
	out, err := format.Source(src)
	if err != nil {
		return nil, fmt.Errorf("format generated %s: %w\n%s", name, err, src)
	}
	return out, nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
