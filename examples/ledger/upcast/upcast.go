// Package upcast holds the ledger's event history: the older schemas of its
// evolved events and the steps that bring them to today's types (see package
// github.com/stratahq/strata/upcasters).
package upcast

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/stratahq/strata/upcasters"
)

//go:embed history/bank.account.MoneyWithdrawn/v1.avsc
var moneyWithdrawnV1 string

// Chains returns the upcaster chains of the ledger's evolved events.
func Chains() []upcasters.Chain {
	return []upcasters.Chain{{
		EventType: "bank.account.MoneyWithdrawn",
		Versions:  []upcasters.Version{{Version: 1, Schema: moneyWithdrawnV1, Up: MoneyWithdrawnV1ToV2}},
	}}
}

// MoneyWithdrawnV1ToV2 turns version 1's amount, a decimal string in major
// units ("12.50"), into minor units (1250); the reference, new in version 2,
// is empty.
func MoneyWithdrawnV1ToV2(rec map[string]any) (map[string]any, error) {
	s, ok := rec["amount"].(string)
	if !ok {
		return nil, fmt.Errorf("amount: got %T, want a string", rec["amount"])
	}
	minor, err := MinorUnits(s)
	if err != nil {
		return nil, fmt.Errorf("amount: %w", err)
	}
	rec["amount"] = minor
	rec["reference"] = ""
	return rec, nil
}

// MinorUnits parses a decimal amount with at most two decimals ("12.5",
// "12.50", "12") into minor units.
func MinorUnits(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 || whole == "" || strings.HasPrefix(whole, "-") || strings.HasPrefix(whole, "+") {
		return 0, fmt.Errorf("%q is not an amount with at most two decimals", s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	f, err := strconv.ParseUint(frac, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	return w*100 + int64(f), nil
}
