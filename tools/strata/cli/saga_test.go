package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/saga"
	"github.com/stratahq/strata/tools/strata/cli"
)

func runStrata(args ...string) (int, string) {
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String() + errb.String()
}

func TestSagaUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"saga"}, "missing subcommand"},
		{[]string{"saga", "show"}, "give its ID"},
		{[]string{"saga", "retry"}, "give its ID"},
		{[]string{"saga", "resolve"}, "give its ID"},
		{[]string{"saga", "frobnicate"}, "unknown subcommand"},
		{[]string{"saga", "list", "extra"}, "unexpected argument"},
		{[]string{"saga", "show", "a", "b"}, "unexpected arguments"},
		{[]string{"saga", "list", "--database-url", ""}, "no database"},
	} {
		code, out := runStrata(tc.args...)
		if code != cli.ExitUsage || !strings.Contains(out, tc.want) {
			t.Errorf("strata %v: exit %d, output %q; want exit %d and %q", tc.args, code, out, cli.ExitUsage, tc.want)
		}
	}
}

// Against an empty saga schema: list is empty, show and retry say not found.
// (The full list/show/retry flow on a parked saga is tested in
// services/saga/service, TestFulfilmentParkedThenRetry.)
func TestSagaCommandsOnEmptyDatabase(t *testing.T) {
	url := testenv.NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if code, out := runStrata("saga", "list", "--database-url", url); code != cli.ExitUsage || !strings.Contains(out, "saga") {
		t.Errorf("list without the saga schema: exit %d: %s", code, out)
	}
	if err := saga.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	if code, out := runStrata("saga", "list", "--stuck", "--database-url", url); code != cli.ExitOK || !strings.HasPrefix(out, "ID") {
		t.Errorf("list --stuck: exit %d: %s", code, out)
	}
	if code, out := runStrata("saga", "list", "-o", "json", "--database-url", url); code != cli.ExitOK || strings.TrimSpace(out) != "" {
		t.Errorf("list -o json (JSON Lines, none): exit %d: %s", code, out)
	}
	if code, out := runStrata("saga", "show", "nope", "--database-url", url); code != cli.ExitFail || !strings.Contains(out, "no saga nope") {
		t.Errorf("show: exit %d: %s", code, out)
	}
	if code, out := runStrata("saga", "retry", "nope", "--database-url", url); code != cli.ExitFail || !strings.Contains(out, "not found") {
		t.Errorf("retry: exit %d: %s", code, out)
	}
	if code, out := runStrata("saga", "resolve", "nope", "--note", "x", "--database-url", url); code != cli.ExitFail || !strings.Contains(out, "not found") {
		t.Errorf("resolve: exit %d: %s", code, out)
	}
}
