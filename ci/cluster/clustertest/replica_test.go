//go:build cluster

package clustertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	queryv1 "github.com/stratahq/strata/gen/proto/query/v1"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/services/projector/adapters"
	"github.com/stratahq/strata/services/projector/app/query"
	"github.com/stratahq/strata/services/projector/ports"
	"github.com/stratahq/strata/services/projector/service"
)

// readAll queries every order with its confirm token (read your writes) and
// checks it is confirmed.
func readAll(t *testing.T, ctx context.Context, s *shop, res loadResult) {
	t.Helper()
	for i, id := range res.ids {
		r, err := s.query.GetOrderSummary(ctx, &queryv1.GetOrderSummaryRequest{OrderId: id, MinPosition: res.tokens[i]})
		if err != nil {
			t.Fatalf("summary %d with its token: %v", i, err)
		}
		if r.Summary.Status != queryv1.OrderStatus_ORDER_STATUS_CONFIRMED {
			t.Fatalf("summary %d: %v, want CONFIRMED (read your writes)", i, r.Summary.Status)
		}
	}
}

func reads(t *testing.T, s *shop, source, fallback string) float64 {
	v, _ := gauge(t, s.reg, "strata_query_reads_total", map[string]string{"source": source, "fallback": fallback})
	return v
}

// The query API reads the replica; with the replica stopped, queries fall
// back to the primary (or, configured to fail, answer UNAVAILABLE) while
// commands go on; restarted, the replica catches up and its lag returns to 0.
func TestReplicaDownAndBack(t *testing.T) {
	c := needCluster(t, true)
	c.ensureUp(t)
	s := startShop(t, c, true)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	const n, down = 40, 150 // orders before, and while the replica is down

	// 1. Replica up: queries with position tokens are answered from the replica.
	before := load(t, ctx, s, n, 20, 4, nil)
	readAll(t, ctx, s, before)
	if r := reads(t, s, "replica", "false"); r < 2*n {
		t.Fatalf("%v reads from the replica, want at least %d", r, n)
	}
	if up, _ := gauge(t, s.reg, "strata_db_replica_up", nil); up != 1 {
		t.Fatalf("strata_db_replica_up = %v with the replica running", up)
	}
	lagBytes, _ := gauge(t, s.reg, "strata_db_replica_lag_bytes", nil)
	lagSecs, _ := gauge(t, s.reg, "strata_db_replica_lag_seconds", nil)
	t.Logf("replica up: %d token queries served by the replica; lag %v bytes, %vs", n, lagBytes, lagSecs)

	// 2. Replica stopped (pg_ctl stop -m fast: connections are terminated).
	if out, err := c.script(ctx, "down", "pg-replica"); err != nil {
		t.Fatalf("stop the replica: %v\n%s", err, out)
	}
	stoppedAt := time.Now()
	during := load(t, ctx, s, down, 30, 4, nil) // commands go on: they write to the primary
	fallbackBefore := reads(t, s, "primary", "true")
	readAll(t, ctx, s, during)
	readAll(t, ctx, s, before)
	if fb := reads(t, s, "primary", "true") - fallbackBefore; fb < 2*(n+down) { // wait + read per query
		t.Fatalf("%v fallback reads for %d queries with the replica down", fb, n+down)
	}
	if up, _ := gauge(t, s.reg, "strata_db_replica_up", nil); up != 0 {
		t.Fatalf("strata_db_replica_up = %v with the replica stopped", up)
	}
	if _, found := gauge(t, s.reg, "strata_db_replica_lag_seconds", nil); found {
		t.Fatal("a lag is reported for a replica that does not answer")
	}
	var held int64
	if err := s.db.QueryRow(ctx, `SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint FROM pg_replication_slots WHERE slot_name = 'strata_cluster_replica'`).Scan(&held); err != nil {
		t.Fatalf("replication slot: %v", err)
	}
	t.Logf("replica down: %d commands succeeded, %d token queries fell back to the primary; the slot holds %d bytes of WAL for the replica", 2*down, n+down, held)

	// The other choice, QUERY_READ_FALLBACK=fail: UNAVAILABLE, not a stale or wrong answer.
	replicaPool, err := pgxpool.New(ctx, s.replicaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer replicaPool.Close()
	rm := func(p *pgxpool.Pool) *adapters.ReadModel {
		return adapters.NewReadModel(p, projection.NewRunner(p, service.Projections()...))
	}
	strict := ports.NewQueryServer(query.New(adapters.NewReplicaReads(rm(replicaPool), rm(s.db), false), query.Config{}))
	_, err = strict.GetOrderSummary(adapters.WithReadSession(ctx), &queryv1.GetOrderSummaryRequest{OrderId: during.ids[0], MinPosition: during.tokens[0]})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("fail mode with the replica down: %v, want UNAVAILABLE", err)
	}
	t.Logf("fail mode: %v", err)

	// 3. Replica restarted: it catches up through the slot, queries go back to it.
	if out, err := c.script(ctx, "up", "pg-replica"); err != nil {
		t.Fatalf("restart the replica: %v\n%s", err, out)
	}
	t.Logf("replica restarted %v after it was stopped", time.Since(stoppedAt).Round(time.Millisecond))
	start := time.Now()
	for {
		var have int
		err := replicaPool.QueryRow(ctx, `SELECT count(*) FROM read.order_summaries WHERE status = 'CONFIRMED'`).Scan(&have)
		if err == nil && have == n+down+1 { // and the warm-up order
			break
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("the replica has %d of %d orders 2 minutes after its restart (%v)", have, n+down+1, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("replica has every order %v after its restart", time.Since(start).Round(time.Millisecond))
	// The lag metric returns to zero: a scrape with 0 bytes (and so 0 s)
	// behind. The primary is shared with other tests, so between the two
	// queries of one measurement a few bytes may arrive; try for a while.
	var zeroAt time.Duration
	var lastB, lastS float64
	for zeroAt == 0 {
		up, _ := gauge(t, s.reg, "strata_db_replica_up", nil)
		lastB, _ = gauge(t, s.reg, "strata_db_replica_lag_bytes", nil)
		lastS, _ = gauge(t, s.reg, "strata_db_replica_lag_seconds", nil)
		if up == 1 && lastB == 0 && lastS == 0 {
			zeroAt = time.Since(start)
			break
		}
		if time.Since(start) > 3*time.Minute {
			t.Fatalf("replica lag never returned to 0 within 3 minutes: last %v bytes, %vs (up %v)", lastB, lastS, up)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("replica lag metric 0 bytes / 0 s %v after the restart", zeroAt.Round(time.Millisecond))
	lag, err := observe.MeasureReplicaLag(ctx, s.db, replicaPool, "strata_cluster_replica")
	if err != nil || !lag.Streaming {
		t.Fatalf("after the restart: %+v %v, want streaming", lag, err)
	}
	// Queries use the replica again (after the fallback's retry interval).
	time.Sleep(1500 * time.Millisecond)
	r0 := reads(t, s, "replica", "false")
	readAll(t, ctx, s, during)
	if r := reads(t, s, "replica", "false") - r0; r < n {
		t.Fatalf("%v of %d queries went to the replica after it came back", r, n)
	}
}

// A replica that is behind is waited for, not bypassed: with WAL replay
// paused on the replica, a query with a fresh position token does not answer
// from the replica's stale copy (nor from the primary); once replay resumes
// it answers from the replica. The lag metric shows the pause and returns to 0.
func TestReplicaBehindHonoursTokens(t *testing.T) {
	c := needCluster(t, true)
	c.ensureUp(t)
	s := startShop(t, c, true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	replicaPool, err := pgxpool.New(ctx, s.replicaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer replicaPool.Close()
	var once sync.Once
	resume := func() {
		once.Do(func() {
			if _, err := replicaPool.Exec(context.Background(), `SELECT pg_wal_replay_resume()`); err != nil {
				t.Errorf("resume replay: %v", err)
			}
		})
	}
	if _, err := replicaPool.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatalf("pause replay: %v", err)
	}
	defer resume() // before the pool closes, whatever happens

	res := load(t, ctx, s, 5, 20, 2, nil)
	waitReadModel(t, ctx, s, 6, time.Minute) // applied on the primary
	time.Sleep(1500 * time.Millisecond)
	lagB, _ := gauge(t, s.reg, "strata_db_replica_lag_bytes", nil)
	lagS, _ := gauge(t, s.reg, "strata_db_replica_lag_seconds", nil)
	if lagB <= 0 || lagS < 1 {
		t.Fatalf("replay paused: lag %v bytes, %vs; want both above 0 (seconds ≥ 1)", lagB, lagS)
	}
	t.Logf("replay paused: lag %v bytes, %.1fs", lagB, lagS)

	replicaReads := reads(t, s, "replica", "false")
	fallbacks := reads(t, s, "primary", "true")
	type answer struct {
		r   *queryv1.GetOrderSummaryResponse
		err error
		at  time.Time
	}
	done := make(chan answer, 1)
	asked := time.Now()
	go func() {
		r, err := s.query.GetOrderSummary(ctx, &queryv1.GetOrderSummaryRequest{OrderId: res.ids[4], MinPosition: res.tokens[4]})
		done <- answer{r, err, time.Now()}
	}()
	select {
	case a := <-done:
		t.Fatalf("answered while the replica is behind the token: %v %v", a.r, a.err)
	case <-time.After(3 * time.Second):
	}
	resumed := time.Now()
	resume()
	var a answer
	select {
	case a = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("no answer 30s after replay resumed")
	}
	if a.err != nil || a.r.Summary.Status != queryv1.OrderStatus_ORDER_STATUS_CONFIRMED {
		t.Fatalf("after resume: %v %v, want CONFIRMED", a.r, a.err)
	}
	if r := reads(t, s, "replica", "false") - replicaReads; r < 2 {
		t.Fatalf("%v replica reads for the waiting query, want its wait and its read", r)
	}
	if fb := reads(t, s, "primary", "true") - fallbacks; fb != 0 {
		t.Fatalf("%v fallback reads: a replica that is up but behind must be waited for", fb)
	}
	t.Logf("token query waited %v, answered %v after replay resumed, from the replica",
		a.at.Sub(asked).Round(time.Millisecond), a.at.Sub(resumed).Round(time.Millisecond))
	start := time.Now()
	for {
		b, _ := gauge(t, s.reg, "strata_db_replica_lag_bytes", nil)
		sec, _ := gauge(t, s.reg, "strata_db_replica_lag_seconds", nil)
		if b == 0 && sec == 0 {
			t.Logf("lag metric 0 bytes / 0 s %v after replay resumed", time.Since(resumed).Round(time.Millisecond))
			break
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("lag still %v bytes, %vs 2 minutes after replay resumed", b, sec)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
