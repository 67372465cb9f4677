package upcasters_test

import (
	"fmt"
	"strconv"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/upcasters"
)

// MoneyWithdrawn is today's generated type: the amount in minor units.
type MoneyWithdrawn struct {
	AccountID string `avro:"account_id"`
	Amount    int64  `avro:"amount"`
}

// Version 1 stored the amount as a decimal string; version 2 (current) as
// minor units. The chain names the old schema and the step from it.
func ExampleNew() {
	current := avro.MustParse(`{"type":"record","name":"MoneyWithdrawn","namespace":"bank.account","fields":[
		{"name":"account_id","type":"string"},{"name":"amount","type":"long"}]}`)
	v1JSON := `{"type":"record","name":"MoneyWithdrawn","namespace":"bank.account","fields":[
		{"name":"account_id","type":"string"},{"name":"amount","type":"string"}]}`

	reg, err := serde.NewRegistry(serde.Type{Name: "bank.account.MoneyWithdrawn", Schema: current, JSON: current.String(),
		Fingerprint: current.Fingerprint(), New: func() any { return new(MoneyWithdrawn) }})
	if err != nil {
		fmt.Println(err)
		return
	}
	up, err := upcasters.New(reg, upcasters.Chain{
		EventType: "bank.account.MoneyWithdrawn",
		Versions: []upcasters.Version{{Version: 1, Schema: v1JSON, Up: func(rec map[string]any) (map[string]any, error) {
			major, err := strconv.ParseFloat(rec["amount"].(string), 64)
			rec["amount"] = int64(major*100 + 0.5)
			return rec, err
		}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// A payload stored years ago with version 1.
	v1 := avro.MustParse(v1JSON)
	old, _ := avro.Marshal(v1, map[string]any{"account_id": "acc-1", "amount": "12.50"})

	v, err := up.Decode("bank.account.MoneyWithdrawn", v1, old)
	fmt.Printf("%+v %v\n", *v.(*MoneyWithdrawn), err)
	// Output: {AccountID:acc-1 Amount:1250} <nil>
}
