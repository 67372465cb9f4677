package initcmd_test

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

// repoRoot is the Strata checkout this test runs in.
func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
}

func strata(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestInitUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"init"}, "want one folder"},
		{[]string{"init", dir}, "--module is required"},
		{[]string{"init", dir, "--module", "Not A Path"}, "not a Go module path"},
		{[]string{"init", dir, "--module", "example.com/x", "--replace", dir}, "not a Strata checkout"},
	} {
		if _, stderr, code := strata(t, tc.args...); code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	// The default namespace is the module path's last element.
	out, stderr, code := strata(t, "init", filepath.Join(dir, "svc"), "--module", "example.com/acme/money-transfer", "--replace", repoRoot(t))
	if code != 0 || !strings.Contains(out, "namespace money_transfer") {
		t.Fatalf("exit %d: %s %s", code, out, stderr)
	}
	if _, stderr, code := strata(t, "init", filepath.Join(dir, "svc"), "--module", "example.com/x"); code != 1 || !strings.Contains(stderr, "not empty") {
		t.Fatalf("init into a full folder: exit %d %s", code, stderr)
	}
}

// The acceptance run: in a folder outside the repository, strata init
// with a namespace that is not the shop's, then make generate && make test
// against the running stack; then a second .avsc and strata generate give its
// Go type. Minutes of builds: ci/test.sh's scaffold step runs it
// (STRATA_SCAFFOLD_TEST=1).
func TestInitGenerateTest(t *testing.T) {
	if os.Getenv("STRATA_SCAFFOLD_TEST") == "" {
		t.Skip("set STRATA_SCAFFOLD_TEST=1 (ci/test.sh step scaffold) to scaffold, generate and test a new module")
	}
	for _, k := range []string{"DATABASE_URL", "KAFKA_BROKERS", "SCHEMA_REGISTRY_URL"} {
		if os.Getenv(k) == "" {
			t.Fatalf("%s is not set: the scaffold's tests need the stack (eval \"$(make env)\")", k)
		}
	}
	dir := filepath.Join(t.TempDir(), "payments")
	out, stderr, code := strata(t, "init", dir, "--module", "example.com/acme/payments", "--namespace", "acme", "--replace", repoRoot(t))
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CI=true")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	run("make", "generate")
	if b, err := os.ReadFile(filepath.Join(dir, "gen/avro/account/account.go")); err != nil || !strings.Contains(string(b), "namespace acme.account") {
		t.Fatalf("generated types: %v\n%s", err, b)
	}
	if out := run("make", "test"); !strings.Contains(out, "ok  \texample.com/acme/payments/service") {
		t.Fatalf("make test ran no service tests:\n%s", out)
	}

	closed := `{"type": "record", "name": "AccountClosed", "namespace": "acme.account",
 "doc": "The account was closed.",
 "fields": [{"name": "account_id", "type": "string"}, {"name": "reason", "type": "string"}]}`
	if err := os.WriteFile(filepath.Join(dir, "schemas/avro/account/AccountClosed.avsc"), []byte(closed), 0o644); err != nil {
		t.Fatal(err)
	}
	run("go", "tool", "strata", "generate", "--tools-modfile", "go.mod")
	b, err := os.ReadFile(filepath.Join(dir, "gen/avro/account/account.go"))
	if err != nil || !strings.Contains(string(b), "type AccountClosed struct") {
		t.Fatalf("no Go type for the new schema: %v", err)
	}
	if reg, _ := os.ReadFile(filepath.Join(dir, "gen/events/registry.go")); !strings.Contains(string(reg), `"acme.account.AccountClosed"`) {
		t.Fatal("the new type is not in the type registry")
	}
	run("go", "build", "./...")
}
