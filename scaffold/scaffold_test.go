package scaffold

import (
	"bytes"
	"flag"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite template/ from examples/ledger")

const ledgerDir = "../examples/ledger"

// own lists the scaffold's files that are not the ledger's.
var own = map[string]bool{"README.md": true}

// ledgerFiles returns the example's hand-written files (not gen/, not
// .local/), by slash path.
func ledgerFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(ledgerDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ledgerDir, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "gen" || rel == ".local" {
				return filepath.SkipDir
			}
			return nil
		}
		if own[rel] {
			return nil
		}
		b, err := os.ReadFile(path)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var ledgerOptions = Options{Module: "github.com/stratahq/strata/examples/ledger", Namespace: "bank", Strata: "../.."}

// The scaffold rendered with the ledger's module, namespace and location is
// the ledger, file for file.
func TestScaffoldIsTheLedger(t *testing.T) {
	want := ledgerFiles(t)
	if *update {
		if err := os.RemoveAll("template"); err != nil {
			t.Fatal(err)
		}
		for name, b := range want {
			path := filepath.Join("template", filepath.FromSlash(templatize(name))+".tmpl")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(templatize(string(b))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Skip("templates rewritten from " + ledgerDir + "; add the scaffold's own files again (README.md.tmpl)")
	}
	got, err := Files(ledgerOptions)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range want {
		names = append(names, name)
	}
	for name := range got {
		if _, ok := want[name]; !ok && !own[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if !bytes.Equal(got[name], want[name]) {
			t.Errorf("%s: the scaffold differs from %s (after changing the example, run go test ./scaffold -update)", name, ledgerDir)
		}
	}
}

func TestFilesForAnotherProject(t *testing.T) {
	files, err := Files(Options{Module: "example.com/acme/payments", Namespace: "acme", Strata: "/src/strata"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"go.mod", "strata.yaml", "schemas/avro/account/AccountOpened.avsc", "schemas/proto/acme/ledger/v1/ledger.proto", "upcast/history/acme.account.MoneyWithdrawn/v1.avsc", "README.md"} {
		if _, ok := files[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	for name, b := range files {
		s := string(b)
		for _, leak := range []string{"__", "examples/ledger", "bank.", "namespace: bank"} {
			if strings.Contains(s, leak) && !(leak == "__" && strings.Contains(name, "go.sum")) {
				t.Errorf("%s contains %q", name, leak)
			}
		}
	}
	for name, b := range files {
		if strings.HasSuffix(name, ".go") {
			if f, err := format.Source(b); err != nil || !bytes.Equal(f, b) {
				t.Errorf("%s is not gofmt-formatted (%v)", name, err)
			}
		}
	}
	if gm := string(files["go.mod"]); !strings.Contains(gm, "module example.com/acme/payments\n") || !strings.Contains(gm, "=> /src/strata\n") {
		t.Errorf("go.mod:\n%s", gm)
	}
	if !strings.Contains(string(files["go.mod"]), "\ttool github.com/stratahq/strata/tools/strata\n") && !strings.Contains(string(files["go.mod"]), "\tgithub.com/stratahq/strata/tools/strata\n") {
		t.Errorf("go.mod does not pin the strata CLI as a tool")
	}
}

func TestOptionsValidate(t *testing.T) {
	err := Options{Module: "Not A Module", Namespace: "Bank.X"}.Validate()
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Fatalf("Validate: %v; want three problems", err)
	}
}

func TestWriteRefusesAFullFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, Options{Module: "example.com/x", Namespace: "x", Strata: "/s"}); err == nil {
		t.Fatal("Write into a folder with files")
	}
}
