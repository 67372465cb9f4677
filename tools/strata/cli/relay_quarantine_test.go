package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
)

// TestRelayQuarantineCommands: `strata relay quarantine list` prints what
// the relay quarantined, `skip` marks it skipped, an unknown id fails.
// (messaging's TestRelayQuarantinesWhatKafkaRefuses shows the relay
// quarantining a refused event and passing it after the skip.)
func TestRelayQuarantineCommands(t *testing.T) {
	dbURL := testenv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := messaging.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO messaging_relay_quarantine
		(relay, event_id, tx_id, position, stream_id, event_type, topic, size, reason)
		VALUES ('default', 'ev-big', 900, 42, 'order-7', 'shop.order.OrderPlaced', 'events.order', 1500005, 'Broker: Message size too large')`); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(ctx, append([]string{"relay", "quarantine"}, append(args, "--database-url", dbURL)...), nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := run("list")
	if code != 0 || !strings.Contains(out, "ev-big") || !strings.Contains(out, "order-7") || !strings.Contains(out, "1500005") ||
		!strings.Contains(out, "held") || !strings.Contains(out, "too large") {
		t.Fatalf("list: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs = run("skip", "ev-big"); code != 0 || !strings.Contains(out, "skipped") {
		t.Fatalf("skip: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs = run("list", "-o", "json"); code != 0 || !strings.Contains(out, `"skipped":true`) || !strings.Contains(out, `"event_id":"ev-big"`) {
		t.Fatalf("list -o json after skip: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs = run("skip", "no-such-event"); code != 1 || !strings.Contains(errs, "not quarantined") {
		t.Fatalf("skip of an unknown event: exit %d, %s", code, errs)
	}
	if code, _, _ = run("skip"); code != 2 {
		t.Fatalf("skip without an id: exit %d, want 2", code)
	}
}
