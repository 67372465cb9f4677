package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/tools/strata/cli/dev"
	"github.com/stratahq/strata/tools/strata/cli/initcmd"
)

// runCobra runs a cobra command as a verb: usage errors exit 2 with the usage
// on stderr, dev's exit codes pass through, other errors exit 1.
func runCobra(newCmd func() *cobra.Command) func(ctx context.Context, stdio IO, args []string) int {
	return func(ctx context.Context, stdio IO, args []string) int {
		c := newCmd()
		c.SetArgs(args)
		c.SetIn(stdio.In)
		c.SetOut(stdio.Out)
		c.SetErr(stdio.Err)
		c.SilenceUsage, c.SilenceErrors = true, true
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &initcmd.UsageError{Err: err} })
		sub, err := c.ExecuteContextC(ctx)
		if err == nil {
			return ExitOK
		}
		if ee, ok := errors.AsType[*dev.ExitError](err); ok {
			return ee.Code
		}
		fmt.Fprintf(stdio.Err, "strata %s: %v\n", sub.Name(), err)
		if _, ok := errors.AsType[*initcmd.UsageError](err); ok {
			fmt.Fprint(stdio.Err, sub.UsageString())
			return ExitUsage
		}
		return ExitFail
	}
}
