package clikit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/spf13/cobra"
)

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("boom"), ExitFail},
		{Usagef("bad %s", "flag"), ExitUsage},
		{fmt.Errorf("wrapped: %w", Usagef("x")), ExitUsage},
		{Exit(3, nil), 3},
		{Unavailable(errors.New("db down")), ExitUsage},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// Execute: errors a command returns keep their code; only usage errors (and
// cobra's own refusals) print the usage; an ExitError without a message
// prints nothing.
func TestExecute(t *testing.T) {
	newRoot := func(err error) *cobra.Command {
		root := Group(&cobra.Command{Use: "x"})
		root.AddCommand(&cobra.Command{Use: "run", RunE: func(*cobra.Command, []string) error { return err }})
		return root
	}
	for _, tc := range []struct {
		err       error
		code      int
		stderr    string
		withUsage bool
	}{
		{errors.New("boom"), ExitFail, "x run: boom\n", false},
		{Unavailable(errors.New("db down")), ExitUsage, "x run: db down\n", false},
		{Usagef("want an ID"), ExitUsage, "x run: want an ID\n", true},
		{Exit(ExitFail, nil), ExitFail, "", false},
	} {
		var out, errb bytes.Buffer
		code := Execute(context.Background(), newRoot(tc.err), []string{"run"}, nil, &out, &errb)
		got := errb.String()
		hasUsage := bytes.Contains(errb.Bytes(), []byte("Usage:"))
		if code != tc.code || hasUsage != tc.withUsage || (len(got) > 0 && !bytes.HasPrefix(errb.Bytes(), []byte(tc.stderr))) || (tc.stderr == "" && got != "") || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", tc.err, code, got, out.String())
		}
	}
}

func TestLister(t *testing.T) {
	var b bytes.Buffer
	l := NewLister(&b, Table, "A", "LONG B")
	_ = l.Row(nil, "x", 1)
	_ = l.Row(nil, "yyyy", 22)
	_ = l.Flush()
	_ = l.Flush()
	if want := "A     LONG B\nx     1\nyyyy  22\n"; b.String() != want {
		t.Errorf("table:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	l = NewLister(&b, Table, "A")
	_ = l.Flush()
	if b.String() != "A\n" {
		t.Errorf("empty table: %q", b.String())
	}
	b.Reset()
	l = NewLister(&b, JSON, "A")
	_ = l.Row(map[string]int{"a": 1}, 1)
	_ = l.Row(map[string]int{"a": 2}, 2)
	_ = l.Flush()
	if b.String() != "{\"a\":1}\n{\"a\":2}\n" {
		t.Errorf("json lines: %q", b.String())
	}
}
