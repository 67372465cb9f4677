package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stratahq/strata/tools/strata/cli"
)

func TestConsoleNeedsAToken(t *testing.T) {
	t.Setenv("CONSOLE_TOKEN", "")
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), []string{"console", "--database-url", "postgres://x@127.0.0.1:1/x"}, strings.NewReader(""), &out, &errb)
	if code != cli.ExitUsage || !strings.Contains(errb.String(), "token of at least 16 characters") {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
}

func TestConsoleRefusesANonLoopbackAddress(t *testing.T) {
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), []string{"console", "--token", "0123456789abcdef0", "--addr", "0.0.0.0:0",
		"--database-url", "postgres://x@127.0.0.1:1/x?connect_timeout=1"}, strings.NewReader(""), &out, &errb)
	if code != cli.ExitUsage || !strings.Contains(errb.String(), "not a loopback address") {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
}
