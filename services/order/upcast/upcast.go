// Package upcast is the order service's event history: the upcaster chains
// of the events it owns that changed shape in a way Avro resolution cannot
// follow, with their historical writer schemas (history/<full name>/v<N>.avsc)
// and golden payloads (testdata/). Services that read order events pass
// Chains to upcasters.New explicitly.
package upcast

import (
	_ "embed"
	"fmt"

	"github.com/stratahq/strata/upcasters"
)

//go:embed history/shop.order.OrderPlaced/v1.avsc
var orderPlacedV1 string

// Chains returns the upcaster chains of the shop's evolved events. Pass them
// to upcasters.New.
func Chains() []upcasters.Chain {
	return []upcasters.Chain{OrderPlaced()}
}

// OrderPlaced is the history of shop.order.OrderPlaced.
//
// v1 -> v2 (semantic, [OrderPlacedV1ToV2]): amounts from won as doubles to
// minor units as long; currency "KRW" and shipping_method STANDARD added
// (the seed design's own example). v2 is the current schema.
func OrderPlaced() upcasters.Chain {
	return upcasters.Chain{
		EventType: "shop.order.OrderPlaced",
		Versions: []upcasters.Version{
			{Version: 1, Schema: orderPlacedV1, Up: OrderPlacedV1ToV2},
		},
	}
}

// orderPlacedV1Currency is the currency of every v1 OrderPlaced: v1 had no
// currency field, and the shop sold in won only (the seed design's default).
const orderPlacedV1Currency = "KRW"

// OrderPlacedV1ToV2 upcasts a v1 shop.order.OrderPlaced record: total_amount
// and every items[].unit_price from won (double, major units) to minor units
// (long) by upcasters.MinorUnits; currency = "KRW"; shipping_method = "STANDARD".
func OrderPlacedV1ToV2(rec map[string]any) (map[string]any, error) {
	total, err := minorField(rec, "total_amount")
	if err != nil {
		return nil, err
	}
	rec["total_amount"] = total
	items, ok := rec["items"].([]any)
	if !ok {
		return nil, fmt.Errorf("items: got %T, want an array", rec["items"])
	}
	for i, it := range items {
		item, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("items[%d]: got %T, want a record", i, it)
		}
		price, err := minorField(item, "unit_price")
		if err != nil {
			return nil, fmt.Errorf("items[%d]: %w", i, err)
		}
		item["unit_price"] = price
	}
	rec["currency"] = orderPlacedV1Currency
	rec["shipping_method"] = "STANDARD"
	return rec, nil
}

func minorField(rec map[string]any, name string) (int64, error) {
	major, ok := rec[name].(float64)
	if !ok {
		return 0, fmt.Errorf("%s: got %T, want a double", name, rec[name])
	}
	minor, err := upcasters.MinorUnits(major, orderPlacedV1Currency)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return minor, nil
}
