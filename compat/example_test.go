package compat_test

import (
	"fmt"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/compat"
)

// A new schema version checked against the registered ones at a subject's
// level, with the verdicts Avro Java's checker gives.
func ExampleCheck() {
	v1, _ := compat.Parse(`{"type":"record","name":"MoneyDeposited","namespace":"bank.account","fields":[
		{"name":"account_id","type":"string"},{"name":"amount","type":"long"}]}`)
	withDefault, _ := compat.Parse(`{"type":"record","name":"MoneyDeposited","namespace":"bank.account","fields":[
		{"name":"account_id","type":"string"},{"name":"amount","type":"long"},
		{"name":"reference","type":"string","default":""}]}`)
	withoutDefault, _ := compat.Parse(`{"type":"record","name":"MoneyDeposited","namespace":"bank.account","fields":[
		{"name":"account_id","type":"string"},{"name":"amount","type":"long"},
		{"name":"reference","type":"string"}]}`)

	fmt.Println("field with a default:", len(compat.Check(compat.Backward, []avro.Schema{v1}, withDefault)), "problems")
	for _, p := range compat.Check(compat.Backward, []avro.Schema{v1}, withoutDefault) {
		fmt.Println("field without a default:", p.Type, p.Location)
	}
	// Output:
	// field with a default: 0 problems
	// field without a default: READER_FIELD_MISSING_DEFAULT_VALUE /fields/2
}
