package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hamba/avro/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/examples/ledger/adapters"
	"github.com/stratahq/strata/examples/ledger/domain/account"
	"github.com/stratahq/strata/examples/ledger/gen/events"
	"github.com/stratahq/strata/examples/ledger/upcast"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/upcasters"
)

// An account whose history holds a version 1 MoneyWithdrawn (amount as a
// decimal string) loads with the amount in minor units.
func TestStoredVersion1Withdrawal(t *testing.T) {
	admin, _, _ := stackEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, newDatabase(t, admin))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	up, err := upcasters.New(types, upcast.Chains()...)
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := adapters.NewAccounts(store, types, up)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	if _, err := accounts.Execute(ctx, "old", "", func(a account.Account) ([]any, error) { return a.Open("ann", "EUR", 0, now) }); err != nil {
		t.Fatal(err)
	}
	v1JSON := upcast.Chains()[0].Versions[0].Schema
	v1 := avro.MustParse(v1JSON)
	payload, err := avro.Marshal(v1, map[string]any{"account_id": "old", "amount": "12.50", "withdrawn_at": now})
	if err != nil {
		t.Fatal(err)
	}
	fp := eventstore.Fingerprint(v1.Fingerprint())
	if _, err := store.Append(ctx, adapters.StreamID("old"), adapters.StreamType, eventstore.Exact(1), eventstore.EventData{
		ID: uuid.New(), Type: "bank.account.MoneyWithdrawn", Payload: payload,
		Schema: eventstore.Schema{Fingerprint: fp, Name: "bank.account.MoneyWithdrawn", JSON: v1JSON},
	}); err != nil {
		t.Fatal(err)
	}
	l, err := accounts.Load(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 2 || l.State.Balance != -1250 {
		t.Fatalf("loaded version %d balance %d; want 2, -1250", l.Version, l.State.Balance)
	}
}
