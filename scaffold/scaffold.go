// Package scaffold writes a new Strata service module: the project file, Avro
// schemas and a gRPC API, a service in the house layout (domain, app,
// adapters, ports, service) with an event-sourced aggregate, a projection
// with sqlc read queries, tests against the local stack, and a Makefile with
// generate and test. It is what `strata init` runs.
//
// The templates are the bank ledger example (examples/ledger) with its module
// path, Avro namespace and Strata location turned into placeholders; a test
// keeps the two identical, so the scaffold is always a service that builds
// and passes its tests.
package scaffold

import (
	"embed"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

//go:embed all:template
var templates embed.FS

// Options say what to scaffold.
type Options struct {
	// Module is the Go module path of the new service, e.g.
	// github.com/acme/payments.
	Module string
	// Namespace is the Avro namespace prefix of its schemas (and the proto
	// package prefix), e.g. "payments": events are <namespace>.account.<Name>.
	Namespace string
	// Strata is the Strata checkout the module's replace directive points
	// at: absolute, or relative to the new module's folder.
	Strata string
}

var (
	moduleRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9._~-]*(/[A-Za-z0-9._~-]+)*$`)
	namespaceRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Validate reports every problem at once.
func (o Options) Validate() error {
	var errs []error
	if !moduleRe.MatchString(o.Module) {
		errs = append(errs, fmt.Errorf("module %q is not a Go module path (e.g. github.com/acme/ledger)", o.Module))
	}
	if !namespaceRe.MatchString(o.Namespace) {
		errs = append(errs, fmt.Errorf("namespace %q: want one lower-case identifier (e.g. bank), the first part of every Avro full name", o.Namespace))
	}
	if o.Strata == "" {
		errs = append(errs, errors.New("no Strata checkout for the replace directive"))
	}
	return errors.Join(errs...)
}

// Placeholders in the templates.
const (
	phModule    = "__MODULE__"
	phNamespace = "__NAMESPACE__"
	phReplace   = "__REPLACE__" // go.mod: the Strata checkout from the module folder
)

// Files returns the scaffold's files for o: slash-separated paths relative to
// the module folder, and their contents.
func Files(o Options) (map[string][]byte, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	r := strings.NewReplacer(phModule, o.Module, phNamespace, o.Namespace, phReplace, filepath.ToSlash(o.Strata))
	out := map[string][]byte{}
	err := fs.WalkDir(templates, "template", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templates.ReadFile(path)
		if err != nil {
			return err
		}
		name := r.Replace(strings.TrimSuffix(strings.TrimPrefix(path, "template/"), ".tmpl"))
		content := []byte(r.Replace(string(b)))
		if strings.HasSuffix(name, ".go") {
			// Another module path sorts differently among the imports.
			if content, err = format.Source(content); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		out[name] = content
		return nil
	})
	return out, err
}

// Write scaffolds into dir, which must not exist or be empty.
func Write(dir string, o Options) error {
	files, err := Files(o)
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for name, b := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// templatize is the inverse of Files for the ledger example: it turns one of
// its files into the template (used by the test that keeps them equal, and
// by `go test ./scaffold -update` after the example changed).
func templatize(content string) string {
	return strings.NewReplacer(
		"github.com/stratahq/strata/examples/ledger", phModule,
		"replace github.com/stratahq/strata => ../..\n", "replace github.com/stratahq/strata => "+phReplace+"\n",
		"bank.account", phNamespace+".account",
		"bank.ledger.v1", phNamespace+".ledger.v1",
		"bank/ledger/v1", phNamespace+"/ledger/v1",
		"namespace: bank\n", "namespace: "+phNamespace+"\n",
	).Replace(content)
}
