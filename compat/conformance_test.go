package compat_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/compat"
)

// corpora returns the conformance corpora to check: the project's own
// (testdata/conformance, always; written by TestWriteCorpus with Avro Java's
// verdicts) and, as an optional extra, the reference verdicts in
// ../shared/reference/avro-compat beside the repository when that folder
// exists (never required, also not under CI).
func corpora(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{"own": corpusDir}
	if _, err := os.Stat(filepath.Join(corpusDir, "pairs.json")); err != nil {
		t.Fatalf("the conformance corpus is missing: %v", err)
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return out
		}
		dir = parent
	}
	ref := filepath.Join(dir, "..", "shared", "reference", "avro-compat")
	if _, err := os.Stat(filepath.Join(ref, "pairs.json")); err == nil {
		out["shared"] = ref
	}
	return out
}

type verdict struct {
	Result            string   `json:"result"` // compatible, incompatible, error
	Incompatibilities []string `json:"incompatibilities"`
	Error             string   `json:"error"`
}

type pair struct {
	ID                string          `json:"id"`
	Group             string          `json:"group"`
	Desc              string          `json:"desc"`
	Writer            json.RawMessage `json:"writer"`
	Reader            json.RawMessage `json:"reader"`
	ReaderReadsWriter verdict         `json:"reader_reads_writer"`
	WriterReadsReader verdict         `json:"writer_reads_reader"`
}

type history struct {
	Desc    string            `json:"desc"`
	History []json.RawMessage `json:"history"`
	New     json.RawMessage   `json:"new"`
	Levels  map[string]string `json:"levels"`
	// Pairwise[i]: "new_reads_v<i+1>", "v<i+1>_reads_new" verdicts and
	// "details", the incompatibilities of both directions in that order.
	Pairwise []map[string]any `json:"pairwise"`
}

func load[T any](t *testing.T, path string) T {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func parse(t *testing.T, raw json.RawMessage) avro.Schema {
	t.Helper()
	s, err := avro.ParseWithCache(string(raw), "", &avro.SchemaCache{})
	if err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	return s
}

func strs(in []compat.Incompatibility) []string {
	out := make([]string, len(in))
	for i, x := range in {
		out[i] = x.String()
	}
	return out
}

// TestConformancePairs asserts Avro Java's verdict, incompatibility types,
// locations and messages for both directions of every reference pair.
func TestConformancePairs(t *testing.T) {
	for name, ref := range corpora(t) {
		t.Run(name, func(t *testing.T) { conformancePairs(t, ref) })
	}
}

func conformancePairs(t *testing.T, ref string) {
	pairs := load[[]pair](t, filepath.Join(ref, "pairs.json"))
	if len(pairs) == 0 {
		t.Fatal("no pairs")
	}
	agree, exact, total := 0, 0, 0
	for _, p := range pairs {
		t.Run(p.ID, func(t *testing.T) {
			reader, writer := parse(t, p.Reader), parse(t, p.Writer)
			for _, dir := range []struct {
				name string
				r, w avro.Schema
				want verdict
			}{
				{"reader_reads_writer", reader, writer, p.ReaderReadsWriter},
				{"writer_reads_reader", writer, reader, p.WriterReadsReader},
			} {
				total++
				got := compat.ReaderWriter(dir.r, dir.w)
				gotResult := "compatible"
				if len(got) > 0 {
					gotResult = "incompatible"
					if got[0].Type == compat.TypeError {
						gotResult = "error"
					}
				}
				if gotResult != dir.want.Result {
					t.Errorf("%s (%s): verdict %s, Avro Java %s\n got: %q\nwant: %q %s",
						dir.name, p.Desc, gotResult, dir.want.Result, strs(got), dir.want.Incompatibilities, dir.want.Error)
					continue
				}
				agree++
				if gotResult == "error" {
					exact++
					continue
				}
				want := dir.want.Incompatibilities
				if want == nil {
					want = []string{}
				}
				if g := strs(got); !slices.Equal(g, want) {
					t.Errorf("%s (%s): incompatibilities differ\n got: %q\nwant: %q", dir.name, p.Desc, g, want)
					continue
				}
				exact++
			}
		})
	}
	t.Logf("pairs: %d; directions: %d, verdict agrees %d/%d, type+location+message agree %d/%d",
		len(pairs), total, agree, total, exact, total)
}

// TestConformanceHistories asserts every Confluent level's verdict for every
// reference subject history.
func TestConformanceHistories(t *testing.T) {
	for name, ref := range corpora(t) {
		t.Run(name, func(t *testing.T) { conformanceHistories(t, ref) })
	}
}

func conformanceHistories(t *testing.T, ref string) {
	hs := load[[]history](t, filepath.Join(ref, "histories.json"))
	if len(hs) == 0 {
		t.Fatal("no histories")
	}
	agree, total := 0, 0
	for i, h := range hs {
		prev := make([]avro.Schema, len(h.History))
		for j, raw := range h.History {
			prev[j] = parse(t, raw)
		}
		next := parse(t, h.New)
		if len(h.Levels) != len(compat.Levels) {
			t.Errorf("history %d (%s): %d levels in the data, want %d", i, h.Desc, len(h.Levels), len(compat.Levels))
		}
		for name, want := range h.Levels {
			total++
			level, err := compat.ParseLevel(name)
			if err != nil {
				t.Errorf("history %d: %v", i, err)
				continue
			}
			got := "compatible"
			probs := compat.Check(level, prev, next)
			if len(probs) > 0 {
				got = "incompatible"
			}
			if got != want {
				t.Errorf("history %d (%s) %s: %s, Confluent %s; problems %q", i, h.Desc, name, got, want, strs(probs))
				continue
			}
			agree++
		}
	}
	t.Logf("histories: %d x levels: verdict agrees %d/%d", len(hs), agree, total)
}

// TestConformanceHistoryPairs asserts both directions between the new schema
// and each version of every reference history, with the details.
func TestConformanceHistoryPairs(t *testing.T) {
	for name, ref := range corpora(t) {
		t.Run(name, func(t *testing.T) { conformanceHistoryPairs(t, ref) })
	}
}

func conformanceHistoryPairs(t *testing.T, ref string) {
	hs := load[[]history](t, filepath.Join(ref, "histories.json"))
	agree, total := 0, 0
	for i, h := range hs {
		next := parse(t, h.New)
		if len(h.Pairwise) != len(h.History) {
			t.Errorf("history %d: %d pairwise entries for %d versions", i, len(h.Pairwise), len(h.History))
		}
		for j, pw := range h.Pairwise {
			total++
			old := parse(t, h.History[j])
			fwd := compat.ReaderWriter(next, old) // new reads v
			bwd := compat.ReaderWriter(old, next) // v reads new
			verdict := func(p []compat.Incompatibility) string {
				if len(p) > 0 {
					return "incompatible"
				}
				return "compatible"
			}
			wantNew, _ := pw[fmt.Sprintf("new_reads_v%d", j+1)].(string)
			wantOld, _ := pw[fmt.Sprintf("v%d_reads_new", j+1)].(string)
			var want []string
			if d, ok := pw["details"].([]any); ok {
				for _, x := range d {
					want = append(want, fmt.Sprint(x))
				}
			}
			got := append(strs(fwd), strs(bwd)...)
			if verdict(fwd) != wantNew || verdict(bwd) != wantOld || !slices.Equal(got, want) {
				t.Errorf("history %d (%s) v%d: new reads v %s (want %s), v reads new %s (want %s)\n got: %q\nwant: %q",
					i, h.Desc, j+1, verdict(fwd), wantNew, verdict(bwd), wantOld, got, want)
				continue
			}
			agree++
		}
	}
	t.Logf("history pairs: both directions and details agree %d/%d", agree, total)
}
