package codegen_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stratahq/strata/codegen"
	"github.com/stratahq/strata/project"
)

// A project outside the repository, with its own module and a namespace
// that is not the shop's, gets its Go types and a registry that compiles.
func TestGenerateOtherProject(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	_, here, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(here))
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/ledger\n\ngo 1.26.0\n\nrequire github.com/stratahq/strata v0.0.0\n\nreplace github.com/stratahq/strata => "+repo+"\n")
	write("go.sum", string(sum))
	write("strata.yaml", "version: 1\nmodule: example.com/ledger\nnamespace: bank\ngenerate:\n  out: internal/gen\n")
	write("schemas/avro/ledger/Deposited.avsc", `{"type":"record","name":"Deposited","namespace":"bank.ledger","doc":"Money paid in.","fields":[{"name":"account_id","type":"string","doc":"Account."},{"name":"cents","type":"long","doc":"Amount."}]}`)
	p, err := project.Load(filepath.Join(dir, "strata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOFLAGS", "-mod=mod")
	if err := codegen.Generate(context.Background(), p, codegen.Options{}); err != nil {
		t.Fatal(err)
	}
	reg, err := os.ReadFile(filepath.Join(dir, "internal/gen/events/registry.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"example.com/ledger/internal/gen/avro/ledger"`, `"bank.ledger.Deposited"`, "new(ledger.Deposited)"} {
		if !strings.Contains(string(reg), want) {
			t.Errorf("registry.go lacks %s", want)
		}
	}
	typ, err := os.ReadFile(filepath.Join(dir, "internal/gen/avro/ledger/ledger.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(typ), "type Deposited struct") || strings.Contains(string(typ), "shop") {
		t.Errorf("ledger.go:\n%s", typ)
	}

	// A schema outside the project's namespace is refused, naming the file.
	write("schemas/avro/ledger/Withdrawn.avsc", `{"type":"record","name":"Withdrawn","namespace":"shop.ledger","doc":"d","fields":[]}`)
	err = codegen.Generate(context.Background(), p, codegen.Options{})
	if err == nil || !strings.Contains(err.Error(), `ledger/Withdrawn.avsc: namespace "shop.ledger", want "bank.ledger"`) {
		t.Errorf("err = %v", err)
	}
}
