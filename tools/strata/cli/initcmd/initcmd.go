// Package initcmd is `strata init`: scaffold a new service module (package
// scaffold) that builds on a local Strata checkout.
package initcmd

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/scaffold"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// StrataCheckout is the Strata checkout this binary was built from, set at
// build time with
//
//	-ldflags "-X github.com/stratahq/strata/tools/strata/cli/initcmd.StrataCheckout=$PWD"
//
// When empty, the checkout is found from the compiled source path (unless
// the binary was built with -trimpath).
var StrataCheckout string

// Command returns `strata init`.
func Command() *cobra.Command {
	var module, namespace, replace string
	cmd := &cobra.Command{
		Use:   "init DIR --module PATH [--namespace NS] [--replace STRATA_CHECKOUT]",
		Short: "scaffold a new service module: project file, schemas, service, tests, Makefile",
		Long: `Scaffold a new service module in DIR (created; it must be empty): strata.yaml, Avro
schemas and a gRPC API in namespace NS, a service in the house layout (domain, app,
adapters, ports, service) with an event-sourced aggregate and snapshots, a projection
with sqlc read queries, tests against the local stack, and a Makefile (generate, test,
up, env). Strata is not on the module proxy: go.mod replaces it with the checkout
STRATA_CHECKOUT (default: the one this strata was built from).

Then:  cd DIR && make up && eval "$(make env)" && make generate test`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return clikit.Usagef("want one folder, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if module == "" {
				return clikit.Usagef("--module is required (the Go module path of the new service)")
			}
			if namespace == "" {
				namespace = defaultNamespace(module)
			}
			if replace == "" {
				replace = checkout()
				if replace == "" {
					return clikit.Usagef("--replace is required: this strata does not know the checkout it was built from")
				}
			}
			abs, err := filepath.Abs(replace)
			if err != nil {
				return err
			}
			if err := isStrata(abs); err != nil {
				return clikit.Usagef("%w", err)
			}
			opts := scaffold.Options{Module: module, Namespace: namespace, Strata: abs}
			if err := opts.Validate(); err != nil {
				return clikit.Usagef("%w", err)
			}
			if err := scaffold.Write(dir, opts); err != nil {
				return fmt.Errorf("init %s: %w", dir, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "scaffolded %s in %s (Avro namespace %s, Strata at %s)\n\nnext:\n  cd %s\n  make up && eval \"$(make env)\"\n  make generate test\n",
				module, dir, namespace, abs, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&module, "module", "", "Go module path of the new service (required)")
	cmd.Flags().StringVar(&namespace, "namespace", "", "Avro namespace prefix (default: the module path's last element)")
	cmd.Flags().StringVar(&replace, "replace", "", "Strata checkout for the replace directive (default: the one this strata was built from)")
	return cmd
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// defaultNamespace is the module path's last element as an identifier:
// github.com/acme/money-transfer -> money_transfer.
func defaultNamespace(module string) string {
	ns := nonIdent.ReplaceAllString(strings.ToLower(path.Base(module)), "_")
	ns = strings.Trim(ns, "_")
	if ns == "" || (ns[0] >= '0' && ns[0] <= '9') {
		ns = "app" + ns
	}
	return ns
}

// checkout is the Strata checkout this binary was built from, or "".
func checkout() string {
	if StrataCheckout != "" {
		return StrataCheckout
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
	if isStrata(dir) != nil {
		return ""
	}
	return filepath.Clean(dir)
}

// isStrata checks that dir is a Strata checkout.
func isStrata(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !strings.HasPrefix(string(b), "module github.com/stratahq/strata\n") {
		return fmt.Errorf("%s is not a Strata checkout (no go.mod of module github.com/stratahq/strata)", dir)
	}
	return nil
}
