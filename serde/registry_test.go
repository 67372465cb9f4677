package serde_test

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/serde"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func newRegistry(t testing.TB) *serde.Registry {
	t.Helper()
	reg, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return reg
}

func TestEveryTypeRoundTrips(t *testing.T) {
	reg := newRegistry(t)
	types := reg.Types()
	if len(types) == 0 {
		t.Fatal("no types")
	}
	for _, typ := range types {
		t.Run(typ.Name, func(t *testing.T) {
			in := typ.New()
			fill(t, typ.Schema, in)
			assertNoZeroField(t, reflect.ValueOf(in), typ.Name)

			got, body, err := reg.Encode(in)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got.Name != typ.Name {
				t.Fatalf("Encode type = %s, want %s", got.Name, typ.Name)
			}
			// A value (not a pointer) encodes the same.
			_, body2, err := reg.Encode(reflect.ValueOf(in).Elem().Interface())
			if err != nil || !bytes.Equal(body, body2) {
				t.Fatalf("Encode(value) = %x, %v; want %x", body2, err, body)
			}
			out, err := reg.Decode(typ.Name, body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(in, out) {
				t.Fatalf("round trip changed the value:\n in: %+v\nout: %+v", in, out)
			}
			into := typ.New()
			if err := reg.DecodeInto(body, into); err != nil || !reflect.DeepEqual(in, into) {
				t.Fatalf("DecodeInto = %+v, %v", into, err)
			}
			// The body is standard Avro: hamba's generic decoder with the
			// schema parsed from the registered JSON reads it.
			s, err := avro.ParseWithCache(typ.JSON, "", &avro.SchemaCache{})
			if err != nil {
				t.Fatalf("parse JSON: %v", err)
			}
			var generic map[string]any
			if err := avro.Unmarshal(s, body, &generic); err != nil {
				t.Fatalf("generic decode: %v", err)
			}
			if len(generic) != len(typ.Schema.(*avro.RecordSchema).Fields()) {
				t.Fatalf("generic decode has %d fields", len(generic))
			}
		})
	}
}

func TestRegistryLookups(t *testing.T) {
	reg := newRegistry(t)
	names := events.Names()
	if len(names) != len(reg.Types()) {
		t.Fatalf("Names() has %d entries, Types() %d", len(names), len(reg.Types()))
	}
	for _, name := range names {
		typ, ok := reg.ByName(name)
		if !ok {
			t.Fatalf("ByName(%q) not found", name)
		}
		if typ.Name != name || typ.Schema.(avro.NamedSchema).FullName() != name {
			t.Errorf("ByName(%q) = %s", name, typ.Name)
		}
		if fp := typ.Schema.Fingerprint(); fp != typ.Fingerprint {
			t.Errorf("%s: Fingerprint field %x != schema fingerprint %x", name, typ.Fingerprint, fp)
		}
		byFP, ok := reg.ByFingerprint(typ.Fingerprint)
		if !ok || byFP.Name != name {
			t.Errorf("ByFingerprint(%s) = %s, %v", name, byFP.Name, ok)
		}
		v := typ.New()
		for _, val := range []any{v, reflect.ValueOf(v).Elem().Interface()} {
			got, err := reg.TypeOf(val)
			if err != nil || got.Name != name {
				t.Errorf("TypeOf(%T) = %s, %v", val, got.Name, err)
			}
		}
	}
	if _, ok := reg.ByName("shop.order.OrderItem"); ok {
		t.Error("OrderItem is a part of OrderPlaced, not a message type")
	}
	if _, ok := reg.ByName("OrderPlaced"); ok {
		t.Error("ByName must use full names")
	}
	if _, ok := reg.ByFingerprint([32]byte{1}); ok {
		t.Error("ByFingerprint found an unknown fingerprint")
	}
	for _, v := range []any{order.OrderItem{}, &order.Address{}, "x", nil, 3} {
		_, err := reg.TypeOf(v)
		var ute *serde.UnknownTypeError
		if !errors.Is(err, serde.ErrUnknownType) || !errors.As(err, &ute) {
			t.Errorf("TypeOf(%T) err = %v, want an *UnknownTypeError", v, err)
		}
		if _, _, err := reg.Encode(v); !errors.Is(err, serde.ErrUnknownType) {
			t.Errorf("Encode(%T) err = %v, want ErrUnknownType", v, err)
		}
	}
	if _, err := reg.Decode("shop.order.Nope", nil); !errors.Is(err, serde.ErrUnknownType) {
		t.Errorf("Decode(unknown) err = %v", err)
	}
}

// TestFingerprintsStable compares every type's fingerprint with
// testdata/fingerprints.golden. A schema change changes its fingerprint on
// purpose: rerun with -update and commit the golden file with the schema.
// Any other change (a generator or hamba upgrade) is a bug: stored events
// are found by these fingerprints.
func TestFingerprintsStable(t *testing.T) {
	reg := newRegistry(t)
	var sb strings.Builder
	for _, typ := range reg.Types() {
		fmt.Fprintf(&sb, "%s %x\n", typ.Name, typ.Fingerprint)
	}
	const golden = "testdata/fingerprints.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	wantFP := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(want))
	for sc.Scan() {
		name, fp, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("bad golden line %q", sc.Text())
		}
		wantFP[name] = fp
	}
	for _, typ := range reg.Types() {
		got := fmt.Sprintf("%x", typ.Fingerprint)
		w, ok := wantFP[typ.Name]
		switch {
		case !ok:
			t.Errorf("%s: not in %s (new type? rerun with -update)", typ.Name, golden)
		case w != got:
			t.Errorf("%s: fingerprint %s, golden %s", typ.Name, got, w)
		}
		delete(wantFP, typ.Name)
	}
	for name := range wantFP {
		t.Errorf("%s: in %s but no longer registered", name, golden)
	}
}

func TestNewRegistryRejectsBadTypes(t *testing.T) {
	good := events.Types()
	find := func(name string) serde.Type {
		for _, typ := range good {
			if typ.Name == name {
				return typ
			}
		}
		t.Fatalf("no %s", name)
		return serde.Type{}
	}
	placed := find("shop.order.OrderPlaced")
	shipped := find("shop.order.OrderShipped")

	wrongFP := placed
	wrongFP.Fingerprint[0] ^= 1
	noNew := placed
	noNew.New = nil
	notPtr := placed
	notPtr.New = func() any { return order.OrderPlaced{} }
	sameGo := shipped
	sameGo.New = placed.New
	wrongName := placed
	wrongName.Name = "shop.order.Other"
	noSchema := placed
	noSchema.Schema = nil

	cases := map[string][]serde.Type{
		"duplicate name":    {placed, placed},
		"wrong fingerprint": {wrongFP},
		"no constructor":    {noNew},
		"not a pointer":     {notPtr},
		"same Go type":      {placed, sameGo},
		"name mismatch":     {wrongName},
		"no schema":         {noSchema},
		"no name":           {{}},
	}
	for name, types := range cases {
		t.Run(name, func(t *testing.T) {
			reg, err := serde.NewRegistry(types...)
			if !errors.Is(err, serde.ErrInvalidType) || reg != nil {
				t.Fatalf("NewRegistry = %v, %v; want ErrInvalidType", reg, err)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	reg := newRegistry(t)
	bad := &order.OrderPlaced{ShippingMethod: "TELEPORT"}
	if _, _, err := reg.Encode(bad); err == nil || !strings.Contains(err.Error(), "shop.order.OrderPlaced") {
		t.Fatalf("Encode(unknown enum symbol) err = %v", err)
	}
	var nilPtr *order.OrderPlaced
	if _, _, err := reg.Encode(nilPtr); err == nil {
		t.Fatal("Encode(nil pointer) succeeded")
	}
	// The pooled writer must not carry the error over.
	ok := &order.OrderShipped{OrderID: "o-1", ShippedAt: time.UnixMilli(1).UTC()}
	if _, _, err := reg.Encode(ok); err != nil {
		t.Fatalf("Encode after an error: %v", err)
	}
	if err := reg.DecodeInto(nil, order.OrderShipped{}); err == nil {
		t.Fatal("DecodeInto(non-pointer) succeeded")
	}
}

func TestDecodeTruncated(t *testing.T) {
	reg := newRegistry(t)
	in := &order.OrderShipped{OrderID: "o-1", Carrier: "cj", TrackingNumber: "t-1", ShippedAt: time.UnixMilli(1_700_000_000_000).UTC()}
	_, body, err := reg.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(body); n++ {
		if _, err := reg.Decode("shop.order.OrderShipped", body[:n]); !errors.Is(err, serde.ErrTruncated) {
			t.Errorf("Decode of %d/%d bytes: err = %v, want ErrTruncated", n, len(body), err)
		}
	}
}

func TestDecodeTrailingBytes(t *testing.T) {
	reg := newRegistry(t)
	in := &order.OrderShipped{OrderID: "o-1", Carrier: "cj", TrackingNumber: "t-1", ShippedAt: time.UnixMilli(1_700_000_000_000).UTC()}
	_, body, err := reg.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	_, err = reg.Decode("shop.order.OrderShipped", append(body, 0))
	if !errors.Is(err, serde.ErrTrailingBytes) {
		t.Fatalf("Decode with a trailing byte: err = %v, want ErrTrailingBytes", err)
	}
	// The pooled reader is clean afterwards.
	if _, err := reg.Decode("shop.order.OrderShipped", body); err != nil {
		t.Fatalf("Decode after an error: %v", err)
	}
}
