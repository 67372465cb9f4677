package service_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/saga"
	"github.com/stratahq/strata/serde"
	invadapters "github.com/stratahq/strata/services/inventory/adapters"
	orderadapters "github.com/stratahq/strata/services/order/adapters"
	ordercmd "github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/domain/order"
	payadapters "github.com/stratahq/strata/services/payment/adapters"
	"github.com/stratahq/strata/services/saga/domain/fulfilment"
)

// process is a service binary the soak runs, kills with SIGKILL and starts again.
type process struct {
	name string
	bin  string
	mu   sync.Mutex
	env  []string
	cmd  *exec.Cmd
	out  *syncBuffer
	kill int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 4<<20 { // keep the tail only
		s.b.Reset()
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (p *process) start(t *testing.T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.bin, "--metrics-addr", "off")
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Errorf("start %s: %v", p.name, err)
		return
	}
	p.cmd = cmd
}

// sigkill kills the process with SIGKILL (no graceful shutdown, no offsets
// committed) and waits for it.
func (p *process) sigkill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
	p.kill++
}

func (p *process) setEnv(env []string) {
	p.mu.Lock()
	p.env = env
	p.mu.Unlock()
}

func soakInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// TestSagaSoak runs order-fulfilment sagas over real Kafka, the schema
// registry and PostgreSQL with every participant (payment, inventory, the
// order service) and the orchestrator as its own process, killed with
// SIGKILL at random and started again while sagas are in flight; payment
// step timeouts are shorter than some payment replies; some cards are
// declined, some products missing, some refunds fail. Then the faults are
// removed and every parked saga is retried, as an operator would
// (`strata saga retry`). It checks that every saga ends COMPLETED or
// COMPENSATED, that every parked one had a reason, that the card gateway
// placed exactly one hold per authorised payment and holds exactly what
// confirmed orders hold, and that no cancelled order keeps money or stock.
//
// STRATA_SAGA_SOAK_N sagas (default 40; `make soak` runs 1000), within
// STRATA_SAGA_SOAK_MINUTES (default 4) in all. Progress is logged every 5s.
func TestSagaSoak(t *testing.T) {
	n := soakInt(t, "STRATA_SAGA_SOAK_N", 40)
	budget := time.Duration(soakInt(t, "STRATA_SAGA_SOAK_MINUTES", 4)) * time.Minute
	url := testenv.NewDatabase(t)
	brokers := testenv.KafkaBrokers(t)
	regURL := testenv.SchemaRegistryURL(t)
	prefix := testenv.UniqueName("sagasoak") + "."
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	began := time.Now()
	deleteTopicsAtEnd(t, brokers, prefix)

	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := saga.Migrate(ctx, pool); err != nil {
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
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The event store relay runs here (it is not a saga participant).
	relayCtx, stopRelay := context.WithCancel(ctx)
	var relayDone sync.WaitGroup
	defer func() { stopRelay(); relayDone.Wait() }()
	relay, err := messaging.NewRelay(messaging.RelayConfig{
		Name: prefix, Log: messaging.NewStoreLog(store), DB: pool, Registry: testenv.RegistryClient(t, regURL), RegisterSchemas: true,
		Kafka: messaging.KafkaConfig{"bootstrap.servers": brokers}, Route: func(e *messaging.LogEvent) string { return prefix + messaging.DefaultRoute(e) },
		IdleWait: 20 * time.Millisecond, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	relayDone.Add(1)
	go func() {
		defer relayDone.Done()
		if err := relay.Run(relayCtx); err != nil && relayCtx.Err() == nil {
			t.Errorf("relay: %v", err)
		}
	}()

	// The card gateway is a separate server: its ledger outlives the
	// payment processes killed.
	orderIDs := make([]string, n)
	var failRefunds []string
	for i := range n {
		orderIDs[i] = ordercmd.OrderIDFor(fmt.Sprintf("soak-cmd-%d", i))
		if i%20 == 7 { // stock short, and the refund fails until the fault is removed: parks
			failRefunds = append(failRefunds, orderIDs[i])
		}
	}
	gateway := payadapters.NewSimulatedGateway(payadapters.Faults{DeclineCustomers: []string{"declined"}, FailRefundOrders: failRefunds})
	gwServer := httptest.NewServer(payadapters.GatewayHandler(gateway))
	defer gwServer.Close()

	// Build and start the services.
	dir := t.TempDir()
	bins := map[string]string{}
	for _, name := range []string{"payment", "inventory", "order", "saga"} {
		bins[name] = filepath.Join(dir, name)
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bins[name], "github.com/stratahq/strata/services/"+name).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
	common := []string{"DATABASE_URL=" + url, "KAFKA_BROKERS=" + brokers, "SCHEMA_REGISTRY_URL=" + regURL,
		"STRATA_TOPIC_PREFIX=" + prefix, "KAFKA_CONFIG_SESSION_TIMEOUT_MS=6000", "OTEL_TRACES_EXPORTER=none"}
	slowPayment := []string{"PAYMENT_GATEWAY_URL=" + gwServer.URL, "PAYMENT_GROUP=payment",
		"PAYMENT_REPLY_DELAY=8s", "PAYMENT_SLOW_CUSTOMERS=slow"} // longer than the saga's payment timeout
	procs := []*process{
		{name: "payment", env: append(slices.Clone(common), slowPayment...)},
		{name: "inventory", env: append(slices.Clone(common), "INVENTORY_GROUP=inventory", "INVENTORY_OUT_OF_STOCK_PRODUCTS=p-gone", "INVENTORY_INITIAL_STOCK=1000000")},
		{name: "order", env: append(slices.Clone(common), "ORDER_GRPC_ADDR=127.0.0.1:0", "ORDER_COMMAND_TOPICS="+prefix+fulfilment.TopicOrder,
			"ORDER_COMMAND_GROUP="+prefix+"order")},
		{name: "saga", env: append(slices.Clone(common), "SAGA_GROUP=saga", "SAGA_POLL_INTERVAL=50ms", "SAGA_RETRY_DELAY=500ms",
			"SAGA_PAYMENT_TIMEOUT=6s", "SAGA_INVENTORY_TIMEOUT=10s", "SAGA_ORDER_TIMEOUT=10s", "SAGA_COMPENSATION_TIMEOUT=10s")},
	}
	for _, p := range procs {
		p.bin, p.out = bins[p.name], &syncBuffer{}
		p.start(t)
	}
	defer func() {
		for _, p := range procs {
			p.sigkill()
			if t.Failed() {
				out := p.out.String()
				if len(out) > 8000 {
					out = out[len(out)-8000:]
				}
				t.Logf("%s output (tail):\n%s", p.name, out)
			}
		}
	}()

	orderStream := orderadapters.NewOrderStream(store, types, orderadapters.NewStoreDecoder(store, types, nil))
	s := &shop{t: t, url: url, pool: pool, store: store, types: types, orderStream: orderStream, gateway: gateway,
		orders: ordercmd.New(orderStream, orderadapters.NewStockCheck(), orderadapters.NewCreditCheck(0), time.Now, ordercmd.DefaultConfig)}
	if s.payments, err = payadapters.NewPayments(store, types); err != nil {
		t.Fatal(err)
	}
	if s.stocks, err = invadapters.NewStocks(store, types); err != nil {
		t.Fatal(err)
	}
	if s.reservations, err = invadapters.NewReservations(store, types); err != nil {
		t.Fatal(err)
	}

	progress := func(phase string) map[saga.Status]int {
		counts, err := saga.CountByStatusFor(ctx, pool, orderIDs)
		if err != nil {
			t.Logf("progress: %v", err)
		}
		var kills []string
		for _, p := range procs {
			p.mu.Lock()
			kills = append(kills, fmt.Sprintf("%s %d", p.name, p.kill))
			p.mu.Unlock()
		}
		t.Logf("%6s %-9s sagas %v; SIGKILLs: %s", time.Since(began).Round(time.Second), phase, counts, strings.Join(kills, ", "))
		return counts
	}

	// One saga through the whole pipeline first: the consumers have joined
	// their groups and the topics exist before the clock starts.
	warm := s.place(ctx, "soak-warm-up", "warm", items("p-0")...)
	for {
		inst, _, err := saga.Get(ctx, pool, warm)
		if err == nil && inst.Status.Terminal() {
			break
		}
		if ctx.Err() != nil || time.Since(began) > budget/3 {
			t.Fatalf("warm-up saga not finished: %+v %v", inst, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	progress("warmed up")

	// Chaos: while sagas run, a random participant (or the orchestrator) is
	// killed with SIGKILL every 2-6s and started again 200ms later.
	chaosCtx, stopChaos := context.WithCancel(ctx)
	var chaosDone sync.WaitGroup
	chaosDone.Add(1)
	rng := rand.New(rand.NewPCG(15, 1000))
	go func() {
		defer chaosDone.Done()
		r := rand.New(rand.NewPCG(15, 2000))
		for {
			select {
			case <-chaosCtx.Done():
				return
			case <-time.After(2*time.Second + time.Duration(r.IntN(4000))*time.Millisecond):
			}
			p := procs[r.IntN(len(procs))]
			p.sigkill()
			time.Sleep(200 * time.Millisecond)
			p.start(t)
		}
	}()
	var placed atomic.Int64
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	// Place the orders at about 10 a second, so that kills land mid-flight.
	for i := range n {
		customer, products := fmt.Sprintf("c-%d", i), []string{fmt.Sprintf("p-%d", rng.IntN(5))}
		switch {
		case i%10 == 3:
			customer = "declined"
		case i%10 == 7:
			products = append(products, "p-gone")
		case i%100 == 5:
			customer = "slow" // the payment answers after the saga's payment timeout
		}
		if id := s.place(ctx, fmt.Sprintf("soak-cmd-%d", i), customer, items(products...)...); id != orderIDs[i] {
			t.Fatalf("order %d: id %s, want %s", i, id, orderIDs[i])
		}
		placed.Add(1)
		select {
		case <-tick.C:
			progress(fmt.Sprintf("placed %d", placed.Load()))
		default:
		}
		time.Sleep(100 * time.Millisecond)
	}
	settled := func(phase string, allowParked bool, within time.Duration) map[saga.Status]int {
		deadline := time.Now().Add(within)
		for {
			counts := progress(phase)
			done := counts[saga.StatusCompleted] + counts[saga.StatusCompensated]
			if allowParked {
				done += counts[saga.StatusParked]
			}
			if done == n {
				return counts
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				t.Fatalf("%s: sagas not settled after %s: %v", phase, within, counts)
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}
	// Keep killing until every saga is terminal or parked, for at least 10s more.
	time.Sleep(10 * time.Second)
	settled("chaos", true, time.Until(began.Add(budget*2/3)))
	stopChaos()
	chaosDone.Wait()
	for _, p := range procs { // a kill may have left one down
		p.mu.Lock()
		down := p.cmd == nil
		p.mu.Unlock()
		if down {
			p.start(t)
		}
	}

	// The faults are removed: refunds work, the payment service answers at once.
	gateway.SetFaults(payadapters.Faults{DeclineCustomers: []string{"declined"}})
	procs[0].sigkill()
	procs[0].setEnv(append(slices.Clone(common), "PAYMENT_GATEWAY_URL="+gwServer.URL, "PAYMENT_GROUP=payment"))
	procs[0].start(t)
	parkedBefore := 0
	for round := 1; ; round++ {
		parked, err := saga.List(ctx, pool, saga.ListOptions{Status: saga.StatusParked, Limit: n})
		if err != nil {
			t.Fatal(err)
		}
		if round == 1 {
			parkedBefore = len(parked)
		}
		if len(parked) == 0 {
			break
		}
		if round > 3 {
			t.Fatalf("%d sagas still parked after %d retry rounds", len(parked), round-1)
		}
		for _, inst := range parked {
			if inst.Reason == "" {
				t.Errorf("saga %s parked without a reason", inst.ID)
			}
			if code, out := strata(t, "saga", "retry", inst.ID, "--database-url", url); code != 0 && !strings.Contains(out, "not parked") {
				// (not parked: the participant's late answer finished the step meanwhile)
				t.Fatalf("strata saga retry %s: exit %d\n%s", inst.ID, code, out)
			}
		}
		t.Logf("retry round %d: %d parked sagas retried", round, len(parked))
		settled(fmt.Sprintf("retry %d", round), true, time.Until(began.Add(budget-20*time.Second)))
	}
	final := settled("final", false, 20*time.Second)

	// The invariants (the warm-up order counts for the gateway too).
	authorised, confirmed := 0, 0
	var heldByConfirmed int64
	for i, id := range append(slices.Clone(orderIDs), warm) {
		st := s.check(ctx, id) // money, stock and the gateway's hold agree with the order
		if i < n && i%10 == 3 && st != order.Cancelled {
			t.Errorf("order %s of a declined card ended %s", id, st)
		}
		if i < n && i%10 == 7 && st != order.Cancelled {
			t.Errorf("order %s of a missing product ended %s", id, st)
		}
		recs, err := store.ReadStream(ctx, payadapters.StreamID(fulfilment.PaymentID(id)), 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Type == "shop.payment.PaymentAuthorized" {
				authorised++
			}
		}
		if st == order.Confirmed {
			confirmed++
			l, err := orderStream.Load(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			heldByConfirmed += l.Order.Total()
		}
	}
	if final[saga.StatusCompleted] == 0 {
		t.Errorf("no saga completed")
	}
	shown := 0
	for i, id := range orderIDs {
		if inst, _, err := saga.Get(ctx, pool, id); err == nil && inst.Status == saga.StatusCompensated && i%10 != 3 && i%10 != 7 && shown < 3 {
			shown++
			_, out := strata(t, "saga", "show", id, "--database-url", url)
			t.Logf("compensated without an injected fault (a kill or a timeout):\n%s", out)
		}
	}
	gs := gateway.Stats()
	if gs.Holds != authorised {
		t.Errorf("the gateway placed %d holds for %d authorised payments", gs.Holds, authorised)
	}
	if gs.HeldAmount != heldByConfirmed || gs.Held != confirmed {
		t.Errorf("the gateway holds %d (%d holds); confirmed orders hold %d (%d orders)", gs.HeldAmount, gs.Held, heldByConfirmed, confirmed)
	}
	var kills []string
	for _, p := range procs {
		kills = append(kills, fmt.Sprintf("%s %d", p.name, p.kill))
	}
	t.Logf("SOAK RESULT: %d sagas in %s: %d completed, %d compensated; %d parked before the faults were removed, all finished by `strata saga retry`; "+
		"SIGKILLs: %s; gateway: %d holds placed for %d authorised payments, %d released, %d held (= %d confirmed orders, the warm-up's included), %d authorise / %d refund / %d void calls",
		n, time.Since(began).Round(time.Second), final[saga.StatusCompleted], final[saga.StatusCompensated], parkedBefore,
		strings.Join(kills, ", "), gs.Holds, authorised, gs.Released, gs.Held, confirmed, gs.AuthorizeCalls, gs.RefundCalls, gs.VoidCalls)
}
