package adapters_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/inventory/adapters"
	"github.com/stratahq/strata/services/inventory/app/command"
	"github.com/stratahq/strata/services/inventory/domain/stock"
)

// A product with many reservations loads from a snapshot plus the events
// after it, and the state is the same as a full replay.
func TestStocksSnapshots(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testenv.NewDatabase(t))
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
	stocks, err := adapters.NewStocks(store, types)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := stocks.Execute(ctx, "p", command.Meta{CommandID: "receive"}, func(s *stock.Stock) ([]any, error) {
		return s.DecideReceive(1000, now)
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 230 {
		res := fmt.Sprintf("r-%d", i)
		if err := stocks.Execute(ctx, "p", command.Meta{CommandID: "c-" + res}, func(s *stock.Stock) ([]any, error) {
			return s.DecideReserve(res, "o", 2, now)
		}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := stocks.Execute(ctx, "p", command.Meta{CommandID: "x-" + res}, func(s *stock.Stock) ([]any, error) {
				return s.DecideRelease(res, "o", now)
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var snapVersion int64
	if err := pool.QueryRow(ctx, `SELECT version FROM snapshots WHERE stream_id = $1`, adapters.StockStreamID("p")).Scan(&snapVersion); err != nil {
		t.Fatalf("no snapshot: %v", err)
	}
	s, err := stocks.Load(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	held := 230 - (230+2)/3 // every third reservation released
	if s.Reserved() != 2*held || s.OnHand() != 1000 || s.Version() != 1+230+(230+2)/3 {
		t.Fatalf("reserved %d on hand %d version %d (snapshot at %d)", s.Reserved(), s.OnHand(), s.Version(), snapVersion)
	}
	if _, err := s.DecideReserve("r-0", "o", 1, now); err == nil {
		t.Fatal("released reservation held again after a snapshot")
	}
}
