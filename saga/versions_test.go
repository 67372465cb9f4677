package saga_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/saga"
)

func engineWith(t *testing.T, h *harness, defs ...*saga.Definition) *saga.Engine {
	t.Helper()
	eng, err := saga.New(h.db, saga.Config{Encoder: jsonEncoder(), Clock: h.clk.Now, MaxCompensationAttempts: 2,
		CompensationRetryDelay: time.Second}, defs...)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// Deploying version 2 of a definition while version-1 instances are in
// flight: an orchestrator with both finishes the old ones on version 1 and
// starts new ones on version 2; one without version 1 parks an old instance
// with a reason, and a retry after version 1 is back finishes it.
func TestEngineDefinitionVersions(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.p.silent["Reserve"] = true
	if _, err := h.eng.Start(ctx, "test.fulfilment", "old-1", nil); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx)
	h.clk.Advance(5 * time.Second)
	if _, err := h.eng.Start(ctx, "test.fulfilment", "old-2", nil); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx) // both wait for reserve on version 1; old-1's deadline is 5s ahead of old-2's
	h.p.silent["Reserve"] = false

	v1 := definition()
	v2 := definition()
	v2.Version = 2 // reserve before pay, and a new audit step
	v2.Steps = []saga.Step{v2.Steps[0], v2.Steps[2], v2.Steps[1], {Name: "audit", Action: build("commands.audit", "Audit")}, v2.Steps[3]}
	stepOf["Audit"] = struct {
		step string
		kind saga.Kind
	}{"audit", saga.KindAction}
	defer delete(stepOf, "Audit")

	// Only version 2 deployed: the in-flight version-1 saga is refused, clearly.
	h.eng = engineWith(t, h, v2)
	h.clk.Advance(6 * time.Second) // old-1's reply deadline passes
	if _, err := h.eng.FireDue(ctx, 10); err != nil {
		t.Logf("FireDue: %v", err)
	}
	inst, _ := h.status(ctx, "old-1")
	if inst.Status != saga.StatusParked || !strings.Contains(inst.Reason, "version 1") || inst.ParkedFrom != saga.StatusRunning {
		t.Fatalf("old-1 on an orchestrator without version 1: %s from %s (%s)", inst.Status, inst.ParkedFrom, inst.Reason)
	}

	// Both versions deployed: old-2 finishes on version 1, old-1 after a retry, a new saga runs version 2.
	h.eng = engineWith(t, h, v1, v2)
	if err := h.eng.Retry(ctx, "old-1"); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(5 * time.Second)
	if _, err := h.eng.FireDue(ctx, 10); err != nil { // old-1's retry and old-2's timeout are due
		t.Fatal(err)
	}
	if _, err := h.eng.Start(ctx, "test.fulfilment", "new-1", nil); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx)
	for id, want := range map[string]saga.Status{"old-1": saga.StatusCompleted, "old-2": saga.StatusCompensated, "new-1": saga.StatusCompleted} {
		inst, steps := h.status(ctx, id)
		if inst.Status != want {
			t.Errorf("%s: %s (%s), want %s", id, inst.Status, inst.Reason, want)
		}
		wantVersion := 1
		if id == "new-1" {
			wantVersion = 2
		}
		if inst.DefinitionVersion != wantVersion {
			t.Errorf("%s runs version %d, want %d", id, inst.DefinitionVersion, wantVersion)
		}
		audited := false
		for _, s := range steps {
			audited = audited || s.Step == "audit"
		}
		if audited != (id == "new-1") {
			t.Errorf("%s: audit step run %v", id, audited)
		}
	}
}

// An action whose reply does not come in time is sent again after an
// exponential back-off, as its retry policy says; a late success of an
// earlier attempt counts.
func TestEngineActionRetryPolicy(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	def := definition()
	def.Steps[1].Retry = saga.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second, BackoffCoefficient: 2}
	h.eng = engineWith(t, h, def)
	h.p.silent["Authorize"] = true
	if _, err := h.eng.Start(ctx, "test.fulfilment", "o-1", nil); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx)
	fire := func(advance time.Duration, want int) {
		t.Helper()
		h.clk.Advance(advance)
		if n, err := h.eng.FireDue(ctx, 10); err != nil || n != want {
			t.Fatalf("after %s: fired %d, want %d (err %v)", advance, n, want, err)
		}
		h.pump(ctx)
	}
	fire(11*time.Second, 1)        // attempt 1 times out: retry in 1s
	fire(900*time.Millisecond, 0)  // not yet
	fire(100*time.Millisecond, 1)  // attempt 2 sent
	fire(11*time.Second, 1)        // attempt 2 times out: retry in 2s
	fire(1900*time.Millisecond, 0) // not yet
	fire(100*time.Millisecond, 1)  // attempt 3 sent
	if n := h.p.count("Authorize"); n != 3 {
		t.Fatalf("authorize sent %d times, want 3", n)
	}
	inst, steps := h.status(ctx, "o-1")
	if inst.Status != saga.StatusRunning || inst.Attempt != 3 {
		t.Fatalf("status %s attempt %d", inst.Status, inst.Attempt)
	}
	// The first attempt's success arrives now: it counts.
	first := ""
	for _, s := range steps {
		if s.Step == "pay" && s.Kind == saga.KindAction && first == "" {
			first = s.CommandID
		}
	}
	h.p.silent["Authorize"] = false
	if applied, err := h.eng.HandleReply(ctx, saga.Reply{SagaID: "o-1", Step: "pay", CommandID: first, Success: true}); err != nil || !applied {
		t.Fatalf("late success of attempt 1: applied=%v err=%v", applied, err)
	}
	h.pump(ctx)
	if inst, _ := h.status(ctx, "o-1"); inst.Status != saga.StatusCompleted {
		t.Fatalf("status %s (%s)", inst.Status, inst.Reason)
	}

	// Out of attempts: the saga compensates, the timed-out step included.
	h.p.silent["Authorize"] = true
	if _, err := h.eng.Start(ctx, "test.fulfilment", "o-2", nil); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx)
	for _, d := range []time.Duration{11 * time.Second, time.Second, 11 * time.Second, 2 * time.Second, 11 * time.Second} {
		h.clk.Advance(d)
		if _, err := h.eng.FireDue(ctx, 10); err != nil {
			t.Fatal(err)
		}
		h.pump(ctx)
	}
	if inst, _ := h.status(ctx, "o-2"); inst.Status != saga.StatusCompensated {
		t.Fatalf("o-2: %s (%s), want COMPENSATED after 3 attempts", inst.Status, inst.Reason)
	}
}

// Migration 0002 gives rows written by version 1 of the schema their step
// name and definition version.
func TestMigrateStepNames(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	v1, err := os.ReadFile("migrations/0001_saga.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, string(v1)+`;
		CREATE TABLE saga.schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
		INSERT INTO saga.schema_migrations (version) VALUES ('0001_saga');
		INSERT INTO saga.instances (id, saga_type, status, step, attempt, pending_seq, pending_cmd, data, version, created_at, updated_at) VALUES
			('run', 'test.fulfilment', 'RUNNING', 2, 1, 3, 'c3', '{}', 3, now(), now()),
			('park', 'test.fulfilment', 'PARKED', 1, 2, 0, '', '{}', 6, now(), now()),
			('done', 'test.fulfilment', 'COMPLETED', 4, 1, 0, '', '{}', 5, now(), now());
		INSERT INTO saga.steps (saga_id, seq, step, kind, attempt, command_id, status, started_at) VALUES
			('run', 1, 'order', 'action', 1, '', 'SUCCEEDED', now()), ('run', 2, 'pay', 'action', 1, 'c2', 'SUCCEEDED', now()),
			('run', 3, 'reserve', 'action', 1, 'c3', 'PENDING', now()),
			('park', 1, 'order', 'action', 1, '', 'SUCCEEDED', now()), ('park', 2, 'pay', 'action', 1, 'c2', 'SUCCEEDED', now()),
			('park', 3, 'reserve', 'action', 1, 'c3', 'FAILED', now()), ('park', 4, 'pay', 'compensation', 1, 'c4', 'FAILED', now()),
			('park', 5, 'pay', 'compensation', 2, 'c5', 'FAILED', now())`); err != nil {
		t.Fatal(err)
	}
	if err := saga.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	want := map[string][3]string{"run": {"reserve", "1", ""}, "park": {"pay", "1", "COMPENSATING"}, "done": {"", "1", ""}}
	for id, w := range want {
		inst, _, err := saga.Get(ctx, pool, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := [3]string{inst.StepName, strings.TrimSpace(strings.Repeat("1", inst.DefinitionVersion)), string(inst.ParkedFrom)}; got != w {
			t.Errorf("%s: step %q version %d parked from %q, want %v", id, inst.StepName, inst.DefinitionVersion, inst.ParkedFrom, w)
		}
	}
}
