package serde_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/serde"
)

func TestWireRoundTrip(t *testing.T) {
	for _, id := range []int{0, 1, 255, 256, 1<<24 + 3, 1<<31 - 1} {
		body := []byte{0x02, 0x41, 0x00}
		msg := serde.AppendWire([]byte("prefix"), id, body)
		msg = msg[len("prefix"):]
		if len(msg) != serde.WireHeaderLen+len(body) || msg[0] != 0 {
			t.Fatalf("AppendWire(%d) = %x", id, msg)
		}
		gotID, gotBody, err := serde.ParseWire(msg)
		if err != nil || gotID != id || !bytes.Equal(gotBody, body) {
			t.Fatalf("ParseWire = %d, %x, %v; want %d, %x", gotID, gotBody, err, id, body)
		}
	}
	// Known bytes: id 0x01020304 big-endian.
	if got := serde.AppendWire(nil, 0x01020304, []byte{9}); !bytes.Equal(got, []byte{0, 1, 2, 3, 4, 9}) {
		t.Fatalf("AppendWire = %x", got)
	}
	// Header only: a record with no fields has an empty body.
	id, body, err := serde.ParseWire([]byte{0, 0, 0, 0, 7})
	if err != nil || id != 7 || len(body) != 0 {
		t.Fatalf("ParseWire(header only) = %d, %x, %v", id, body, err)
	}
}

func TestParseWireErrors(t *testing.T) {
	cases := map[string]struct {
		msg   []byte
		short bool
	}{
		"nil":        {nil, true},
		"empty":      {[]byte{}, true},
		"one byte":   {[]byte{0}, true},
		"four bytes": {[]byte{0, 0, 0, 1}, true},
		"bad magic":  {[]byte{1, 0, 0, 0, 1, 2}, false},
		"json":       {[]byte(`{"order_id":"x"}`), false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := serde.ParseWire(c.msg)
			if !errors.Is(err, serde.ErrNotWireFormat) {
				t.Fatalf("err = %v, want ErrNotWireFormat", err)
			}
			var we *serde.WireFormatError
			if !errors.As(err, &we) || we.Short != c.short {
				t.Fatalf("err = %#v, want a *WireFormatError with Short=%v", err, c.short)
			}
		})
	}
}

func TestEncodeWire(t *testing.T) {
	reg := newRegistry(t)
	in := &order.OrderShipped{OrderID: "o-1", Carrier: "cj", TrackingNumber: "t-1", ShippedAt: time.UnixMilli(1_700_000_000_000).UTC()}
	typ, msg, err := reg.EncodeWire(nil, 42, in)
	if err != nil || typ.Name != "shop.order.OrderShipped" {
		t.Fatalf("EncodeWire = %s, %v", typ.Name, err)
	}
	_, body, _ := reg.Encode(in)
	if want := serde.AppendWire(nil, 42, body); !bytes.Equal(msg, want) {
		t.Fatalf("EncodeWire = %x, want %x", msg, want)
	}
	id, gotBody, err := serde.ParseWire(msg)
	if err != nil || id != 42 {
		t.Fatalf("ParseWire = %d, %v", id, err)
	}
	out, err := reg.Decode(typ.Name, gotBody)
	if err != nil || *out.(*order.OrderShipped) != *in {
		t.Fatalf("Decode = %+v, %v", out, err)
	}
	// On error dst comes back unchanged.
	dst := []byte("keep")
	_, got, err := reg.EncodeWire(dst, 1, &order.OrderItem{})
	if err == nil || string(got) != "keep" {
		t.Fatalf("EncodeWire(unknown) = %q, %v", got, err)
	}
}
