package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/bootstrap/bootstraptest"
	ledgerv1 "github.com/stratahq/strata/examples/ledger/gen/proto/bank/ledger/v1"
	"github.com/stratahq/strata/examples/ledger/service"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
)

// start runs the ledger on a throwaway database and its own topics, with
// bearer tokens from iss required, and returns a client and the database.
func start(t *testing.T, iss *bootstraptest.Issuer) (ledgerv1.LedgerServiceClient, *grpc.ClientConn, string) {
	t.Helper()
	admin, brokers, registryURL := stackEnv(t)
	dbURL := newDatabase(t, admin)
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, service.Config{
			DatabaseURL: dbURL, Kafka: messaging.KafkaConfig{"bootstrap.servers": brokers}, SchemaRegistryURL: registryURL, RegisterSchemas: true,
			GRPCAddr: "127.0.0.1:0", MetricsAddr: "off", Registry: observe.NewRegistry(), TopicPrefix: unique("t") + ".",
			GRPC: bootstrap.GRPCConfig{JWKSURL: iss.URL}, Ready: func(addr string) { ready <- addr },
		})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("ledger did not start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("ledger did not start in 60s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ledger: %v", err)
		}
	})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return ledgerv1.NewLedgerServiceClient(conn), conn, dbURL
}

// Command -> event store -> relay -> Kafka -> consumer -> projection ->
// query, with the overdraft rule, idempotent retries, snapshots and the
// caller's verified identity in the events' metadata.
func TestLedgerEndToEnd(t *testing.T) {
	iss := bootstraptest.NewIssuer(t)
	c, conn, dbURL := start(t, iss)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "bank.ledger.v1.LedgerService"}); err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h, err)
	}
	if _, err := c.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{AccountId: "acc-1", Owner: "ann", Currency: "EUR"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without a token: %v, want Unauthenticated", err)
	}
	ctx = iss.Context(t, ctx, "teller-9")

	if _, err := c.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{AccountId: "acc-1", Owner: "ann", Currency: "EUR", OverdraftLimit: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{AccountId: "acc-1", Owner: "ann", Currency: "EUR"}); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("open twice: %v", err)
	}
	d, err := c.Deposit(ctx, &ledgerv1.DepositRequest{AccountId: "acc-1", Amount: 500, Reference: "salary", CommandId: "dep-1"})
	if err != nil || d.Balance != 500 || d.Version != 2 {
		t.Fatalf("deposit: %v %v", d, err)
	}
	// A retried command changes nothing.
	if d, err := c.Deposit(ctx, &ledgerv1.DepositRequest{AccountId: "acc-1", Amount: 500, Reference: "salary", CommandId: "dep-1"}); err != nil || d.Balance != 500 || d.Version != 2 {
		t.Fatalf("retried deposit: %v %v", d, err)
	}
	w, err := c.Withdraw(ctx, &ledgerv1.WithdrawRequest{AccountId: "acc-1", Amount: 600, CommandId: "wd-1"})
	if err != nil || w.Balance != -100 {
		t.Fatalf("withdraw into the overdraft: %v %v", w, err)
	}
	if _, err := c.Withdraw(ctx, &ledgerv1.WithdrawRequest{AccountId: "acc-1", Amount: 1, CommandId: "wd-2"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("withdraw beyond the overdraft: %v, want FailedPrecondition", err)
	}
	if _, err := c.Deposit(ctx, &ledgerv1.DepositRequest{AccountId: "nope", Amount: 1}); status.Code(err) != codes.NotFound {
		t.Fatalf("deposit to an unknown account: %v", err)
	}
	// Enough deposits for a snapshot (every 20 events).
	var last *ledgerv1.DepositResponse
	for i := range 25 {
		if last, err = c.Deposit(ctx, &ledgerv1.DepositRequest{AccountId: "acc-1", Amount: 10, CommandId: "bulk-" + string(rune('a'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	if last.Version != 28 || last.Balance != 150 {
		t.Fatalf("after 25 deposits: %v", last)
	}

	// The read model catches up through Kafka.
	got, err := c.GetAccount(ctx, &ledgerv1.GetAccountRequest{AccountId: "acc-1", MinVersion: last.Version})
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Account; a.Balance != 150 || a.Owner != "ann" || a.Version != 28 || a.OverdraftLimit != 100 {
		t.Fatalf("read model: %v", a)
	}
	list, err := c.ListAccounts(ctx, &ledgerv1.ListAccountsRequest{Owner: "ann"})
	if err != nil || len(list.Accounts) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}

	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var snapVersion int64
	if err := db.QueryRow(ctx, `SELECT max(version) FROM snapshots WHERE stream_id = 'account-acc-1'`).Scan(&snapVersion); err != nil || snapVersion != 20 {
		t.Fatalf("snapshot version %d, %v; want 20", snapVersion, err)
	}
	var users []string
	rows, err := db.Query(ctx, `SELECT DISTINCT coalesce(user_id, '') FROM events WHERE stream_id = 'account-acc-1'`)
	if err != nil {
		t.Fatal(err)
	}
	if users, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil || len(users) != 1 || users[0] != "teller-9" {
		t.Fatalf("user ids in event metadata: %v %v; want [teller-9] from the token", users, err)
	}
}
