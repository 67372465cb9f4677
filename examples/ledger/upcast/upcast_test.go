package upcast_test

import (
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	events "github.com/stratahq/strata/examples/ledger/gen/avro/account"
	genevents "github.com/stratahq/strata/examples/ledger/gen/events"
	"github.com/stratahq/strata/examples/ledger/upcast"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/upcasters"
)

// A version 1 MoneyWithdrawn, written with its own schema, reads as today's
// type with the amount in minor units.
func TestMoneyWithdrawnV1(t *testing.T) {
	reg, err := serde.NewRegistry(genevents.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	up, err := upcasters.New(reg, upcast.Chains()...)
	if err != nil {
		t.Fatal(err)
	}
	v1 := avro.MustParse(upcast.Chains()[0].Versions[0].Schema)
	at := time.Date(2020, 5, 1, 12, 0, 0, 0, time.UTC)
	payload, err := avro.Marshal(v1, map[string]any{"account_id": "a1", "amount": "12.5", "withdrawn_at": at})
	if err != nil {
		t.Fatal(err)
	}
	got, err := up.Decode("bank.account.MoneyWithdrawn", v1, payload)
	if err != nil {
		t.Fatal(err)
	}
	want := events.MoneyWithdrawn{AccountID: "a1", Amount: 1250, WithdrawnAt: at}
	if w, ok := got.(*events.MoneyWithdrawn); !ok || *w != want {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func TestMinorUnits(t *testing.T) {
	for in, want := range map[string]int64{"12": 1200, "12.5": 1250, "12.50": 1250, "0.07": 7} {
		if got, err := upcast.MinorUnits(in); err != nil || got != want {
			t.Errorf("MinorUnits(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.234", "-1", "abc", ".5"} {
		if _, err := upcast.MinorUnits(in); err == nil {
			t.Errorf("MinorUnits(%q) passed", in)
		}
	}
}
