package serde_test

import (
	"testing"
	"time"

	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/serde"
)

// FuzzDecode feeds arbitrary bytes to every type's decoder: a corrupt or
// hostile payload (a poison message) must give an error, never a panic or a
// huge allocation.
func FuzzDecode(f *testing.F) {
	reg := newRegistry(f)
	_, body, err := reg.Encode(benchOrder())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	_, shipped, _ := reg.Encode(&order.OrderShipped{OrderID: "o", Carrier: "c", TrackingNumber: "t", ShippedAt: time.UnixMilli(1).UTC()})
	f.Add(shipped)
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	names := make([]string, 0)
	for _, t := range reg.Types() {
		names = append(names, t.Name)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, name := range names {
			v, err := reg.Decode(name, payload)
			if err != nil {
				continue
			}
			// Whatever decodes must be a valid value: it encodes again.
			_, again, err := reg.Encode(v)
			if err != nil {
				t.Fatalf("%s: decoded %x but cannot re-encode: %v", name, payload, err)
			}
			_ = again
		}
	})
}

func FuzzParseWire(f *testing.F) {
	f.Add(serde.AppendWire(nil, 7, []byte{1, 2}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, msg []byte) {
		id, body, err := serde.ParseWire(msg)
		if err != nil {
			return
		}
		if got := serde.AppendWire(nil, id, body); string(got) != string(msg) {
			t.Fatalf("AppendWire(ParseWire(%x)) = %x", msg, got)
		}
	})
}
