package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratahq/strata/eventstore/archive"
)

// archive -> show says archived -> show --archive-dir reads through ->
// list, verify -> restore -> show reads the store again; backup verify
// before and after.
// shopClosed are the example shop's terminal events (the CLI has no default).
const shopClosed = "shop.order.OrderShipped,shop.order.OrderCancelled"

func TestArchiveRestoreCommands(t *testing.T) {
	url, pool, _, stream := opsStore(t)
	dir := t.TempDir()
	before, err := archive.StreamChecksums(context.Background(), pool, nil)
	if err != nil {
		t.Fatal(err)
	}

	// No closed types named: the CLI knows no domain's terminal events, so
	// only tombstoned streams would go.
	t.Setenv("STRATA_ARCHIVE_CLOSED_TYPES", "")
	code, out, errOut := run(t, "archive", "--before", "2026-06-01", "--dry-run", "--database-url", url)
	if code != ExitOK || strings.Contains(out, stream) || !strings.Contains(errOut, "only tombstoned streams") {
		t.Fatalf("archive --dry-run without closed types: exit %d %s %s", code, out, errOut)
	}
	code, out, errOut = run(t, "archive", "--before", "2026-06-01", "--dir", dir, "--dry-run", "--database-url", url, "--closed-types", shopClosed)
	if code != ExitOK || !strings.Contains(out, stream) || !strings.Contains(out, `"dry_run":true`) {
		t.Fatalf("archive --dry-run: exit %d %s %s", code, out, errOut)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("dry run wrote %d entries", len(ents))
	}
	code, out, errOut = run(t, "archive", "--before", "2026-06-01", "--dir", dir, "--database-url", url, "--closed-types", shopClosed)
	var sum struct {
		ID      string `json:"archive_id"`
		Streams int    `json:"streams"`
		Events  int64  `json:"events"`
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &sum) != nil || sum.Streams != 1 || sum.Events != 2 {
		t.Fatalf("archive: exit %d %s %s", code, out, errOut)
	}
	for _, phase := range []string{"archive: write", "archive: verify", "archive: delete"} {
		if !strings.Contains(errOut, phase) {
			t.Fatalf("no %q progress:\n%s", phase, errOut)
		}
	}
	code, _, errOut = run(t, "events", "show", stream, "--database-url", url)
	if code != ExitFail || !strings.Contains(errOut, "is archived") || !strings.Contains(errOut, "strata restore "+sum.ID) {
		t.Fatalf("events show of an archived stream: exit %d: %s", code, errOut)
	}
	code, out, errOut = run(t, "events", "show", stream, "--database-url", url, "--archive-dir", dir)
	if evs := jsonLines(t, out); code != ExitOK || len(evs) != 2 || evs[0].Type != "shop.order.OrderPlaced" || evs[0].Error != "" {
		t.Fatalf("events show --archive-dir: exit %d %s %s", code, out, errOut)
	}
	code, out, _ = run(t, "archive", "list", "--dir", dir)
	if code != ExitOK || !strings.Contains(out, sum.ID) {
		t.Fatalf("archive list: exit %d %s", code, out)
	}
	code, out, errOut = run(t, "archive", "verify", sum.ID, "--dir", dir)
	if code != ExitOK || !strings.Contains(out, `"ok":true`) {
		t.Fatalf("archive verify: exit %d %s %s", code, out, errOut)
	}
	// sha256sum-compatible checksums file.
	if b, err := os.ReadFile(filepath.Join(dir, sum.ID, archive.SumsFile)); err != nil || !strings.Contains(string(b), "  events-00001.avro\n") {
		t.Fatalf("SHA256SUMS: %q %v", b, err)
	}

	code, out, errOut = run(t, "restore", sum.ID, "--dir", dir, "--database-url", url)
	if code != ExitOK || !strings.Contains(out, `"restored":1`) {
		t.Fatalf("restore: exit %d %s %s", code, out, errOut)
	}
	after, err := archive.StreamChecksums(context.Background(), pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if after[stream] != before[stream] {
		t.Fatalf("after restore %+v, before %+v", after[stream], before[stream])
	}
	if code, out, _ := run(t, "events", "show", stream, "--database-url", url); code != ExitOK || len(jsonLines(t, out)) != 2 {
		t.Fatalf("events show after restore: exit %d %s", code, out)
	}
	if code, _, errOut := run(t, "archive", "--dir", dir, "--database-url", url); code != ExitUsage || !strings.Contains(errOut, "cut-off") {
		t.Fatalf("archive without a cut-off: exit %d %s", code, errOut)
	}
}
