// Command commands measures the shop's command path end to end and writes
// docs/benchmarks/commands.md: commands/s through the gRPC OrderService
// (closed loop), the same events appended straight to the event store as the
// baseline, and, at a sustained open-loop rate, command latency and command ->
// read model latency (the time until a query given the command's position
// token returns, through the relay, Kafka and the projector). Everything runs
// in this process against the local stack (`make up`), on a throwaway
// database and topics of its own. Run it through `make bench` (ci/bench.sh).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riferrei/srclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stratahq/strata/ci/bench/report"
	"github.com/stratahq/strata/eventstore"
	avroorder "github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/gen/events"
	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	queryv1 "github.com/stratahq/strata/gen/proto/query/v1"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/serde"
	orderservice "github.com/stratahq/strata/services/order/service"
	projector "github.com/stratahq/strata/services/projector/service"
)

type options struct {
	dbURL, brokers, registry, out string
	workers                       int
	phase, sustain                time.Duration
	maxRate                       float64
	quick                         bool
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func main() {
	var o options
	flag.StringVar(&o.dbURL, "database-url", envOr("DATABASE_URL", "postgres://strata:strata@127.0.0.1:55432/strata?sslmode=disable"), "PostgreSQL URL (a role that may CREATE DATABASE)")
	flag.StringVar(&o.brokers, "brokers", envOr("KAFKA_BROKERS", "127.0.0.1:9092"), "Kafka bootstrap servers")
	flag.StringVar(&o.registry, "registry", envOr("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081"), "schema registry URL")
	flag.StringVar(&o.out, "out", "docs/benchmarks/commands.md", "Markdown section to write")
	flag.IntVar(&o.workers, "workers", 16, "concurrent clients in the closed-loop phases")
	flag.DurationVar(&o.phase, "phase", 5*time.Second, "length of each closed-loop phase")
	flag.DurationVar(&o.sustain, "sustain", 15*time.Second, "length of the sustained-rate phase")
	flag.Float64Var(&o.maxRate, "max-rate", 200, "upper bound of the sustained rate (commands/s)")
	flag.BoolVar(&o.quick, "quick", false, "short run to check the runner (not for publishing)")
	flag.Parse()
	if o.quick {
		o.phase, o.sustain = 2*time.Second, 4*time.Second
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench commands:", err)
		os.Exit(1)
	}
}

func scratchDB(ctx context.Context, admin string) (string, func(), error) {
	var b [5]byte
	_, _ = rand.Read(b[:])
	name := "bench_commands_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	}
	return u.String(), drop, nil
}

func placeReq(i int) *orderv1.PlaceOrderRequest {
	return &orderv1.PlaceOrderRequest{
		CommandId: uuid.NewString(), CustomerId: fmt.Sprintf("customer-%03d", i%100), CurrencyCode: "KRW",
		Items: []*orderv1.OrderItem{
			{ProductId: "keyboard", Quantity: 1, UnitPrice: &orderv1.Money{AmountMinor: 89000}},
			{ProductId: "cable", Quantity: 3, UnitPrice: &orderv1.Money{AmountMinor: 9000}},
		},
		ShippingAddress: &orderv1.Address{Recipient: "Bench", Line1: "1 Teheran-ro", City: "Seoul", PostalCode: "06236", CountryCode: "KR"},
	}
}

// closedLoop runs fn from workers goroutines for d and returns calls/s.
func closedLoop(ctx context.Context, workers int, d time.Duration, fn func(ctx context.Context, i int) error) (float64, int64, error) {
	var n, failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil && time.Now().Before(end); i += workers {
				if err := fn(ctx, i); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	var err error
	if e, ok := firstErr.Load().(error); ok {
		err = e
	}
	return float64(n.Load()) / time.Since(start).Seconds(), failed.Load(), err
}

func run(ctx context.Context, o options) error {
	r := report.New("commands", "Commands: gRPC OrderService -> event store -> relay -> Kafka -> projector -> query",
		"go run ./ci/bench/commands")
	dbURL, drop, err := scratchDB(ctx, o.dbURL)
	if err != nil {
		return fmt.Errorf("scratch database: %w", err)
	}
	defer drop()
	// The baseline appends through a pool as large as the order service's (16).
	pc, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return err
	}
	pc.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		return err
	}
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "bench" + hex.EncodeToString(b[:]) + "."

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	bg := func(f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				report.Progress("component stopped: %v", err)
			}
		}()
	}
	orderAddr, queryAddr := make(chan string, 1), make(chan string, 1)
	bg(func(ctx context.Context) error {
		return orderservice.Run(ctx, orderservice.Config{DatabaseURL: dbURL, GRPCAddr: "127.0.0.1:0", Registry: observe.NewRegistry(),
			Commands: orderservice.DefaultCommands(), Logger: quiet, Ready: func(a, _ string) { orderAddr <- a }})
	})
	relay, err := messaging.NewRelay(messaging.RelayConfig{
		Name: prefix + "relay", Log: messaging.NewStoreLog(store), DB: pool, Registry: mustRegistry(o.registry), RegisterSchemas: true,
		Kafka: messaging.KafkaConfig{"bootstrap.servers": o.brokers}, Logger: quiet,
		Route: func(e *messaging.LogEvent) string { return prefix + messaging.DefaultRoute(e) },
	})
	if err != nil {
		return err
	}
	bg(relay.Run)
	bg(func(ctx context.Context) error {
		return projector.Run(ctx, projector.Config{DatabaseURL: dbURL, Kafka: messaging.KafkaConfig{"bootstrap.servers": o.brokers},
			SchemaRegistryURL: o.registry, GRPCAddr: "127.0.0.1:0", Group: prefix + "projector", Topics: []string{prefix + "events.order"},
			Registry: observe.NewRegistry(), Logger: quiet, Ready: func(a, _ string) { queryAddr <- a }})
	})
	dial := func(ch chan string) (*grpc.ClientConn, error) {
		select {
		case a := <-ch:
			return grpc.NewClient(a, grpc.WithTransportCredentials(insecure.NewCredentials()))
		case <-time.After(60 * time.Second):
			return nil, fmt.Errorf("a service did not start in 60s")
		}
	}
	oc, err := dial(orderAddr)
	if err != nil {
		return err
	}
	defer oc.Close()
	qc, err := dial(queryAddr)
	if err != nil {
		return err
	}
	defer qc.Close()
	orders, query := orderv1.NewOrderServiceClient(oc), queryv1.NewOrderQueryServiceClient(qc)

	// Warm up until the projector's consumer group is assigned and serving.
	report.Progress("warming up (consumer group join)")
	for i := 0; ; i++ {
		res, err := orders.PlaceOrder(ctx, placeReq(i))
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = query.GetOrderSummary(wctx, &queryv1.GetOrderSummaryRequest{OrderId: res.Result.OrderId, MinPosition: res.Result.Position})
		wcancel()
		if err == nil && i >= 20 {
			break
		}
		if i > 200 {
			return fmt.Errorf("warm-up: read model not serving: %v", err)
		}
	}

	report.Progress("closed loop: PlaceOrder over gRPC, %d clients, %v", o.workers, o.phase)
	var ordersBefore int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_type = 'order'`).Scan(&ordersBefore); err != nil {
		return err
	}
	burstStart := time.Now()
	grpcRate, grpcFailed, err := closedLoop(ctx, o.workers, o.phase, func(ctx context.Context, i int) error {
		_, err := orders.PlaceOrder(ctx, placeReq(i))
		return err
	})
	if grpcFailed > 0 {
		return fmt.Errorf("%d PlaceOrder calls failed: %v", grpcFailed, err)
	}
	report.Progress("  %.0f commands/s", grpcRate)

	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		return err
	}
	report.Progress("baseline: the same OrderPlaced appended straight to the store, %d clients, %v", o.workers, o.phase)
	appendRate, appendFailed, err := closedLoop(ctx, o.workers, o.phase, func(ctx context.Context, i int) error {
		ev := &avroorder.OrderPlaced{OrderID: uuid.NewString(), CustomerID: "customer-001", Currency: "KRW", ShippingMethod: "STANDARD",
			Items:       []avroorder.OrderItem{{ProductID: "keyboard", Quantity: 1, UnitPrice: 89000}, {ProductID: "cable", Quantity: 3, UnitPrice: 9000}},
			TotalAmount: 116000, ShippingAddress: avroorder.Address{Recipient: "Bench", Line1: "1 Teheran-ro", City: "Seoul", PostalCode: "06236", CountryCode: "KR"},
			PlacedAt: time.Now().UTC().Truncate(time.Millisecond)}
		t, body, err := types.Encode(ev)
		if err != nil {
			return err
		}
		_, err = store.Append(ctx, "baseline-"+ev.OrderID, "baseline", eventstore.NoStream, eventstore.EventData{
			ID: uuid.New(), Type: t.Name, Payload: body, Schema: eventstore.Schema{Fingerprint: t.Fingerprint, Name: t.Name, JSON: t.JSON}})
		return err
	})
	if appendFailed > 0 {
		return fmt.Errorf("%d baseline appends failed: %v", appendFailed, err)
	}
	report.Progress("  %.0f appends/s", appendRate)

	// Let the relay and projector drain the closed-loop burst before measuring latency.
	drain := time.Now()
	for {
		var n int64
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_type = 'order' AND NOT EXISTS (
			SELECT 1 FROM read.order_summaries s WHERE s.order_id = substr(events.stream_id, 7))`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if time.Since(drain) > 2*time.Minute {
			return fmt.Errorf("projector did not drain the backlog (%d left)", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var ordersAfter int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_type = 'order'`).Scan(&ordersAfter); err != nil {
		return err
	}
	// The projector consumed the burst while the baseline ran and then drained
	// the rest: its apply rate is the burst over the whole time it took.
	applyRate := float64(ordersAfter-ordersBefore) / time.Since(burstStart).Seconds()
	report.Progress("backlog drained in %v; projector applied about %.0f events/s", time.Since(drain).Round(time.Millisecond), applyRate)

	// Sustained: below the command path's and the projector's capacity, so
	// latency is measured, not queueing.
	rate := min(o.maxRate, grpcRate/2, applyRate*0.4)
	report.Progress("sustained: %.0f commands/s for %v, each followed by a query with its position token", rate, o.sustain)
	var cmdLat, rmLat report.Durations
	var mu sync.Mutex
	var failed atomic.Int64
	var firstErr atomic.Value
	interval := time.Duration(float64(time.Second) / rate)
	tick := time.NewTicker(interval)
	start := time.Now()
	var cw sync.WaitGroup
	sent := 0
	for time.Since(start) < o.sustain && ctx.Err() == nil {
		<-tick.C
		sent++
		i := sent
		cw.Add(1)
		go func() {
			defer cw.Done()
			t0 := time.Now()
			res, err := orders.PlaceOrder(ctx, placeReq(i))
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			t1 := time.Now()
			_, err = query.GetOrderSummary(ctx, &queryv1.GetOrderSummaryRequest{OrderId: res.Result.OrderId, MinPosition: res.Result.Position})
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			t2 := time.Now()
			mu.Lock()
			cmdLat = append(cmdLat, t1.Sub(t0))
			rmLat = append(rmLat, t2.Sub(t0))
			mu.Unlock()
		}()
	}
	tick.Stop()
	cw.Wait()
	achieved := float64(len(cmdLat)) / time.Since(start).Seconds()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d sustained commands failed: %v", f, firstErr.Load())
	}
	report.Progress("  command p50 %v p99 %v; read model p50 %v p99 %v", cmdLat.Median(), cmdLat.Quantile(0.99), rmLat.Median(), rmLat.Quantile(0.99))

	r.AddRatio("PlaceOrder over gRPC / raw append of the same event", grpcRate/appendRate, 0.3,
		fmt.Sprintf("%s vs %s per s, %d clients", report.Num(grpcRate), report.Num(appendRate), o.workers))
	r.Explain("PlaceOrder over gRPC / raw append of the same event",
		"the command path adds a gRPC round trip, a stream read (idempotency and state), validation and the stock/credit ports to the one-round-trip append")
	r.AddCeiling("command -> read model p99 at the sustained rate (ms)", float64(rmLat.Quantile(0.99))/float64(time.Millisecond), 1000,
		fmt.Sprintf("p50 %s, p99 %s at %s commands/s", report.Ms(rmLat.Median()), report.Ms(rmLat.Quantile(0.99)), report.Num(achieved)))
	r.Fact("clients (closed loop)", fmt.Sprint(o.workers))
	r.Fact("connections", "16 in the order service's pool and in the baseline's")
	r.Fact("closed-loop phase", o.phase.String())
	r.Fact("sustained phase", fmt.Sprintf("%v at %s commands/s requested (min of -max-rate, half the gRPC rate, 40%% of the projector's apply rate), %s achieved", o.sustain, report.Num(rate), report.Num(achieved)))
	r.Fact("path", "order service, relay and projector in this process; PostgreSQL, Kafka and the schema registry of `make up`")
	r.Heading("Throughput (closed loop)")
	r.Table([]string{"what", "per second"}, [][]string{
		{"PlaceOrder over gRPC (command handler, stream read, checks, append)", report.Num(grpcRate)},
		{"baseline: Store.Append of the same OrderPlaced", report.Num(appendRate)},
		{"projector: events applied to both read models (lower bound: the burst over the time to apply it)", report.Num(applyRate)},
	})
	r.Heading("Latency at a sustained rate")
	r.Para("Each command is followed at once by GetOrderSummary with the command's position token; the query returns when the projector has applied the order's version, so \"command -> read model\" is the time from sending the command until its effect is readable. It includes the relay (commit-ordered tail, produce, acks=all), Kafka, the consumer's transaction and the query's polling.")
	r.Table([]string{"measure", "p50", "p99", "samples"}, [][]string{
		{"command (sent -> reply)", report.Ms(cmdLat.Median()), report.Ms(cmdLat.Quantile(0.99)), fmt.Sprint(len(cmdLat))},
		{"command -> read model", report.Ms(rmLat.Median()), report.Ms(rmLat.Quantile(0.99)), fmt.Sprint(len(rmLat))},
	})
	if err := r.Write(o.out); err != nil {
		return err
	}
	report.Progress("wrote %s", o.out)
	return nil
}

// mustRegistry is the registry client for url, with credentials and TLS from
// the environment (package registry/client); a bad configuration ends the run.
func mustRegistry(url string) *srclient.SchemaRegistryClient {
	c, err := client.ForURL(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return c
}
