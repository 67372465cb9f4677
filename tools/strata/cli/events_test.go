package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hamba/avro/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/eventstore"
	orderev "github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/serde"
	cliev "github.com/stratahq/strata/tools/strata/cli/events"
	"github.com/stratahq/strata/upcasters"
)

// opsStore is a fresh event store with one order stream recorded on
// 2026-01-01: OrderPlaced written with the historical v1 schema (amounts in
// won as doubles), then OrderShipped with the current schema.
func opsStore(t *testing.T) (url string, pool *pgxpool.Pool, store *eventstore.Store, stream string) {
	t.Helper()
	ctx := context.Background()
	url = testenv.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store, err = eventstore.New(pool, eventstore.Config{Clock: func() time.Time { at = at.Add(time.Second); return at }})
	if err != nil {
		t.Fatal(err)
	}
	root := testenv.RepoRoot(t)
	v1JSON, err := os.ReadFile(filepath.Join(root, "services/order/upcast/history/shop.order.OrderPlaced/v1.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	v1Payload, err := os.ReadFile(filepath.Join(root, "services/order/upcast/testdata/shop.order.OrderPlaced/v1.avro"))
	if err != nil {
		t.Fatal(err)
	}
	v1, err := upcasters.ParseSchema(string(v1JSON))
	if err != nil {
		t.Fatal(err)
	}
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	typ, body, err := types.Encode(&orderev.OrderShipped{OrderID: "order-0001", Carrier: "CJ", TrackingNumber: "T1", ShippedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	md := eventstore.Metadata{CorrelationID: "corr-ops", CausationID: "cmd-ops", UserID: "u-ops"}
	stream = "order-order-0001"
	_, err = store.Append(ctx, stream, "order", eventstore.NoStream,
		eventstore.EventData{ID: uuid.New(), Type: "shop.order.OrderPlaced", Payload: v1Payload, Metadata: md,
			Schema: eventstore.Schema{Fingerprint: v1.Fingerprint(), Name: "shop.order.OrderPlaced", JSON: string(v1JSON)}},
		eventstore.EventData{ID: uuid.New(), Type: typ.Name, Payload: body, Metadata: md,
			Schema: eventstore.Schema{Fingerprint: typ.Fingerprint, Name: typ.Name, JSON: typ.JSON}})
	if err != nil {
		t.Fatal(err)
	}
	return url, pool, store, stream
}

func jsonLines(t *testing.T, out string) []cliev.EventJSON {
	t.Helper()
	var evs []cliev.EventJSON
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var e cliev.EventJSON
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// events show decodes every event with the writer schema the store keeps,
// with no generated types: the v1 OrderPlaced as written (amounts as doubles,
// no currency; Avro cannot resolve it to v2, only the shop's upcaster can).
func TestEventsShowDecodesWithTheWriterSchemaAndTail(t *testing.T) {
	url, _, _, stream := opsStore(t)
	code, out, errOut := run(t, "events", "show", stream, "--database-url", url, "--registry", "")
	if code != ExitOK {
		t.Fatalf("events show: exit %d: %s", code, errOut)
	}
	evs := jsonLines(t, out)
	if len(evs) != 2 {
		t.Fatalf("events show printed %d events:\n%s", len(evs), out)
	}
	placed := evs[0]
	var data struct {
		TotalAmount any     `json:"total_amount"`
		Currency    *string `json:"currency"`
	}
	if err := json.Unmarshal(placed.Data, &data); err != nil {
		t.Fatal(err)
	}
	if placed.Upcast || data.TotalAmount != float64(40999) || !strings.Contains(string(placed.Data), `"unit_price":2499.5`) || data.Currency != nil || placed.Type != "shop.order.OrderPlaced" ||
		placed.CorrelationID != "corr-ops" || placed.CausationID != "cmd-ops" || placed.Version != 1 || placed.Error != "" {
		t.Fatalf("v1 OrderPlaced shown as %+v, data %s", placed, placed.Data)
	}
	if evs[1].Upcast || evs[1].Type != "shop.order.OrderShipped" || evs[1].Error != "" || !strings.Contains(string(evs[1].Data), `"carrier":"CJ"`) {
		t.Fatalf("OrderShipped shown as %+v", evs[1])
	}
	// -o table: one row per event under a header.
	_, out, _ = run(t, "events", "show", stream, "--database-url", url, "--registry", "", "-o", "table")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "CURSOR") || !strings.Contains(lines[1], "shop.order.OrderPlaced") {
		t.Fatalf("-o table:\n%s", out)
	}
	// tail: the last event, then everything after the first one's cursor.
	code, out, errOut = run(t, "events", "tail", "--last", "1", "--database-url", url, "--registry", "")
	if tail := jsonLines(t, out); code != ExitOK || len(tail) != 1 || tail[0].Type != "shop.order.OrderShipped" {
		t.Fatalf("events tail --last 1: exit %d %s %s", code, out, errOut)
	}
	code, out, _ = run(t, "events", "tail", "--after", placed.Cursor, "--database-url", url)
	if tail := jsonLines(t, out); code != ExitOK || len(tail) != 1 || tail[0].Version != 2 {
		t.Fatalf("events tail --after: exit %d %s", code, out)
	}
	code, out, _ = run(t, "events", "tail", "--last", "10", "--types", "shop.order.OrderPlaced", "--database-url", url)
	if tail := jsonLines(t, out); code != ExitOK || len(tail) != 1 || tail[0].Type != "shop.order.OrderPlaced" {
		t.Fatalf("events tail --types: exit %d %s", code, out)
	}
	// follow: stops at --limit.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var sb strings.Builder
	if code := Run(ctx, []string{"events", "tail", "--last", "2", "--follow", "--limit", "2", "--database-url", url}, strings.NewReader(""), &sb, &sb); code != ExitOK {
		t.Fatalf("events tail --follow --limit 2: exit %d: %s", code, sb.String())
	}
	if code, _, errOut := run(t, "events", "show", "no-such-stream", "--database-url", url); code != ExitFail || !strings.Contains(errOut, "not found") {
		t.Fatalf("unknown stream: exit %d: %s", code, errOut)
	}
}

// A type of no project the CLI knows: decoded through its writer schema, and
// with a registry resolved to the subject's latest version (a field added
// with a default), which writer_version and upcast report.
func TestEventsShowAnyTypeThroughTheRegistry(t *testing.T) {
	regURL := testenv.SchemaRegistryURL(t)
	url, _, store, _ := opsStore(t)
	ns := strings.ReplaceAll(testenv.UniqueName("clitest"), "-", "_")
	name := ns + ".Thing"
	v1 := `{"type":"record","name":"Thing","namespace":"` + ns + `","fields":[{"name":"a","type":"string"}]}`
	v2 := `{"type":"record","name":"Thing","namespace":"` + ns + `","fields":[{"name":"a","type":"string"},{"name":"b","type":"string","default":"x"}]}`
	reg := testenv.RegistryClient(t, regURL)
	for _, js := range []string{v1, v2} {
		if _, err := reg.CreateSchema(name, js, srclient.Avro); err != nil {
			t.Fatal(err)
		}
	}
	s1, err := upcasters.ParseSchema(v1)
	if err != nil {
		t.Fatal(err)
	}
	body, err := avro.Marshal(s1, map[string]any{"a": "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), "thing-1", "thing", eventstore.NoStream, eventstore.EventData{ID: uuid.New(), Type: name,
		Payload: body, Schema: eventstore.Schema{Fingerprint: s1.Fingerprint(), Name: name, JSON: v1}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		data   string
		upcast bool
		ver    int
	}{
		{[]string{"--registry", regURL}, `{"a":"hello","b":"x"}`, true, 1},
		{[]string{"--registry", regURL, "--raw"}, `{"a":"hello"}`, false, 1},
		{[]string{"--registry", ""}, `{"a":"hello"}`, false, 0},
	} {
		code, out, errOut := run(t, append([]string{"events", "show", "thing-1", "--database-url", url}, tc.args...)...)
		evs := jsonLines(t, out)
		if code != ExitOK || len(evs) != 1 || string(evs[0].Data) != tc.data || evs[0].Upcast != tc.upcast || evs[0].WriterVersion != tc.ver {
			t.Errorf("events show %v: exit %d %s %s", tc.args, code, out, errOut)
		}
	}
}
