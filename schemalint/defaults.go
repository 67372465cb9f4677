package schemalint

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"unicode/utf8"
)

// validDefault checks a default value d against type t (inside namespace ns)
// by the Avro specification: a union's default belongs to its first branch;
// bytes and fixed defaults are strings of code points 0-255; record defaults
// give every field without a default of its own. It returns "" when d is
// valid, otherwise why not. Logical types are checked as their underlying
// type.
func (l *linter) validDefault(t any, ns string, d any, depth int) string {
	if depth > 64 {
		return "" // a recursive default this deep is someone else's problem
	}
	switch x := t.(type) {
	case []any:
		if len(x) == 0 {
			return "empty union"
		}
		return l.validDefault(x[0], ns, d, depth+1)
	case string:
		if primitives[x] {
			return primitiveDefault(x, d)
		}
		full, _, _ := qualify(x, ns)
		def, ok := l.defs[full]
		if !ok {
			return "" // unknown type: PARSE reports it
		}
		return l.validDefault(def.obj, def.ns, d, depth+1)
	case map[string]any:
		ts, isString := x["type"].(string)
		if !isString {
			return l.validDefault(x["type"], ns, d, depth+1)
		}
		switch ts {
		case "record", "error":
			obj, ok := d.(map[string]any)
			if !ok {
				return "want a JSON object for a record"
			}
			name, _ := x["name"].(string)
			_, space, _ := qualify(name, stringOr(x["namespace"], ns))
			fields, _ := x["fields"].([]any)
			for _, fv := range fields {
				fm, _ := fv.(map[string]any)
				fname, _ := fm["name"].(string)
				val, present := obj[fname]
				if !present {
					if _, has := fm["default"]; !has {
						return fmt.Sprintf("record field %s is missing and has no default", fname)
					}
					continue
				}
				if msg := l.validDefault(fm["type"], space, val, depth+1); msg != "" {
					return "field " + fname + ": " + msg
				}
			}
			return ""
		case "enum":
			s, ok := d.(string)
			syms, _ := x["symbols"].([]any)
			if !ok || !slices.Contains(syms, any(s)) {
				return "want one of the enum symbols"
			}
			return ""
		case "fixed":
			s, ok := d.(string)
			if !ok {
				return "want a string for fixed"
			}
			if msg := bytesString(s); msg != "" {
				return msg
			}
			size, _ := x["size"].(json.Number)
			if n, err := size.Int64(); err == nil && int64(utf8.RuneCountInString(s)) != n {
				return fmt.Sprintf("want %d bytes for fixed, got %d", n, utf8.RuneCountInString(s))
			}
			return ""
		case "array":
			arr, ok := d.([]any)
			if !ok {
				return "want a JSON array"
			}
			for i, e := range arr {
				if msg := l.validDefault(x["items"], ns, e, depth+1); msg != "" {
					return fmt.Sprintf("item %d: %s", i, msg)
				}
			}
			return ""
		case "map":
			obj, ok := d.(map[string]any)
			if !ok {
				return "want a JSON object for a map"
			}
			for _, k := range sortedKeys(obj) {
				if msg := l.validDefault(x["values"], ns, obj[k], depth+1); msg != "" {
					return fmt.Sprintf("key %q: %s", k, msg)
				}
			}
			return ""
		default:
			return l.validDefault(ts, ns, d, depth+1)
		}
	}
	return ""
}

func primitiveDefault(t string, d any) string {
	switch t {
	case "null":
		if d != nil {
			return "want null"
		}
	case "boolean":
		if _, ok := d.(bool); !ok {
			return "want true or false"
		}
	case "int", "long":
		n, ok := d.(json.Number)
		if !ok {
			return "want an integer"
		}
		v, ok := new(big.Float).SetString(string(n))
		if !ok || !v.IsInt() {
			return "want an integer"
		}
		i, acc := v.Int64()
		if acc != big.Exact || (t == "int" && (i < math.MinInt32 || i > math.MaxInt32)) {
			return "out of range for " + t
		}
	case "float", "double":
		if _, ok := d.(json.Number); !ok {
			return "want a number"
		}
	case "string":
		if _, ok := d.(string); !ok {
			return "want a string"
		}
	case "bytes":
		s, ok := d.(string)
		if !ok {
			return "want a string of code points 0-255 for bytes"
		}
		return bytesString(s)
	}
	return ""
}

func bytesString(s string) string {
	for _, r := range s {
		if r > 255 {
			return fmt.Sprintf("code point %U is not a byte (0-255)", r)
		}
	}
	return ""
}
