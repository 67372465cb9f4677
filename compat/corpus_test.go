package compat_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratahq/strata/compat"
)

// corpusDir is the project's own conformance corpus: pairs and histories
// with the verdicts of Apache Avro Java, written by TestWriteCorpus and read
// by the conformance tests, so a plain clone needs nothing beside it.
const corpusDir = "testdata/conformance"

// handPair is a hand-written writer/reader pair for one rule.
type handPair struct {
	group, desc    string
	writer, reader string
}

// rec builds a record schema named R with the given fields (JSON).
func rec(fields ...string) string {
	return `{"type":"record","name":"R","namespace":"t","fields":[` + strings.Join(fields, ",") + `]}`
}

// handPairs covers every incompatibility type Avro Java reports and the
// compatible evolutions the schema workflow relies on. Both directions of
// each pair are checked.
var handPairs = []handPair{
	// READER_FIELD_MISSING_DEFAULT_VALUE: fields added and removed.
	{"fields", "field added with a default", rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"int"}`, `{"name":"b","type":"string","default":"x"}`)},
	{"fields", "field added without a default", rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"int"}`, `{"name":"b","type":"string"}`)},
	{"fields", "field removed", rec(`{"name":"a","type":"int"}`, `{"name":"b","type":"string"}`), rec(`{"name":"a","type":"int"}`)},
	{"fields", "nullable field added with null default", rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"int"}`, `{"name":"b","type":["null","string"],"default":null}`)},
	{"fields", "record field added with a record default", rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"int"}`, `{"name":"m","type":{"type":"record","name":"M","fields":[{"name":"c","type":"long"}]},"default":{"c":1}}`)},
	{"fields", "array field added with an empty default", rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"int"}`, `{"name":"xs","type":{"type":"array","items":"string"},"default":[]}`)},
	// Renames with aliases.
	{"aliases", "field renamed with a reader alias", rec(`{"name":"old","type":"int"}`), rec(`{"name":"new","type":"int","aliases":["old"]}`)},
	{"aliases", "field renamed without an alias", rec(`{"name":"old","type":"int"}`), rec(`{"name":"new","type":"int"}`)},
	{"aliases", "record renamed with a reader alias", `{"type":"record","name":"Old","namespace":"t","fields":[{"name":"a","type":"int"}]}`, `{"type":"record","name":"New","namespace":"t","aliases":["t.Old"],"fields":[{"name":"a","type":"int"}]}`},
	{"aliases", "record renamed without an alias (NAME_MISMATCH)", `{"type":"record","name":"Old","namespace":"t","fields":[{"name":"a","type":"int"}]}`, `{"type":"record","name":"New","namespace":"t","fields":[{"name":"a","type":"int"}]}`},
	{"aliases", "record namespace changed (names compare without namespace)", `{"type":"record","name":"R","namespace":"a","fields":[{"name":"a","type":"int"}]}`, `{"type":"record","name":"R","namespace":"b","fields":[{"name":"a","type":"int"}]}`},
	// TYPE_MISMATCH and promotions.
	{"promotion", "int promoted to long", rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"long"}`)},
	{"promotion", "int promoted to double", rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"double"}`)},
	{"promotion", "long promoted to float", rec(`{"name":"a","type":"long"}`), rec(`{"name":"a","type":"float"}`)},
	{"promotion", "float promoted to double", rec(`{"name":"a","type":"float"}`), rec(`{"name":"a","type":"double"}`)},
	{"promotion", "string read as bytes", rec(`{"name":"a","type":"string"}`), rec(`{"name":"a","type":"bytes"}`)},
	{"promotion", "double to long (TYPE_MISMATCH)", rec(`{"name":"a","type":"double"}`), rec(`{"name":"a","type":"long"}`)},
	{"promotion", "string to int (TYPE_MISMATCH)", rec(`{"name":"a","type":"string"}`), rec(`{"name":"a","type":"int"}`)},
	{"promotion", "array items promoted", rec(`{"name":"a","type":{"type":"array","items":"int"}}`), rec(`{"name":"a","type":{"type":"array","items":"long"}}`)},
	{"promotion", "map values changed (TYPE_MISMATCH)", rec(`{"name":"a","type":{"type":"map","values":"string"}}`), rec(`{"name":"a","type":{"type":"map","values":"int"}}`)},
	{"promotion", "array read as map (TYPE_MISMATCH)", rec(`{"name":"a","type":{"type":"array","items":"int"}}`), rec(`{"name":"a","type":{"type":"map","values":"int"}}`)},
	{"logical", "timestamp-millis read as timestamp-micros (logical types ignored)", rec(`{"name":"a","type":{"type":"long","logicalType":"timestamp-millis"}}`), rec(`{"name":"a","type":{"type":"long","logicalType":"timestamp-micros"}}`)},
	{"logical", "decimal bytes with another scale", rec(`{"name":"a","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}}`), rec(`{"name":"a","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":3}}`)},
	// MISSING_ENUM_SYMBOLS.
	{"enums", "enum symbol added", rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}`), rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}}`)},
	{"enums", "enum symbol removed", rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}}`), rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}`)},
	{"enums", "enum symbol removed, reader has an enum default", rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}}`), rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}}`)},
	{"enums", "enum renamed (NAME_MISMATCH)", rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}`), rec(`{"name":"e","type":{"type":"enum","name":"F","symbols":["A"]}}`)},
	// FIXED_SIZE_MISMATCH.
	{"fixed", "fixed size changed", rec(`{"name":"f","type":{"type":"fixed","name":"F","size":16}}`), rec(`{"name":"f","type":{"type":"fixed","name":"F","size":32}}`)},
	{"fixed", "fixed renamed with an alias", rec(`{"name":"f","type":{"type":"fixed","name":"F","size":16}}`), rec(`{"name":"f","type":{"type":"fixed","name":"G","aliases":["t.F"],"size":16}}`)},
	// MISSING_UNION_BRANCH and unions.
	{"unions", "field made nullable", rec(`{"name":"a","type":"string"}`), rec(`{"name":"a","type":["null","string"],"default":null}`)},
	{"unions", "union branch added", rec(`{"name":"a","type":["null","string"]}`), rec(`{"name":"a","type":["null","string","int"]}`)},
	{"unions", "union branch removed (MISSING_UNION_BRANCH)", rec(`{"name":"a","type":["null","string","int"]}`), rec(`{"name":"a","type":["null","string"]}`)},
	{"unions", "union narrowed to its one branch", rec(`{"name":"a","type":["string"]}`), rec(`{"name":"a","type":"string"}`)},
	{"unions", "union branch promoted", rec(`{"name":"a","type":["null","int"]}`), rec(`{"name":"a","type":["null","long"]}`)},
	// Nesting: locations inside records, arrays and maps.
	{"nested", "nested record gains a field without a default", rec(`{"name":"m","type":{"type":"record","name":"M","fields":[{"name":"c","type":"int"}]}}`), rec(`{"name":"m","type":{"type":"record","name":"M","fields":[{"name":"c","type":"int"},{"name":"d","type":"int"}]}}`)},
	{"nested", "array of records changes an item field type", rec(`{"name":"xs","type":{"type":"array","items":{"type":"record","name":"I","fields":[{"name":"p","type":"string"}]}}}`), rec(`{"name":"xs","type":{"type":"array","items":{"type":"record","name":"I","fields":[{"name":"p","type":"int"}]}}}`)},
	{"nested", "map of enums loses a symbol", rec(`{"name":"m","type":{"type":"map","values":{"type":"enum","name":"E","symbols":["A","B"]}}}`), rec(`{"name":"m","type":{"type":"map","values":{"type":"enum","name":"E","symbols":["A"]}}}`)},
	{"nested", "two problems in one record", rec(`{"name":"a","type":"string"}`, `{"name":"b","type":"int"}`), rec(`{"name":"a","type":"int"}`, `{"name":"b","type":"int"}`, `{"name":"c","type":"int"}`)},
	{"nested", "recursive record", `{"type":"record","name":"N","namespace":"t","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","N"]}]}`, `{"type":"record","name":"N","namespace":"t","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","N"]}]}`},
	{"primitives", "top-level primitives: int read as string (TYPE_MISMATCH)", `"int"`, `"string"`},
	{"primitives", "top-level primitives: int read as long", `"int"`, `"long"`},
}

// handHistory is a subject history for the level verdicts.
type handHistory struct {
	desc     string
	versions []string
	next     string
}

var handHistories = []handHistory{
	{"add a field with a default, then drop the default",
		[]string{rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"int"}`, `{"name":"b","type":"string","default":"x"}`)},
		rec(`{"name":"a","type":"int"}`, `{"name":"b","type":"string"}`)},
	{"add fields with defaults, one per version",
		[]string{rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"int"}`, `{"name":"b","type":"int","default":0}`)},
		rec(`{"name":"a","type":"int"}`, `{"name":"b","type":"int","default":0}`, `{"name":"c","type":"int","default":0}`)},
	{"remove a field that had no default",
		[]string{rec(`{"name":"a","type":"int"}`, `{"name":"b","type":"int"}`)},
		rec(`{"name":"a","type":"int"}`)},
	{"remove a field that had a default",
		[]string{rec(`{"name":"a","type":"int"}`, `{"name":"b","type":"int","default":1}`)},
		rec(`{"name":"a","type":"int"}`)},
	{"promote int to long, then to double",
		[]string{rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"long"}`)},
		rec(`{"name":"a","type":"double"}`)},
	{"narrow long back to int",
		[]string{rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"long"}`)},
		rec(`{"name":"a","type":"int"}`)},
	{"add an enum symbol, then remove an old one",
		[]string{rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}`), rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}}`)},
		rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["B","C"]}}`)},
	{"rename a field with an alias over three versions",
		[]string{rec(`{"name":"old","type":"int"}`), rec(`{"name":"mid","type":"int","aliases":["old"]}`)},
		rec(`{"name":"new","type":"int","aliases":["mid"]}`)},
	{"make a field nullable, then required again",
		[]string{rec(`{"name":"a","type":"string"}`), rec(`{"name":"a","type":["null","string"],"default":null}`)},
		rec(`{"name":"a","type":"string"}`)},
	{"change a type in v1 only reachable transitively",
		[]string{rec(`{"name":"a","type":"string"}`), rec(`{"name":"a","type":"int","default":0}`), rec(`{"name":"a","type":"int","default":0}`, `{"name":"z","type":"int","default":0}`)},
		rec(`{"name":"a","type":"long","default":0}`, `{"name":"z","type":"int","default":0}`)},
}

// TestWriteCorpus writes testdata/conformance/{pairs,histories}.json with
// Apache Avro Java's verdicts. Run it through the differential harness:
//
//	compat/testdata/javacheck/run.sh corpus
func TestWriteCorpus(t *testing.T) {
	cmdline := os.Getenv("STRATA_AVRO_JAVA")
	if cmdline == "" || os.Getenv("STRATA_WRITE_CORPUS") == "" {
		t.Skip("writes the corpus: run compat/testdata/javacheck/run.sh corpus")
	}
	type job struct{ reader, writer string }
	var jobs []job
	var pairs []pair
	addPair := func(group, desc, writer, reader string) {
		pairs = append(pairs, pair{ID: fmt.Sprintf("S%03d", len(pairs)+1), Group: group, Desc: desc, Writer: json.RawMessage(writer), Reader: json.RawMessage(reader)})
		jobs = append(jobs, job{reader, writer}, job{writer, reader})
	}
	for _, p := range handPairs {
		addPair(p.group, p.desc, p.writer, p.reader)
	}
	// Generated pairs: random schemas and mutations of them (the
	// differential test's generator), those both parsers accept.
	g := &schemaGen{r: rand.New(rand.NewPCG(2026, 16))}
	for n := 0; n < 160; {
		a := g.top()
		b := g.mutate(a)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if _, err := compat.Parse(string(ja)); err != nil {
			continue
		}
		if _, err := compat.Parse(string(jb)); err != nil {
			continue
		}
		addPair("generated", fmt.Sprintf("generated pair %d (seed 2026)", n+1), string(ja), string(jb))
		n++
	}
	// Histories: new vs each version, both directions.
	var hjobs []job
	for _, h := range handHistories {
		for _, v := range h.versions {
			hjobs = append(hjobs, job{h.next, v}, job{v, h.next})
		}
	}
	all := append(append([]job(nil), jobs...), hjobs...)
	var input strings.Builder
	for _, j := range all {
		fmt.Fprintf(&input, "{\"reader\":%s,\"writer\":%s}\n", j.reader, j.writer)
	}
	fields := strings.Fields(cmdline)
	cmd := exec.Command(fields[0], fields[1:]...)
	cmd.Stdin = strings.NewReader(input.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run Avro Java: %v", err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != len(all) {
		t.Fatalf("Avro Java answered %d lines for %d checks", len(lines), len(all))
	}
	toVerdict := func(line string) verdict {
		parts := strings.Split(line, "\t")
		v := verdict{Result: parts[0], Incompatibilities: []string{}}
		switch parts[0] {
		case "incompatible":
			v.Incompatibilities = parts[1:]
		case "error", "parse-error":
			v.Error = strings.Join(parts[1:], " ")
		}
		return v
	}
	kept := pairs[:0]
	for i, p := range pairs {
		p.ReaderReadsWriter, p.WriterReadsReader = toVerdict(lines[2*i]), toVerdict(lines[2*i+1])
		if p.ReaderReadsWriter.Result == "parse-error" || p.WriterReadsReader.Result == "parse-error" {
			if p.Group != "generated" {
				t.Errorf("Avro Java refuses hand-written pair %q: %s", p.Desc, p.ReaderReadsWriter.Error+p.WriterReadsReader.Error)
			}
			continue
		}
		kept = append(kept, p)
	}
	var hs []history
	k := len(jobs)
	for _, h := range handHistories {
		e := history{Desc: h.desc, New: json.RawMessage(h.next), Levels: map[string]string{}}
		newReads := make([]bool, len(h.versions))
		oldReads := make([]bool, len(h.versions))
		for i, v := range h.versions {
			e.History = append(e.History, json.RawMessage(v))
			a, b := toVerdict(lines[k]), toVerdict(lines[k+1])
			k += 2
			newReads[i], oldReads[i] = a.Result == "compatible", b.Result == "compatible"
			e.Pairwise = append(e.Pairwise, map[string]any{
				fmt.Sprintf("new_reads_v%d", i+1): a.Result,
				fmt.Sprintf("v%d_reads_new", i+1): b.Result,
				"details":                         append(append([]string{}, a.Incompatibilities...), b.Incompatibilities...),
			})
		}
		// Confluent's levels over Avro Java's pairwise verdicts.
		last := len(h.versions) - 1
		all := func(xs []bool) bool {
			for _, x := range xs {
				if !x {
					return false
				}
			}
			return true
		}
		word := func(ok bool) string {
			if ok {
				return "compatible"
			}
			return "incompatible"
		}
		e.Levels["BACKWARD"] = word(newReads[last])
		e.Levels["BACKWARD_TRANSITIVE"] = word(all(newReads))
		e.Levels["FORWARD"] = word(oldReads[last])
		e.Levels["FORWARD_TRANSITIVE"] = word(all(oldReads))
		e.Levels["FULL"] = word(newReads[last] && oldReads[last])
		e.Levels["FULL_TRANSITIVE"] = word(all(newReads) && all(oldReads))
		e.Levels["NONE"] = "compatible"
		hs = append(hs, e)
	}
	write := func(name string, v any) {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(corpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(corpusDir, name), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pairs.json", kept)
	write("histories.json", hs)
	t.Logf("wrote %d pairs (%d hand-written) and %d histories to %s", len(kept), len(handPairs), len(hs), corpusDir)
}
