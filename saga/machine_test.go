package saga

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func cmd(topic, typ string) Builder {
	return func(c Call) (Command, error) { return Command{Topic: topic, Type: typ, Value: c.CommandID}, nil }
}

func testDefinition() *Definition {
	return &Definition{
		Type:    "test.fulfilment",
		Timeout: 10 * time.Second,
		Steps: []Step{
			{Name: "order", Compensation: cmd("commands.order", "CancelOrder")},
			{Name: "pay", Action: cmd("commands.payment", "Authorize"), Compensation: cmd("commands.payment", "Refund")},
			{Name: "reserve", Action: cmd("commands.inventory", "Reserve"), Compensation: cmd("commands.inventory", "Release"),
				Timeout: 5 * time.Second, CompensationTimeout: 3 * time.Second},
			{Name: "confirm", Action: cmd("commands.order", "Confirm")},
		},
	}
}

// memSaga drives the pure machine, keeping what the engine would store.
type memSaga struct {
	t        *testing.T
	def      *Definition
	inst     Instance
	nextSeq  int
	now      time.Time
	sent     []string // command types, in order
	deadline *deadline
	log      map[int]StepStatus
}

func newMemSaga(t *testing.T) *memSaga {
	m := &memSaga{t: t, def: testDefinition(), nextSeq: 1, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), log: map[int]StepStatus{}}
	m.inst = Instance{ID: "s1", Type: m.def.Type, Data: json.RawMessage(`{}`)}
	m.do(event{kind: evStart})
	return m
}

func (m *memSaga) do(ev event) outcome {
	m.t.Helper()
	mc := &machine{def: m.def, now: m.now, compRetry: RetryPolicy{MaxAttempts: 2, InitialInterval: time.Second, BackoffCoefficient: 1}, nextSeq: m.nextSeq}
	o, err := mc.step(m.inst, ev)
	if err != nil {
		m.t.Fatal(err)
	}
	if o.ignored != "" {
		return o
	}
	m.nextSeq = mc.nextSeq
	m.inst = o.inst
	for _, f := range o.finishes {
		if m.log[f.Seq] == StepPending {
			m.log[f.Seq] = f.Status
		}
	}
	for _, r := range o.records {
		m.log[r.Seq] = r.Status
	}
	for _, s := range o.sends {
		m.sent = append(m.sent, s.Command.Type)
	}
	if o.clearDeadline {
		m.deadline = nil
	}
	if o.deadline != nil {
		m.deadline = o.deadline
	}
	return o
}

func (m *memSaga) reply(step string, k Kind, ok bool) outcome {
	return m.do(event{kind: evReply, reply: Reply{SagaID: "s1", Step: step, Kind: k, CommandID: m.inst.PendingCmd, Success: ok, Reason: "boom"}})
}

func (m *memSaga) timeout() outcome {
	m.t.Helper()
	if m.deadline == nil {
		m.t.Fatal("no deadline")
	}
	m.now = m.deadline.DueAt
	k := evTimeout
	if m.deadline.Kind == deadlineRetry {
		k = evRetryDue
	}
	return m.do(event{kind: k, commandID: m.deadline.CommandID})
}

func TestMachine(t *testing.T) {
	A, C := KindAction, KindCompensation
	tests := []struct {
		name   string
		run    func(m *memSaga)
		status Status
		sent   []string
	}{
		{"happy path", func(m *memSaga) {
			m.reply("pay", A, true)
			m.reply("reserve", A, true)
			m.reply("confirm", A, true)
		}, StatusCompleted, []string{"Authorize", "Reserve", "Confirm"}},
		{"payment fails: cancel order only", func(m *memSaga) {
			m.reply("pay", A, false)
			m.reply("order", C, true)
		}, StatusCompensated, []string{"Authorize", "CancelOrder"}},
		{"reservation fails: refund, cancel", func(m *memSaga) {
			m.reply("pay", A, true)
			m.reply("reserve", A, false)
			m.reply("pay", C, true)
			m.reply("order", C, true)
		}, StatusCompensated, []string{"Authorize", "Reserve", "Refund", "CancelOrder"}},
		{"confirm fails: release, refund, cancel", func(m *memSaga) {
			m.reply("pay", A, true)
			m.reply("reserve", A, true)
			m.reply("confirm", A, false)
			m.reply("reserve", C, true)
			m.reply("pay", C, true)
			m.reply("order", C, true)
		}, StatusCompensated, []string{"Authorize", "Reserve", "Confirm", "Release", "Refund", "CancelOrder"}},
		{"payment times out: refund it too, cancel", func(m *memSaga) {
			m.timeout()
			m.reply("pay", C, true)
			m.reply("order", C, true)
		}, StatusCompensated, []string{"Authorize", "Refund", "CancelOrder"}},
		{"reservation times out: release, refund, cancel", func(m *memSaga) {
			m.reply("pay", A, true)
			m.timeout()
			m.reply("reserve", C, true)
			m.reply("pay", C, true)
			m.reply("order", C, true)
		}, StatusCompensated, []string{"Authorize", "Reserve", "Release", "Refund", "CancelOrder"}},
		{"confirm times out: release, refund, cancel", func(m *memSaga) {
			m.reply("pay", A, true)
			m.reply("reserve", A, true)
			m.timeout()
			m.reply("reserve", C, true)
			m.reply("pay", C, true)
			m.reply("order", C, true)
		}, StatusCompensated, []string{"Authorize", "Reserve", "Confirm", "Release", "Refund", "CancelOrder"}},
		{"duplicate and late replies change nothing", func(m *memSaga) {
			first := m.inst.PendingCmd
			m.reply("pay", A, true)
			if o := m.do(event{kind: evReply, reply: Reply{SagaID: "s1", Step: "pay", CommandID: first, Success: true}}); o.ignored == "" {
				m.t.Error("duplicate pay reply applied")
			}
			if o := m.do(event{kind: evReply, reply: Reply{SagaID: "s1", Step: "pay", Success: false}}); o.ignored == "" {
				m.t.Error("late pay failure applied")
			}
			m.reply("reserve", A, true)
			m.reply("confirm", A, true)
			if o := m.reply("confirm", A, true); o.ignored == "" {
				m.t.Error("reply after completion applied")
			}
		}, StatusCompleted, []string{"Authorize", "Reserve", "Confirm"}},
		{"reply after its timeout is ignored", func(m *memSaga) {
			late := m.inst.PendingCmd
			m.timeout()
			if o := m.do(event{kind: evReply, reply: Reply{SagaID: "s1", Step: "pay", CommandID: late, Success: true}}); o.ignored == "" {
				m.t.Error("late success applied after timeout")
			}
			m.reply("pay", C, true)
			m.reply("order", C, true)
		}, StatusCompensated, []string{"Authorize", "Refund", "CancelOrder"}},
		{"compensation fails twice: parked", func(m *memSaga) {
			m.reply("pay", A, true)
			m.reply("reserve", A, false)
			m.reply("pay", C, false)
			if m.deadline == nil || m.deadline.Kind != deadlineRetry {
				m.t.Fatalf("want retry deadline, got %+v", m.deadline)
			}
			m.timeout() // back-off over: second attempt
			m.timeout() // second attempt times out: parked (maxAttempts 2)
			if m.deadline != nil {
				m.t.Errorf("parked saga has deadline %+v", m.deadline)
			}
		}, StatusParked, []string{"Authorize", "Reserve", "Refund", "Refund"}},
		{"parked, operator retry, completes compensation", func(m *memSaga) {
			m.reply("pay", A, false)
			m.reply("order", C, false)
			m.timeout()
			m.reply("order", C, false)
			if m.inst.Status != StatusParked {
				m.t.Fatalf("status %s, want PARKED", m.inst.Status)
			}
			// What Retry writes:
			m.inst.Status, m.inst.Attempt = StatusCompensating, 0
			m.do(event{kind: evRetryDue})
			m.reply("order", C, true)
		}, StatusCompensated, []string{"Authorize", "CancelOrder", "CancelOrder", "CancelOrder"}},
		{"order cancelled by its owner mid-saga: saga stops and undoes the rest, not the order", func(m *memSaga) {
			m.reply("pay", A, true)
			m.reply("order", C, true) // OrderCancelled arrives unasked while reserve is in flight
			if m.inst.Status != StatusCompensating {
				m.t.Fatalf("status %s, want COMPENSATING", m.inst.Status)
			}
			if o := m.reply("order", C, true); o.ignored == "" {
				m.t.Error("second early compensation applied")
			}
			m.reply("reserve", C, true) // the in-flight step is compensated too
			m.reply("pay", C, true)
		}, StatusCompensated, []string{"Authorize", "Reserve", "Release", "Refund"}},
		{"order cancelled after completion: saga reopens and undoes the rest", func(m *memSaga) {
			m.reply("pay", A, true)
			m.reply("reserve", A, true)
			m.reply("confirm", A, true)
			m.reply("order", C, true)
			m.reply("reserve", C, true)
			m.reply("pay", C, true)
			if o := m.reply("order", C, true); o.ignored == "" {
				m.t.Error("duplicate cancellation after compensation applied")
			}
		}, StatusCompensated, []string{"Authorize", "Reserve", "Confirm", "Release", "Refund"}},
		{"order confirmed through the API before the saga asked: not asked again", func(m *memSaga) {
			m.reply("confirm", A, true) // OrderConfirmed arrives while pay is in flight
			if o := m.reply("confirm", A, true); o.ignored == "" {
				m.t.Error("duplicate early confirmation applied")
			}
			m.reply("pay", A, true)
			m.reply("reserve", A, true)
		}, StatusCompleted, []string{"Authorize", "Reserve"}},
		{"compensation reply for a step not reached is ignored", func(m *memSaga) {
			if o := m.reply("reserve", C, true); o.ignored == "" {
				m.t.Error("early compensation of a step not done applied")
			}
			m.reply("pay", A, true)
			m.reply("reserve", A, true)
			m.reply("confirm", A, true)
		}, StatusCompleted, []string{"Authorize", "Reserve", "Confirm"}},
		{"confirmed through the API while the saga's own confirm is in flight: answered", func(m *memSaga) {
			m.reply("pay", A, true)
			m.reply("reserve", A, true)
			// The order service refused the saga's ConfirmOrder (already
			// confirmed); the OrderConfirmed it had emitted for the API's
			// command arrives now, caused by a command the saga never sent.
			m.do(event{kind: evReply, reply: Reply{SagaID: "s1", Step: "confirm", CommandID: "api-command", Success: true}})
		}, StatusCompleted, []string{"Authorize", "Reserve", "Confirm"}},
		{"earlier compensation attempt's late success counts", func(m *memSaga) {
			m.reply("pay", A, false)
			first := m.inst.PendingCmd
			m.timeout() // attempt 1 timed out
			m.timeout() // back-off over, attempt 2 sent
			m.do(event{kind: evReply, reply: Reply{SagaID: "s1", Step: "order", Kind: C, CommandID: first, Success: true}})
		}, StatusCompensated, []string{"Authorize", "CancelOrder", "CancelOrder"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemSaga(t)
			tc.run(m)
			if m.inst.Status != tc.status {
				t.Errorf("status %s, want %s (reason %q)", m.inst.Status, tc.status, m.inst.Reason)
			}
			if !slices.Equal(m.sent, tc.sent) {
				t.Errorf("sent %v, want %v", m.sent, tc.sent)
			}
			if tc.status.Terminal() && m.deadline != nil {
				t.Errorf("terminal saga keeps deadline %+v", m.deadline)
			}
			for seq, st := range m.log {
				if tc.status.Terminal() && st == StepPending {
					t.Errorf("terminal saga has pending step-log row %d", seq)
				}
			}
		})
	}
}

func TestCommandIDDeterministic(t *testing.T) {
	if CommandID("a", 1) != CommandID("a", 1) || CommandID("a", 1) == CommandID("a", 2) || CommandID("a", 1) == CommandID("b", 1) {
		t.Fatal("command ids must be a function of saga id and seq")
	}
}

func TestDefinitionValidate(t *testing.T) {
	d := &Definition{Type: "", Steps: []Step{{Name: "x"}, {Name: "x", Action: cmd("t", "T")}}}
	err := d.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"empty type", "neither action", "twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
