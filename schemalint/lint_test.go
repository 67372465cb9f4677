package schemalint

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stratahq/strata/compat"
)

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for p, s := range files {
		m[p] = &fstest.MapFile{Data: []byte(s)}
	}
	return m
}

const goodAddress = `{
  "type": "record",
  "name": "Address",
  "namespace": "shop.order",
  "doc": "Where an order goes.",
  "fields": [
    {"name": "city", "type": "string", "doc": "City."},
    {"name": "line2", "type": ["null", "string"], "default": null, "doc": "Optional line."}
  ]
}`

const goodPlaced = `{
  "type": "record",
  "name": "OrderPlaced",
  "namespace": "shop.order",
  "doc": "An order was placed.",
  "fields": [
    {"name": "order_id", "type": "string", "doc": "Order id."},
    {"name": "ship_to", "type": "Address", "doc": "Where to."},
    {"name": "bill_to", "type": "shop.order.Address", "doc": "Who pays."},
    {"name": "method", "type": "shop.order.ShippingMethod", "default": "STANDARD", "doc": "How."}
  ]
}`

const goodMethod = `{"type": "enum", "name": "ShippingMethod", "namespace": "shop.order", "doc": "How.",
  "symbols": ["STANDARD", "EXPRESS"], "default": "STANDARD"}`

func TestLoadResolvesReferencesAcrossFiles(t *testing.T) {
	set, err := Load(mapFS(map[string]string{
		"schemas/avro/order/Address.avsc":        goodAddress,
		"schemas/avro/order/OrderPlaced.avsc":    goodPlaced,
		"schemas/avro/order/ShippingMethod.avsc": goodMethod,
	}), "schemas/avro")
	if err != nil {
		t.Fatal(err)
	}
	if got := Lint(set, Options{}); len(got) != 0 {
		t.Fatalf("findings on clean schemas: %v", got)
	}
	var subjects []string
	for _, f := range set.Subjects() {
		subjects = append(subjects, f.FullName)
	}
	if !slices.Equal(subjects, []string{"shop.order.OrderPlaced"}) {
		t.Fatalf("subjects %v", subjects)
	}
	placed := set.Lookup("shop.order.OrderPlaced")
	if placed.Err != nil {
		t.Fatal(placed.Err)
	}
	if !slices.Equal(placed.Refs, []string{"shop.order.Address", "shop.order.ShippingMethod"}) {
		t.Errorf("refs %v", placed.Refs)
	}
	// Address is inlined once, then named.
	if n := strings.Count(placed.Text, `"fields"`); n != 2 {
		t.Errorf("Text has %d records, want 2: %s", n, placed.Text)
	}
	if got := compat.ReaderWriter(placed.Schema, placed.Schema); len(got) != 0 {
		t.Errorf("self-compat %v", got)
	}
}

func TestLintRulesAndLines(t *testing.T) {
	bad := `{
  "type": "record",
  "name": "order_placed",
  "namespace": "shop.orders",
  "fields": [
    {"name": "Total", "type": "int", "default": 1.5, "doc": "x"},
    {"name": "note", "type": ["string", "null"], "doc": "y"},
    {"name": "coupon", "type": ["null", "string"], "doc": "z"},
    {"name": "when", "type": "long", "default": "now", "doc": "w"},
    {"name": "raw", "type": "bytes", "default": "\u20ac", "doc": "v"},
    {"name": "tag", "type": {"type": "fixed", "name": "Tag", "size": 2}, "default": "abc", "doc": "u"},
    {"name": "kind", "type": {"type": "enum", "name": "Kind", "doc": "k", "symbols": ["A", "b"]}, "default": "C", "doc": "t"},
    {"name": "big", "type": "int", "default": 3000000000, "doc": "s"},
    {"name": "nodoc", "type": "string"}
  ]
}`
	set, err := Load(mapFS(map[string]string{
		"schemas/avro/order/OrderPlaced.avsc": bad,
		"schemas/avro/order/Broken.avsc":      "{\n  \"type\": \"record\",\n  \"name\": \n}",
		"schemas/avro/order/Dup.avsc":         `{"type":"enum","name":"Kind","namespace":"shop.orders","doc":"d","symbols":["A"]}`,
		"schemas/avro/Loose.avsc":             `{"type":"fixed","name":"Loose","namespace":"shop","size":1}`,
		"schemas/avro/order/Unknown.avsc":     `{"type":"record","name":"Unknown","namespace":"shop.order","doc":"d","fields":[{"name":"a","type":"Nope","doc":"d"}]}`,
	}), "schemas/avro")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range Lint(set, Options{NamespacePrefix: "shop"}) {
		got = append(got, f.String())
	}
	want := []string{
		"schemas/avro/Loose.avsc:1: LAYOUT",
		"schemas/avro/order/Broken.avsc:4: PARSE",
		"schemas/avro/order/Dup.avsc:1: LAYOUT file name Dup.avsc",
		"schemas/avro/order/Dup.avsc:1: NAMESPACE",
		"schemas/avro/order/OrderPlaced.avsc:12: DUPLICATE shop.orders.Kind is already defined in schemas/avro/order/Dup.avsc",
		"schemas/avro/order/OrderPlaced.avsc:1: DOC record shop.orders.order_placed has no doc",
		"schemas/avro/order/OrderPlaced.avsc:3: LAYOUT file name OrderPlaced.avsc does not match the type name order_placed",
		"schemas/avro/order/OrderPlaced.avsc:3: NAME_STYLE type name \"order_placed\"",
		"schemas/avro/order/OrderPlaced.avsc:4: NAMESPACE namespace \"shop.orders\", want \"shop.order\"",
		"schemas/avro/order/OrderPlaced.avsc:6: NAME_STYLE field name \"Total\"",
		"schemas/avro/order/OrderPlaced.avsc:6: DEFAULT field Total: default 1.5 is not valid: want an integer",
		"schemas/avro/order/OrderPlaced.avsc:7: NULLABLE field note is nullable: put \"null\" first",
		"schemas/avro/order/OrderPlaced.avsc:8: NULLABLE nullable field coupon has no default",
		"schemas/avro/order/OrderPlaced.avsc:9: DEFAULT field when: default \"now\" is not valid: want an integer",
		"schemas/avro/order/OrderPlaced.avsc:10: DEFAULT field raw",
		"schemas/avro/order/OrderPlaced.avsc:11: LAYOUT fixed shop.orders.Tag is defined inline",
		"schemas/avro/order/OrderPlaced.avsc:11: DEFAULT field tag: default \"abc\" is not valid: want 2 bytes for fixed, got 3",
		"schemas/avro/order/OrderPlaced.avsc:12: LAYOUT enum shop.orders.Kind is defined inline",
		"schemas/avro/order/OrderPlaced.avsc:12: NAME_STYLE enum symbol \"b\"",
		"schemas/avro/order/OrderPlaced.avsc:12: DEFAULT field kind: default \"C\" is not valid: want one of the enum symbols",
		"schemas/avro/order/OrderPlaced.avsc:13: DEFAULT field big: default 3000000000 is not valid: out of range for int",
		"schemas/avro/order/OrderPlaced.avsc:14: DOC field nodoc has no doc",
		"schemas/avro/order/Unknown.avsc:1: PARSE",
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("missing finding %q", w)
		}
	}
	if t.Failed() {
		t.Logf("got:\n%s", strings.Join(got, "\n"))
	}
}

func TestLocateFollowsReferences(t *testing.T) {
	set, err := Load(mapFS(map[string]string{
		"schemas/avro/order/Address.avsc":        goodAddress,
		"schemas/avro/order/OrderPlaced.avsc":    goodPlaced,
		"schemas/avro/order/ShippingMethod.avsc": goodMethod,
	}), "schemas/avro")
	if err != nil {
		t.Fatal(err)
	}
	placed := set.Lookup("shop.order.OrderPlaced")
	for ptr, want := range map[string]string{
		"/":                         "schemas/avro/order/OrderPlaced.avsc:1",
		"/fields/0/type":            "schemas/avro/order/OrderPlaced.avsc:7",
		"/fields/1/type/fields/1":   "schemas/avro/order/Address.avsc:8",
		"/fields/1/type/name":       "schemas/avro/order/Address.avsc:3",
		"/fields/3/type/symbols":    "schemas/avro/order/ShippingMethod.avsc:2",
		"/fields/9/type":            "schemas/avro/order/OrderPlaced.avsc:6",
		"/fields/2/type/fields/0/x": "schemas/avro/order/Address.avsc:7",
	} {
		p, l := set.Locate(placed, ptr)
		if got := fmt.Sprintf("%s:%d", p, l); got != want {
			t.Errorf("Locate(%q) = %s, want %s", ptr, got, want)
		}
	}
}
