package compat_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stratahq/strata/compat"
)

// TestDifferentialAgainstAvroJava compares ReaderWriter with Apache Avro
// Java on randomly generated schemas and mutations of them, both directions.
// It needs Avro Java: run compat/testdata/javacheck/run.sh, which sets
// STRATA_AVRO_JAVA to the JavaCheck command (and optionally
// STRATA_AVRO_JAVA_N pairs, STRATA_AVRO_JAVA_SEED).
func TestDifferentialAgainstAvroJava(t *testing.T) {
	cmdline := os.Getenv("STRATA_AVRO_JAVA")
	if cmdline == "" {
		t.Skip("STRATA_AVRO_JAVA not set (see compat/testdata/javacheck/run.sh)")
	}
	n := envInt("STRATA_AVRO_JAVA_N", 2000)
	seed := envInt("STRATA_AVRO_JAVA_SEED", 1)
	g := &schemaGen{r: rand.New(rand.NewPCG(uint64(seed), 7))}

	type job struct{ reader, writer string }
	var jobs []job
	for range n {
		a := g.top()
		b := g.mutate(a)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		jobs = append(jobs, job{string(ja), string(jb)}, job{string(jb), string(ja)})
	}
	var input strings.Builder
	for _, j := range jobs {
		fmt.Fprintf(&input, "{\"reader\":%s,\"writer\":%s}\n", j.reader, j.writer)
	}
	fields := strings.Fields(cmdline)
	cmd := exec.Command(fields[0], fields[1:]...)
	cmd.Stdin = strings.NewReader(input.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run Avro Java: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var javaLines []string
	for sc.Scan() {
		javaLines = append(javaLines, sc.Text())
	}
	if len(javaLines) != len(jobs) {
		t.Fatalf("Avro Java answered %d lines for %d pairs", len(javaLines), len(jobs))
	}

	var compared, agreeVerdict, agreeExact, javaRejects, hambaOnlyRejects, incompatible int
	for i, j := range jobs {
		java := javaLines[i]
		r, rerr := compat.Parse(j.reader)
		w, werr := compat.Parse(j.writer)
		if strings.HasPrefix(java, "parse-error") {
			javaRejects++
			continue
		}
		if rerr != nil || werr != nil {
			hambaOnlyRejects++
			if hambaOnlyRejects <= 5 {
				t.Logf("hamba rejects what Avro Java accepts: %v %v\n reader %s\n writer %s", rerr, werr, j.reader, j.writer)
			}
			continue
		}
		compared++
		got := compat.ReaderWriter(r, w)
		goLine := "compatible"
		if len(got) > 0 {
			if got[0].Type == compat.TypeError {
				goLine = "error"
			} else {
				parts := []string{"incompatible"}
				for _, x := range got {
					parts = append(parts, x.String())
				}
				goLine = strings.Join(parts, "\t")
			}
		}
		javaVerdict := strings.SplitN(java, "\t", 2)[0]
		if javaVerdict == "incompatible" {
			incompatible++
		}
		goVerdict := strings.SplitN(goLine, "\t", 2)[0]
		if goVerdict != javaVerdict {
			t.Errorf("verdict differs: go %q, java %q\n reader %s\n writer %s", goLine, java, j.reader, j.writer)
			continue
		}
		agreeVerdict++
		if goVerdict == "error" || goLine == java {
			agreeExact++
			continue
		}
		t.Errorf("incompatibilities differ:\n go   %q\n java %q\n reader %s\n writer %s", goLine, java, j.reader, j.writer)
	}
	t.Logf("seed %d: %d directions generated; Avro Java rejected %d, hamba alone rejected %d; compared %d (%d incompatible): verdict agrees %d/%d, exact %d/%d",
		seed, len(jobs), javaRejects, hambaOnlyRejects, compared, incompatible, agreeVerdict, compared, agreeExact, compared)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// schemaGen makes random Avro schemas (as JSON values) from a small
// vocabulary, so that pairs often share names, fields and symbols. Named
// types use full names everywhere ("a.R"), so references resolve trivially.
type schemaGen struct {
	r *rand.Rand
}

var (
	genRecordNames = []string{"R", "S", "a.R", "b.T"}
	genEnumNames   = []string{"E", "a.E", "F"}
	genFixedNames  = []string{"X", "a.Y"}
	genFieldNames  = []string{"f0", "f1", "f2", "f3", "f4"}
	genSymbols     = []string{"A", "B", "C", "D"}
	genPrims       = []string{"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)

type genCtx struct {
	defined map[string]map[string]any // full name -> definition
	stack   []string                  // records being defined (recursion targets)
}

func (g *schemaGen) top() any {
	c := &genCtx{defined: map[string]map[string]any{}}
	return g.record(c, 0)
}

func (g *schemaGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *schemaGen) typ(c *genCtx, depth int, allowUnion bool) any {
	k := g.r.IntN(12)
	if depth >= 3 && k >= 5 {
		k = g.r.IntN(5)
	}
	switch {
	case k <= 3:
		p := g.pick(genPrims)
		switch {
		case p == "long" && g.r.IntN(4) == 0:
			return map[string]any{"type": "long", "logicalType": g.pick([]string{"timestamp-millis", "timestamp-micros"})}
		case p == "int" && g.r.IntN(5) == 0:
			return map[string]any{"type": "int", "logicalType": "date"}
		}
		return p
	case k == 4:
		// A reference to a defined named type (recursion when on the stack).
		for name := range c.defined {
			return name
		}
		return g.pick(genPrims)
	case k == 5:
		return g.record(c, depth+1)
	case k == 6:
		return g.enum(c)
	case k == 7:
		return g.fixed(c)
	case k == 8:
		return map[string]any{"type": "array", "items": g.typ(c, depth+1, true)}
	case k == 9:
		return map[string]any{"type": "map", "values": g.typ(c, depth+1, true)}
	default:
		if !allowUnion {
			return g.pick(genPrims)
		}
		return g.union(c, depth)
	}
}

func (g *schemaGen) union(c *genCtx, depth int) any {
	n := 1 + g.r.IntN(3)
	var out []any
	seen := map[string]bool{}
	if g.r.IntN(2) == 0 {
		out = append(out, "null")
		seen["null"] = true
	}
	for range n {
		b := g.typ(c, depth+1, false)
		key := unionKey(b)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, b)
	}
	return out
}

// unionKey is what makes union branches distinct.
func unionKey(t any) string {
	switch x := t.(type) {
	case string:
		return x
	case map[string]any:
		switch x["type"] {
		case "record", "enum", "fixed":
			return x["name"].(string)
		}
		return x["type"].(string)
	}
	return "?"
}

func (g *schemaGen) freeName(c *genCtx, names []string) string {
	for range 4 {
		n := g.pick(names)
		if c.defined[n] == nil {
			return n
		}
	}
	return ""
}

func (g *schemaGen) aliases(names []string) []any {
	var out []any
	for range g.r.IntN(3) {
		out = append(out, g.pick(names))
	}
	return out
}

func (g *schemaGen) record(c *genCtx, depth int) any {
	name := g.freeName(c, genRecordNames)
	if name == "" {
		return g.pick(genPrims)
	}
	rec := map[string]any{"type": "record", "name": name}
	setNamespace(rec)
	c.defined[name] = rec
	if g.r.IntN(4) == 0 {
		rec["aliases"] = g.aliases(genRecordNames)
	}
	c.stack = append(c.stack, name)
	var fields []any
	used := map[string]bool{}
	for range g.r.IntN(4) {
		fname := g.pick(genFieldNames)
		if used[fname] {
			continue
		}
		used[fname] = true
		f := map[string]any{"name": fname, "type": g.typ(c, depth+1, true)}
		if g.r.IntN(6) == 0 {
			f["aliases"] = g.aliases(genFieldNames)
		}
		if g.r.IntN(2) == 0 {
			if d, ok := g.defaultFor(c, f["type"], 0); ok {
				f["default"] = d
			}
		}
		fields = append(fields, f)
	}
	c.stack = c.stack[:len(c.stack)-1]
	rec["fields"] = fields
	if fields == nil {
		rec["fields"] = []any{}
	}
	return rec
}

func (g *schemaGen) enum(c *genCtx) any {
	name := g.freeName(c, genEnumNames)
	if name == "" {
		return g.pick(genPrims)
	}
	var syms []any
	for _, s := range genSymbols {
		if g.r.IntN(2) == 0 {
			syms = append(syms, s)
		}
	}
	if len(syms) == 0 {
		syms = []any{"A"}
	}
	e := map[string]any{"type": "enum", "name": name, "symbols": syms}
	setNamespace(e)
	if g.r.IntN(3) == 0 {
		e["default"] = syms[g.r.IntN(len(syms))]
	}
	if g.r.IntN(5) == 0 {
		e["aliases"] = g.aliases(genEnumNames)
	}
	c.defined[name] = e
	return e
}

func (g *schemaGen) fixed(c *genCtx) any {
	name := g.freeName(c, genFixedNames)
	if name == "" {
		return g.pick(genPrims)
	}
	f := map[string]any{"type": "fixed", "name": name, "size": 1 + g.r.IntN(3)}
	setNamespace(f)
	c.defined[name] = f
	return f
}

// defaultFor returns a valid default for t, or false.
func (g *schemaGen) defaultFor(c *genCtx, t any, depth int) (any, bool) {
	if depth > 3 {
		return nil, false
	}
	switch x := t.(type) {
	case string:
		switch x {
		case "null":
			return nil, true
		case "boolean":
			return true, true
		case "int", "long":
			return 1, true
		case "float", "double":
			return 1.5, true
		case "bytes":
			return "\u00ff", true
		case "string":
			return "s", true
		}
		def := c.defined[x]
		if def == nil {
			return nil, false
		}
		for _, s := range c.stack {
			if s == x {
				return nil, false // still being defined
			}
		}
		return g.defaultFor(c, def, depth+1)
	case []any:
		if len(x) == 0 {
			return nil, false
		}
		return g.defaultFor(c, x[0], depth+1)
	case map[string]any:
		switch x["type"] {
		case "record":
			obj := map[string]any{}
			fields, _ := x["fields"].([]any)
			for _, fv := range fields {
				f := fv.(map[string]any)
				d, ok := g.defaultFor(c, f["type"], depth+1)
				if !ok {
					return nil, false
				}
				obj[f["name"].(string)] = d
			}
			return obj, true
		case "enum":
			return x["symbols"].([]any)[0], true
		case "fixed":
			return strings.Repeat("a", x["size"].(int)), true
		case "array":
			return []any{}, true
		case "map":
			return map[string]any{}, true
		default:
			return g.defaultFor(c, x["type"], depth+1)
		}
	}
	return nil, false
}

// mutate returns a changed deep copy of schema a.
func (g *schemaGen) mutate(a any) any {
	b := deepCopy(a)
	for range 1 + g.r.IntN(3) {
		var slots []func(any) any // each replaces one type position
		var records, enums, fixeds []map[string]any
		collect(b, func(set func(any) any) { slots = append(slots, set) }, &records, &enums, &fixeds)
		switch g.r.IntN(9) {
		case 0, 1: // change a type position
			if len(slots) > 1 {
				s := slots[1+g.r.IntN(len(slots)-1)]
				s(nil)
			}
		case 2: // drop, add or reorder a field
			if len(records) > 0 {
				rec := records[g.r.IntN(len(records))]
				fields, _ := rec["fields"].([]any)
				switch {
				case len(fields) > 0 && g.r.IntN(2) == 0:
					i := g.r.IntN(len(fields))
					rec["fields"] = append(fields[:i:i], fields[i+1:]...)
				default:
					name := g.pick(genFieldNames)
					for _, f := range fields {
						if f.(map[string]any)["name"] == name {
							name = ""
						}
					}
					if name != "" {
						f := map[string]any{"name": name, "type": g.pick(genPrims)}
						if g.r.IntN(2) == 0 {
							f["default"], _ = g.defaultFor(&genCtx{}, f["type"], 0)
						}
						rec["fields"] = append(fields, f)
					}
				}
			}
		case 3: // toggle a field default
			if len(records) > 0 {
				fields, _ := records[g.r.IntN(len(records))]["fields"].([]any)
				if len(fields) > 0 {
					f := fields[g.r.IntN(len(fields))].(map[string]any)
					if _, ok := f["default"]; ok {
						delete(f, "default")
					} else {
						f["default"] = "__regenerate__"
					}
				}
			}
		case 4: // rename a named type, maybe with an alias to the old name
			all := append(append(append([]map[string]any{}, records...), enums...), fixeds...)
			if len(all) > 0 {
				n := all[g.r.IntN(len(all))]
				old := n["name"].(string)
				nn := "Z" + strconv.Itoa(g.r.IntN(2))
				if strings.Contains(old, ".") && g.r.IntN(2) == 0 {
					nn = old[:strings.LastIndexByte(old, '.')+1] + nn
				}
				if !nameUsed(b, nn) {
					renameRefs(b, old, nn)
					setNamespace(n)
					if g.r.IntN(2) == 0 {
						n["aliases"] = []any{old}
					}
				}
			}
		case 5: // enum symbols and default
			if len(enums) > 0 {
				e := enums[g.r.IntN(len(enums))]
				syms := e["symbols"].([]any)
				switch g.r.IntN(3) {
				case 0:
					if len(syms) > 1 {
						i := g.r.IntN(len(syms))
						if d, ok := e["default"]; !ok || d != syms[i] {
							e["symbols"] = append(syms[:i:i], syms[i+1:]...)
						}
					}
				case 1:
					s := "Q" + strconv.Itoa(g.r.IntN(2))
					found := false
					for _, x := range syms {
						found = found || x == s
					}
					if !found {
						e["symbols"] = append(syms, s)
					}
				default:
					if _, ok := e["default"]; ok {
						delete(e, "default")
					} else {
						e["default"] = syms[0]
					}
				}
			}
		case 6: // fixed size
			if len(fixeds) > 0 {
				fixeds[g.r.IntN(len(fixeds))]["size"] = 1 + g.r.IntN(3)
			}
		case 7: // field alias
			if len(records) > 0 {
				fields, _ := records[g.r.IntN(len(records))]["fields"].([]any)
				if len(fields) > 0 {
					fields[g.r.IntN(len(fields))].(map[string]any)["aliases"] = g.aliases(genFieldNames)
				}
			}
		default: // wrap in or unwrap a union
			if len(slots) > 1 {
				slots[1+g.r.IntN(len(slots)-1)]("wrap")
			}
		}
		fixDefaults(g, b)
	}
	return b
}

// collect visits every type position of v; set(nil) replaces it with a
// random primitive (or an array/map of the old one), set("wrap") wraps it in
// a union with null or unwraps a union.
func collect(v any, slot func(func(any) any), records, enums, fixeds *[]map[string]any) {
	var walk func(get func() any, put func(any))
	walk = func(get func() any, put func(any)) {
		cur := get()
		slot(func(op any) any {
			if op == "wrap" {
				if u, ok := cur.([]any); ok && len(u) > 0 {
					put(u[len(u)-1])
				} else if _, isNamedDef := cur.(map[string]any); !isNamedDef || !isNamedType(cur) {
					if s, ok := cur.(string); !ok || s != "null" {
						put([]any{"null", cur})
					}
				}
				return nil
			}
			if isNamedType(cur) {
				return nil // keep definitions so references stay valid
			}
			switch rand.IntN(4) {
			case 0:
				put(map[string]any{"type": "array", "items": "int"})
			case 1:
				put(map[string]any{"type": "map", "values": "long"})
			default:
				put(genPrims[1+rand.IntN(len(genPrims)-1)])
			}
			return nil
		})
		switch x := cur.(type) {
		case []any:
			for i := range x {
				i := i
				walk(func() any { return x[i] }, func(n any) { x[i] = n })
			}
		case map[string]any:
			switch x["type"] {
			case "record":
				*records = append(*records, x)
				fields, _ := x["fields"].([]any)
				for _, fv := range fields {
					f := fv.(map[string]any)
					walk(func() any { return f["type"] }, func(n any) { f["type"] = n })
				}
			case "enum":
				*enums = append(*enums, x)
			case "fixed":
				*fixeds = append(*fixeds, x)
			case "array":
				walk(func() any { return x["items"] }, func(n any) { x["items"] = n })
			case "map":
				walk(func() any { return x["values"] }, func(n any) { x["values"] = n })
			}
		}
	}
	root := v
	walk(func() any { return root }, func(any) {})
}

// setNamespace makes the namespace of a dotted name explicit too. Avro Java
// 1.12 and hamba disagree on the namespace that unqualified references
// inside a type named "a.R" without a "namespace" attribute resolve in (Java:
// the enclosing one; hamba: "a"); with the attribute both use "a".
func setNamespace(def map[string]any) {
	name := def["name"].(string)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		def["namespace"] = name[:i]
	} else {
		delete(def, "namespace")
	}
}

func isNamedType(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	switch m["type"] {
	case "record", "enum", "fixed":
		return true
	}
	return false
}

// fixDefaults regenerates every field default for the field's current type
// (types change under mutation), dropping those that cannot be made.
func fixDefaults(g *schemaGen, v any) {
	c := &genCtx{defined: map[string]map[string]any{}}
	var index func(any)
	index = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				index(e)
			}
		case map[string]any:
			if isNamedType(x) {
				c.defined[x["name"].(string)] = x
			}
			for _, k := range []string{"items", "values"} {
				if e, ok := x[k]; ok {
					index(e)
				}
			}
			if fields, ok := x["fields"].([]any); ok {
				for _, fv := range fields {
					index(fv.(map[string]any)["type"])
				}
			}
		}
	}
	index(v)
	var fix func(any)
	fix = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				fix(e)
			}
		case map[string]any:
			for _, k := range []string{"items", "values"} {
				if e, ok := x[k]; ok {
					fix(e)
				}
			}
			if x["type"] == "enum" {
				if d, ok := x["default"]; ok {
					found := false
					for _, s := range x["symbols"].([]any) {
						found = found || s == d
					}
					if !found {
						delete(x, "default")
					}
				}
			}
			if fields, ok := x["fields"].([]any); ok {
				for _, fv := range fields {
					f := fv.(map[string]any)
					fix(f["type"])
					if _, has := f["default"]; has {
						if d, ok := g.defaultFor(c, f["type"], 0); ok {
							f["default"] = d
						} else {
							delete(f, "default")
						}
					}
				}
			}
		}
	}
	fix(v)
}

func nameUsed(v any, name string) bool {
	b, _ := json.Marshal(v)
	return strings.Contains(string(b), `"`+name+`"`)
}

// renameRefs renames the definition and every reference of a named type.
func renameRefs(v any, old, nn string) {
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			if x == old {
				return nn
			}
			return x
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			if isNamedType(x) && x["name"] == old {
				x["name"] = nn
			}
			for _, k := range []string{"items", "values"} {
				if e, ok := x[k]; ok {
					x[k] = walk(e)
				}
			}
			if fields, ok := x["fields"].([]any); ok {
				for _, fv := range fields {
					f := fv.(map[string]any)
					f["type"] = walk(f["type"])
				}
			}
		}
		return v
	}
	walk(v)
}

func deepCopy(v any) any {
	b, _ := json.Marshal(v)
	var out any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	_ = d.Decode(&out)
	return normalizeNumbers(out)
}

// normalizeNumbers turns json.Number back into int (sizes, defaults) or
// float64, as the generator made them.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = normalizeNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalizeNumbers(x[k])
		}
	}
	return v
}
