package codegen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hamba/avro/v2"
)

// schemaFile is one .avsc file: the one named type it defines and the named
// types it references.
type schemaFile struct {
	Path     string // relative to the root, slash-separated, e.g. order/OrderPlaced.avsc
	Domain   string // directory under the root, e.g. order
	FullName string // e.g. shop.order.OrderPlaced
	Name     string // e.g. OrderPlaced
	Kind     string // record, enum or fixed
	Refs     []string
	Data     []byte

	Schema     avro.Schema // parsed, self-contained (set by loadSchemas)
	Referenced bool        // another file references this type
}

var primitives = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true,
}

// loadSchemas reads every .avsc file under root (one directory per domain),
// checks the layout rules, sorts the files so that every type comes after the
// types it references, and parses them in that order with a private cache.
func loadSchemas(root string) ([]*schemaFile, error) {
	var files []*schemaFile
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".avsc") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read schema: %w", err)
		}
		f, err := describe(filepath.ToSlash(rel), data)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load schemas from %s: %w", root, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("load schemas: no .avsc files under %s", root)
	}
	sorted, err := sortByDependency(files)
	if err != nil {
		return nil, err
	}
	cache := &avro.SchemaCache{}
	for _, f := range sorted {
		s, err := avro.ParseBytesWithCache(f.Data, "", cache)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", f.Path, err)
		}
		f.Schema = s
	}
	return sorted, nil
}

// describe finds the named type a file defines and the names it references.
func describe(rel string, data []byte) (*schemaFile, error) {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not JSON: %w", rel, err)
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: top level is not a named type", rel)
	}
	dir, base := filepath.Split(filepath.FromSlash(rel))
	domain := filepath.Base(filepath.Clean(dir))
	if dir == "" || strings.Contains(filepath.Clean(dir), string(filepath.Separator)) {
		return nil, fmt.Errorf("%s: schemas live one directory deep, as <domain>/<Name>.avsc", rel)
	}
	w := &walker{defined: map[string]string{}, refs: map[string]bool{}}
	w.walk("", top)
	if w.err != nil {
		return nil, fmt.Errorf("%s: %w", rel, w.err)
	}
	if len(w.defined) != 1 {
		names := make([]string, 0, len(w.defined))
		for n := range w.defined {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%s: defines %d named types %v, want exactly one per file", rel, len(names), names)
	}
	f := &schemaFile{Path: rel, Domain: domain, Data: data}
	for n, kind := range w.defined {
		f.FullName, f.Kind = n, kind
	}
	ns, name := splitName(f.FullName)
	f.Name = name
	if base != name+".avsc" {
		return nil, fmt.Errorf("%s: defines %s, so the file must be named %s.avsc", rel, f.FullName, name)
	}
	if ns != domain && !strings.HasSuffix(ns, "."+domain) {
		return nil, fmt.Errorf("%s: namespace %q does not end in the directory name %q", rel, ns, domain)
	}
	for r := range w.refs {
		if r != f.FullName {
			f.Refs = append(f.Refs, r)
		}
	}
	sort.Strings(f.Refs)
	return f, nil
}

type walker struct {
	defined map[string]string // full name -> kind
	refs    map[string]bool
	err     error
}

func (w *walker) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf(format, args...)
	}
}

// walk visits a schema in JSON form inside namespace ns.
func (w *walker) walk(ns string, v any) {
	switch s := v.(type) {
	case string:
		if !primitives[s] {
			w.refs[fullName(ns, s)] = true
		}
	case []any:
		for _, e := range s {
			w.walk(ns, e)
		}
	case map[string]any:
		switch typ := s["type"].(type) {
		case string:
			switch typ {
			case "record", "error", "enum", "fixed":
				name, _ := s["name"].(string)
				if name == "" {
					w.fail("a %s without a name", typ)
					return
				}
				inner := ns
				if explicit, ok := s["namespace"].(string); ok && !strings.Contains(name, ".") {
					inner = explicit
				}
				full := fullName(inner, name)
				if _, dup := w.defined[full]; dup {
					w.fail("%s defined twice", full)
				}
				kind := typ
				if kind == "error" {
					kind = "record"
				}
				w.defined[full] = kind
				if typ == "record" || typ == "error" {
					recNS, _ := splitName(full)
					fields, _ := s["fields"].([]any)
					for _, fv := range fields {
						if fm, ok := fv.(map[string]any); ok {
							w.walk(recNS, fm["type"])
						}
					}
				}
			case "array":
				w.walk(ns, s["items"])
			case "map":
				w.walk(ns, s["values"])
			default:
				w.walk(ns, typ)
			}
		default:
			w.walk(ns, typ)
		}
	default:
		w.fail("unexpected schema element %v", v)
	}
}

func fullName(ns, name string) string {
	if strings.Contains(name, ".") || ns == "" {
		return name
	}
	return ns + "." + name
}

func splitName(full string) (ns, name string) {
	i := strings.LastIndex(full, ".")
	if i < 0 {
		return "", full
	}
	return full[:i], full[i+1:]
}

// sortByDependency orders files so that each comes after the files defining
// the types it references (hamba resolves a reference only to a type already
// parsed). Ties are broken by full name, so the order is deterministic.
func sortByDependency(files []*schemaFile) ([]*schemaFile, error) {
	byName := make(map[string]*schemaFile, len(files))
	var errs []error
	for _, f := range files {
		if prev, dup := byName[f.FullName]; dup {
			errs = append(errs, fmt.Errorf("%s and %s both define %s", prev.Path, f.Path, f.FullName))
			continue
		}
		byName[f.FullName] = f
	}
	indegree := make(map[string]int, len(files))
	users := make(map[string][]string)
	for _, f := range byName {
		indegree[f.FullName] += 0
		for _, r := range f.Refs {
			dep, ok := byName[r]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: references %s, which no file defines", f.Path, r))
				continue
			}
			dep.Referenced = true
			if dep.Domain != f.Domain {
				errs = append(errs, fmt.Errorf("%s: references %s from another domain (%s); the generator keeps each domain's Go package self-contained", f.Path, r, dep.Domain))
				continue
			}
			indegree[f.FullName]++
			users[r] = append(users[r], f.FullName)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var ready []string
	for n, d := range indegree {
		if d == 0 {
			ready = append(ready, n)
		}
	}
	out := make([]*schemaFile, 0, len(files))
	for len(ready) > 0 {
		sort.Strings(ready)
		n := ready[0]
		ready = ready[1:]
		out = append(out, byName[n])
		for _, u := range users[n] {
			indegree[u]--
			if indegree[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(out) != len(byName) {
		var cyc []string
		for n, d := range indegree {
			if d > 0 {
				cyc = append(cyc, byName[n].Path)
			}
		}
		sort.Strings(cyc)
		return nil, fmt.Errorf("schemas reference each other in a cycle: %s", strings.Join(cyc, ", "))
	}
	return out, nil
}
