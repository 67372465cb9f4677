package saga_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stratahq/strata/saga"
)

// lastCommand returns the command id of the saga's newest step-log row of
// step and kind.
func lastCommand(t *testing.T, steps []saga.StepRecord, step string, kind saga.Kind) string {
	t.Helper()
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Step == step && steps[i].Kind == kind && steps[i].CommandID != "" {
			return steps[i].CommandID
		}
	}
	t.Fatalf("no %s %s in the step log", step, kind)
	return ""
}

// A compensation that timed out is waiting for its retry: a late success of
// the timed-out attempt is the compensation's outcome, not a stale reply.
func TestEngineLateSuccessWhileWaitingForRetry(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.p.fail["Reserve"] = true
	h.p.silent["Refund"] = true
	if _, err := h.eng.Start(ctx, "test.fulfilment", "o-1", nil); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx)
	h.clk.Advance(11 * time.Second) // the refund times out: retry in 1s
	if _, err := h.eng.FireDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	inst, steps := h.status(ctx, "o-1")
	if inst.Status != saga.StatusCompensating || inst.PendingCmd != "" {
		t.Fatalf("status %s, pending %q: want COMPENSATING waiting for a retry", inst.Status, inst.PendingCmd)
	}
	late := saga.Reply{SagaID: "o-1", Step: "pay", Kind: saga.KindCompensation, CommandID: lastCommand(t, steps, "pay", saga.KindCompensation), Success: true}
	if applied, err := h.eng.HandleReply(ctx, late); err != nil || !applied {
		t.Fatalf("late success while waiting for a retry: applied=%v err=%v", applied, err)
	}
	h.pump(ctx)
	if inst, _ := h.status(ctx, "o-1"); inst.Status != saga.StatusCompensated {
		t.Fatalf("status %s (%s), want COMPENSATED", inst.Status, inst.Reason)
	}
	if n := h.p.count("Refund"); n != 1 {
		t.Fatalf("refund sent %d times, want 1", n)
	}
}

// A parked saga whose compensation succeeds late (the participant was slow,
// not broken) finishes without an operator.
func TestEngineLateSuccessWhileParked(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.p.fail["Reserve"] = true
	h.p.silent["Refund"] = true
	if _, err := h.eng.Start(ctx, "test.fulfilment", "o-1", nil); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx)
	for range 6 { // two attempts time out (MaxCompensationAttempts 2): parked
		h.clk.Advance(11 * time.Second)
		if _, err := h.eng.FireDue(ctx, 10); err != nil {
			t.Fatal(err)
		}
		h.pump(ctx)
	}
	inst, steps := h.status(ctx, "o-1")
	if inst.Status != saga.StatusParked {
		t.Fatalf("status %s, want PARKED", inst.Status)
	}
	late := saga.Reply{SagaID: "o-1", Step: "pay", Kind: saga.KindCompensation, CommandID: lastCommand(t, steps, "pay", saga.KindCompensation), Success: true}
	if applied, err := h.eng.HandleReply(ctx, late); err != nil || !applied {
		t.Fatalf("late success while parked: applied=%v err=%v", applied, err)
	}
	h.pump(ctx)
	if inst, _ := h.status(ctx, "o-1"); inst.Status != saga.StatusCompensated {
		t.Fatalf("status %s (%s), want COMPENSATED", inst.Status, inst.Reason)
	}
}

// A deploy that removes a step before the one in flight must not move an
// in-flight saga to another step: the step is stored by name.
func TestEngineStepStoredByName(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.p.silent["Reserve"] = true
	if _, err := h.eng.Start(ctx, "test.fulfilment", "o-1", nil); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx) // waiting for reserve (index 2)
	_, steps := h.status(ctx, "o-1")
	reserveCmd := lastCommand(t, steps, "reserve", saga.KindAction)

	def := definition()
	def.Steps = def.Steps[1:] // "order" dropped: reserve is now index 1, confirm index 2
	eng := engineWith(t, h, def)
	h.eng = eng
	applied, err := eng.HandleReply(ctx, saga.Reply{SagaID: "o-1", Step: "reserve", CommandID: reserveCmd, Success: true})
	if err != nil || !applied {
		t.Fatalf("reserve reply after the deploy: applied=%v err=%v", applied, err)
	}
	h.pump(ctx)
	if inst, _ := h.status(ctx, "o-1"); inst.Status != saga.StatusCompleted {
		t.Fatalf("status %s (%s), want COMPLETED", inst.Status, inst.Reason)
	}
}

// A deploy that removes the step an instance is in must not panic the
// orchestrator: the instance is parked with a reason that says why.
func TestEngineUnknownStepParks(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.p.silent["Confirm"] = true
	if _, err := h.eng.Start(ctx, "test.fulfilment", "o-1", nil); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx) // waiting for confirm (index 3)
	def := definition()
	def.Steps = def.Steps[:3] // confirm removed
	eng := engineWith(t, h, def)
	h.clk.Advance(11 * time.Second)
	if _, err := eng.FireDue(ctx, 10); err != nil {
		t.Logf("FireDue: %v", err)
	}
	inst, _ := h.status(ctx, "o-1")
	if inst.Status != saga.StatusParked || !strings.Contains(inst.Reason, "confirm") {
		t.Fatalf("status %s (%s), want PARKED naming the unknown step", inst.Status, inst.Reason)
	}
}

// A definition whose builder panics parks the saga instead of crashing the
// orchestrator.
func TestEnginePanicParks(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	def := definition()
	def.Steps[1].Compensation = func(saga.Call) (saga.Command, error) { panic("builder bug") }
	eng := engineWith(t, h, def)
	h.eng = eng
	h.p.fail["Reserve"] = true
	if _, err := eng.Start(ctx, "test.fulfilment", "o-1", nil); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("the engine panicked: %v", r)
			}
		}()
		for range 3 {
			var replies []saga.Reply
			if _, err := eng.RelayOutbox(ctx, saga.TransportFunc(func(_ context.Context, msgs []saga.Message) error {
				replies = h.p.answer(msgs)
				return nil
			}), 100); err != nil {
				t.Fatal(err)
			}
			for _, r := range replies {
				_, _ = eng.HandleReply(ctx, r)
			}
		}
	}()
	inst, _ := h.status(ctx, "o-1")
	if inst.Status != saga.StatusParked || !strings.Contains(inst.Reason, "builder bug") {
		t.Fatalf("status %s (%s), want PARKED with the panic", inst.Status, inst.Reason)
	}
}

// The outbox relay must not keep a transaction open while the transport
// waits for the broker.
func TestRelayOutboxHoldsNoTransactionWhileSending(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	if _, err := h.eng.Start(ctx, "test.fulfilment", "o-1", nil); err != nil {
		t.Fatal(err)
	}
	var open, sent int
	var qerr error
	n, err := h.eng.RelayOutbox(ctx, saga.TransportFunc(func(ctx context.Context, msgs []saga.Message) error {
		sent += len(msgs)
		// The broker is slow: meanwhile, is any transaction of this database open?
		qerr = h.db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`).Scan(&open)
		return nil
	}), 10)
	if err != nil || qerr != nil {
		t.Fatal(err, qerr)
	}
	if n == 0 || sent == 0 {
		t.Fatalf("the first relay sent nothing (n=%d, transport got %d): the check below would prove nothing", n, sent)
	}
	if open != 0 {
		t.Fatalf("%d transactions open while the transport sends", open)
	}
	if n, err := h.eng.RelayOutbox(ctx, saga.TransportFunc(func(context.Context, []saga.Message) error { return nil }), 10); err != nil || n != 0 {
		t.Fatalf("sent rows relayed again: %d %v", n, err)
	}
}
