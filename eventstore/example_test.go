package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/google/uuid"
	"github.com/hamba/avro/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
)

// Append with an expected version: a stream that moved on since it was read
// is a *VersionConflictError, which errors.Is recognises as
// ErrVersionConflict.
func ExampleVersionConflictError() {
	var err error = fmt.Errorf("deposit acc-1: %w", &eventstore.VersionConflictError{
		Stream: "account-acc-1", Expected: eventstore.Exact(3), Actual: 4})

	fmt.Println(errors.Is(err, eventstore.ErrVersionConflict))
	if vc, ok := errors.AsType[*eventstore.VersionConflictError](err); ok {
		fmt.Println(vc.Stream, vc.Expected, vc.Actual)
	}
	// Output:
	// true
	// account-acc-1 3 4
}

// Open the store and append a first event to a new stream (needs
// PostgreSQL: DATABASE_URL).
func ExampleStore_Append() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		panic(err)
	}
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		panic(err)
	}
	schema := avro.MustParse(`{"type":"record","name":"AccountOpened","namespace":"bank.account","fields":[{"name":"account_id","type":"string"}]}`)
	payload, err := avro.Marshal(schema, map[string]any{"account_id": "acc-1"}) // serde.Registry.Encode in a service
	if err != nil {
		panic(err)
	}
	res, err := store.Append(ctx, "account-acc-1", "account", eventstore.NoStream, eventstore.EventData{
		ID:       uuid.New(),
		Type:     "bank.account.AccountOpened",
		Schema:   eventstore.Schema{Fingerprint: schema.Fingerprint(), Name: "bank.account.AccountOpened", JSON: schema.String()},
		Payload:  payload,
		Metadata: eventstore.Metadata{CorrelationID: "req-1", UserID: "ann"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.LastVersion())
}
