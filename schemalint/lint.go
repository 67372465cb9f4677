package schemalint

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Rule names reported by Lint.
const (
	RuleParse     = "PARSE"      // the file is not valid JSON or not a valid Avro schema
	RuleLayout    = "LAYOUT"     // one named type per file, in schemas/avro/<domain>/<Name>.avsc
	RuleName      = "NAME"       // names, namespaces, aliases and enum symbols follow Avro's name rules
	RuleNamespace = "NAMESPACE"  // the namespace of a domain folder's types is <prefix>.<domain>
	RuleDoc       = "DOC"        // records, enums and fields carry a non-empty doc
	RuleDefault   = "DEFAULT"    // a default is valid for its type
	RuleNullable  = "NULLABLE"   // a nullable field is ["null", T] with default null
	RuleDuplicate = "DUPLICATE"  // a full name is defined once in the whole set
	RuleStyle     = "NAME_STYLE" // TypeNames, field_names, ENUM_SYMBOLS
)

// Finding is one lint problem, printed as "path:line: RULE message".
type Finding struct {
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s %s", f.Path, f.Line, f.Rule, f.Message)
}

// Options tune Lint.
type Options struct {
	// NamespacePrefix: types in folder <domain> live in namespace
	// <NamespacePrefix>.<domain> (strata.yaml's namespace). When empty, the
	// namespace need only end in .<domain>.
	NamespacePrefix string
}

var avroName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var (
	pascal    = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	snake     = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	upper     = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)
	nsSegment = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Lint checks every file of set and returns the findings sorted by path and
// line.
func Lint(set *Set, opts Options) []Finding {
	l := &linter{set: set, opts: opts, defs: map[string]def{}}
	// Every named type of the set, for defaults of referenced types and
	// duplicates.
	for _, f := range set.Files {
		if f.json == nil {
			continue
		}
		walkTypes(f.json, "", "", func(v visit) {
			if v.def == nil {
				return
			}
			if prev, dup := l.defs[v.fullName]; dup {
				l.add(f, v.ptr+"/name", RuleDuplicate, "%s is already defined in %s", v.fullName, prev.file.Path)
				return
			}
			l.defs[v.fullName] = def{file: f, obj: v.def, ns: v.ns}
		})
	}
	for _, f := range set.Files {
		l.file(f)
	}
	sort.SliceStable(l.out, func(i, j int) bool {
		a, b := l.out[i], l.out[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Line < b.Line
	})
	return l.out
}

type def struct {
	file *File
	obj  map[string]any
	ns   string
}

type linter struct {
	set  *Set
	opts Options
	defs map[string]def
	out  []Finding
}

func (l *linter) add(f *File, ptr, rule, format string, args ...any) {
	l.out = append(l.out, Finding{Path: f.Path, Line: f.Line(ptr), Rule: rule, Message: fmt.Sprintf(format, args...)})
}

func (l *linter) file(f *File) {
	if f.json == nil || f.Kind == "" {
		l.parseError(f)
		return
	}
	// Layout: <root>/<domain>/<Name>.avsc with namespace <prefix>.<domain>.
	if f.Domain == "" {
		l.add(f, "", RuleLayout, "schema files live in a domain folder: %s/<domain>/%s.avsc", l.set.Root, f.Name)
	} else {
		if want := l.opts.NamespacePrefix + "." + f.Domain; l.opts.NamespacePrefix != "" && f.Namespace != want {
			l.add(f, "/namespace", RuleNamespace, "namespace %q, want %q for folder %s", f.Namespace, want, f.Domain)
		} else if l.opts.NamespacePrefix == "" && !strings.HasSuffix("."+f.Namespace, "."+f.Domain) {
			l.add(f, "/namespace", RuleNamespace, "namespace %q, want one ending in .%s for folder %s", f.Namespace, f.Domain, f.Domain)
		}
	}
	if base := strings.TrimSuffix(path.Base(f.Path), ".avsc"); base != f.Name {
		l.add(f, "/name", RuleLayout, "file name %s.avsc does not match the type name %s", base, f.Name)
	}
	walkTypes(f.json, "", "", func(v visit) {
		switch {
		case v.def != nil:
			l.named(f, v)
		case v.field != nil:
			l.field(f, v)
		}
	})
	if f.Err != nil && !l.explained(f) {
		l.parseError(f)
	}
}

// explained reports that f's parse error is an invalid default already
// reported, with its line, by the DEFAULT rule.
func (l *linter) explained(f *File) bool {
	if !strings.Contains(f.Err.Error(), "invalid default") {
		return false
	}
	return slices.ContainsFunc(l.out, func(x Finding) bool { return x.Path == f.Path && x.Rule == RuleDefault })
}

func (l *linter) parseError(f *File) {
	line := 1
	var syn *json.SyntaxError
	if errors.As(f.Err, &syn) {
		line = offsetLine(f.Data, syn.Offset)
	}
	l.out = append(l.out, Finding{Path: f.Path, Line: line, Rule: RuleParse, Message: f.Err.Error()})
}

func (l *linter) named(f *File, v visit) {
	obj := v.def
	kind, _ := obj["type"].(string)
	name, _ := obj["name"].(string)
	if v.ptr != "" {
		l.add(f, v.ptr, RuleLayout, "%s %s is defined inline; give it a file of its own and refer to it by name", kind, v.fullName)
	}
	_, _, short := qualify(name, "")
	if !avroName.MatchString(short) {
		l.add(f, v.ptr+"/name", RuleName, "invalid name %q", name)
	} else if !pascal.MatchString(short) {
		l.add(f, v.ptr+"/name", RuleStyle, "type name %q is not PascalCase", short)
	}
	_, ns, _ := qualify(name, stringOr(obj["namespace"], v.ns))
	if ns != "" {
		for _, seg := range strings.Split(ns, ".") {
			if !avroName.MatchString(seg) {
				l.add(f, v.ptr+"/namespace", RuleName, "invalid namespace %q", ns)
				break
			}
			if !nsSegment.MatchString(seg) {
				l.add(f, v.ptr+"/namespace", RuleStyle, "namespace %q: segments are lower case", ns)
				break
			}
		}
	}
	l.aliases(f, v.ptr, obj, true)
	if kind != "fixed" && strings.TrimSpace(stringOr(obj["doc"], "")) == "" {
		l.add(f, v.ptr, RuleDoc, "%s %s has no doc", kind, v.fullName)
	}
	if kind != "enum" {
		return
	}
	syms, _ := obj["symbols"].([]any)
	seen := map[string]bool{}
	for i, sv := range syms {
		s, _ := sv.(string)
		p := fmt.Sprintf("%s/symbols/%d", v.ptr, i)
		switch {
		case !avroName.MatchString(s):
			l.add(f, p, RuleName, "invalid enum symbol %q", sv)
		case seen[s]:
			l.add(f, p, RuleName, "duplicate enum symbol %q", s)
		case !upper.MatchString(s):
			l.add(f, p, RuleStyle, "enum symbol %q is not UPPER_SNAKE_CASE", s)
		}
		seen[s] = true
	}
	if d, ok := obj["default"]; ok {
		if s, _ := d.(string); !seen[s] {
			l.add(f, v.ptr+"/default", RuleDefault, "enum default %v is not one of the symbols", jsonText(d))
		}
	}
}

func (l *linter) aliases(f *File, ptr string, obj map[string]any, dotted bool) {
	raw, ok := obj["aliases"]
	if !ok {
		return
	}
	list, ok := raw.([]any)
	if !ok {
		l.add(f, ptr+"/aliases", RuleName, "aliases must be an array of names")
		return
	}
	for i, a := range list {
		s, _ := a.(string)
		parts := []string{s}
		if dotted {
			parts = strings.Split(s, ".")
		}
		for _, p := range parts {
			if !avroName.MatchString(p) {
				l.add(f, fmt.Sprintf("%s/aliases/%d", ptr, i), RuleName, "invalid alias %v", jsonText(a))
				break
			}
		}
	}
}

func (l *linter) field(f *File, v visit) {
	fm := v.field
	name, _ := fm["name"].(string)
	if !avroName.MatchString(name) {
		l.add(f, v.ptr+"/name", RuleName, "invalid field name %v", jsonText(fm["name"]))
	} else if !snake.MatchString(name) {
		l.add(f, v.ptr+"/name", RuleStyle, "field name %q is not snake_case", name)
	}
	l.aliases(f, v.ptr, fm, false)
	if strings.TrimSpace(stringOr(fm["doc"], "")) == "" {
		l.add(f, v.ptr, RuleDoc, "field %s has no doc", name)
	}
	typ := fm["type"]
	d, hasDefault := fm["default"]
	if u, ok := l.union(typ, v.ns); ok {
		if i := nullIndex(u, v.ns); i >= 0 {
			switch {
			case i != 0:
				l.add(f, v.ptr+"/type", RuleNullable, "field %s is nullable: put \"null\" first in the union", name)
			case !hasDefault:
				l.add(f, v.ptr, RuleNullable, "nullable field %s has no default: add \"default\": null", name)
			case d != nil:
				l.add(f, v.ptr+"/default", RuleNullable, "nullable field %s: default %s, want null", name, jsonText(d))
			}
		}
	}
	if hasDefault {
		if msg := l.validDefault(typ, v.ns, d, 0); msg != "" {
			l.add(f, v.ptr+"/default", RuleDefault, "field %s: default %s is not valid: %s", name, jsonText(d), msg)
		}
	}
}

// union returns the branches when t (inside namespace ns) is a union.
func (l *linter) union(t any, ns string) ([]any, bool) {
	switch x := t.(type) {
	case []any:
		return x, true
	case map[string]any:
		if inner, ok := x["type"].([]any); ok {
			return inner, true
		}
	}
	return nil, false
}

func nullIndex(branches []any, ns string) int {
	for i, b := range branches {
		if typeName(b) == "null" {
			return i
		}
	}
	return -1
}

// typeName is the type keyword of t: a primitive, record, enum, fixed,
// array, map, union, or a referenced name.
func typeName(t any) string {
	switch x := t.(type) {
	case string:
		return x
	case []any:
		return "union"
	case map[string]any:
		if s, ok := x["type"].(string); ok {
			return s
		}
		return typeName(x["type"])
	}
	return ""
}

func stringOr(v any, def string) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return def
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

// sortedKeys is used for deterministic messages.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
