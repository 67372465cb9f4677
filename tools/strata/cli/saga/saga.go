// Package saga is `strata saga`: inspect and repair persisted sagas.
package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/stratahq/strata/saga"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Command is `strata saga list|show|retry|resolve`.
func Command() *cobra.Command {
	cmd := clikit.Group(&cobra.Command{
		Use:   "saga",
		Short: "inspect and repair sagas: list [--stuck], show ID, retry ID, resolve ID",
	})
	cmd.AddCommand(listCommand(), showCommand(), retryCommand(), resolveCommand())
	return cmd
}

// conn adds the flags every saga subcommand shares and returns an opener.
func conn(cmd *cobra.Command) func(ctx context.Context) (*pgxpool.Pool, context.CancelFunc, error) {
	dbURL := clikit.DatabaseURL(cmd)
	timeout := clikit.Timeout(cmd, 30*time.Second)
	return func(ctx context.Context) (*pgxpool.Pool, context.CancelFunc, error) {
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		pool, err := clikit.Connect(ctx, *dbURL)
		if err != nil {
			cancel()
			return nil, nil, err
		}
		return pool, func() { pool.Close(); cancel() }, nil
	}
}

func listCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "saga instances, most recently changed first",
		Long: `Lists saga instances, most recently changed first. --stuck keeps those that
need a look: PARKED (a compensation failed too often), or running/compensating
with no progress or an overdue deadline for --stuck-after (default 5m).
Exit 1 when --stuck finds any.`,
		Args: clikit.NoArgs,
	}
	open := conn(cmd)
	output := clikit.OutputOrJSON(cmd, clikit.Table)
	stuck := cmd.Flags().Bool("stuck", false, "only sagas that need attention")
	stuckAfter := cmd.Flags().Duration("stuck-after", 5*time.Minute, "no progress for this long counts as stuck")
	status := cmd.Flags().String("status", "", "only this status (RUNNING, COMPENSATING, COMPLETED, COMPENSATED, PARKED)")
	limit := cmd.Flags().Int("limit", 100, "at most this many sagas")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		pool, done, err := open(cmd.Context())
		if err != nil {
			return err
		}
		defer done()
		opt := saga.ListOptions{Status: saga.Status(strings.ToUpper(*status)), Stuck: *stuck, StuckAfter: *stuckAfter, Limit: *limit}
		list, err := saga.List(cmd.Context(), pool, opt)
		if err != nil {
			return clikit.Unavailable(err)
		}
		l := clikit.NewLister(cmd.OutOrStdout(), output(), "ID", "TYPE", "STATUS", "STEP", "UPDATED", "REASON")
		for _, inst := range list {
			_ = l.Row(toSagaJSON(inst), inst.ID, inst.Type, inst.Status, stepOf(inst), inst.UpdatedAt.UTC().Format(time.RFC3339), inst.Reason)
		}
		if err := l.Flush(); err != nil {
			return err
		}
		if opt.Stuck && len(list) > 0 {
			return clikit.Exit(clikit.ExitFail, nil)
		}
		return nil
	}
	return cmd
}

func showCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "one saga and its full step log",
		Long: `Prints one saga and its full step log: every command sent (action or
compensation, with its attempt), its outcome and reason.`,
		Args: clikit.ExactArgs(1, "which saga? give its ID"),
	}
	open := conn(cmd)
	output := clikit.OutputOrJSON(cmd, clikit.Table)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		pool, done, err := open(cmd.Context())
		if err != nil {
			return err
		}
		defer done()
		id := args[0]
		inst, steps, err := saga.Get(cmd.Context(), pool, id)
		if saga.IsNotFound(err) {
			return fmt.Errorf("no saga %s", id)
		}
		if err != nil {
			return clikit.Unavailable(err)
		}
		out := cmd.OutOrStdout()
		if output() == clikit.JSON {
			v := struct {
				sagaJSON
				Steps []stepJSON `json:"steps"`
			}{sagaJSON: toSagaJSON(inst)}
			for _, s := range steps {
				v.Steps = append(v.Steps, toStepJSON(s))
			}
			return json.NewEncoder(out).Encode(v)
		}
		fmt.Fprintf(out, "saga     %s\ntype     %s (definition version %d)\nstatus   %s\nstep     %s\nversion  %d\ncreated  %s\nupdated  %s\n",
			inst.ID, inst.Type, inst.DefinitionVersion, inst.Status, stepOf(inst), inst.Version,
			inst.CreatedAt.UTC().Format(time.RFC3339Nano), inst.UpdatedAt.UTC().Format(time.RFC3339Nano))
		if inst.FailedStep != "" {
			fmt.Fprintf(out, "failed   %s\n", inst.FailedStep)
		}
		if inst.Reason != "" {
			fmt.Fprintf(out, "reason   %s\n", inst.Reason)
		}
		fmt.Fprintf(out, "data     %s\n\n", inst.Data)
		tw := clikit.NewTable(out)
		fmt.Fprintln(tw, "SEQ\tSTEP\tKIND\tATTEMPT\tCOMMAND\tSTATUS\tSTARTED\tTOOK\tREASON")
		for _, s := range steps {
			took := "-"
			if s.FinishedAt != nil {
				took = s.FinishedAt.Sub(s.StartedAt).Round(time.Millisecond).String()
			}
			c := s.CommandType
			if c == "" {
				c = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", s.Seq, s.Step, s.Kind, s.Attempt, c, s.Status,
				s.StartedAt.UTC().Format("15:04:05.000"), took, s.Reason)
		}
		return tw.Flush()
	}
	return cmd
}

// repairErr maps a Retry/Resolve error to its exit code: 1 when the saga is
// missing or not parked, 2 otherwise.
func repairErr(err error) error {
	if saga.IsNotFound(err) || errors.Is(err, saga.ErrNotParked) {
		return err
	}
	return clikit.Unavailable(err)
}

func retryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retry ID",
		Short: "put a PARKED saga back to compensating",
		Long: `Puts a PARKED saga back to compensating: a running orchestrator sends the
failed compensation again (its attempt count is reset).`,
		Args: clikit.ExactArgs(1, "which saga? give its ID"),
	}
	open := conn(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		pool, done, err := open(cmd.Context())
		if err != nil {
			return err
		}
		defer done()
		if err := saga.Retry(cmd.Context(), pool, args[0], time.Now().UTC()); err != nil {
			return repairErr(err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "saga %s: retry requested; a running orchestrator sends the compensation again\n", args[0])
		return nil
	}
	return cmd
}

func resolveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resolve ID",
		Short: "end a PARKED saga by hand",
		Long: `Ends a PARKED saga by hand once things were put right outside it (default
--as compensated); nothing is sent; --note goes to the step log.`,
		Args: clikit.ExactArgs(1, "which saga? give its ID"),
	}
	open := conn(cmd)
	as := cmd.Flags().String("as", "compensated", "the status to end with (compensated or completed)")
	note := cmd.Flags().String("note", "", "why, for the step log")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		pool, done, err := open(cmd.Context())
		if err != nil {
			return err
		}
		defer done()
		if err := saga.Resolve(cmd.Context(), pool, args[0], saga.Status(strings.ToUpper(*as)), *note, time.Now().UTC()); err != nil {
			return repairErr(err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "saga %s: resolved as %s\n", args[0], strings.ToUpper(*as))
		return nil
	}
	return cmd
}

type sagaJSON struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Status     string          `json:"status"`
	Step       int             `json:"step"`
	StepName   string          `json:"step_name,omitempty"`
	Definition int             `json:"definition_version"`
	ParkedFrom string          `json:"parked_from,omitempty"`
	Version    int64           `json:"version"`
	FailedStep string          `json:"failed_step,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	Data       json.RawMessage `json:"data"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

type stepJSON struct {
	Seq         int             `json:"seq"`
	Step        string          `json:"step"`
	Kind        string          `json:"kind"`
	Attempt     int             `json:"attempt"`
	CommandID   string          `json:"command_id,omitempty"`
	CommandType string          `json:"command_type,omitempty"`
	Status      string          `json:"status"`
	Reason      string          `json:"reason,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	StartedAt   time.Time       `json:"started_at"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
}

func toSagaJSON(i saga.Instance) sagaJSON {
	return sagaJSON{ID: i.ID, Type: i.Type, Status: string(i.Status), Step: i.Step, StepName: i.StepName,
		Definition: i.DefinitionVersion, ParkedFrom: string(i.ParkedFrom), Version: i.Version,
		FailedStep: i.FailedStep, Reason: i.Reason, Data: i.Data, CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt}
}

func toStepJSON(s saga.StepRecord) stepJSON {
	return stepJSON{Seq: s.Seq, Step: s.Step, Kind: string(s.Kind), Attempt: s.Attempt, CommandID: s.CommandID,
		CommandType: s.CommandType, Status: string(s.Status), Reason: s.Reason, Result: s.Result,
		StartedAt: s.StartedAt, FinishedAt: s.FinishedAt}
}

// stepOf names the saga's step in progress (stored by name), or "-" when it has none.
func stepOf(i saga.Instance) string {
	if i.StepName == "" {
		return "-"
	}
	return i.StepName
}
