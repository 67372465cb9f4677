package project_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratahq/strata/compat"
	"github.com/stratahq/strata/project"
)

func TestParseDefaults(t *testing.T) {
	p, err := project.Parse("/x/strata.yaml", []byte("version: 1\nmodule: github.com/example/ledger\nnamespace: bank\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := project.Schemas{Avro: "schemas/avro", Subjects: "schemas/subjects.yaml"}
	if p.Schemas != want {
		t.Errorf("schemas = %+v, want %+v", p.Schemas, want)
	}
	if p.Generate.Out != "gen" || p.Generate.SQLC != "" {
		t.Errorf("generate = %+v", p.Generate)
	}
	if got := p.EventsTopic("account", "ledger"); got != "events.account" {
		t.Errorf("EventsTopic = %q", got)
	}
	if got := p.CommandsTopic("ledger"); got != "commands.ledger" {
		t.Errorf("CommandsTopic = %q", got)
	}
	if got := p.Path("schemas/avro"); got != filepath.FromSlash("/x/schemas/avro") {
		t.Errorf("Path = %q", got)
	}
	if got := p.AvroNamespace("ledger"); got != "bank.ledger" {
		t.Errorf("AvroNamespace = %q", got)
	}
}

func TestParseFull(t *testing.T) {
	src := `version: 1
module: github.com/example/ledger
namespace: acme.bank
schemas:
  avro: contracts/avro
  proto: contracts/proto
  subjects: contracts/subjects.yaml
generate:
  out: internal/gen
  sqlc: db/sqlc.yaml
topics:
  events: "bank.{domain}.{stream_type}"
  commands: "cmd.{domain}"
`
	p, err := project.Parse("strata.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if p.Schemas.Proto != "contracts/proto" || p.Generate.SQLC != "db/sqlc.yaml" || p.Generate.Out != "internal/gen" {
		t.Errorf("got %+v %+v", p.Schemas, p.Generate)
	}
	if got := p.EventsTopic("account", "ledger"); got != "bank.ledger.account" {
		t.Errorf("EventsTopic = %q", got)
	}
}

// Every problem is reported at once, each naming the file, line and key.
func TestParseErrors(t *testing.T) {
	src := `version: 2
module: "not a module"
namespace: bank-2
schemas:
  avro: /abs
  protos: x
generate:
  out: ../elsewhere
topics:
  events: "events.{aggregate}"
colour: blue
`
	_, err := project.Parse("strata.yaml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"strata.yaml:1: version: unsupported version 2",
		"strata.yaml:2: module: \"not a module\" is not a Go module path",
		"strata.yaml:3: namespace: \"bank-2\" is not an Avro namespace",
		"strata.yaml:5: schemas.avro: \"/abs\": must be relative",
		"strata.yaml:6: schemas.protos: unknown key (want one of avro, proto, subjects)",
		"strata.yaml:8: generate.out: \"../elsewhere\": must stay inside the project folder",
		"strata.yaml:10: topics.events: \"events.{aggregate}\": unknown placeholder {aggregate}",
		"strata.yaml:11: colour: unknown key",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	var pe *project.Error
	if !errors.As(err, &pe) {
		t.Errorf("not a *project.Error: %T", err)
	}
}

func TestParseBadValues(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"missing required": {"version: 1\n", "module: required"},
		"missing version":  {"module: a.b/c\nnamespace: n\n", "version: missing"},
		"wrong kind":       {"version: 1\nmodule: [a]\nnamespace: n\n", "strata.yaml:2: module: want a string, got a list"},
		"string version":   {"version: one\nmodule: a.b/c\nnamespace: n\n", "strata.yaml:1: version: want an integer"},
		"repeated key":     {"version: 1\nmodule: a.b/c\nmodule: a.b/d\nnamespace: n\n", "strata.yaml:3: module: repeated key"},
		"bad yaml":         {"version: 1\nmodule: [\n", "invalid YAML"},
		"empty":            {"", "empty file"},
		"not a mapping":    {"- a\n", "want a mapping"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := project.Parse("strata.yaml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// A value that does not decode is reported once, not again as missing.
	_, err := project.Parse("strata.yaml", []byte("version: 1\nmodule: [a]\nnamespace: n\n"))
	if strings.Contains(err.Error(), "required") {
		t.Errorf("reported twice: %v", err)
	}
}

func TestFindAndLoad(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "schemas", "proto"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, project.FileName), []byte("version: 1\nmodule: example.com/m\nnamespace: n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	file, err := project.Find(sub)
	if err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if p.Dir != dir || p.Schemas.Proto != "schemas/proto" {
		t.Errorf("Dir %q Proto %q", p.Dir, p.Schemas.Proto)
	}
	if _, err := project.Find(t.TempDir()); !errors.Is(err, project.ErrNotFound) {
		t.Errorf("Find in an empty folder: %v", err)
	}
}

func TestParseSubjects(t *testing.T) {
	src := `naming: RecordNameStrategy
subjects:
  bank.ledger.Deposited:
    level: backward-transitive
    producers: [ledger]
  bank.ledger.Deposit:
    kind: command
    level: BACKWARD
    topic: commands.ledger
  bank.ledger.Other:
`
	s, err := project.ParseSubjects("subjects.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Level("bank.ledger.Deposited"); got != compat.BackwardTransitive {
		t.Errorf("level = %s", got)
	}
	if got := s.Level("bank.ledger.New"); got != compat.BackwardTransitive {
		t.Errorf("a new subject's default level = %s, want BACKWARD_TRANSITIVE", got)
	}
	if s.HasLevel("bank.ledger.Other") || !s.HasLevel("bank.ledger.Deposit") {
		t.Error("HasLevel")
	}
	if s.Kind("bank.ledger.Deposit") != project.KindCommand || s.Kind("bank.ledger.Other") != project.KindEvent {
		t.Error("Kind")
	}
	if got := s.Subjects["bank.ledger.Deposit"].Line; got != 7 {
		t.Errorf("line = %d", got)
	}
}

func TestParseSubjectsErrors(t *testing.T) {
	src := `naming: TopicNameStrategy
default_level: SIDEWAYS
subjects:
  a.b.C:
    levle: NONE
    kind: query
  a.b.D:
    level: BACKWARDS
    producers: order
`
	_, err := project.ParseSubjects("subjects.yaml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"subjects.yaml:1: naming: \"TopicNameStrategy\": only RecordNameStrategy",
		"subjects.yaml:2: default_level: unknown compatibility level \"SIDEWAYS\"",
		"subjects.yaml:5: subjects.a.b.C.levle: unknown key",
		"subjects.yaml:6: subjects.a.b.C.kind: \"query\"",
		"subjects.yaml:8: subjects.a.b.D.level: unknown compatibility level \"BACKWARDS\"",
		"subjects.yaml:9: subjects.a.b.D.producers: want a list of strings",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// A base commit's subjects file may have keys this version dropped.
func TestParseSubjectsAt(t *testing.T) {
	src := "default_level: BACKWARD\ntopic_prefix: events.\nsubjects:\n  a.b.C:\n    level: FULL\n"
	if _, err := project.ParseSubjects("s.yaml", []byte(src)); err == nil {
		t.Error("strict parse accepted topic_prefix")
	}
	s, err := project.ParseSubjectsAt("s.yaml", []byte(src))
	if err != nil || s.Level("a.b.C") != compat.Full || s.Level("x") != compat.Backward {
		t.Errorf("%v %+v", err, s)
	}
}

func TestParseSubjectsHistory(t *testing.T) {
	src := `subjects:
  bank.ledger.Deposited:
    level: BACKWARD_TRANSITIVE
    history:
      - version: 1
        schema: ledger/history/v1.avsc
        path: upcaster
      - version: 2
        schema: ledger/history/v2.avsc
        path: resolution
`
	s, err := project.ParseSubjects("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	h := s.Subjects["bank.ledger.Deposited"].History
	if len(h) != 2 || h[0].Path != project.PathUpcaster || h[1].Version != 2 || h[1].Line != 8 {
		t.Errorf("history = %+v", h)
	}
	bad := `subjects:
  bank.ledger.Deposited:
    history:
      - version: 1
        schema: /abs.avsc
        path: magic
      - version: 3
        path: upcaster
`
	_, err = project.ParseSubjects("s.yaml", []byte(bad))
	for _, want := range []string{
		`s.yaml:6: subjects.bank.ledger.Deposited.history[0].path: "magic": want upcaster or resolution`,
		`subjects.bank.ledger.Deposited.history[0].schema: "/abs.avsc": must be relative`,
		`s.yaml:7: subjects.bank.ledger.Deposited.history[1].schema: missing`,
		`s.yaml:7: subjects.bank.ledger.Deposited.history[1].version: 3 follows 1`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
