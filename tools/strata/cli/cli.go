// Package cli implements the strata command line. Run is the whole program, so
// tests drive it in-process exactly as a user would from a shell.
package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Exit codes shared by every command.
const (
	ExitOK    = 0 // success
	ExitFail  = 1 // the command ran and found a problem (incompatible schema, lag over limit, ...)
	ExitUsage = 2 // unreadable input, bad flags or an unreachable dependency
)

// IO is what a command reads and writes; never os.Stdout directly.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// command is one top-level verb. run gets the arguments after the verb.
type command struct {
	summary string
	run     func(ctx context.Context, io IO, args []string) int
}

// commands lists every top-level verb. Each lives in a file of its own name.
func commands() map[string]command {
	return map[string]command{
		"projection": {projectionSummary, runProjection},
		"schema":     {schemaSummary, runSchema},
		"generate":   {generateSummary, runGenerate},
		"registry":   {registrySummary, runRegistry},
		"migrate":    {migrateSummary, runMigrate},
		"relay":      {relaySummary, runRelay},
		"dlq":        {dlqSummary, runDLQ},
		"saga":       {sagaSummary, runSaga},
		"events":     {eventsSummary, runEvents},
		"consumers":  {consumersSummary, runConsumers},
		"archive":    {archiveSummary, runArchive},
		"restore":    {restoreSummary, runRestore},
		"backup":     {backupSummary, runBackup},
	}
}

// Run executes the strata command line args (without the program name) and
// returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	stdio := IO{In: stdin, Out: stdout, Err: stderr}
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, cmds)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "strata: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return ExitUsage
	}
	return cmd.run(ctx, stdio, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for name := range cmds {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: strata COMMAND [ARGS]\n\ncommands:\n")
	for _, name := range names {
		fmt.Fprintf(&b, "  %-12s %s\n", name, cmds[name].summary)
	}
	io.WriteString(w, b.String())
}
