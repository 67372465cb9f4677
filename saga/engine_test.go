package saga_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/saga"
)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time                                    { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration)                           { c.ns.Add(int64(d)) }
func jsonEncoder() saga.Encoder                                    { return saga.EncoderFunc(encodeJSON) }
func encodeJSON(_ context.Context, c saga.Command) ([]byte, error) { return json.Marshal(c.Value) }

type payload struct {
	Saga      string `json:"saga"`
	CommandID string `json:"command_id"`
}

func build(topic, typ string) saga.Builder {
	return func(c saga.Call) (saga.Command, error) {
		return saga.Command{Topic: topic, Type: typ, Value: payload{Saga: c.SagaID, CommandID: c.CommandID}}, nil
	}
}

func definition() *saga.Definition {
	return &saga.Definition{
		Type:    "test.fulfilment",
		Timeout: 10 * time.Second,
		Steps: []saga.Step{
			{Name: "order", Compensation: build("commands.order", "CancelOrder")},
			{Name: "pay", Action: build("commands.payment", "Authorize"), Compensation: build("commands.payment", "Refund")},
			{Name: "reserve", Action: build("commands.inventory", "Reserve"), Compensation: build("commands.inventory", "Release")},
			{Name: "confirm", Action: build("commands.order", "Confirm")},
		},
	}
}

func newDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	url := testenv.NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := saga.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	if err := saga.Migrate(context.Background(), pool); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	return pool
}

// participants answers commands: by default every command succeeds; fail
// names the command types that fail and silent those that never answer.
type participants struct {
	mu     sync.Mutex
	fail   map[string]bool
	silent map[string]bool
	seen   map[string]int // command type -> count of distinct command ids
	ids    map[string]bool
}

func newParticipants() *participants {
	return &participants{fail: map[string]bool{}, silent: map[string]bool{}, seen: map[string]int{}, ids: map[string]bool{}}
}

var stepOf = map[string]struct {
	step string
	kind saga.Kind
}{
	"CancelOrder": {"order", saga.KindCompensation},
	"Authorize":   {"pay", saga.KindAction}, "Refund": {"pay", saga.KindCompensation},
	"Reserve": {"reserve", saga.KindAction}, "Release": {"reserve", saga.KindCompensation},
	"Confirm": {"confirm", saga.KindAction},
}

// answer returns the replies to msgs (after recording them).
func (p *participants) answer(msgs []saga.Message) []saga.Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []saga.Reply
	for _, m := range msgs {
		if !p.ids[m.ID] {
			p.ids[m.ID] = true
			p.seen[m.Type]++
		}
		if p.silent[m.Type] {
			continue
		}
		var pl payload
		if err := json.Unmarshal(m.Payload, &pl); err != nil {
			panic(err)
		}
		s := stepOf[m.Type]
		if m.Headers[saga.HeaderSagaStep] != s.step || m.Headers[saga.HeaderSagaKind] != string(s.kind) || m.Key != pl.Saga || m.ID != pl.CommandID {
			panic(fmt.Sprintf("message %+v does not match its payload %+v", m, pl))
		}
		out = append(out, saga.Reply{SagaID: pl.Saga, Step: s.step, Kind: s.kind, CommandID: m.ID, Success: !p.fail[m.Type], Reason: "injected failure"})
	}
	return out
}

func (p *participants) count(typ string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[typ]
}

type harness struct {
	t   *testing.T
	db  *pgxpool.Pool
	clk *clock
	eng *saga.Engine
	p   *participants
	reg *prometheus.Registry
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, db: newDB(t), clk: newClock(), p: newParticipants(), reg: prometheus.NewRegistry()}
	h.eng = h.engine()
	return h
}

func (h *harness) engine() *saga.Engine {
	eng, err := saga.New(h.db, saga.Config{Encoder: jsonEncoder(), Clock: h.clk.Now, MaxCompensationAttempts: 2,
		CompensationRetryDelay: time.Second, Registerer: h.reg}, definition())
	if err != nil {
		h.t.Fatal(err)
	}
	return eng
}

// pump relays the outbox and feeds replies back until nothing moves.
func (h *harness) pump(ctx context.Context) {
	h.t.Helper()
	for range 100 {
		var replies []saga.Reply
		n, err := h.eng.RelayOutbox(ctx, saga.TransportFunc(func(_ context.Context, msgs []saga.Message) error {
			replies = h.p.answer(msgs)
			return nil
		}), 100)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, r := range replies {
			if _, err := h.eng.HandleReply(ctx, r); err != nil {
				h.t.Fatal(err)
			}
		}
		if n == 0 {
			return
		}
	}
	h.t.Fatal("pump did not settle")
}

func (h *harness) status(ctx context.Context, id string) (saga.Instance, []saga.StepRecord) {
	h.t.Helper()
	inst, steps, err := saga.Get(ctx, h.db, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return inst, steps
}

func TestEngineHappyPathAndDuplicates(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	ok, err := h.eng.Start(ctx, "test.fulfilment", "o-1", map[string]any{"order": "o-1"})
	if err != nil || !ok {
		t.Fatalf("start: %v %v", ok, err)
	}
	if ok, err := h.eng.Start(ctx, "test.fulfilment", "o-1", map[string]any{"order": "o-1"}); err != nil || ok {
		t.Fatalf("duplicate start: %v %v", ok, err)
	}
	h.pump(ctx)
	inst, steps := h.status(ctx, "o-1")
	if inst.Status != saga.StatusCompleted {
		t.Fatalf("status %s", inst.Status)
	}
	var got []string
	for _, s := range steps {
		got = append(got, fmt.Sprintf("%s/%s/%s", s.Step, s.Kind, s.Status))
	}
	want := []string{"order/action/SUCCEEDED", "pay/action/SUCCEEDED", "reserve/action/SUCCEEDED", "confirm/action/SUCCEEDED"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("step log %v, want %v", got, want)
	}
	// A duplicate reply (same command id) and an unknown saga's reply change nothing.
	if applied, err := h.eng.HandleReply(ctx, saga.Reply{SagaID: "o-1", Step: "confirm", CommandID: steps[3].CommandID, Success: true}); err != nil || applied {
		t.Fatalf("duplicate reply applied=%v err=%v", applied, err)
	}
	if applied, err := h.eng.HandleReply(ctx, saga.Reply{SagaID: "nope", Step: "pay", Success: true}); err != nil || applied {
		t.Fatalf("unknown saga reply applied=%v err=%v", applied, err)
	}
	if n := counterValue(h.eng.Metrics().Events.WithLabelValues("test.fulfilment", "completed")); n != 1 {
		t.Fatalf("completed counter %v", n)
	}
	if h.p.count("Authorize") != 1 {
		t.Fatalf("authorize sent %d times", h.p.count("Authorize"))
	}
}

// Each failing step compensates exactly the steps completed before it, in reverse, once.
func TestEngineFailureAtEachStep(t *testing.T) {
	ctx := context.Background()
	cases := map[string][]string{
		"Authorize": {"CancelOrder"},
		"Reserve":   {"Refund", "CancelOrder"},
		"Confirm":   {"Release", "Refund", "CancelOrder"},
	}
	for failing, comps := range cases {
		t.Run(failing, func(t *testing.T) {
			h := newHarness(t)
			h.p.fail[failing] = true
			if _, err := h.eng.Start(ctx, "test.fulfilment", "o-"+failing, nil); err != nil {
				t.Fatal(err)
			}
			h.pump(ctx)
			inst, steps := h.status(ctx, "o-"+failing)
			if inst.Status != saga.StatusCompensated {
				t.Fatalf("status %s", inst.Status)
			}
			var got []string
			for _, s := range steps {
				if s.Kind == saga.KindCompensation {
					got = append(got, s.CommandType)
					if s.Status != saga.StepSucceeded {
						t.Errorf("compensation %s: %s", s.CommandType, s.Status)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(comps) {
				t.Fatalf("compensations %v, want %v", got, comps)
			}
			for _, c := range comps {
				if h.p.count(c) != 1 {
					t.Errorf("%s sent %d times", c, h.p.count(c))
				}
			}
		})
	}
}

// A step that never answers times out; the timed-out step is compensated too.
func TestEngineTimeoutAtEachStep(t *testing.T) {
	ctx := context.Background()
	cases := map[string][]string{
		"Authorize": {"Refund", "CancelOrder"},
		"Reserve":   {"Release", "Refund", "CancelOrder"},
		"Confirm":   {"Release", "Refund", "CancelOrder"},
	}
	for silent, comps := range cases {
		t.Run(silent, func(t *testing.T) {
			h := newHarness(t)
			h.p.silent[silent] = true
			if _, err := h.eng.Start(ctx, "test.fulfilment", "o-1", nil); err != nil {
				t.Fatal(err)
			}
			h.pump(ctx)
			if n, err := h.eng.FireDue(ctx, 10); err != nil || n != 0 {
				t.Fatalf("fired %d early (err %v)", n, err)
			}
			h.clk.Advance(11 * time.Second)
			if n, err := h.eng.FireDue(ctx, 10); err != nil || n != 1 {
				t.Fatalf("fired %d, want 1 (err %v)", n, err)
			}
			h.pump(ctx)
			inst, steps := h.status(ctx, "o-1")
			if inst.Status != saga.StatusCompensated {
				t.Fatalf("status %s", inst.Status)
			}
			var got []string
			for _, s := range steps {
				if s.Kind == saga.KindCompensation {
					got = append(got, s.CommandType)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(comps) {
				t.Fatalf("compensations %v, want %v", got, comps)
			}
			if steps[len(steps)-len(comps)-1].Status != saga.StepTimedOut {
				t.Errorf("step %s: %s, want TIMED_OUT", steps[len(steps)-len(comps)-1].Step, steps[len(steps)-len(comps)-1].Status)
			}
			if n := counterValue(h.eng.Metrics().Events.WithLabelValues("test.fulfilment", "timeout")); n != 1 {
				t.Errorf("timeout counter %v", n)
			}
		})
	}
}

func TestEngineParkAndRetry(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.p.fail["Reserve"] = true
	h.p.fail["Refund"] = true
	if _, err := h.eng.Start(ctx, "test.fulfilment", "o-1", nil); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx) // refund attempt 1 fails
	h.clk.Advance(2 * time.Second)
	if _, err := h.eng.FireDue(ctx, 10); err != nil { // back-off over: attempt 2
		t.Fatal(err)
	}
	h.pump(ctx) // attempt 2 fails: parked
	inst, _ := h.status(ctx, "o-1")
	if inst.Status != saga.StatusParked {
		t.Fatalf("status %s, want PARKED", inst.Status)
	}
	if n := counterValue(h.eng.Metrics().Parked.WithLabelValues("test.fulfilment")); n != 1 {
		t.Fatalf("parked counter %v", n)
	}
	stuck, err := saga.List(ctx, h.db, saga.ListOptions{Stuck: true, Now: h.clk.Now()})
	if err != nil || len(stuck) != 1 || stuck[0].ID != "o-1" {
		t.Fatalf("stuck list %v %v", stuck, err)
	}
	// Nothing happens to a parked saga by itself.
	h.clk.Advance(time.Hour)
	if n, _ := h.eng.FireDue(ctx, 10); n != 0 {
		t.Fatalf("parked saga fired %d deadlines", n)
	}
	if err := saga.Retry(ctx, h.db, "o-2", h.clk.Now()); !saga.IsNotFound(err) {
		t.Fatalf("retry unknown: %v", err)
	}
	h.p.fail["Refund"] = false // the operator fixed the payment provider
	if err := h.eng.Retry(ctx, "o-1"); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.Retry(ctx, "o-1"); err == nil {
		t.Fatal("second retry of a saga no longer parked succeeded")
	}
	if n, err := h.eng.FireDue(ctx, 10); err != nil || n != 1 {
		t.Fatalf("fired %d, err %v", n, err)
	}
	h.pump(ctx)
	inst, steps := h.status(ctx, "o-1")
	if inst.Status != saga.StatusCompensated {
		t.Fatalf("status %s after retry (%s)", inst.Status, inst.Reason)
	}
	if h.p.count("Refund") != 3 || h.p.count("CancelOrder") != 1 || h.p.count("Release") != 0 {
		t.Fatalf("refund %d cancel %d release %d", h.p.count("Refund"), h.p.count("CancelOrder"), h.p.count("Release"))
	}
	if steps[len(steps)-3].Step != "operator" {
		t.Errorf("no operator row before the last attempts: %+v", steps)
	}
	if err := saga.Resolve(ctx, h.db, "o-1", saga.StatusCompleted, "", h.clk.Now()); err == nil {
		t.Fatal("resolved a saga that is not parked")
	}
}

// An operator ends a parked saga by hand; nothing more is sent.
func TestEngineResolveParked(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.p.fail["Authorize"] = true
	h.p.fail["CancelOrder"] = true
	if _, err := h.eng.Start(ctx, "test.fulfilment", "o-1", nil); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx)
	h.clk.Advance(2 * time.Second)
	if _, err := h.eng.FireDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx)
	if inst, _ := h.status(ctx, "o-1"); inst.Status != saga.StatusParked {
		t.Fatalf("status %s", inst.Status)
	}
	if err := saga.Resolve(ctx, h.db, "o-1", saga.StatusRunning, "", h.clk.Now()); err == nil {
		t.Fatal("resolved as RUNNING")
	}
	if err := saga.Resolve(ctx, h.db, "o-1", saga.StatusCompensated, "order cancelled by hand", h.clk.Now()); err != nil {
		t.Fatal(err)
	}
	inst, steps := h.status(ctx, "o-1")
	if inst.Status != saga.StatusCompensated || steps[len(steps)-1].Kind != "resolve" {
		t.Fatalf("status %s, last step %+v", inst.Status, steps[len(steps)-1])
	}
	h.clk.Advance(time.Hour)
	if n, _ := h.eng.FireDue(ctx, 10); n != 0 {
		t.Fatalf("resolved saga fired %d deadlines", n)
	}
	h.pump(ctx)
	if h.p.count("CancelOrder") != 2 {
		t.Fatalf("cancel sent %d times, want the 2 failed attempts only", h.p.count("CancelOrder"))
	}
}

// The orchestrator dies after sending the payment command; a new one takes
// over from PostgreSQL: the saga completes and the payment is sent once.
func TestEngineRestartMidSaga(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	if _, err := h.eng.Start(ctx, "test.fulfilment", "o-1", nil); err != nil {
		t.Fatal(err)
	}
	var inflight []saga.Message
	if _, err := h.eng.RelayOutbox(ctx, saga.TransportFunc(func(_ context.Context, m []saga.Message) error {
		inflight = m
		return nil
	}), 10); err != nil {
		t.Fatal(err)
	}
	// A relay that dies before its delivery is acknowledged leaves the command in the outbox.
	if _, err := h.eng.RelayOutbox(ctx, saga.TransportFunc(func(context.Context, []saga.Message) error {
		return fmt.Errorf("killed")
	}), 10); err != nil {
		t.Fatalf("empty outbox relay: %v", err)
	}
	h.eng = nil // killed
	h.eng = h.engine()
	for _, r := range h.p.answer(inflight) {
		if _, err := h.eng.HandleReply(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	h.pump(ctx)
	inst, _ := h.status(ctx, "o-1")
	if inst.Status != saga.StatusCompleted {
		t.Fatalf("status %s", inst.Status)
	}
	if h.p.count("Authorize") != 1 {
		t.Fatalf("authorize sent %d times", h.p.count("Authorize"))
	}
}

// A transport failure keeps the command in the outbox; the next relay sends it.
func TestEngineOutboxRetriesOnTransportError(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	if _, err := h.eng.Start(ctx, "test.fulfilment", "o-1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.RelayOutbox(ctx, saga.TransportFunc(func(context.Context, []saga.Message) error {
		return fmt.Errorf("broker down")
	}), 10); err == nil {
		t.Fatal("want error")
	}
	h.pump(ctx)
	if inst, _ := h.status(ctx, "o-1"); inst.Status != saga.StatusCompleted {
		t.Fatalf("status %s", inst.Status)
	}
}

// Several scanners at once fire each deadline once (FOR UPDATE SKIP LOCKED).
func TestEngineConcurrentScanners(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.p.silent["Authorize"] = true
	const n = 40
	for i := range n {
		if _, err := h.eng.Start(ctx, "test.fulfilment", fmt.Sprintf("o-%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	h.pump(ctx)
	h.clk.Advance(time.Minute)
	engines := []*saga.Engine{h.eng, h.engine(), h.engine()}
	var fired atomic.Int64
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				k, err := e.FireDue(ctx, 100)
				if err != nil {
					t.Error(err)
					return
				}
				fired.Add(int64(k))
			}
		}()
	}
	wg.Wait()
	if fired.Load() != n {
		t.Fatalf("fired %d deadlines, want %d", fired.Load(), n)
	}
	h.pump(ctx)
	if h.p.count("Refund") != n || h.p.count("CancelOrder") != n {
		t.Fatalf("refund %d cancel %d, want %d each", h.p.count("Refund"), h.p.count("CancelOrder"), n)
	}
	counts, err := saga.CountByStatus(ctx, h.db)
	if err != nil || counts[[2]string{"test.fulfilment", "COMPENSATED"}] != n {
		t.Fatalf("counts %v %v", counts, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(saga.NewStatesCollector(h.db))
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || len(mfs[0].Metric) != 1 || mfs[0].Metric[0].GetGauge().GetValue() != n {
		t.Fatalf("strata_saga_instances: %v %v", mfs, err)
	}
}

// Run drives many concurrent sagas with concurrent participants to the end.
func TestEngineRunManyConcurrent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := newHarness(t)
	h.clk = nil
	eng, err := saga.New(h.db, saga.Config{Encoder: jsonEncoder()}, definition())
	if err != nil {
		t.Fatal(err)
	}
	replies := make(chan saga.Reply, 4096)
	tr := saga.TransportFunc(func(_ context.Context, msgs []saga.Message) error {
		for _, r := range h.p.answer(msgs) {
			replies <- r
		}
		return nil
	})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = eng.Run(runCtx, tr, saga.RunOptions{PollInterval: 20 * time.Millisecond}) }()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-runCtx.Done():
					return
				case r := <-replies:
					if _, err := eng.HandleReply(runCtx, r); err != nil && runCtx.Err() == nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	const n = 200
	var startWG sync.WaitGroup
	for w := range 8 {
		startWG.Add(1)
		go func() {
			defer startWG.Done()
			for i := w; i < n; i += 8 {
				if _, err := eng.Start(ctx, "test.fulfilment", fmt.Sprintf("o-%d", i), nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	startWG.Wait()
	deadline := time.Now().Add(45 * time.Second)
	for {
		counts, err := saga.CountByStatus(ctx, h.db)
		if err != nil {
			t.Fatal(err)
		}
		if counts[[2]string{"test.fulfilment", "COMPLETED"}] == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all sagas completed: %v", counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if h.p.count("Authorize") != n || h.p.count("Confirm") != n {
		t.Fatalf("authorize %d confirm %d", h.p.count("Authorize"), h.p.count("Confirm"))
	}
}

// A deadline that cannot be handled (its compensation cannot be built) is
// postponed and does not hold back the others; deadlines of saga types this
// engine does not run are left to the engines that do.
func TestEngineBrokenDeadlineDoesNotBlockOthers(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	def := &saga.Definition{Type: "test.fragile", Timeout: time.Second, Steps: []saga.Step{
		{Name: "pay", Action: build("commands.payment", "Authorize"), Compensation: func(c saga.Call) (saga.Command, error) {
			if c.SagaID == "poison" {
				return saga.Command{}, fmt.Errorf("cannot build")
			}
			return build("commands.payment", "Refund")(c)
		}},
	}}
	eng, err := saga.New(h.db, saga.Config{Encoder: jsonEncoder(), Clock: h.clk.Now}, def)
	if err != nil {
		t.Fatal(err)
	}
	h.eng = eng
	h.p.silent["Authorize"] = true
	for _, id := range []string{"poison", "fine"} {
		if _, err := eng.Start(ctx, "test.fragile", id, nil); err != nil {
			t.Fatal(err)
		}
		h.clk.Advance(time.Millisecond) // poison's deadline is the oldest
	}
	// A saga of a type this engine does not know, with a due deadline.
	other, err := saga.New(h.db, saga.Config{Encoder: jsonEncoder(), Clock: h.clk.Now}, definition())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Start(ctx, "test.fulfilment", "foreign", nil); err != nil {
		t.Fatal(err)
	}
	h.pump(ctx)
	h.clk.Advance(time.Minute)
	fired, err := eng.FireDue(ctx, 10)
	if err == nil || fired != 1 {
		t.Fatalf("fired %d, err %v; want 1 and the poison's error", fired, err)
	}
	inst, _ := h.status(ctx, "fine")
	if inst.Status != saga.StatusCompensating {
		t.Fatalf("fine: %s", inst.Status)
	}
	if inst, _ = h.status(ctx, "foreign"); inst.Status != saga.StatusRunning {
		t.Fatalf("foreign saga touched by an engine that does not run its type: %s", inst.Status)
	}
	// The poison's deadline was postponed: nothing is due now.
	if fired, err := eng.FireDue(ctx, 10); fired != 0 || err != nil {
		t.Fatalf("fired %d again, err %v", fired, err)
	}
}
