package serde_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/serde"
)

func benchOrder() *order.OrderPlaced {
	line2 := "Apt 101"
	return &order.OrderPlaced{
		OrderID:    "0193a5c2-7b1e-7c3d-9f00-4a1b2c3d4e5f",
		CustomerID: "customer-42",
		Items: []order.OrderItem{
			{ProductID: "sku-kimchi", Quantity: 3, UnitPrice: 12000},
			{ProductID: "sku-gim", Quantity: 2, UnitPrice: 2500},
			{ProductID: "sku-tea", Quantity: 1, UnitPrice: 8900},
		},
		TotalAmount:    49900,
		Currency:       "KRW",
		ShippingMethod: order.ShippingMethodExpress,
		ShippingAddress: order.Address{
			Recipient: "Kim Minji", Line1: "1 Sejong-daero", Line2: &line2,
			City: "Seoul", PostalCode: "04524", CountryCode: "KR",
		},
		PlacedAt: time.UnixMilli(1_700_000_000_000).UTC(),
	}
}

// BenchmarkEncode compares, on one OrderPlaced: hamba's avro.Marshal (the
// baseline), Registry.Encode, Registry.EncodeWire into a reused buffer (what
// the relay does), Encode + AppendWire, and encoding/json.
func BenchmarkEncode(b *testing.B) {
	reg := newRegistry(b)
	v := benchOrder()
	typ, _ := reg.TypeOf(v)
	b.Run("hamba-Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := avro.Marshal(typ.Schema, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Registry.Encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := reg.Encode(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Registry.EncodeWire-reuse", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			var err error
			if _, buf, err = reg.EncodeWire(buf[:0], 17, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Encode+AppendWire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, body, err := reg.Encode(v)
			if err != nil {
				b.Fatal(err)
			}
			_ = serde.AppendWire(nil, 17, body)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	reg := newRegistry(b)
	v := benchOrder()
	typ, body, err := reg.Encode(v)
	if err != nil {
		b.Fatal(err)
	}
	js, _ := json.Marshal(v)
	b.Run("hamba-Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out order.OrderPlaced
			if err := avro.Unmarshal(typ.Schema, body, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Registry.Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reg.Decode(typ.Name, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out order.OrderPlaced
			if err := json.Unmarshal(js, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
