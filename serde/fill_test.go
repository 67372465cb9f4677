package serde_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

// fill sets every field of the struct v points to a non-zero value chosen
// from the Avro schema (enum fields get their last symbol, so never the
// default), and fails the test if a field has no matching avro tag.
func fill(t *testing.T, schema avro.Schema, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		t.Fatalf("fill: want a non-nil pointer, got %T", v)
	}
	n := 0
	fillValue(t, schema, rv.Elem(), "", &n)
}

func fillValue(t *testing.T, schema avro.Schema, v reflect.Value, path string, n *int) {
	t.Helper()
	*n++
	if ref, ok := schema.(*avro.RefSchema); ok {
		schema = ref.Schema()
	}
	switch s := schema.(type) {
	case *avro.RecordSchema:
		byTag := map[string]reflect.Value{}
		for i := 0; i < v.NumField(); i++ {
			byTag[v.Type().Field(i).Tag.Get("avro")] = v.Field(i)
		}
		if len(byTag) != len(s.Fields()) {
			t.Fatalf("%s: Go struct has %d fields, schema %s has %d", path, len(byTag), s.FullName(), len(s.Fields()))
		}
		for _, f := range s.Fields() {
			fv, ok := byTag[f.Name()]
			if !ok {
				t.Fatalf("%s: no Go field tagged avro:%q", path, f.Name())
			}
			fillValue(t, f.Type(), fv, path+"."+f.Name(), n)
		}
	case *avro.EnumSchema:
		syms := s.Symbols()
		v.SetString(syms[len(syms)-1])
	case *avro.ArraySchema:
		sl := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fillValue(t, s.Items(), sl.Index(i), fmt.Sprintf("%s[%d]", path, i), n)
		}
		v.Set(sl)
	case *avro.MapSchema:
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		fillValue(t, s.Values(), e, path+"[k]", n)
		m.SetMapIndex(reflect.ValueOf("k"+path), e)
		v.Set(m)
	case *avro.UnionSchema:
		if !s.Nullable() || v.Kind() != reflect.Pointer {
			t.Fatalf("%s: only nullable unions are generated as pointers", path)
		}
		var inner avro.Schema
		for _, ts := range s.Types() {
			if ts.Type() != avro.Null {
				inner = ts
			}
		}
		p := reflect.New(v.Type().Elem())
		fillValue(t, inner, p.Elem(), path, n)
		v.Set(p)
	case *avro.PrimitiveSchema:
		if ls := s.Logical(); ls != nil {
			switch ls.Type() {
			case avro.TimestampMillis:
				v.Set(reflect.ValueOf(time.UnixMilli(1_700_000_000_000 + int64(*n)).UTC()))
				return
			default:
				t.Fatalf("%s: logical type %s not handled by the test filler", path, ls.Type())
			}
		}
		switch s.Type() {
		case avro.String:
			v.SetString(strings.TrimPrefix(path, ".") + "-value")
		case avro.Int, avro.Long:
			v.SetInt(int64(*n) * 7)
		case avro.Float, avro.Double:
			v.SetFloat(float64(*n) + 0.5)
		case avro.Boolean:
			v.SetBool(true)
		case avro.Bytes:
			v.SetBytes([]byte(path))
		default:
			t.Fatalf("%s: primitive %s not handled by the test filler", path, s.Type())
		}
	default:
		t.Fatalf("%s: schema %T not handled by the test filler", path, schema)
	}
}

// assertNoZeroField fails when a field (recursively) still holds its zero value.
func assertNoZeroField(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			t.Errorf("%s is nil", path)
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			if v.Interface().(time.Time).IsZero() {
				t.Errorf("%s is zero", path)
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			assertNoZeroField(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Slice:
		if v.Len() == 0 {
			t.Errorf("%s is empty", path)
		}
		for i := 0; i < v.Len(); i++ {
			assertNoZeroField(t, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	default:
		if v.IsZero() {
			t.Errorf("%s is zero", path)
		}
	}
}
