package upcast_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/gen/avro/inventory"
	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/order/upcast"
	"github.com/stratahq/strata/upcasters"
)

var (
	update        = flag.Bool("update", false, "rewrite testdata/*/v*.want.json from the current output")
	writeFixtures = flag.Bool("write-fixtures", false, "write missing testdata/*/v*.avro payloads from fixtureInputs (never overwrites)")
)

// fixtureInputs are the values the golden payloads were written from, in
// Avro's generic form for each version's writer schema. They are used only to
// create a missing .avro file; an existing one is history and never rewritten.
var fixtureInputs = map[string]map[int]map[string]any{
	"shop.order.OrderPlaced": {
		1: {
			"order_id":    "order-0001",
			"customer_id": "customer-42",
			"items": []any{
				map[string]any{"product_id": "sku-kimchi", "quantity": 3, "unit_price": 12000.0},
				map[string]any{"product_id": "sku-gim", "quantity": 2, "unit_price": 2499.5},
			},
			"total_amount": 40999.0,
			"shipping_address": map[string]any{
				"recipient": "Kim Minji", "line1": "1 Sejong-daero", "line2": "Apt 101",
				"city": "Seoul", "postal_code": "04524", "country_code": "KR",
			},
			"placed_at": time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC),
		},
		2: {
			"order_id":    "order-0002",
			"customer_id": "customer-7",
			"items": []any{
				map[string]any{"product_id": "sku-tea", "quantity": 1, "unit_price": int64(1999)},
			},
			"total_amount":    int64(1999),
			"currency":        "USD",
			"shipping_method": "EXPRESS",
			"shipping_address": map[string]any{
				"recipient": "Lee Jun", "line1": "2 Teheran-ro", "line2": nil,
				"city": "Seoul", "postal_code": "06236", "country_code": "KR",
			},
			"placed_at": time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
		},
	},
}

// wantValues are the expected current values, written by hand (the golden
// JSON files are generated from the output; these keep them honest).
var wantValues = map[string]map[int]any{
	"shop.order.OrderPlaced": {
		1: &order.OrderPlaced{
			OrderID:    "order-0001",
			CustomerID: "customer-42",
			Items: []order.OrderItem{
				{ProductID: "sku-kimchi", Quantity: 3, UnitPrice: 12000},
				{ProductID: "sku-gim", Quantity: 2, UnitPrice: 2500}, // 2499.5 won rounds half away from zero
			},
			TotalAmount:    40999,
			Currency:       "KRW",
			ShippingMethod: order.ShippingMethodStandard,
			ShippingAddress: order.Address{
				Recipient: "Kim Minji", Line1: "1 Sejong-daero", Line2: ptr("Apt 101"),
				City: "Seoul", PostalCode: "04524", CountryCode: "KR",
			},
			PlacedAt: time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC),
		},
		2: &order.OrderPlaced{
			OrderID:         "order-0002",
			CustomerID:      "customer-7",
			Items:           []order.OrderItem{{ProductID: "sku-tea", Quantity: 1, UnitPrice: 1999}},
			TotalAmount:     1999,
			Currency:        "USD",
			ShippingMethod:  order.ShippingMethodExpress,
			ShippingAddress: order.Address{Recipient: "Lee Jun", Line1: "2 Teheran-ro", City: "Seoul", PostalCode: "06236", CountryCode: "KR"},
			PlacedAt:        time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
		},
	},
}

func ptr[T any](v T) *T { return &v }

func setup(t testing.TB, chains ...upcasters.Chain) (*serde.Registry, *upcasters.Upcaster) {
	t.Helper()
	reg, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	up, err := upcasters.New(reg, chains...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return reg, up
}

func mustParse(t testing.TB, js string) avro.Schema {
	t.Helper()
	s, err := upcasters.ParseSchema(js)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGoldenFixtures upcasts the golden payload of every version of every
// evolved event (historical and current) and compares the result with the
// expected current value. A version without a fixture, or whose fixture does
// not reach the current type, fails.
func TestGoldenFixtures(t *testing.T) {
	reg, up := setup(t, upcast.Chains()...)
	for _, ch := range upcast.Chains() {
		cur, _ := reg.ByName(ch.EventType)
		schemas := map[int]string{}
		for _, v := range ch.Versions {
			schemas[v.Version] = v.Schema
		}
		currentVersion := ch.Versions[len(ch.Versions)-1].Version + 1
		schemas[currentVersion] = cur.JSON
		for n := ch.Versions[0].Version; n <= currentVersion; n++ {
			t.Run(fmt.Sprintf("%s/v%d", ch.EventType, n), func(t *testing.T) {
				writer := mustParse(t, schemas[n])
				if got, ok := up.Version(ch.EventType, writer.Fingerprint()); !ok || got != n {
					t.Fatalf("Version = %d, %v; want %d", got, ok, n)
				}
				base := filepath.Join("testdata", ch.EventType, fmt.Sprintf("v%d", n))
				payload := fixturePayload(t, reg, base+".avro", ch.EventType, n, writer)
				got, err := up.Decode(ch.EventType, writer, payload)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if want := wantValues[ch.EventType][n]; want == nil {
					t.Errorf("no hand-written expected value for %s v%d in wantValues", ch.EventType, n)
				} else if !reflect.DeepEqual(got, want) {
					t.Errorf("upcast value:\n got %+v\nwant %+v", got, want)
				}
				gotJSON, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				gotJSON = append(gotJSON, '\n')
				if *update {
					if err := os.WriteFile(base+".want.json", gotJSON, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				wantJSON, err := os.ReadFile(base + ".want.json")
				if err != nil {
					t.Fatalf("read expected value (run with -update to create it): %v", err)
				}
				if !bytes.Equal(gotJSON, wantJSON) {
					t.Errorf("upcast value differs from %s.want.json:\n%s", base, gotJSON)
				}
			})
		}
	}
}

func fixturePayload(t *testing.T, reg *serde.Registry, path, eventType string, n int, writer avro.Schema) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err == nil {
		return b
	}
	if !errors.Is(err, os.ErrNotExist) || !*writeFixtures {
		t.Fatalf("golden payload %s: %v (every version needs one; create it with -write-fixtures)", path, err)
	}
	in := fixtureInputs[eventType][n]
	if in == nil {
		t.Fatalf("no fixtureInputs for %s v%d", eventType, n)
	}
	b, err = reg.MarshalWith(writer, in)
	if err != nil {
		t.Fatalf("encode fixture input: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHistoryFilesAreChained fails when a schema in history/ is not a version
// of a chain, or differs from the chain's text.
func TestHistoryFilesAreChained(t *testing.T) {
	chained := map[string]string{}
	for _, ch := range upcast.Chains() {
		for _, v := range ch.Versions {
			chained[filepath.Join("history", ch.EventType, fmt.Sprintf("v%d.avsc", v.Version))] = v.Schema
		}
	}
	files, err := filepath.Glob("history/*/v*.avsc")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob history: %v, %d files", err, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, ok := chained[f]
		if !ok {
			t.Errorf("%s is not a version of any chain in Chains()", f)
			continue
		}
		if s != string(b) {
			t.Errorf("%s differs from the chain's schema", f)
		}
		delete(chained, f)
	}
	for f := range chained {
		t.Errorf("chain version %s has no file", f)
	}
}

func TestCurrentSchemaFastPath(t *testing.T) {
	reg, up := setup(t, upcast.Chains()...)
	in := &order.OrderShipped{OrderID: "o-1", Carrier: "cj", TrackingNumber: "t-1", ShippedAt: time.UnixMilli(1_700_000_000_000).UTC()}
	typ, body, err := reg.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	// A writer schema parsed from the registered JSON, as the store does.
	got, err := up.Decode(typ.Name, mustParse(t, typ.JSON), body)
	if err != nil || !reflect.DeepEqual(got, in) {
		t.Fatalf("Decode = %+v, %v", got, err)
	}
	if _, err := up.Decode(typ.Name, typ.Schema, body[:len(body)-1]); !errors.Is(err, serde.ErrTruncated) {
		t.Fatalf("Decode(truncated) err = %v", err)
	}
	if _, err := up.Decode("shop.order.Nope", typ.Schema, body); !errors.Is(err, serde.ErrUnknownType) {
		t.Fatalf("Decode(unknown type) err = %v", err)
	}
	if s, ok := up.WriterSchema(typ.Fingerprint); !ok || s.Fingerprint() != typ.Fingerprint {
		t.Fatal("WriterSchema(current) not found")
	}
	v1 := mustParse(t, upcast.OrderPlaced().Versions[0].Schema)
	if s, ok := up.WriterSchema(v1.Fingerprint()); !ok || s.Fingerprint() != v1.Fingerprint() {
		t.Fatal("WriterSchema(OrderPlaced v1) not found")
	}
	if n, ok := up.Version("shop.order.OrderShipped", typ.Fingerprint); !ok || n != 1 {
		t.Fatalf("Version(unevolved current) = %d, %v", n, ok)
	}
}

// stockReservationFailedV1 is a structural ancestor of the current schema:
// without unavailable_product_ids (which the current schema adds with a
// default).
const stockReservationFailedV1 = `{"type":"record","name":"StockReservationFailed","namespace":"shop.inventory","doc":"v1","fields":[
 {"name":"reservation_id","type":"string","doc":"."},
 {"name":"order_id","type":"string","doc":"."},
 {"name":"reason","type":"string","doc":"."},
 {"name":"failed_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"."}]}`

func encodeGeneric(t *testing.T, reg *serde.Registry, s avro.Schema, v map[string]any) []byte {
	t.Helper()
	b, err := reg.MarshalWith(s, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStructuralEvolution(t *testing.T) {
	failedAt := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	want := &inventory.StockReservationFailed{ReservationID: "r-1", OrderID: "o-1", Reason: "out of stock", UnavailableProductIds: []string{}, FailedAt: failedAt}
	in := map[string]any{"reservation_id": "r-1", "order_id": "o-1", "reason": "out of stock", "failed_at": failedAt}

	t.Run("resolution without a chain is not a path", func(t *testing.T) {
		// Avro resolution would fill the default, but nothing declares this
		// writer schema: no silent fallback.
		reg, up := setup(t)
		w := mustParse(t, stockReservationFailedV1)
		payload := encodeGeneric(t, reg, w, in)
		_, err := up.Decode("shop.inventory.StockReservationFailed", w, payload)
		var npe *upcasters.NoPathError
		if !errors.Is(err, upcasters.ErrNoUpcastPath) || !errors.As(err, &npe) || npe.Fingerprint != w.Fingerprint() ||
			!strings.Contains(err.Error(), "undeclared writer schema") {
			t.Fatalf("err = %v, want a NoPathError for an undeclared writer schema", err)
		}
	})
	t.Run("structural step in a chain", func(t *testing.T) {
		chain := upcasters.Chain{EventType: "shop.inventory.StockReservationFailed", Versions: []upcasters.Version{{Version: 1, Schema: stockReservationFailedV1}}}
		reg, up := setup(t, chain)
		w := mustParse(t, stockReservationFailedV1)
		if n, ok := up.Version(chain.EventType, w.Fingerprint()); !ok || n != 1 {
			t.Fatalf("Version = %d, %v", n, ok)
		}
		got, err := up.Decode(chain.EventType, w, encodeGeneric(t, reg, w, in))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode = %+v, %v; want %+v", got, err, want)
		}
	})
	t.Run("structural step then semantic step", func(t *testing.T) {
		v2 := strings.Replace(stockReservationFailedV1, `"doc":"v1"`, `"doc":"v2"`, 1)
		v2 = strings.Replace(v2, `{"name":"reason","type":"string","doc":"."},`, `{"name":"reason","type":"string","doc":"."},{"name":"note","type":"string","default":"n/a","doc":"."},`, 1)
		chain := upcasters.Chain{EventType: "shop.inventory.StockReservationFailed", Versions: []upcasters.Version{
			{Version: 1, Schema: stockReservationFailedV1},
			{Version: 2, Schema: v2, Up: func(rec map[string]any) (map[string]any, error) {
				rec["reason"] = rec["reason"].(string) + " (" + rec["note"].(string) + ")"
				delete(rec, "note")
				rec["unavailable_product_ids"] = []any{"sku-1"}
				return rec, nil
			}},
		}}
		reg, up := setup(t, chain)
		w := mustParse(t, stockReservationFailedV1)
		got, err := up.Decode(chain.EventType, w, encodeGeneric(t, reg, w, in))
		want := &inventory.StockReservationFailed{ReservationID: "r-1", OrderID: "o-1", Reason: "out of stock (n/a)", UnavailableProductIds: []string{"sku-1"}, FailedAt: failedAt}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode = %+v, %v; want %+v", got, err, want)
		}
	})
}

func TestNoPath(t *testing.T) {
	t.Run("historical version without its chain", func(t *testing.T) {
		_, up := setup(t) // no chains: OrderPlaced v1 is unknown, and double -> long does not resolve
		v1 := mustParse(t, upcast.OrderPlaced().Versions[0].Schema)
		payload, err := os.ReadFile("testdata/shop.order.OrderPlaced/v1.avro")
		if err != nil {
			t.Fatal(err)
		}
		_, err = up.Decode("shop.order.OrderPlaced", v1, payload)
		var npe *upcasters.NoPathError
		if !errors.Is(err, upcasters.ErrNoUpcastPath) || !errors.As(err, &npe) || npe.Fingerprint != v1.Fingerprint() {
			t.Fatalf("err = %v, want a NoPathError", err)
		}
	})
	t.Run("incompatible writer", func(t *testing.T) {
		_, up := setup(t, upcast.Chains()...)
		w := mustParse(t, `{"type":"record","name":"shop.order.OrderShipped","fields":[{"name":"order_id","type":"int"}]}`)
		if _, err := up.Decode("shop.order.OrderShipped", w, []byte{2}); !errors.Is(err, upcasters.ErrNoUpcastPath) {
			t.Fatalf("err = %v, want ErrNoUpcastPath", err)
		}
	})
	t.Run("failing semantic step", func(t *testing.T) {
		chain := upcast.OrderPlaced()
		chain.Versions[0].Up = func(map[string]any) (map[string]any, error) { return nil, errors.New("boom") }
		_, up := setup(t, chain)
		v1 := mustParse(t, chain.Versions[0].Schema)
		payload, _ := os.ReadFile("testdata/shop.order.OrderPlaced/v1.avro")
		if _, err := up.Decode(chain.EventType, v1, payload); err == nil || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("semantic step leaving the wrong shape", func(t *testing.T) {
		chain := upcast.OrderPlaced()
		chain.Versions[0].Up = func(rec map[string]any) (map[string]any, error) { return rec, nil } // doubles stay doubles
		_, up := setup(t, chain)
		v1 := mustParse(t, chain.Versions[0].Schema)
		payload, _ := os.ReadFile("testdata/shop.order.OrderPlaced/v1.avro")
		if _, err := up.Decode(chain.EventType, v1, payload); err == nil {
			t.Fatal("an identity step from v1 reached the current type")
		}
	})
}

func TestNewRejectsBadChains(t *testing.T) {
	reg, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	placed, _ := reg.ByName("shop.order.OrderPlaced")
	v1 := upcast.OrderPlaced().Versions[0]
	noUp := v1
	noUp.Up = nil
	v3 := v1
	v3.Version = 3
	cases := map[string][]upcasters.Chain{
		"unknown type":                          {{EventType: "shop.order.Nope", Versions: []upcasters.Version{v1}}},
		"no versions":                           {{EventType: "shop.order.OrderPlaced"}},
		"two chains":                            {upcast.OrderPlaced(), upcast.OrderPlaced()},
		"gap in versions":                       {{EventType: "shop.order.OrderPlaced", Versions: []upcasters.Version{v1, v3}}},
		"current schema as a step":              {{EventType: "shop.order.OrderPlaced", Versions: []upcasters.Version{{Version: 1, Schema: placed.JSON}}}},
		"wrong name":                            {{EventType: "shop.order.OrderShipped", Versions: []upcasters.Version{v1}}},
		"bad JSON":                              {{EventType: "shop.order.OrderPlaced", Versions: []upcasters.Version{{Version: 1, Schema: "{"}}}},
		"structural step that does not resolve": {{EventType: "shop.order.OrderPlaced", Versions: []upcasters.Version{noUp}}},
	}
	for name, chains := range cases {
		t.Run(name, func(t *testing.T) {
			up, err := upcasters.New(reg, chains...)
			if !errors.Is(err, upcasters.ErrInvalidChain) || up != nil {
				t.Fatalf("New = %v, %v; want ErrInvalidChain", up, err)
			}
		})
	}
	if _, err := upcasters.New(nil); !errors.Is(err, upcasters.ErrInvalidChain) {
		t.Fatalf("New(nil) err = %v", err)
	}
}

func TestConcurrentDecode(t *testing.T) {
	srf := upcasters.Chain{EventType: "shop.inventory.StockReservationFailed", Versions: []upcasters.Version{{Version: 1, Schema: stockReservationFailedV1}}}
	reg, up := setup(t, append(upcast.Chains(), srf)...)
	v1 := mustParse(t, upcast.OrderPlaced().Versions[0].Schema)
	payloadV1, err := os.ReadFile("testdata/shop.order.OrderPlaced/v1.avro")
	if err != nil {
		t.Fatal(err)
	}
	w := mustParse(t, stockReservationFailedV1)
	payloadSRF := encodeGeneric(t, reg, w, map[string]any{"reservation_id": "r", "order_id": "o", "reason": "x", "failed_at": time.UnixMilli(5).UTC()})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := up.Decode("shop.order.OrderPlaced", v1, payloadV1); err != nil {
					errs <- err
					return
				}
				if _, err := up.Decode("shop.inventory.StockReservationFailed", w, payloadSRF); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
