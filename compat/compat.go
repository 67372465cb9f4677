package compat

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"
)

// Incompatibility types: Avro Java's SchemaIncompatibilityType names, plus
// TypeError for the one case where Java throws instead of answering.
const (
	TypeNameMismatch                   = "NAME_MISMATCH"
	TypeFixedSizeMismatch              = "FIXED_SIZE_MISMATCH"
	TypeMissingEnumSymbols             = "MISSING_ENUM_SYMBOLS"
	TypeReaderFieldMissingDefaultValue = "READER_FIELD_MISSING_DEFAULT_VALUE"
	TypeTypeMismatch                   = "TYPE_MISMATCH"
	TypeMissingUnionBranch             = "MISSING_UNION_BRANCH"
	// TypeError: Java's checker threw (a reader field whose name and aliases
	// match several writer fields). Confluent answers "Unexpected exception
	// during compatibility check", i.e. not compatible.
	TypeError = "ERROR"
)

// Directions of a problem found by Check.
const (
	// DirBackward: the new schema (reader) cannot read data written with a
	// previous one (writer).
	DirBackward = "BACKWARD"
	// DirForward: a previous schema (reader) cannot read data written with
	// the new one (writer).
	DirForward = "FORWARD"
)

// Incompatibility is one reason why a reader schema cannot read data
// written with a writer schema.
type Incompatibility struct {
	// Type is Avro Java's SchemaIncompatibilityType (TypeNameMismatch, ...)
	// or TypeError.
	Type string
	// Location is a JSON pointer into the reader schema, as Avro Java prints
	// it: "/" for the root, "/fields/1/type", "/fields/0/type/symbols".
	Location string
	// Message is Avro Java's message, e.g. "reader type: INT not compatible
	// with writer type: STRING" or the name of a field lacking a default.
	Message string

	// Version is set by Check only: the 1-based position, in the previous
	// schemas given to Check, of the schema this problem was found against.
	// Zero for problems returned by ReaderWriter.
	Version int
	// Direction is set by Check only: DirBackward or DirForward.
	Direction string
}

// String formats the problem as Avro Java's test suites print it:
// "TYPE location message".
func (i Incompatibility) String() string {
	return i.Type + " " + i.Location + " " + i.Message
}

// ReaderWriter reports every reason why reader cannot read data written
// with writer, exactly as Avro Java's
// SchemaCompatibility.checkReaderWriterCompatibility(reader, writer) does.
// An empty result means compatible.
func ReaderWriter(reader, writer avro.Schema) []Incompatibility {
	c := &checker{memo: map[pairKey]*memoEntry{}}
	res, err := c.run(reader, writer)
	if err != nil {
		return []Incompatibility{{Type: TypeError, Location: "/", Message: err.Error()}}
	}
	return slices.Clone(res)
}

type pairKey struct{ r, w avro.Schema }

type memoEntry struct {
	inProgress bool
	res        []Incompatibility
}

// checker is one run of Java's ReaderWriterCompatibilityChecker: the memo is
// shared by every nested check of the run, including the "fresh" ones that
// Java starts with a new location stack (union branches).
type checker struct {
	memo map[pairKey]*memoEntry
}

// abort unwinds a run the way Java's AvroRuntimeException does.
type abort struct{ err error }

func (c *checker) run(reader, writer avro.Schema) (res []Incompatibility, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(abort)
			if !ok {
				panic(r)
			}
			res, err = nil, a.err
		}
	}()
	return c.fresh(reader, writer), nil
}

// fresh is Java's public getCompatibility(reader, writer): a new location
// stack, the same memo.
func (c *checker) fresh(r, w avro.Schema) []Incompatibility {
	loc := []string{}
	return c.get("", r, w, &loc)
}

// get is Java's getCompatibility(token, reader, writer, location).
func (c *checker) get(token string, r, w avro.Schema, loc *[]string) []Incompatibility {
	r, w = deref(r), deref(w)
	*loc = append(*loc, token)
	defer func() { *loc = (*loc)[:len(*loc)-1] }()

	key := pairKey{r, w}
	if e, ok := c.memo[key]; ok {
		if e.inProgress {
			// Recursion: compatible unless proven otherwise.
			return nil
		}
		return e.res
	}
	e := &memoEntry{inProgress: true}
	c.memo[key] = e
	res := slices.Clip(c.calculate(r, w, loc))
	e.inProgress, e.res = false, res
	return res
}

func (c *checker) calculate(r, w avro.Schema, loc *[]string) []Incompatibility {
	rt, wt := r.Type(), w.Type()
	if rt == wt {
		switch rt {
		case avro.Array:
			return c.get("items", r.(*avro.ArraySchema).Items(), w.(*avro.ArraySchema).Items(), loc)
		case avro.Map:
			return c.get("values", r.(*avro.MapSchema).Values(), w.(*avro.MapSchema).Values(), loc)
		case avro.Fixed:
			res := checkNames(r.(avro.NamedSchema), w.(avro.NamedSchema), loc)
			return append(res, checkFixedSize(r.(*avro.FixedSchema), w.(*avro.FixedSchema), loc)...)
		case avro.Enum:
			res := checkNames(r.(avro.NamedSchema), w.(avro.NamedSchema), loc)
			return append(res, checkEnumSymbols(r.(*avro.EnumSchema), w.(*avro.EnumSchema), loc)...)
		case avro.Record:
			res := checkNames(r.(avro.NamedSchema), w.(avro.NamedSchema), loc)
			return append(res, c.checkFields(r.(*avro.RecordSchema), w.(*avro.RecordSchema), loc)...)
		case avro.Union:
			// Every branch of the writer union must be readable.
			var res []Incompatibility
			for i, wb := range w.(*avro.UnionSchema).Types() {
				*loc = append(*loc, strconv.Itoa(i))
				if len(c.fresh(r, wb)) > 0 {
					res = append(res, incompatible(TypeMissingUnionBranch,
						"reader union lacking writer type: "+typeName(wb), *loc))
				}
				*loc = (*loc)[:len(*loc)-1]
			}
			return res
		default: // null, boolean, int, long, float, double, bytes, string
			return nil
		}
	}

	// Different types. A reader reads a writer union when it reads every branch.
	if wt == avro.Union {
		var res []Incompatibility
		for i, wb := range w.(*avro.UnionSchema).Types() {
			res = append(res, c.get(strconv.Itoa(i), r, wb, loc)...)
		}
		return res
	}

	switch rt {
	case avro.Long:
		if wt == avro.Int {
			return nil
		}
	case avro.Float:
		if wt == avro.Int || wt == avro.Long {
			return nil
		}
	case avro.Double:
		if wt == avro.Int || wt == avro.Long || wt == avro.Float {
			return nil
		}
	case avro.Bytes:
		if wt == avro.String {
			return nil
		}
	case avro.String:
		if wt == avro.Bytes {
			return nil
		}
	case avro.Union:
		// Some branch of the reader union must read the writer; the first
		// one that does ends the search.
		for _, rb := range r.(*avro.UnionSchema).Types() {
			if len(c.fresh(rb, w)) == 0 {
				return nil
			}
		}
		return []Incompatibility{incompatible(TypeMissingUnionBranch,
			"reader union lacking writer type: "+typeName(w), *loc)}
	default:
	}
	return []Incompatibility{typeMismatch(r, w, *loc)}
}

func (c *checker) checkFields(r, w *avro.RecordSchema, loc *[]string) []Incompatibility {
	var res []Incompatibility
	*loc = append(*loc, "fields")
	for pos, rf := range r.Fields() {
		*loc = append(*loc, strconv.Itoa(pos))
		wf := lookupWriterField(w, rf)
		switch {
		case wf != nil:
			res = append(res, c.get("type", rf.Type(), wf.Type(), loc)...)
		case rf.HasDefault():
			// Filled from the default.
		case isEnumWithDefault(rf.Type()):
			// Java (1.11+) checks the enum against the writer record itself
			// here; that is always a TYPE_MISMATCH, but keep Java's path.
			res = append(res, c.get("type", rf.Type(), w, loc)...)
		default:
			res = append(res, incompatible(TypeReaderFieldMissingDefaultValue, rf.Name(), *loc))
		}
		*loc = (*loc)[:len(*loc)-1]
	}
	*loc = (*loc)[:len(*loc)-1]
	return res
}

func isEnumWithDefault(s avro.Schema) bool {
	e, ok := deref(s).(*avro.EnumSchema)
	return ok && e.HasDefault()
}

// lookupWriterField is Java's SchemaCompatibility.lookupWriterField: the
// writer field named like the reader field or like one of its aliases; more
// than one match aborts the check.
func lookupWriterField(w *avro.RecordSchema, rf *avro.Field) *avro.Field {
	var found []*avro.Field
	if f := fieldByName(w, rf.Name()); f != nil {
		found = append(found, f)
	}
	// Java keeps a field's aliases in a set: a repeated alias counts once
	// (but an alias equal to the field's own name matches it a second time).
	var seen []string
	for _, alias := range rf.Aliases() {
		if slices.Contains(seen, alias) {
			continue
		}
		seen = append(seen, alias)
		if f := fieldByName(w, alias); f != nil {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		return nil
	case 1:
		return found[0]
	default:
		panic(abort{fmt.Errorf("reader record field %s matches multiple fields in writer record schema %s",
			rf.Name(), w.FullName())})
	}
}

func fieldByName(r *avro.RecordSchema, name string) *avro.Field {
	for _, f := range r.Fields() {
		if f.Name() == name {
			return f
		}
	}
	return nil
}

// checkNames compares names without namespace; a reader alias (a full name)
// equal to the writer's full name also matches.
func checkNames(r, w avro.NamedSchema, loc *[]string) []Incompatibility {
	if r.Name() == w.Name() || slices.Contains(r.Aliases(), w.FullName()) {
		return nil
	}
	return []Incompatibility{incompatible(TypeNameMismatch, "expected: "+w.FullName(), append(*loc, "name"))}
}

func checkFixedSize(r, w *avro.FixedSchema, loc *[]string) []Incompatibility {
	if r.Size() == w.Size() {
		return nil
	}
	return []Incompatibility{incompatible(TypeFixedSizeMismatch,
		fmt.Sprintf("expected: %d, found: %d", w.Size(), r.Size()), append(*loc, "size"))}
}

func checkEnumSymbols(r, w *avro.EnumSchema, loc *[]string) []Incompatibility {
	var missing []string
	for _, s := range w.Symbols() {
		if !slices.Contains(r.Symbols(), s) {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 || (r.HasDefault() && slices.Contains(r.Symbols(), r.Default())) {
		return nil
	}
	slices.Sort(missing) // Java collects them in a TreeSet
	missing = slices.Compact(missing)
	return []Incompatibility{incompatible(TypeMissingEnumSymbols,
		"["+strings.Join(missing, ", ")+"]", append(*loc, "symbols"))}
}

func typeMismatch(r, w avro.Schema, loc []string) Incompatibility {
	return incompatible(TypeTypeMismatch,
		fmt.Sprintf("reader type: %s not compatible with writer type: %s", typeName(r), typeName(w)), loc)
}

func incompatible(typ, msg string, loc []string) Incompatibility {
	return Incompatibility{Type: typ, Location: pointer(loc), Message: msg}
}

// pointer renders a location stack as Java's Incompatibility.getLocation:
// the root token is dropped, tokens are JSON-pointer escaped.
func pointer(loc []string) string {
	if len(loc) <= 1 {
		return "/"
	}
	parts := make([]string, 0, len(loc)-1)
	for _, t := range loc[1:] {
		t = strings.ReplaceAll(t, "~", "~0")
		parts = append(parts, strings.ReplaceAll(t, "/", "~1"))
	}
	return "/" + strings.Join(parts, "/")
}

// typeName is Java's Schema.Type name: upper case, references resolved.
func typeName(s avro.Schema) string {
	return strings.ToUpper(string(deref(s).Type()))
}

// deref replaces a reference to a named type with the type itself, so that
// every use of one named type is the same node, as in Java.
func deref(s avro.Schema) avro.Schema {
	if ref, ok := s.(*avro.RefSchema); ok {
		return ref.Schema()
	}
	return s
}
