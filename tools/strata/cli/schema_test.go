package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the strata command line in-process.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

const placedV1 = `{
  "type": "record",
  "name": "OrderPlaced",
  "namespace": "shop.order",
  "doc": "An order was placed.",
  "fields": [
    {"name": "order_id", "type": "string", "doc": "Order id."},
    {"name": "ship_to", "type": "shop.order.Address", "doc": "Where to."}
  ]
}
`

// placedV2 adds a field with a default: compatible.
const placedV2 = `{
  "type": "record",
  "name": "OrderPlaced",
  "namespace": "shop.order",
  "doc": "An order was placed.",
  "fields": [
    {"name": "order_id", "type": "string", "doc": "Order id."},
    {"name": "ship_to", "type": "shop.order.Address", "doc": "Where to."},
    {"name": "currency", "type": "string", "default": "EUR", "doc": "ISO 4217 code."}
  ]
}
`

// placedV3 drops currency's default: reads v2 data, not v1 data.
const placedV3 = `{
  "type": "record",
  "name": "OrderPlaced",
  "namespace": "shop.order",
  "doc": "An order was placed.",
  "fields": [
    {"name": "order_id", "type": "string", "doc": "Order id."},
    {"name": "ship_to", "type": "shop.order.Address", "doc": "Where to."},
    {"name": "currency", "type": "string", "doc": "ISO 4217 code."}
  ]
}
`

const address = `{
  "type": "record",
  "name": "Address",
  "namespace": "shop.order",
  "doc": "A postal address.",
  "fields": [
    {"name": "city", "type": "string", "doc": "City."}
  ]
}
`

// addressV2 changes a field type inside the embedded record.
const addressV2 = `{
  "type": "record",
  "name": "Address",
  "namespace": "shop.order",
  "doc": "A postal address.",
  "fields": [
    {"name": "city", "type": "int", "doc": "City."}
  ]
}
`

func TestSchemaUsage(t *testing.T) {
	if code, _, _ := run(t, "schema"); code != ExitUsage {
		t.Errorf("no subcommand: exit %d", code)
	}
	if code, _, _ := run(t, "schema", "frobnicate"); code != ExitUsage {
		t.Errorf("unknown subcommand: exit %d", code)
	}
	if code, out, _ := run(t, "schema", "--help"); code != ExitOK || !strings.Contains(out, "check") || !strings.Contains(out, "verify") {
		t.Errorf("help: exit %d, %q", code, out)
	}
	if code, out, _ := run(t, "help", "schema", "check"); code != ExitOK || !strings.Contains(out, "--allow-lower-level") {
		t.Errorf("help schema check: exit %d, %q", code, out)
	}
	if code, _, errs := run(t, "schema", "check", "--no-such-flag"); code != ExitUsage || !strings.Contains(errs, "Usage:") {
		t.Errorf("bad flag: exit %d, %q", code, errs)
	}
}

func TestSchemaCompatCommand(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "schemas", "avro")
	writeFile(t, filepath.Join(root, "order", "Address.avsc"), address)
	v1 := filepath.Join(dir, "v1", "order", "OrderPlaced.avsc")
	v2 := filepath.Join(dir, "v2", "order", "OrderPlaced.avsc")
	v3 := filepath.Join(dir, "v3", "order", "OrderPlaced.avsc")
	for p, s := range map[string]string{v1: placedV1, v2: placedV2, v3: placedV3} {
		writeFile(t, p, s)
		writeFile(t, filepath.Join(filepath.Dir(p), "Address.avsc"), address) // references resolve in the folder
	}

	if code, out, errs := run(t, "schema", "compat", v1, v2); code != ExitOK {
		t.Errorf("v1 -> v2 BACKWARD: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := run(t, "schema", "compat", "--level", "BACKWARD", v2, v3); code != ExitOK {
		t.Errorf("v2 -> v3 BACKWARD: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ := run(t, "schema", "compat", "--level", "BACKWARD_TRANSITIVE", v1, v2, v3)
	if code != ExitFail {
		t.Fatalf("v1, v2 -> v3 BACKWARD_TRANSITIVE: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "READER_FIELD_MISSING_DEFAULT_VALUE /fields/2 currency") {
		t.Errorf("output lacks type, location and message:\n%s", out)
	}
	code, out, _ = run(t, "schema", "compat", "--level", "full_transitive", "--format", "json", v1, v2, v3)
	var res struct {
		Compatible bool
		Problems   []struct{ Type, Location, Message, Direction, Against string } `json:"incompatibilities"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != ExitFail || res.Compatible || len(res.Problems) != 1 ||
		res.Problems[0].Against != v1 || res.Problems[0].Direction != "BACKWARD" {
		t.Errorf("json: exit %d, %+v, %v\n%s", code, res, err, out)
	}
	if code, _, _ := run(t, "schema", "compat", "--level", "NONE", v1, v3); code != ExitOK {
		t.Errorf("NONE: exit %d", code)
	}
	// Usage and unreadable input: 2.
	for _, args := range [][]string{
		{"schema", "compat", v1},
		{"schema", "compat", "--level", "SIDEWAYS", v1, v2},
		{"schema", "compat", v1, filepath.Join(dir, "missing.avsc")},
	} {
		if code, _, _ := run(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	bad := filepath.Join(dir, "bad.avsc")
	writeFile(t, bad, `{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]}`)
	if code, _, _ := run(t, "schema", "compat", v1, bad); code != ExitUsage {
		t.Errorf("unparsable: exit %d, want 2", code)
	}
}

// writeProject writes a project file for the shop's namespace to dir.
func writeProject(t *testing.T, dir string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "strata.yaml"), "version: 1\nmodule: example.com/shop\nnamespace: shop\n")
}

func TestSchemaLintCommand(t *testing.T) {
	dir := t.TempDir()
	writeProject(t, dir)
	writeFile(t, filepath.Join(dir, "schemas", "avro", "order", "Address.avsc"), address)
	writeFile(t, filepath.Join(dir, "schemas", "avro", "order", "OrderPlaced.avsc"), placedV2)
	if code, out, errs := run(t, "schema", "lint", "--root", dir); code != ExitOK {
		t.Fatalf("clean: exit %d\n%s%s", code, out, errs)
	}
	writeFile(t, filepath.Join(dir, "schemas", "avro", "order", "OrderPlaced.avsc"),
		strings.Replace(placedV2, `"default": "EUR", "doc": "ISO 4217 code."`, `"default": 12`, 1))
	code, out, _ := run(t, "schema", "lint", "--root", dir)
	if code != ExitFail {
		t.Fatalf("findings: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"schemas/avro/order/OrderPlaced.avsc:9: DOC field currency has no doc",
		"schemas/avro/order/OrderPlaced.avsc:9: DEFAULT field currency: default 12 is not valid: want a string",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	// One file: only its findings.
	code, out, _ = run(t, "schema", "lint", "--root", dir, "schemas/avro/order/Address.avsc")
	if code != ExitOK || out != "" {
		t.Errorf("single clean file: exit %d\n%s", code, out)
	}
	// JSON, and an absolute file path.
	code, out, _ = run(t, "schema", "lint", "--format", "json", filepath.Join(dir, "schemas", "avro", "order", "OrderPlaced.avsc"))
	var findings []struct {
		Path, Rule, Message string
		Line                int
	}
	if err := json.Unmarshal([]byte(out), &findings); err != nil || code != ExitFail || len(findings) != 2 ||
		findings[0].Line != 9 || !strings.HasSuffix(findings[0].Path, "/schemas/avro/order/OrderPlaced.avsc") ||
		!filepath.IsAbs(findings[0].Path) {
		t.Errorf("json: exit %d, %v, %+v\n%s", code, err, findings, out)
	}
	if code, _, _ := run(t, "schema", "lint", "--root", dir, "no/such/dir"); code != ExitUsage {
		t.Errorf("missing path: exit %d", code)
	}
}

// gitRepo makes a repository with main holding the given files, then a
// feature branch checked out.
func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	gitIn(t, dir, "init", "-q", "-b", "main")
	writeProject(t, dir)
	if _, ok := files[subjectsPath]; !ok {
		writeFile(t, filepath.Join(dir, subjectsPath), "subjects:\n  shop.order.OrderPlaced:\n    level: BACKWARD\n")
	}
	commitFiles(t, dir, files, "v1")
	gitIn(t, dir, "checkout", "-q", "-b", "feature")
	return dir
}

func commitFiles(t *testing.T, dir string, files map[string]string, msg string) {
	t.Helper()
	for p, s := range files {
		writeFile(t, filepath.Join(dir, p), s)
	}
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", msg)
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

const orderPath = "schemas/avro/order/OrderPlaced.avsc"
const addressPath = "schemas/avro/order/Address.avsc"
const subjectsPath = "schemas/subjects.yaml"

func TestSchemaCheckGitBreakingChange(t *testing.T) {
	dir := gitRepo(t, map[string]string{orderPath: placedV1, addressPath: address})

	// Unchanged work tree: nothing to report.
	if code, out, errs := run(t, "schema", "check", "--root", dir); code != ExitOK {
		t.Fatalf("unchanged: exit %d\n%s%s", code, out, errs)
	}
	// A compatible change (field with default): exit 0.
	writeFile(t, filepath.Join(dir, orderPath), placedV2)
	if code, out, errs := run(t, "schema", "check", "--root", dir); code != ExitOK {
		t.Fatalf("compatible change: exit %d\n%s%s", code, out, errs)
	}
	// A breaking change (new field without default) in the work tree.
	writeFile(t, filepath.Join(dir, orderPath), placedV3)
	code, out, errs := run(t, "schema", "check", "--root", dir)
	if code != ExitFail {
		t.Fatalf("breaking change: exit %d, want 1\n%s%s", code, out, errs)
	}
	want := "schemas/avro/order/OrderPlaced.avsc:9: READER_FIELD_MISSING_DEFAULT_VALUE shop.order.OrderPlaced /fields/2: currency (BACKWARD: the new schema cannot read data written with git:"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks\n%s\ngot:\n%s", want, out)
	}
	// The same as JSON.
	code, out, _ = run(t, "schema", "check", "--root", dir, "--format", "json")
	var rep struct {
		Compatible bool `json:"compatible"`
		Findings   []struct {
			Rule    string `json:"rule"`
			Line    int    `json:"line"`
			Subject string `json:"subject"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if code != ExitFail || rep.Compatible || len(rep.Findings) != 1 || rep.Findings[0].Rule != "READER_FIELD_MISSING_DEFAULT_VALUE" ||
		rep.Findings[0].Line != 9 || rep.Findings[0].Subject != "shop.order.OrderPlaced" {
		t.Errorf("json report: exit %d %+v", code, rep)
	}
	// A breaking change in an embedded type is found through its subject and
	// reported at the line in the embedded type's file.
	writeFile(t, filepath.Join(dir, orderPath), placedV1)
	writeFile(t, filepath.Join(dir, addressPath), addressV2)
	code, out, _ = run(t, "schema", "check", "--root", dir)
	if code != ExitFail || !strings.Contains(out, "schemas/avro/order/Address.avsc:7: TYPE_MISMATCH shop.order.OrderPlaced /fields/1/type/fields/0/type: reader type: INT not compatible with writer type: STRING") {
		t.Errorf("embedded change: exit %d\n%s", code, out)
	}
	// Against an explicit ref.
	writeFile(t, filepath.Join(dir, addressPath), address)
	if code, out, errs := run(t, "schema", "check", "--root", dir, "--against", "git:main"); code != ExitOK {
		t.Errorf("--against git:main: exit %d\n%s%s", code, out, errs)
	}
	if code, _, _ := run(t, "schema", "check", "--root", dir, "--against", "git:no-such-ref"); code != ExitUsage {
		t.Errorf("bad ref: exit %d, want 2", code)
	}
	if code, _, _ := run(t, "schema", "check", "--root", dir, "--against", "svn:1"); code != ExitUsage {
		t.Errorf("bad --against: exit %d, want 2", code)
	}
}

func TestSchemaCheckGitTransitiveUsesHistory(t *testing.T) {
	dir := gitRepo(t, map[string]string{orderPath: placedV1, addressPath: address})
	gitIn(t, dir, "checkout", "-q", "main")
	commitFiles(t, dir, map[string]string{orderPath: placedV2}, "v2")
	gitIn(t, dir, "checkout", "-q", "feature")
	gitIn(t, dir, "merge", "-q", "main")
	writeFile(t, filepath.Join(dir, orderPath), placedV3)
	writeFile(t, filepath.Join(dir, "schemas", "subjects.yaml"), "subjects:\n  shop.order.OrderPlaced:\n    level: BACKWARD\n")
	if code, out, errs := run(t, "schema", "check", "--root", dir); code != ExitOK {
		t.Fatalf("BACKWARD against v2 only: exit %d\n%s%s", code, out, errs)
	}
	writeFile(t, filepath.Join(dir, "schemas", "subjects.yaml"), "subjects:\n  shop.order.OrderPlaced:\n    level: BACKWARD_TRANSITIVE\n")
	code, out, _ := run(t, "schema", "check", "--root", dir)
	if code != ExitFail || !strings.Contains(out, "READER_FIELD_MISSING_DEFAULT_VALUE shop.order.OrderPlaced /fields/2: currency (BACKWARD_TRANSITIVE") {
		t.Errorf("BACKWARD_TRANSITIVE must see v1 in git history: exit %d\n%s", code, out)
	}
	writeFile(t, filepath.Join(dir, "schemas", "subjects.yaml"), "default_level: SIDEWAYS\n")
	if code, _, _ := run(t, "schema", "check", "--root", dir); code != ExitUsage {
		t.Errorf("bad config: exit %d, want 2", code)
	}
}

func TestSchemaCheckGitNewRemovedAndNoBase(t *testing.T) {
	dir := gitRepo(t, map[string]string{orderPath: placedV1, addressPath: address})
	// A new subject: nothing to check against, but it must have a level.
	writeFile(t, filepath.Join(dir, "schemas/avro/order/OrderShipped.avsc"),
		`{"type":"record","name":"OrderShipped","namespace":"shop.order","doc":"d","fields":[{"name":"order_id","type":"int","doc":"d"}]}`)
	code, out, _ := run(t, "schema", "check", "--root", dir)
	if code != ExitFail || !strings.Contains(out, "schemas/subjects.yaml:1: LEVEL_MISSING shop.order.OrderShipped: no level") {
		t.Fatalf("new subject without a level: exit %d\n%s", code, out)
	}
	writeFile(t, filepath.Join(dir, subjectsPath), "subjects:\n  shop.order.OrderPlaced:\n    level: BACKWARD\n  shop.order.OrderShipped:\n    level: BACKWARD_TRANSITIVE\n")
	if code, out, errs := run(t, "schema", "check", "--root", dir); code != ExitOK {
		t.Fatalf("new subject: exit %d\n%s%s", code, out, errs)
	}
	// A removed subject is a finding.
	if err := os.Remove(filepath.Join(dir, orderPath)); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, "schema", "check", "--root", dir)
	if code != ExitFail || !strings.Contains(out, "schemas/avro/order/OrderPlaced.avsc:1: SUBJECT_REMOVED shop.order.OrderPlaced") {
		t.Errorf("removed subject: exit %d\n%s", code, out)
	}
	// No main branch: nothing to check.
	lone := t.TempDir()
	gitIn(t, lone, "init", "-q", "-b", "trunk")
	writeProject(t, lone)
	writeFile(t, filepath.Join(lone, orderPath), placedV3)
	writeFile(t, filepath.Join(lone, addressPath), address)
	if code, out, errs := run(t, "schema", "check", "--root", lone); code != ExitOK {
		t.Errorf("no base: exit %d\n%s%s", code, out, errs)
	}
}

func TestSchemaCatalog(t *testing.T) {
	dir := gitRepo(t, map[string]string{orderPath: placedV1, addressPath: address})
	commitFiles(t, dir, map[string]string{orderPath: placedV2}, "OrderPlaced: add currency")
	writeFile(t, filepath.Join(dir, "schemas", "subjects.yaml"),
		"subjects:\n  shop.order.OrderPlaced:\n    level: FULL\n    producers: [order]\n    consumers: [projector, saga]\n")
	writeFile(t, filepath.Join(dir, "docs", "events", "shop.order.Gone.md"), "stale")
	code, out, errs := run(t, "schema", "catalog", "--root", dir)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	page, err := os.ReadFile(filepath.Join(dir, "docs", "events", "shop.order.OrderPlaced.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| topic | `events.order` |",
		"| compatibility | FULL |",
		"| producers | order |",
		"| consumers | projector, saga |",
		"| `currency` | string | `\"EUR\"` | ISO 4217 code. |",
		"| `ship_to` | shop.order.Address |  | Where to. |",
		"### shop.order.Address",
		": OrderPlaced: add currency",
		"+    {\"name\": \"currency\"",
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	index, err := os.ReadFile(filepath.Join(dir, "docs", "events", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(index), "[shop.order.OrderPlaced](shop.order.OrderPlaced.md)") ||
		!strings.Contains(string(index), "| shop.order.Address | record | OrderPlaced |") {
		t.Errorf("index:\n%s", index)
	}
	if _, err := os.Stat(filepath.Join(dir, "docs", "events", "shop.order.Gone.md")); !os.IsNotExist(err) {
		t.Errorf("stale page kept: %v", err)
	}
}

// A change that breaks a subject and lowers its level in the same commit
// fails the gate: the base's level is the floor. Only an explicit override
// lets it through, and the override is logged.
func TestSchemaCheckLevelLowered(t *testing.T) {
	dir := gitRepo(t, map[string]string{orderPath: placedV2, addressPath: address,
		subjectsPath: "subjects:\n  shop.order.OrderPlaced:\n    level: BACKWARD_TRANSITIVE\n"})
	commitFiles(t, dir, map[string]string{
		orderPath:    placedV3Only,
		subjectsPath: "subjects:\n  shop.order.OrderPlaced:\n    level: NONE\n",
	}, "break OrderPlaced and set NONE")
	code, out, errs := run(t, "schema", "check", "--root", dir)
	if code != ExitFail {
		t.Fatalf("breaking change with a lowered level: exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"schemas/subjects.yaml:3: LEVEL_LOWERED shop.order.OrderPlaced: level lowered from BACKWARD_TRANSITIVE to NONE",
		"READER_FIELD_MISSING_DEFAULT_VALUE shop.order.OrderPlaced /fields/3: gift_note (BACKWARD_TRANSITIVE",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = run(t, "schema", "check", "--root", dir, "--format", "json", "--allow-lower-level", "shop.order.OrderPlaced")
	if code != ExitOK {
		t.Fatalf("with the override: exit %d, want 0\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, "OVERRIDE: shop.order.OrderPlaced level lowered from BACKWARD_TRANSITIVE to NONE") {
		t.Errorf("override not logged: %s", errs)
	}
	var rep struct {
		Overrides []struct{ Subject, From, To string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Overrides) != 1 || rep.Overrides[0].From != "BACKWARD_TRANSITIVE" {
		t.Errorf("json overrides: %v %+v\n%s", err, rep, out)
	}
	// The override names a subject: another subject's does not count.
	if code, _, _ := run(t, "schema", "check", "--root", dir, "--allow-lower-level", "shop.order.Other"); code != ExitFail {
		t.Errorf("override of another subject: exit %d, want 1", code)
	}
	// Strict YAML: a typo in the subjects file is an error, not ignored.
	writeFile(t, filepath.Join(dir, subjectsPath), "subjects:\n  shop.order.OrderPlaced:\n    levle: BACKWARD_TRANSITIVE\n")
	if code, _, errs := run(t, "schema", "check", "--root", dir); code != ExitUsage || !strings.Contains(errs, "schemas/subjects.yaml:3: subjects.shop.order.OrderPlaced.levle: unknown key") {
		t.Errorf("typo: exit %d, want 2\n%s", code, errs)
	}
}

// placedV3Only adds a field without a default to placedV2: breaks BACKWARD.
const placedV3Only = `{
  "type": "record",
  "name": "OrderPlaced",
  "namespace": "shop.order",
  "doc": "An order was placed.",
  "fields": [
    {"name": "order_id", "type": "string", "doc": "Order id."},
    {"name": "ship_to", "type": "shop.order.Address", "doc": "Where to."},
    {"name": "currency", "type": "string", "default": "EUR", "doc": "ISO 4217 code."},
    {"name": "gift_note", "type": "string", "doc": "Note."}
  ]
}
`

// `strata schema upcaster` scaffolds a change that needs one: the old
// schema as a history file, a Go step, a golden payload of the old version,
// and the declaration to add; a change resolution can carry needs no step.
func TestSchemaUpcasterScaffold(t *testing.T) {
	dir := gitRepo(t, map[string]string{orderPath: placedV1, addressPath: address})
	writeFile(t, filepath.Join(dir, orderPath), placedV3) // currency without a default
	code, out, errs := run(t, "schema", "upcaster", "--root", dir, "shop.order.OrderPlaced")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"wrote upcasters/history/shop.order.OrderPlaced/v1.avsc",
		"wrote upcasters/order_placed_v1.go",
		"wrote upcasters/testdata/shop.order.OrderPlaced/v1.avro",
		"READER_FIELD_MISSING_DEFAULT_VALUE /fields/2 currency",
		"      - version: 1\n        schema: upcasters/history/shop.order.OrderPlaced/v1.avsc\n        path: upcaster\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	src, err := os.ReadFile(filepath.Join(dir, "upcasters", "order_placed_v1.go"))
	if err != nil || !strings.Contains(string(src), "func OrderPlacedV1ToV2(rec map[string]any) (map[string]any, error)") ||
		!strings.Contains(string(src), "//go:embed history/shop.order.OrderPlaced/v1.avsc") {
		t.Errorf("step: %v\n%s", err, src)
	}
	payload, err := os.ReadFile(filepath.Join(dir, "upcasters", "testdata", "shop.order.OrderPlaced", "v1.avro"))
	if err != nil || len(payload) == 0 {
		t.Errorf("golden payload: %v %d bytes", err, len(payload))
	}
	// Files are never overwritten.
	if code, _, _ := run(t, "schema", "upcaster", "--root", dir, "shop.order.OrderPlaced"); code != ExitUsage {
		t.Errorf("second run: exit %d, want 2", code)
	}
	// A change resolution carries: the history file only, path: resolution.
	dir = gitRepo(t, map[string]string{orderPath: placedV1, addressPath: address})
	writeFile(t, filepath.Join(dir, orderPath), placedV2)
	code, out, _ = run(t, "schema", "upcaster", "--root", dir, "shop.order.OrderPlaced")
	if code != ExitOK || !strings.Contains(out, "no upcaster needed") || !strings.Contains(out, "path: resolution") || strings.Contains(out, ".go") {
		t.Errorf("resolution change: exit %d\n%s", code, out)
	}
}
