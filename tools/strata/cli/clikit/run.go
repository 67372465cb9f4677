package clikit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Execute runs root with args (without the program name) and returns the
// process exit code:
//   - help asked for (--help, -h, help CMD): printed on stdout, exit 0;
//   - an unknown command, a bad flag or argument, or a UsageError: the
//     message and the command's usage on stderr, exit 2;
//   - an ExitError: its message (if any) on stderr, its code;
//   - any other error from a command: the message on stderr, exit 1.
func Execute(ctx context.Context, root *cobra.Command, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SilenceErrors = true
	root.SilenceUsage = true
	started := false
	prepare(root, &started)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	if cmd == nil {
		cmd = root
	}
	code := ExitCode(err)
	if !started {
		code = ExitUsage // cobra refused the command line before any command ran
	}
	if ee, ok := errors.AsType[*ExitError](err); ok && ee.Err == nil {
		return code
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
	if code == ExitUsage && (!started || isUsage(err)) {
		fmt.Fprintf(stderr, "\n%s", cmd.UsageString())
	}
	return code
}

func isUsage(err error) bool {
	_, ok := errors.AsType[*UsageError](err)
	return ok
}

// prepare walks the tree: flag errors become usage errors, and every RunE
// records that a command started (so errors before it are cobra's refusals).
func prepare(c *cobra.Command, started *bool) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			*started = true
			return run(cmd, args)
		}
	}
	for _, sub := range c.Commands() {
		prepare(sub, started)
	}
}

// Group makes c a command that only holds subcommands: run alone or with an
// unknown subcommand it is a usage error (help is --help or `help`).
func Group(c *cobra.Command) *cobra.Command {
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			what := "subcommand"
			if !cmd.HasParent() {
				what = "command"
			}
			if cmd.SuggestionsMinimumDistance <= 0 {
				cmd.SuggestionsMinimumDistance = 2
			}
			if sug := cmd.SuggestionsFor(args[0]); len(sug) > 0 {
				return Usagef("unknown %s %q; did you mean %s?", what, args[0], strings.Join(sug, " or "))
			}
			return Usagef("unknown %s %q", what, args[0])
		}
		return Usagef("missing subcommand")
	}
	return c
}

// Legacy wraps a command written as func(ctx, IO, args) int: flags and
// arguments reach run unparsed, run prints its own messages, and its return
// value is the exit code.
func Legacy(use, short string, run func(ctx context.Context, stdio IO, args []string) int) *cobra.Command {
	return &cobra.Command{
		Use:                use,
		Short:              short,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			code := run(cmd.Context(), IO{In: cmd.InOrStdin(), Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr()}, args)
			if code != ExitOK {
				return Exit(code, nil)
			}
			return nil
		},
	}
}

// NoArgs rejects positional arguments as a usage error.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return Usagef("unexpected arguments %q", strings.Join(args, " "))
	}
	return nil
}

// ExactArgs wants n positional arguments; with fewer, missing is the usage
// error's message (e.g. "which saga? give its ID").
func ExactArgs(n int, missing string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < n:
			return Usagef("%s", missing)
		case len(args) > n:
			return Usagef("unexpected arguments %q", strings.Join(args[n:], " "))
		}
		return nil
	}
}
