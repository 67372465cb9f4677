package serde_test

import (
	"fmt"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/serde"
)

// A generated type (gen/avro/<domain>) looks like this one.
type AccountOpened struct {
	AccountID string `avro:"account_id"`
	Owner     string `avro:"owner"`
}

const accountOpenedSchema = `{"type":"record","name":"AccountOpened","namespace":"bank.account",
 "fields":[{"name":"account_id","type":"string"},{"name":"owner","type":"string"}]}`

// The type registry encodes a Go value with its current schema and decodes a
// payload by event type; generated code (gen/events.Types()) fills it.
func ExampleRegistry() {
	schema := avro.MustParse(accountOpenedSchema)
	reg, err := serde.NewRegistry(serde.Type{
		Name: "bank.account.AccountOpened", Schema: schema, JSON: schema.String(),
		Fingerprint: schema.Fingerprint(), New: func() any { return new(AccountOpened) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	t, payload, err := reg.Encode(&AccountOpened{AccountID: "acc-1", Owner: "ann"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Name, len(payload), "bytes")
	v, err := reg.Decode("bank.account.AccountOpened", payload)
	fmt.Printf("%+v %v\n", *v.(*AccountOpened), err)
	// Output:
	// bank.account.AccountOpened 10 bytes
	// {AccountID:acc-1 Owner:ann} <nil>
}

// The Confluent wire format: magic byte 0, the schema registry id, the body.
func ExampleAppendWire() {
	msg := serde.AppendWire(nil, 42, []byte{0x0a, 0x61})
	fmt.Printf("% x\n", msg)
	id, body, err := serde.ParseWire(msg)
	fmt.Println(id, body, err)
	// Output:
	// 00 00 00 00 2a 0a 61
	// 42 [10 97] <nil>
}
