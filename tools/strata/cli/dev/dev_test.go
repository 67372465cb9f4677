package dev_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stratahq/strata/tools/strata/cli"
)

func strata(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestDevEnvAndUsage(t *testing.T) {
	project := t.TempDir()
	if err := os.WriteFile(filepath.Join(project, "strata.yaml"), []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := strata("dev", "env", "--project", project)
	if code != 0 || !strings.Contains(out, "export DATABASE_URL='postgres://strata:strata@127.0.0.1:55432/strata?sslmode=disable'") ||
		!strings.Contains(out, "export KAFKA_BROKERS='127.0.0.1:9092'") || !strings.Contains(out, "export SCHEMA_REGISTRY_URL='http://127.0.0.1:8081'") {
		t.Fatalf("dev env: exit %d\n%s%s", code, out, stderr)
	}
	// The scripts are extracted into the project, next to its data.
	if _, err := os.Stat(filepath.Join(project, ".local", "stack", "stack.sh")); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := strata("dev", "sideways"); code != 2 || !strings.Contains(stderr, "sideways") {
		t.Fatalf("dev sideways: exit %d %s", code, stderr)
	}
	if _, stderr, code := strata("dev", "up", "nosuchcomponent", "--project", project); code != 2 || !strings.Contains(stderr, "unknown component") {
		t.Fatalf("dev up nosuchcomponent: exit %d %s", code, stderr)
	}
}

// The whole life of a project's stack: up (data under the project's
// .local/), status, down. It binds the stack's fixed ports, so it runs alone
// in a network namespace of its own: STRATA_DEV_TEST=1.
func TestDevUpStatusDown(t *testing.T) {
	if os.Getenv("STRATA_DEV_TEST") == "" {
		t.Skip("set STRATA_DEV_TEST=1 where the stack's ports are free (a private network namespace)")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
	project := t.TempDir()
	bin := filepath.Join(project, "strata")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./tools/strata")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build strata: %v\n%s", err, b)
	}
	if err := os.WriteFile(filepath.Join(project, "strata.yaml"), []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dev := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, append([]string{"dev"}, args...)...)
		cmd.Dir = project // the project is found from the working folder
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	t.Cleanup(func() { dev("down") }) //nolint:errcheck
	if out, err := dev("up"); err != nil {
		t.Fatalf("dev up: %v\n%s", err, out)
	}
	out, err := dev("status")
	if err != nil || strings.Count(out, ": up (") != 3 {
		t.Fatalf("dev status: %v\n%s", err, out)
	}
	for _, p := range []string{".local/pg", ".local/kafka", ".local/registry"} {
		if _, err := os.Stat(filepath.Join(project, p)); err != nil {
			t.Errorf("no %s in the project: %v", p, err)
		}
	}
	if out, err := dev("down"); err != nil {
		t.Fatalf("dev down: %v\n%s", err, out)
	}
	if out, err := dev("status"); err == nil {
		t.Fatalf("dev status after down: exit 0\n%s", out)
	}
}
