package projection_test

import (
	"context"
	"testing"

	"github.com/stratahq/strata/projection"
)

// StatusAll reports projections from the database alone: none before any
// runner set up, then each with its recorded event types (lag computed);
// a status table from before event_types gives lag -1 and is not altered.
func TestStatusAllWithoutProjectionCode(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if sts, err := projection.StatusAll(ctx, pool); err != nil || len(sts) != 0 {
		t.Fatalf("before any runner: %v, %v", sts, err)
	}
	if err := projection.NewRunner(pool, counter{}).Setup(ctx); err != nil {
		t.Fatal(err)
	}
	sts, err := projection.StatusAll(ctx, pool)
	if err != nil || len(sts) != 1 || sts[0].Name != "counter" || sts[0].Lag != 0 || sts[0].Streams != 0 {
		t.Fatalf("after setup: %+v, %v", sts, err)
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE read.projection_status DROP COLUMN event_types`); err != nil {
		t.Fatal(err)
	}
	sts, err = projection.StatusAll(ctx, pool)
	if err != nil || len(sts) != 1 || sts[0].Lag != -1 {
		t.Fatalf("old status table: %+v, %v", sts, err)
	}
	var still bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = 'read' AND table_name = 'projection_status' AND column_name = 'event_types')`).Scan(&still); err != nil || still {
		t.Fatalf("status altered the table (%v, %v)", still, err)
	}
}
