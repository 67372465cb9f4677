package schemalint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/compat"
)

// File is one .avsc file: one named type, possibly referencing named types
// defined in other files of the same Set.
type File struct {
	Path      string // slash-separated, as found under the Set's root, e.g. schemas/avro/order/OrderPlaced.avsc
	Domain    string // the folder under the root, e.g. order ("" when the file is directly in the root)
	Data      []byte // the file as read
	Name      string // e.g. OrderPlaced
	Namespace string // e.g. shop.order
	FullName  string // e.g. shop.order.OrderPlaced
	Kind      string // record, enum or fixed ("" when the file does not define a named type)

	// Refs lists the full names of the named types this file references but
	// does not define, in order of first use.
	Refs []string
	// Referenced tells that another file of the Set references this type.
	Referenced bool

	// Text is the schema made self-contained: every referenced type from
	// another file is inlined at its first use. This is what is registered.
	Text string
	// Schema is Text parsed with a private name cache; nil when Err is set.
	Schema avro.Schema
	// Err tells why the file could not be parsed (JSON, Avro or a reference).
	Err error

	json  any
	lines lineIndex
}

// Line returns the line of the JSON member at pointer ptr (e.g.
// "/fields/2/type"), or of its nearest ancestor present in the file.
func (f *File) Line(ptr string) int { return f.lines.line(ptr) }

// IsSubject tells whether the file is a registry subject: a record that no
// other file references (events and commands; embedded value types such as
// an address are registered inside the subjects that use them).
func (f *File) IsSubject() bool { return f.Kind == "record" && !f.Referenced && f.Err == nil }

// Set is every .avsc file under one root.
type Set struct {
	Root   string
	Files  []*File          // sorted by path
	byName map[string]*File // first file defining each full name
}

// Lookup returns the file defining fullName, or nil.
func (s *Set) Lookup(fullName string) *File { return s.byName[fullName] }

// Subjects returns the files that are registry subjects, sorted by full name.
func (s *Set) Subjects() []*File {
	var out []*File
	for _, f := range s.Files {
		if f.IsSubject() {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b *File) int { return strings.Compare(a.FullName, b.FullName) })
	return out
}

// Load reads every *.avsc file under root in fsys and parses each into a
// self-contained schema. A file that cannot be read fails Load; a file that
// does not parse is kept with Err set (Lint reports it).
func Load(fsys fs.FS, root string) (*Set, error) {
	set := &Set{Root: root, byName: map[string]*File{}}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".avsc") {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		set.Files = append(set.Files, newFile(root, p, data))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load schemas under %s: %w", root, err)
	}
	slices.SortFunc(set.Files, func(a, b *File) int { return strings.Compare(a.Path, b.Path) })
	for _, f := range set.Files {
		if f.FullName != "" {
			if _, dup := set.byName[f.FullName]; !dup {
				set.byName[f.FullName] = f
			}
		}
	}
	for _, f := range set.Files {
		for _, r := range f.Refs {
			if g := set.byName[r]; g != nil && g != f {
				g.Referenced = true
			}
		}
	}
	for _, f := range set.Files {
		if f.Err != nil {
			continue
		}
		f.Text, f.Err = set.expand(f)
		if f.Err != nil {
			continue
		}
		s, err := compat.Parse(f.Text)
		if err != nil {
			f.Err = err
			continue
		}
		f.Schema = s
	}
	return set, nil
}

func newFile(root, p string, data []byte) *File {
	f := &File{Path: p, Data: data, lines: indexLines(data)}
	rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
	if dir := path.Dir(rel); dir != "." {
		f.Domain = strings.Split(dir, "/")[0]
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&f.json); err != nil {
		f.Err = fmt.Errorf("json: %w", err)
		return f
	}
	if dec.More() {
		f.Err = errors.New("json: more than one value in the file")
		return f
	}
	obj, ok := f.json.(map[string]any)
	if !ok {
		f.Err = errors.New("the file must hold one named type (a JSON object)")
		return f
	}
	kind, _ := obj["type"].(string)
	name, _ := obj["name"].(string)
	switch kind {
	case "record", "error", "enum", "fixed":
		if kind == "error" {
			kind = "record"
		}
	default:
		f.Err = fmt.Errorf("the file must define a record, enum or fixed, not %v", obj["type"])
		return f
	}
	ns, _ := obj["namespace"].(string)
	f.Kind = kind
	f.FullName, f.Namespace, f.Name = qualify(name, ns)
	defined := map[string]bool{}
	walkTypes(f.json, "", "", func(v visit) {
		switch {
		case v.def != nil:
			defined[v.fullName] = true
		case v.ref != "":
			if !defined[v.ref] && !slices.Contains(f.Refs, v.ref) {
				f.Refs = append(f.Refs, v.ref)
			}
		}
	})
	return f
}

// qualify returns the full name, namespace and short name of name declared
// with namespace ns (a dotted name carries its own namespace).
func qualify(name, ns string) (full, namespace, short string) {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name, name[:i], name[i+1:]
	}
	if ns == "" {
		return name, "", name
	}
	return ns + "." + name, ns, name
}

var primitives = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true,
}

// visit is one node in a type position of a schema's JSON.
type visit struct {
	ptr      string         // JSON pointer of the type
	ns       string         // enclosing namespace
	def      map[string]any // a named type defined here (record, enum, fixed)
	fullName string         // its full name
	ref      string         // or: a named type referenced by name (full name)
	obj      map[string]any // any type given as an object
	union    []any          // or: a union
	prim     string         // or: a primitive, by name or as {"type": p}
	field    map[string]any // set on the visit of a field (ptr is the field's)
}

// walkTypes calls fn for every type in the schema v (at pointer ptr, inside
// namespace ns) and for every record field, depth first.
func walkTypes(v any, ptr, ns string, fn func(visit)) {
	switch t := v.(type) {
	case string:
		if primitives[t] {
			fn(visit{ptr: ptr, ns: ns, prim: t})
			return
		}
		full, _, _ := qualify(t, ns)
		fn(visit{ptr: ptr, ns: ns, ref: full})
	case []any:
		fn(visit{ptr: ptr, ns: ns, union: t})
		for i, b := range t {
			walkTypes(b, fmt.Sprintf("%s/%d", ptr, i), ns, fn)
		}
	case map[string]any:
		typ := t["type"]
		ts, isString := typ.(string)
		if !isString {
			// {"type": {...}} or {"type": [...]}: the type is nested.
			walkTypes(typ, ptr+"/type", ns, fn)
			return
		}
		switch ts {
		case "record", "error", "enum", "fixed":
			name, _ := t["name"].(string)
			own, _ := t["namespace"].(string)
			if own == "" {
				own = ns
			}
			full, space, _ := qualify(name, own)
			fn(visit{ptr: ptr, ns: ns, def: t, fullName: full, obj: t})
			if ts == "enum" || ts == "fixed" {
				return
			}
			fields, _ := t["fields"].([]any)
			for i, fv := range fields {
				fm, ok := fv.(map[string]any)
				if !ok {
					continue
				}
				fptr := fmt.Sprintf("%s/fields/%d", ptr, i)
				fn(visit{ptr: fptr, ns: space, field: fm})
				walkTypes(fm["type"], fptr+"/type", space, fn)
			}
		case "array":
			fn(visit{ptr: ptr, ns: ns, obj: t})
			walkTypes(t["items"], ptr+"/items", ns, fn)
		case "map":
			fn(visit{ptr: ptr, ns: ns, obj: t})
			walkTypes(t["values"], ptr+"/values", ns, fn)
		default:
			if primitives[ts] {
				fn(visit{ptr: ptr, ns: ns, prim: ts, obj: t})
				return
			}
			// {"type": "shop.order.Address"}: a reference.
			full, _, _ := qualify(ts, ns)
			fn(visit{ptr: ptr, ns: ns, ref: full, obj: t})
		}
	}
}

// expand returns f's schema with every type referenced from another file
// inlined at its first use (a type used again is named, as Avro requires).
func (s *Set) expand(f *File) (string, error) {
	defined := map[string]bool{}
	out, err := s.inline(f, f.json, "", defined, nil)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("marshal %s: %w", f.Path, err)
	}
	return string(b), nil
}

// inline copies v (a type inside namespace ns) replacing references to types
// of other files by their definitions the first time each is met.
func (s *Set) inline(f *File, v any, ns string, defined map[string]bool, chain []string) (any, error) {
	switch t := v.(type) {
	case string:
		if primitives[t] {
			return t, nil
		}
		full, _, _ := qualify(t, ns)
		if defined[full] {
			return full, nil
		}
		dep := s.byName[full]
		if dep == nil || dep.json == nil {
			return nil, fmt.Errorf("unknown type %s (no file under the schema root defines it)", full)
		}
		if slices.Contains(chain, dep.Path) {
			return full, nil
		}
		return s.inline(dep, dep.json, "", defined, append(chain, f.Path))
	case []any:
		out := make([]any, len(t))
		for i, b := range t {
			x, err := s.inline(f, b, ns, defined, chain)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = x
		}
		typ := t["type"]
		ts, isString := typ.(string)
		if !isString {
			x, err := s.inline(f, typ, ns, defined, chain)
			if err != nil {
				return nil, err
			}
			out["type"] = x
			return out, nil
		}
		switch ts {
		case "record", "error", "enum", "fixed":
			name, _ := t["name"].(string)
			own, _ := t["namespace"].(string)
			if own == "" {
				own = ns
			}
			full, space, _ := qualify(name, own)
			defined[full] = true
			if space != "" {
				// Keep the namespace explicit: the type may be inlined into
				// another namespace.
				out["namespace"] = space
			}
			if ts != "record" && ts != "error" {
				return out, nil
			}
			fields, _ := t["fields"].([]any)
			newFields := make([]any, len(fields))
			for i, fv := range fields {
				fm, ok := fv.(map[string]any)
				if !ok {
					newFields[i] = fv
					continue
				}
				nf := make(map[string]any, len(fm))
				for k, x := range fm {
					nf[k] = x
				}
				x, err := s.inline(f, fm["type"], space, defined, chain)
				if err != nil {
					return nil, err
				}
				nf["type"] = x
				newFields[i] = nf
			}
			out["fields"] = newFields
			return out, nil
		case "array":
			x, err := s.inline(f, t["items"], ns, defined, chain)
			if err != nil {
				return nil, err
			}
			out["items"] = x
			return out, nil
		case "map":
			x, err := s.inline(f, t["values"], ns, defined, chain)
			if err != nil {
				return nil, err
			}
			out["values"] = x
			return out, nil
		default:
			if primitives[ts] {
				return out, nil
			}
			return s.inline(f, ts, ns, defined, chain)
		}
	}
	return v, nil
}

// Locate maps a JSON pointer into f's self-contained schema (as a
// compatibility Incompatibility.Location gives it) back to a file and line:
// a pointer that passes through a type defined in another file continues in
// that file. When the pointer leaves the files' structure, the line of the
// deepest member reached is returned.
func (s *Set) Locate(f *File, ptr string) (string, int) {
	cur, v, at := f, f.json, ""
	if ptr == "/" {
		ptr = ""
	}
	tokens := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	if ptr == "" {
		tokens = nil
	}
	ns := f.Namespace
	for _, tok := range tokens {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		// A reference to another file's type: continue there.
		for {
			name := ""
			switch x := v.(type) {
			case string:
				name = x
			case map[string]any:
				if t, ok := x["type"].(string); ok && !primitives[t] && x[tok] == nil {
					switch t {
					case "record", "error", "enum", "fixed", "array", "map":
					default:
						name = t
					}
				}
			}
			if name == "" || primitives[name] {
				break
			}
			full, _, _ := qualify(name, ns)
			g := s.byName[full]
			if g == nil || g.json == nil {
				return cur.Path, cur.Line(at)
			}
			cur, v, at, ns = g, g.json, "", g.Namespace
		}
		switch x := v.(type) {
		case map[string]any:
			if rec, ok := x["namespace"].(string); ok && rec != "" {
				ns = rec
			}
			next, ok := x[tok]
			if !ok {
				return cur.Path, cur.Line(at)
			}
			v, at = next, at+"/"+escape(tok)
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return cur.Path, cur.Line(at)
			}
			v, at = x[i], at+"/"+tok
		default:
			return cur.Path, cur.Line(at)
		}
	}
	return cur.Path, cur.Line(at)
}

// JSON returns the file's decoded JSON (numbers as json.Number), nil when it
// is not valid JSON. Callers must not modify it.
func (f *File) JSON() any { return f.json }
