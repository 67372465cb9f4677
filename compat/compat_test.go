package compat_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/compat"
)

func mustParse(t testing.TB, s string) avro.Schema {
	t.Helper()
	sch, err := avro.ParseWithCache(s, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return sch
}

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want compat.Level
		ok   bool
	}{
		{"BACKWARD", compat.Backward, true},
		{"backward_transitive", compat.BackwardTransitive, true},
		{"full-transitive", compat.FullTransitive, true},
		{" NONE ", compat.None, true},
		{"FORWARD", compat.Forward, true},
		{"SIDEWAYS", "", false},
		{"", "", false},
	} {
		got, err := compat.ParseLevel(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseLevel(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

const (
	v1 = `{"type":"record","name":"OrderPlaced","namespace":"shop.order","fields":[
		{"name":"id","type":"string"}]}`
	v2 = `{"type":"record","name":"OrderPlaced","namespace":"shop.order","fields":[
		{"name":"id","type":"string"},
		{"name":"currency","type":"string","default":"EUR"}]}`
	v3NoDefault = `{"type":"record","name":"OrderPlaced","namespace":"shop.order","fields":[
		{"name":"id","type":"string"},
		{"name":"currency","type":"string"}]}`
)

func TestCheckLevels(t *testing.T) {
	s1, s2, s3 := mustParse(t, v1), mustParse(t, v2), mustParse(t, v3NoDefault)
	// v3 (currency without default) reads v2 data but not v1 data; v1 and v2
	// read v3 data (they ignore or default the field).
	for _, tc := range []struct {
		level    compat.Level
		wantBad  bool
		versions []int
	}{
		{compat.Backward, false, nil},
		{compat.BackwardTransitive, true, []int{1}},
		{compat.Forward, false, nil},
		{compat.ForwardTransitive, false, nil},
		{compat.Full, false, nil},
		{compat.FullTransitive, true, []int{1}},
		{compat.None, false, nil},
	} {
		got := compat.Check(tc.level, []avro.Schema{s1, s2}, s3)
		if (len(got) > 0) != tc.wantBad {
			t.Errorf("%s: %v, want incompatible=%v", tc.level, got, tc.wantBad)
			continue
		}
		var versions []int
		for _, i := range got {
			versions = append(versions, i.Version)
			if i.Direction != compat.DirBackward {
				t.Errorf("%s: direction %q, want BACKWARD", tc.level, i.Direction)
			}
			if i.Type != compat.TypeReaderFieldMissingDefaultValue || i.Location != "/fields/1" || i.Message != "currency" {
				t.Errorf("%s: got %s", tc.level, i)
			}
		}
		if !slices.Equal(versions, tc.versions) {
			t.Errorf("%s: versions %v, want %v", tc.level, versions, tc.versions)
		}
	}
	if got := compat.Check(compat.FullTransitive, nil, s3); len(got) != 0 {
		t.Errorf("empty history: %v", got)
	}
}

func TestCheckForwardDirection(t *testing.T) {
	// Removing a field without default: new reads old (ignores it), old
	// cannot read new (misses it).
	old, next := mustParse(t, v3NoDefault), mustParse(t, v1)
	got := compat.Check(compat.Full, []avro.Schema{old}, next)
	if len(got) != 1 || got[0].Direction != compat.DirForward || got[0].Version != 1 ||
		got[0].String() != "READER_FIELD_MISSING_DEFAULT_VALUE /fields/1 currency" {
		t.Fatalf("got %v", got)
	}
	if got := compat.Check(compat.Backward, []avro.Schema{old}, next); len(got) != 0 {
		t.Fatalf("backward: %v", got)
	}
}

func TestRecursiveSchemasTerminate(t *testing.T) {
	list := `{"type":"record","name":"Node","fields":[
		{"name":"value","type":"int"},
		{"name":"next","type":["null","Node"],"default":null}]}`
	listLong := `{"type":"record","name":"Node","fields":[
		{"name":"value","type":"long"},
		{"name":"next","type":["null","Node"],"default":null}]}`
	a, b := mustParse(t, list), mustParse(t, listLong)
	if got := compat.ReaderWriter(a, a); len(got) != 0 {
		t.Errorf("self: %v", got)
	}
	if got := compat.ReaderWriter(b, a); len(got) != 0 {
		t.Errorf("long reads int: %v", got)
	}
	got := compat.ReaderWriter(a, b)
	want := []string{"TYPE_MISMATCH /fields/0/type reader type: INT not compatible with writer type: LONG"}
	if !slices.Equal(strs(got), want) {
		t.Errorf("int reads long: %q, want %q", strs(got), want)
	}
}

func TestEnumDefaultAndAliases(t *testing.T) {
	w := mustParse(t, `{"type":"enum","name":"Method","namespace":"shop.order","symbols":["STANDARD","EXPRESS","DRONE"]}`)
	rNoDef := mustParse(t, `{"type":"enum","name":"Method","symbols":["STANDARD","EXPRESS"]}`)
	rDef := mustParse(t, `{"type":"enum","name":"Method","symbols":["STANDARD","EXPRESS"],"default":"STANDARD"}`)
	if got := strs(compat.ReaderWriter(rNoDef, w)); !slices.Equal(got, []string{"MISSING_ENUM_SYMBOLS /symbols [DRONE]"}) {
		t.Errorf("no default: %q", got)
	}
	if got := compat.ReaderWriter(rDef, w); len(got) != 0 {
		t.Errorf("with default: %v", got)
	}
	renamed := mustParse(t, `{"type":"enum","name":"Shipping","symbols":["STANDARD","EXPRESS","DRONE"],"aliases":["shop.order.Method"]}`)
	if got := compat.ReaderWriter(renamed, w); len(got) != 0 {
		t.Errorf("alias: %v", got)
	}
	// The writer's aliases play no part.
	if got := strs(compat.ReaderWriter(w, renamed)); !slices.Equal(got, []string{"NAME_MISMATCH /name expected: Shipping"}) {
		t.Errorf("writer alias: %q", got)
	}
}

func TestAmbiguousFieldAliasIsAnError(t *testing.T) {
	w := mustParse(t, `{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}`)
	r := mustParse(t, `{"type":"record","name":"R","fields":[{"name":"x","type":"int","aliases":["a","b"]}]}`)
	got := compat.ReaderWriter(r, w)
	if len(got) != 1 || got[0].Type != compat.TypeError {
		t.Fatalf("got %v", got)
	}
	// A repeated alias counts once (Java keeps aliases in a set)...
	r2 := mustParse(t, `{"type":"record","name":"R","fields":[{"name":"x","type":"int","aliases":["a","a"]}]}`)
	if got := compat.ReaderWriter(r2, w); len(got) != 0 {
		t.Errorf("repeated alias: %v", got)
	}
	// ...but an alias equal to the field's own name matches it twice.
	r3 := mustParse(t, `{"type":"record","name":"R","fields":[{"name":"a","type":"int","aliases":["a"]}]}`)
	if got := compat.ReaderWriter(r3, w); len(got) != 1 || got[0].Type != compat.TypeError {
		t.Errorf("alias equal to own name: %v", got)
	}
}

// TestSelfCompatibleProperty: every schema of the reference data reads
// itself, both as the same parsed value and as two separate parses.
func TestSelfCompatibleProperty(t *testing.T) {
	var pairs []pair
	for _, ref := range corpora(t) {
		pairs = append(pairs, load[[]pair](t, ref+"/pairs.json")...)
	}
	for _, p := range pairs {
		for _, raw := range [][]byte{p.Reader, p.Writer} {
			a, b := parse(t, raw), parse(t, raw)
			for _, got := range [][]compat.Incompatibility{compat.ReaderWriter(a, a), compat.ReaderWriter(a, b)} {
				if len(got) != 0 && got[0].Type != compat.TypeError {
					t.Errorf("%s: %s not compatible with itself: %v", p.ID, raw, got)
				}
			}
		}
	}
}

// FuzzReaderWriter: never panics or loops; a schema reads itself (unless
// Java would throw on an ambiguous field alias); NONE accepts anything.
func FuzzReaderWriter(f *testing.F) {
	f.Add(v1, v2)
	f.Add(v2, v3NoDefault)
	f.Add(`["null","int",{"type":"array","items":"long"}]`, `{"type":"map","values":["string","bytes"]}`)
	f.Add(`{"type":"record","name":"N","fields":[{"name":"n","type":["null","N"]}]}`,
		`{"type":"record","name":"N","fields":[{"name":"n","type":["null","N"]},{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]},"default":"A"}]}`)
	f.Add(`{"type":"fixed","name":"F","size":4}`, `{"type":"fixed","name":"G","size":8,"aliases":["F"]}`)
	f.Fuzz(func(t *testing.T, a, b string) {
		sa, err := compat.Parse(a)
		if err != nil {
			return
		}
		sb, err := compat.Parse(b)
		if err != nil {
			return
		}
		if got := compat.ReaderWriter(sa, sa); len(got) != 0 && got[0].Type != compat.TypeError {
			t.Fatalf("%s not compatible with itself: %v", a, got)
		}
		_ = compat.ReaderWriter(sa, sb)
		_ = compat.ReaderWriter(sb, sa)
		if got := compat.Check(compat.None, []avro.Schema{sa}, sb); len(got) != 0 {
			t.Fatalf("NONE: %v", got)
		}
	})
}

func TestParseTurnsHambaPanicsIntoErrors(t *testing.T) {
	// hamba/avro v2.31.0 panics on this schema (a record default reaching a
	// record whose fields are still being parsed).
	_, err := compat.Parse(`{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"S","fields":[{"name":"r","type":["R","null"]}]},"default":{"r":{}}}]}`)
	if err == nil {
		t.Fatal("want an error")
	}
	s, err := compat.Parse(v1)
	if err != nil || s.(avro.NamedSchema).FullName() != "shop.order.OrderPlaced" {
		t.Fatalf("Parse(v1) = %v, %v", s, err)
	}
	if _, err := compat.Parse(`{"type":"record","name":"X","fields":[{"name":"a","type":"Nope"}]}`); err == nil {
		t.Fatal("unknown type: want an error")
	}
	// An alias naming another type of the schema: hamba would resolve the
	// reference in f1 to S instead of T.
	shadow := `{"type":"record","name":"b.T","fields":[
		{"name":"f3","type":{"type":"record","name":"S","aliases":["b.T"],"fields":[]}},
		{"name":"f1","type":{"type":"array","items":"b.T"}}]}`
	if _, err := compat.Parse(shadow); err == nil || !strings.Contains(err.Error(), "alias b.T of b.S") {
		t.Fatalf("alias shadowing: %v", err)
	}
	// A reference that only an alias resolves (Java would not resolve it).
	viaAlias := `{"type":"record","name":"R","fields":[
		{"name":"a","type":{"type":"record","name":"Z","namespace":"a","aliases":["a.R"],"fields":[
			{"name":"b","type":["null","R"]}]}}]}`
	if _, err := compat.Parse(viaAlias); err == nil || !strings.Contains(err.Error(), "a.R is only the alias") {
		t.Fatalf("reference through alias: %v", err)
	}
	// A rename alias that names no other type is fine.
	if _, err := compat.Parse(`{"type":"record","name":"b.T","aliases":["b.Old"],"fields":[]}`); err != nil {
		t.Fatal(err)
	}
}

func TestParseWithReferences(t *testing.T) {
	money := `{"type":"record","name":"Money","namespace":"shop","fields":[{"name":"minor","type":"long"}]}`
	order := `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"total","type":"Money"}]}`
	s, err := compat.ParseWithReferences(order, money)
	if err != nil {
		t.Fatal(err)
	}
	if got := compat.ReaderWriter(s, s); len(got) != 0 {
		t.Fatal(got)
	}
	if _, err := compat.Parse(order); err == nil {
		t.Fatal("without the reference: want an error")
	}
	if _, err := compat.ParseWithReferences(order, `{"type":"record"`); err == nil {
		t.Fatal("bad reference: want an error")
	}
}

func TestLevelCovers(t *testing.T) {
	for _, c := range []struct {
		l, o compat.Level
		want bool
	}{
		{compat.BackwardTransitive, compat.Backward, true},
		{compat.Backward, compat.BackwardTransitive, false},
		{compat.FullTransitive, compat.ForwardTransitive, true},
		{compat.Full, compat.BackwardTransitive, false},
		{compat.None, compat.Backward, false},
		{compat.Backward, compat.None, true},
		{compat.Forward, compat.Backward, false},
		{compat.Backward, compat.Backward, true},
	} {
		if got := c.l.Covers(c.o); got != c.want {
			t.Errorf("%s.Covers(%s) = %v, want %v", c.l, c.o, got, c.want)
		}
	}
}
