package service_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	inventoryev "github.com/stratahq/strata/gen/avro/inventory"
	orderev "github.com/stratahq/strata/gen/avro/order"
	paymentev "github.com/stratahq/strata/gen/avro/payment"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/saga"
	"github.com/stratahq/strata/saga/answer"
	"github.com/stratahq/strata/serde"
	invadapters "github.com/stratahq/strata/services/inventory/adapters"
	invcmd "github.com/stratahq/strata/services/inventory/app/command"
	orderadapters "github.com/stratahq/strata/services/order/adapters"
	ordercmd "github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/domain/order"
	orderports "github.com/stratahq/strata/services/order/ports"
	payadapters "github.com/stratahq/strata/services/payment/adapters"
	paycmd "github.com/stratahq/strata/services/payment/app/command"
	"github.com/stratahq/strata/services/saga/app"
	"github.com/stratahq/strata/services/saga/domain/fulfilment"
)

// shop is the whole order-fulfilment system in one process on a real
// PostgreSQL database: the order, payment and inventory services' real
// command handlers and event store streams, the saga engine, and an
// in-process transport standing in for Kafka (commands go to a worker chosen
// by the saga id, like a partition; replies come from the event store's
// global log, like the relay + consumer).
type shop struct {
	t            *testing.T
	url          string
	pool         *pgxpool.Pool
	store        *eventstore.Store
	types        *serde.Registry
	orders       *ordercmd.Handlers
	orderStream  *orderadapters.OrderStream
	payments     *payadapters.Payments
	gateway      *payadapters.SimulatedGateway
	payHandlers  *paycmd.Handlers
	stocks       *invadapters.Stocks
	reservations *invadapters.Reservations
	invFaults    *invadapters.Faults
	invHandlers  *invcmd.Handlers
	timeouts     fulfilment.Timeouts

	// drop makes a participant silent for a command type (e.g. "shop.order.ConfirmOrder").
	dropMu sync.RWMutex
	drop   map[string]bool
	hold   map[string]bool // commands of these types wait in held until releaseHeld
	held   []saga.Message
	sent   sync.Map // command type -> *atomic.Int64 (distinct command ids handled)
	seen   sync.Map // command id -> true

	orch *orchestrator
	// queues are the participants' inboxes, one per worker (like Kafka
	// partitions); the participants outlive any orchestrator.
	queues []chan saga.Message
}

// orchestrator is one running saga orchestrator (engine + reply subscription).
type orchestrator struct {
	eng    *saga.Engine
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func newShop(t *testing.T, timeouts fulfilment.Timeouts) *shop {
	t.Helper()
	ctx := context.Background()
	url := testenv.NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 24
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
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
	s := &shop{t: t, url: url, pool: pool, store: store, types: types, timeouts: timeouts, drop: map[string]bool{}}
	s.orderStream = orderadapters.NewOrderStream(store, types, orderadapters.NewStoreDecoder(store, types, nil))
	answers := answer.New(store, types)
	orderCfg := ordercmd.DefaultConfig
	orderCfg.Answers = answers
	s.orders = ordercmd.New(s.orderStream, orderadapters.NewStockCheck(), orderadapters.NewCreditCheck(0), time.Now, orderCfg)
	if s.payments, err = payadapters.NewPayments(store, types); err != nil {
		t.Fatal(err)
	}
	s.gateway = payadapters.NewSimulatedGateway(payadapters.Faults{})
	s.payHandlers = paycmd.New(s.payments, s.gateway, answers, time.Now, s.gateway.Delay)
	if s.stocks, err = invadapters.NewStocks(store, types); err != nil {
		t.Fatal(err)
	}
	if s.reservations, err = invadapters.NewReservations(store, types); err != nil {
		t.Fatal(err)
	}
	s.invFaults = invadapters.NewFaults(invadapters.Config{InitialStock: 1000000})
	s.invHandlers = invcmd.New(s.stocks, s.reservations, s.invFaults, answers, time.Now, invcmd.Config{InitialStock: 1000000})
	s.startParticipants(t)
	s.startOrchestrator()
	t.Cleanup(s.stopOrchestrator)
	return s
}

// startParticipants runs the participants' workers until the test ends.
func (s *shop) startParticipants(t *testing.T) {
	const workers = 4
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	s.queues = make([]chan saga.Message, workers)
	for i := range s.queues {
		s.queues[i] = make(chan saga.Message, 100000)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-s.queues[i]:
					s.deliver(ctx, m)
				}
			}
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func (s *shop) setDrop(commandType string, v bool) {
	s.dropMu.Lock()
	s.drop[commandType] = v
	s.dropMu.Unlock()
}

// setHold makes a participant slow for a command type: its commands wait
// until releaseHeld, in order.
func (s *shop) setHold(commandType string, v bool) {
	s.dropMu.Lock()
	if s.hold == nil {
		s.hold = map[string]bool{}
	}
	s.hold[commandType] = v
	s.dropMu.Unlock()
}

// releaseHeld delivers the held commands now, in the order they were sent.
func (s *shop) releaseHeld(ctx context.Context) {
	s.dropMu.Lock()
	held := s.held
	s.held = nil
	clear(s.hold)
	s.dropMu.Unlock()
	for _, m := range held {
		s.deliver(ctx, m)
	}
}

func (s *shop) count(commandType string) int64 {
	v, ok := s.sent.Load(commandType)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// startOrchestrator starts an engine, its outbox relay and deadline scanner,
// and a subscription to the event store that feeds it OrderPlaced and replies.
func (s *shop) startOrchestrator() {
	enc := saga.EncoderFunc(func(_ context.Context, c saga.Command) ([]byte, error) {
		_, body, err := s.types.Encode(c.Value)
		return body, err
	})
	eng, err := saga.New(s.pool, saga.Config{Encoder: enc, CompensationRetryDelay: 100 * time.Millisecond}, fulfilment.Definition(s.timeouts))
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &orchestrator{eng: eng, cancel: cancel}
	transport := saga.TransportFunc(func(_ context.Context, msgs []saga.Message) error {
		for _, m := range msgs {
			h := fnv.New32a()
			h.Write([]byte(m.Key))
			s.queues[h.Sum32()%uint32(len(s.queues))] <- m
		}
		return nil
	})
	o.done.Add(2)
	go func() {
		defer o.done.Done()
		_ = eng.Run(ctx, transport, saga.RunOptions{PollInterval: 20 * time.Millisecond})
	}()
	orch := app.New(eng)
	go func() {
		defer o.done.Done()
		err := s.store.Subscribe(ctx, eventstore.SubscribeOptions{From: eventstore.Start, PollInterval: 20 * time.Millisecond},
			func(ctx context.Context, recs []eventstore.RecordedEvent) error {
				for i := range recs {
					if err := s.reply(ctx, orch, &recs[i]); err != nil {
						return err
					}
				}
				return nil
			})
		if err != nil && ctx.Err() == nil {
			s.t.Errorf("reply subscription: %v", err)
		}
	}()
	s.orch = o
}

func (s *shop) stopOrchestrator() {
	if s.orch == nil {
		return
	}
	s.orch.cancel()
	s.orch.done.Wait()
	s.orch = nil
}

// reply applies one stored event to the sagas, like the orchestrator's Kafka
// consumer: in a transaction, retried on version conflicts.
func (s *shop) reply(ctx context.Context, orch *app.Orchestrator, rec *eventstore.RecordedEvent) error {
	v, err := s.types.Decode(rec.Type, rec.Payload)
	if err != nil {
		return fmt.Errorf("decode %s: %w", rec.Type, err)
	}
	for attempt := 0; ; attempt++ {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return err
		}
		err = orch.HandleEvent(ctx, tx, rec.StreamType, v, rec.CausationID)
		if err == nil {
			err = tx.Commit(ctx)
		}
		_ = tx.Rollback(ctx)
		if err == nil || ctx.Err() != nil {
			return ctx.Err()
		}
		if !saga.IsRetryable(err) || attempt > 50 {
			return err
		}
	}
}

// deliver runs one command at its participant, retrying transient failures.
func (s *shop) deliver(ctx context.Context, m saga.Message) {
	s.dropMu.RLock()
	dropped := s.drop[m.Type]
	s.dropMu.RUnlock()
	s.dropMu.Lock()
	if s.hold[m.Type] {
		s.held = append(s.held, m)
		s.dropMu.Unlock()
		return
	}
	s.dropMu.Unlock()
	if dropped {
		c, _ := s.sent.LoadOrStore("dropped:"+m.Type, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
		return
	}
	if _, dup := s.seen.LoadOrStore(m.ID, true); !dup {
		c, _ := s.sent.LoadOrStore(m.Type, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
	}
	v, err := s.types.Decode(m.Type, m.Payload)
	if err != nil {
		s.t.Errorf("decode command %s: %v", m.Type, err)
		return
	}
	if m.Topic == fulfilment.TopicOutcomes {
		return // an outcome event (FulfilmentCompleted, ...): counted above
	}
	for attempt := 0; attempt < 30; attempt++ {
		err = s.handle(ctx, m, v)
		if err == nil || ctx.Err() != nil {
			return
		}
		if !messaging.IsRetryable(err) {
			break // the consumer runtime would dead-letter it
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	s.t.Errorf("command %s %s: %v", m.Type, m.ID, err)
}

func (s *shop) handle(ctx context.Context, m saga.Message, v any) error {
	switch c := v.(type) {
	case *paymentev.AuthorizePayment:
		return s.payHandlers.AuthorizePayment(ctx, paycmd.Meta{CommandID: m.ID, CorrelationID: m.Key}, c)
	case *paymentev.RefundPayment:
		return s.payHandlers.RefundPayment(ctx, paycmd.Meta{CommandID: m.ID, CorrelationID: m.Key}, c)
	case *inventoryev.ReserveStock:
		return s.invHandlers.ReserveStock(ctx, invcmd.Meta{CommandID: m.ID, CorrelationID: m.Key}, c)
	case *inventoryev.ReleaseStock:
		return s.invHandlers.ReleaseStock(ctx, invcmd.Meta{CommandID: m.ID, CorrelationID: m.Key}, c)
	case *orderev.ConfirmOrder, *orderev.CancelOrder:
		return orderports.HandleCommand(ctx, s.orders, slog.New(slog.DiscardHandler), ordercmd.Meta{CommandID: m.ID, CorrelationID: m.Key}, c)
	default:
		return fmt.Errorf("no participant for %T", v)
	}
}

// place places an order through the order service's command handler.
func (s *shop) place(ctx context.Context, commandID, customer string, items ...order.Item) string {
	s.t.Helper()
	res, err := s.orders.PlaceOrder(ctx, ordercmd.Meta{CommandID: commandID}, order.PlaceOrder{
		CustomerID: customer, Items: items, Currency: "KRW",
		Address: order.Address{Recipient: "Kim", Line1: "1 Main St", City: "Seoul", PostalCode: "04524", CountryCode: "KR"},
	})
	if err != nil {
		s.t.Fatalf("place order: %v", err)
	}
	return res.Order.ID()
}

// waitTerminal waits until every saga in ids is COMPLETED, COMPENSATED or PARKED.
func (s *shop) waitTerminal(ctx context.Context, timeout time.Duration, ids ...string) map[string]saga.Instance {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	out := map[string]saga.Instance{}
	for {
		pending := 0
		for _, id := range ids {
			if inst, ok := out[id]; ok && (inst.Status.Terminal() || inst.Status == saga.StatusParked) {
				continue
			}
			inst, _, err := saga.Get(ctx, s.pool, id)
			if err != nil && !errors.Is(err, saga.ErrNotFound) {
				s.t.Fatal(err)
			}
			out[id] = inst
			if err != nil || !(inst.Status.Terminal() || inst.Status == saga.StatusParked) {
				pending++
			}
		}
		if pending == 0 {
			return out
		}
		if time.Now().After(deadline) {
			counts, _ := saga.CountByStatus(ctx, s.pool)
			s.t.Fatalf("%d of %d sagas not terminal after %s: %v", pending, len(ids), timeout, counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// check verifies the money and stock invariants of an order against its
// saga: a confirmed order holds its payment and stock; a cancelled one holds
// neither.
func (s *shop) check(ctx context.Context, orderID string) order.Status {
	s.t.Helper()
	l, err := s.orderStream.Load(ctx, orderID)
	if err != nil {
		s.t.Fatal(err)
	}
	o := l.Order
	p, err := s.payments.Load(ctx, fulfilment.PaymentID(orderID))
	if err != nil {
		s.t.Fatal(err)
	}
	r, err := s.reservations.Load(ctx, fulfilment.ReservationID(orderID))
	if err != nil {
		s.t.Fatal(err)
	}
	held := 0
	for _, it := range o.Items() {
		st, err := s.stocks.Load(ctx, it.ProductID)
		if err != nil {
			s.t.Fatal(err)
		}
		held += st.HeldBy(fulfilment.ReservationID(orderID))
	}
	if s.gateway != nil {
		// The card gateway holds exactly what the payment records.
		if g := s.gateway.Holding(fulfilment.PaymentID(orderID)); g != p.Held() {
			s.t.Errorf("order %s (%s): the gateway holds %d, the payment records %d (%s)", orderID, o.Status(), g, p.Held(), p.Status())
		}
	}
	switch o.Status() {
	case order.Confirmed:
		if p.Held() != o.Total() || r.Status().String() != "RESERVED" || held == 0 {
			s.t.Errorf("confirmed order %s: payment holds %d of %d, reservation %s, stock held %d", orderID, p.Held(), o.Total(), r.Status(), held)
		}
	case order.Cancelled:
		if p.Held() != 0 || r.Status().String() == "RESERVED" || held != 0 {
			s.t.Errorf("cancelled order %s: payment still holds %d (%s), reservation %s, stock held %d", orderID, p.Held(), p.Status(), r.Status(), held)
		}
	default:
		s.t.Errorf("order %s ended %s", orderID, o.Status())
	}
	return o.Status()
}

func compensations(steps []saga.StepRecord) []string {
	var out []string
	for _, st := range steps {
		if st.Kind == saga.KindCompensation && st.CommandType != "" {
			out = append(out, st.CommandType+":"+string(st.Status))
		}
	}
	return out
}
