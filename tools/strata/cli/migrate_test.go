package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stratahq/strata/internal/testenv"
)

func TestMigrateAppliesOnceThenIsANoOp(t *testing.T) {
	url := testenv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	if code := Run(ctx, []string{"migrate", "--database-url", url}, nil, &out, &errb); code != ExitOK {
		t.Fatalf("first run: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "applied 0001_event_store") {
		t.Fatalf("first run output: %s", out.String())
	}
	out.Reset()
	if code := Run(ctx, []string{"migrate", "--database-url", url}, nil, &out, &errb); code != ExitOK {
		t.Fatalf("second run: exit %d: %s", code, errb.String())
	}
	if strings.Contains(out.String(), "applied 0") || !strings.Contains(out.String(), "(0 applied now)") {
		t.Fatalf("second run output: %s", out.String())
	}
	out.Reset()
	if code := Run(ctx, []string{"migrate", "--list"}, nil, &out, &errb); code != ExitOK || !strings.HasPrefix(out.String(), "MIGRATION\n0001_event_store\n") ||
		!strings.Contains(out.String(), "0002_read_horizon") {
		t.Fatalf("--list: exit %d: %s", code, out.String())
	}
	out.Reset()
	if code := Run(ctx, []string{"migrate", "--list", "-o", "json"}, nil, &out, &errb); code != ExitOK || !strings.HasPrefix(out.String(), `{"name":"0001_event_store"}`+"\n") {
		t.Fatalf("--list -o json: exit %d: %s", code, out.String())
	}
	t.Setenv("DATABASE_URL", "")
	if code := Run(ctx, []string{"migrate"}, nil, &out, &errb); code != ExitUsage {
		t.Fatalf("no database: exit %d", code)
	}
}
