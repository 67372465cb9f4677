package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/services/order/upcast"
	"github.com/stratahq/strata/upcasters"
)

// `strata schema verify` passes on a store whose writer schemas are all
// current or declared, and fails, naming type and version, on one that
// holds a writer schema nobody declared.
func TestSchemaVerifyDatabase(t *testing.T) {
	url := testenv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	insert := func(name, js string) {
		t.Helper()
		s, err := upcasters.ParseSchema(js)
		if err != nil {
			t.Fatal(err)
		}
		fp := s.Fingerprint()
		if _, err := pool.Exec(ctx, `INSERT INTO event_schemas (fingerprint, full_name, schema_json, created_at) VALUES ($1, $2, $3, now())`, fp[:], name, js); err != nil {
			t.Fatal(err)
		}
	}
	var shipped string
	for _, typ := range events.Types() {
		insert(typ.Name, typ.JSON)
		if typ.Name == "shop.order.OrderShipped" {
			shipped = typ.JSON
		}
	}
	insert("shop.order.OrderPlaced", upcast.OrderPlaced().Versions[0].Schema)
	root := testenv.RepoRoot(t)

	code, out, errs := run(t, "schema", "verify", "--root", root, "--database-url", url, "--registry", "", "--archive-dir", "")
	if code != ExitOK {
		t.Fatalf("declared schemas only: exit %d\n%s%s", code, out, errs)
	}
	if !regexp.MustCompile(`(?m)^shop\.order\.OrderPlaced +1 +[0-9a-f]{16} +event store +v1 -upcaster-> v2 \(current\)$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^shop\.order\.OrderPlaced +2 +[0-9a-f]{16} +event store +current$`).MatchString(out) {
		t.Errorf("output lacks the OrderPlaced paths:\n%s", out)
	}

	// OrderShipped with a field added with a default: Avro resolution
	// would read it, but nothing declares it.
	insert("shop.order.OrderShipped", strings.Replace(shipped, `"fields":[`, `"fields":[{"name":"parcel_note","type":"string","default":"","doc":"d"},`, 1))
	code, out, _ = run(t, "schema", "verify", "--root", root, "--database-url", url, "--registry", "", "--archive-dir", "", "--format", "json")
	if code != ExitFail {
		t.Fatalf("undeclared writer schema: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, `"type":"shop.order.OrderShipped","version":"undeclared"`) || !strings.Contains(out, `"ok":false,"reason":"undeclared writer schema; Avro resolution into the current schema is possible`) {
		t.Errorf("json output does not name the type, version and reason:\n%s", out)
	}
	if code, _, _ := run(t, "schema", "verify", "--root", root, "--database-url", "", "--registry", "", "--archive-dir", ""); code != ExitUsage {
		t.Errorf("no source: exit %d, want 2", code)
	}
}
