package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// The conventions every command shares: help asked for goes to stdout with
// exit 0; a usage error goes to stderr with the usage and exit 2.
func TestHelpAndUsageConventions(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		out, err string // substrings of stdout and stderr ("" : must be empty)
	}{
		{[]string{"--help"}, ExitOK, "Available Commands", ""},
		{[]string{"help", "dlq"}, ExitOK, "replay", ""},
		{[]string{"dlq", "list", "--help"}, ExitOK, "--topic", ""},
		{[]string{"-h"}, ExitOK, "version", ""},
		{[]string{}, ExitUsage, "", "missing subcommand"},
		{[]string{"frobnicate"}, ExitUsage, "", `unknown command "frobnicate"`},
		{[]string{"sgaa"}, ExitUsage, "", "did you mean saga?"},
		{[]string{"dlq"}, ExitUsage, "", "Available Commands"},
		{[]string{"dlq", "nope"}, ExitUsage, "", `unknown subcommand "nope"`},
		{[]string{"migrate", "--bogus"}, ExitUsage, "", "unknown flag: --bogus"},
		{[]string{"migrate", "extra"}, ExitUsage, "", "unexpected arguments"},
		{[]string{"version", "-o", "yaml"}, ExitUsage, "", "want table or json"},
		{[]string{"saga", "list", "--database-url", ""}, ExitUsage, "", "no database"},
	} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), tc.args, strings.NewReader(""), &out, &errb)
		if code != tc.code {
			t.Errorf("strata %q: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.code, out.String(), errb.String())
			continue
		}
		check := func(stream, got, want string) {
			if want == "" && got != "" {
				t.Errorf("strata %q: %s should be empty, got %q", tc.args, stream, got)
			}
			if !strings.Contains(got, want) {
				t.Errorf("strata %q: %s lacks %q: %q", tc.args, stream, want, got)
			}
		}
		check("stdout", out.String(), tc.out)
		check("stderr", errb.String(), tc.err)
	}
}

func TestVersionAndCompletion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"version"}, nil, &out, &errb); code != ExitOK || !strings.HasPrefix(out.String(), "strata ") || !strings.Contains(out.String(), "go     go1.") {
		t.Fatalf("version: exit %d: %q %q", code, out.String(), errb.String())
	}
	out.Reset()
	var v struct{ Version, Commit, GoVersion string }
	if code := Run(context.Background(), []string{"version", "-o", "json"}, nil, &out, &errb); code != ExitOK || json.Unmarshal(out.Bytes(), &v) != nil || v.Version == "" {
		t.Fatalf("version -o json: exit %d: %q", code, out.String())
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out.Reset()
		if code := Run(context.Background(), []string{"completion", shell}, nil, &out, &errb); code != ExitOK || !strings.Contains(out.String(), "strata") {
			t.Errorf("completion %s: exit %d, %d bytes", shell, code, out.Len())
		}
	}
}
