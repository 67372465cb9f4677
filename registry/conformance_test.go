package registry_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestCompatibilityConformance replays subject histories with Avro Java's
// verdicts under every Confluent level through the registry's HTTP API: the
// project's own corpus (compat/testdata/conformance/histories.json, verdicts
// computed by compat/testdata/javacheck) always, and the reference histories
// in ../shared/reference/avro-compat when that folder is beside the
// repository. Each history is registered, the subject set to the level, and
// both the compatibility endpoint and a registration of the new schema must
// give the reference verdict (except that a schema already in the subject is
// returned, not checked, as Confluent does).
func TestCompatibilityConformance(t *testing.T) {
	t.Run("corpus", func(t *testing.T) {
		conformance(t, filepath.Join("..", "compat", "testdata", "conformance", "histories.json"))
	})
	shared := filepath.Join("..", "..", "shared", "reference", "avro-compat", "histories.json")
	if _, err := os.Stat(shared); err == nil {
		t.Run("reference", func(t *testing.T) { conformance(t, shared) })
	}
}

func conformance(t *testing.T, path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var histories []struct {
		Desc    string            `json:"desc"`
		History []json.RawMessage `json:"history"`
		New     json.RawMessage   `json:"new"`
		Levels  map[string]string `json:"levels"`
	}
	if err := json.Unmarshal(raw, &histories); err != nil {
		t.Fatal(err)
	}
	if len(histories) == 0 {
		t.Fatal("no histories")
	}
	base := newRegistry(t)
	checked := 0
	for i, h := range histories {
		for level, want := range h.Levels {
			subject := fmt.Sprintf("h%d-%s", i, level)
			mustCall(t, 200, "PUT", base+"/config/"+subject, map[string]any{"compatibility": "NONE"})
			for _, s := range h.History {
				register(t, base, subject, string(s))
			}
			if v := mustCall(t, 200, "GET", base+"/subjects/"+subject+"/versions", nil).([]any); len(v) != len(h.History) {
				t.Fatalf("%s: %d versions registered for a history of %d", subject, len(v), len(h.History))
			}
			mustCall(t, 200, "PUT", base+"/config/"+subject, map[string]any{"compatibility": level})
			wantOK := want == "compatible"
			v := mustCall(t, 200, "POST", base+"/compatibility/subjects/"+subject+"/versions?verbose=true", map[string]any{"schema": string(h.New)}).(map[string]any)
			if v["is_compatible"] != wantOK {
				t.Errorf("%q at %s: is_compatible %v, Avro Java says %s (%v)", h.Desc, level, v["is_compatible"], want, v["messages"])
			}
			// a schema that already is a version of the subject is not checked
			// again: registering it returns its id (as in Confluent)
			known, _ := call(t, "POST", base+"/subjects/"+subject, map[string]any{"schema": string(h.New)})
			status, body := call(t, "POST", base+"/subjects/"+subject+"/versions", map[string]any{"schema": string(h.New)})
			if wantStatus := map[bool]int{true: 200, false: 409}[wantOK || known == 200]; status != wantStatus {
				t.Errorf("%q at %s: register answered %d, want %d: %v", h.Desc, level, status, wantStatus, body)
			}
			checked++
		}
	}
	if !t.Failed() {
		t.Logf("%d history/level verdicts match Avro Java's", checked)
	}
}
