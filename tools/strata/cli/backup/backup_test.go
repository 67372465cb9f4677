package backup

import (
	"strings"
	"testing"

	"github.com/stratahq/strata/eventstore/archive"
)

func TestCompareBackupFindsDifferences(t *testing.T) {
	src := map[string]archive.StreamSum{
		"a": {StreamID: "a", Events: 2, Version: 2, Checksum: strings.Repeat("1", 64)},
		"b": {StreamID: "b", Events: 1, Version: 1, Checksum: strings.Repeat("2", 64)},
	}
	dst := map[string]archive.StreamSum{
		"a": {StreamID: "a", Events: 2, Version: 2, Checksum: strings.Repeat("9", 64)}, // a payload differs
		"c": {StreamID: "c", Events: 1, Version: 1, Checksum: strings.Repeat("3", 64)}, // not in the source
	}
	counts := map[string]int64{"events": 3}
	diffs := compareBackup(src, dst, counts, map[string]int64{"events": 3}, map[string]string{"f": "x"}, map[string]string{"f": "y"})
	want := []string{"stream a: source 2 events", "stream b: 1 events in the source, missing", "stream c: in the restore, not in the source", "writer schema f differs"}
	if len(diffs) != len(want) {
		t.Fatalf("diffs = %q", diffs)
	}
	for i, w := range want {
		if !strings.Contains(diffs[i], w) {
			t.Fatalf("diff %d = %q, want %q", i, diffs[i], w)
		}
	}
	if d := compareBackup(src, src, counts, counts, nil, nil); len(d) != 0 {
		t.Fatalf("identical: %q", d)
	}
}
