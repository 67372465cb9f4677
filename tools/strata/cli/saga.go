package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/saga"
)

const sagaSummary = "inspect and repair sagas: list [--stuck], show ID, retry ID, resolve ID"

const sagaUsage = `usage: strata saga list [--stuck] [--status S] [--stuck-after D] [--limit N] [--json]
       strata saga show ID [--json]
       strata saga retry ID
       strata saga resolve ID [--as compensated|completed] [--note TEXT]

  list   saga instances, most recently changed first. --stuck keeps those
         that need a look: PARKED (a compensation failed too often), or
         running/compensating with no progress or an overdue deadline for
         --stuck-after (default 5m). Exit 1 when --stuck finds any.
  show   one saga and its full step log: every command sent (action or
         compensation, with its attempt), its outcome and reason.
  retry  put a PARKED saga back to compensating: a running orchestrator
         sends the failed compensation again (its attempt count is reset).
  resolve  end a PARKED saga by hand once things were put right outside it
         (default --as compensated); nothing is sent; --note goes to the log.

Common flags: --database-url (default $DATABASE_URL), --timeout (default 30s).
`

// runSaga is `strata saga list|show|retry`.
func runSaga(ctx context.Context, stdio IO, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdio.Err, sagaUsage)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("strata saga "+sub, flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() { fmt.Fprint(stdio.Err, sagaUsage) }
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	asJSON := fs.Bool("json", false, "print JSON")
	stuck := fs.Bool("stuck", false, "only sagas that need attention")
	stuckAfter := fs.Duration("stuck-after", 5*time.Minute, "no progress for this long counts as stuck")
	status := fs.String("status", "", "only this status (RUNNING, COMPENSATING, COMPLETED, COMPENSATED, PARKED)")
	limit := fs.Int("limit", 100, "at most this many sagas")
	as := fs.String("as", "compensated", "resolve: the status to end with (compensated or completed)")
	note := fs.String("note", "", "resolve: why, for the step log")
	// Flags may follow the ID: parse, take the first argument, parse again.
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	var id string
	if fs.NArg() > 0 {
		id = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return ExitUsage
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stdio.Err, "strata saga %s: unexpected arguments %q\n", sub, fs.Args())
			return ExitUsage
		}
	}
	switch sub {
	case "list":
		if id != "" {
			fmt.Fprintf(stdio.Err, "strata saga list: unexpected argument %q\n", id)
			return ExitUsage
		}
	case "show", "retry", "resolve":
		if id == "" {
			fmt.Fprintf(stdio.Err, "strata saga %s: which saga? give its ID\n", sub)
			return ExitUsage
		}
	default:
		fmt.Fprintf(stdio.Err, "strata saga: unknown subcommand %q\n\n%s", sub, sagaUsage)
		return ExitUsage
	}
	if *dbURL == "" {
		fmt.Fprintln(stdio.Err, "strata saga: no database: set --database-url or DATABASE_URL")
		return ExitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, *dbURL)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata saga: %v\n", err)
		return ExitUsage
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		fmt.Fprintf(stdio.Err, "strata saga: connect: %v\n", err)
		return ExitUsage
	}
	switch sub {
	case "list":
		return sagaList(ctx, stdio, pool, saga.ListOptions{Status: saga.Status(strings.ToUpper(*status)), Stuck: *stuck,
			StuckAfter: *stuckAfter, Limit: *limit}, *asJSON)
	case "show":
		return sagaShow(ctx, stdio, pool, id, *asJSON)
	case "resolve":
		if err := saga.Resolve(ctx, pool, id, saga.Status(strings.ToUpper(*as)), *note, time.Now().UTC()); err != nil {
			fmt.Fprintf(stdio.Err, "strata saga resolve: %v\n", err)
			if saga.IsNotFound(err) || errors.Is(err, saga.ErrNotParked) {
				return ExitFail
			}
			return ExitUsage
		}
		fmt.Fprintf(stdio.Out, "saga %s: resolved as %s\n", id, strings.ToUpper(*as))
		return ExitOK
	default:
		if err := saga.Retry(ctx, pool, id, time.Now().UTC()); err != nil {
			fmt.Fprintf(stdio.Err, "strata saga retry: %v\n", err)
			if saga.IsNotFound(err) || errors.Is(err, saga.ErrNotParked) {
				return ExitFail
			}
			return ExitUsage
		}
		fmt.Fprintf(stdio.Out, "saga %s: retry requested; a running orchestrator sends the compensation again\n", id)
		return ExitOK
	}
}

func sagaList(ctx context.Context, stdio IO, pool *pgxpool.Pool, opt saga.ListOptions, asJSON bool) int {
	list, err := saga.List(ctx, pool, opt)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata saga list: %v\n", err)
		return ExitUsage
	}
	if asJSON {
		out := make([]sagaJSON, len(list))
		for i, inst := range list {
			out[i] = toSagaJSON(inst)
		}
		writeJSON(stdio, out)
	} else {
		tw := tabwriter.NewWriter(stdio.Out, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTYPE\tSTATUS\tSTEP\tUPDATED\tREASON")
		for _, inst := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", inst.ID, inst.Type, inst.Status, inst.Step,
				inst.UpdatedAt.UTC().Format(time.RFC3339), inst.Reason)
		}
		tw.Flush()
	}
	if opt.Stuck && len(list) > 0 {
		return ExitFail
	}
	return ExitOK
}

func sagaShow(ctx context.Context, stdio IO, pool *pgxpool.Pool, id string, asJSON bool) int {
	inst, steps, err := saga.Get(ctx, pool, id)
	if saga.IsNotFound(err) {
		fmt.Fprintf(stdio.Err, "strata saga show: no saga %s\n", id)
		return ExitFail
	}
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata saga show: %v\n", err)
		return ExitUsage
	}
	if asJSON {
		out := struct {
			sagaJSON
			Steps []stepJSON `json:"steps"`
		}{sagaJSON: toSagaJSON(inst)}
		for _, s := range steps {
			out.Steps = append(out.Steps, toStepJSON(s))
		}
		writeJSON(stdio, out)
		return ExitOK
	}
	fmt.Fprintf(stdio.Out, "saga     %s\ntype     %s\nstatus   %s\nstep     %d\nversion  %d\ncreated  %s\nupdated  %s\n",
		inst.ID, inst.Type, inst.Status, inst.Step, inst.Version,
		inst.CreatedAt.UTC().Format(time.RFC3339Nano), inst.UpdatedAt.UTC().Format(time.RFC3339Nano))
	if inst.FailedStep != "" {
		fmt.Fprintf(stdio.Out, "failed   %s\n", inst.FailedStep)
	}
	if inst.Reason != "" {
		fmt.Fprintf(stdio.Out, "reason   %s\n", inst.Reason)
	}
	fmt.Fprintf(stdio.Out, "data     %s\n\n", inst.Data)
	tw := tabwriter.NewWriter(stdio.Out, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tSTEP\tKIND\tATTEMPT\tCOMMAND\tSTATUS\tSTARTED\tTOOK\tREASON")
	for _, s := range steps {
		took := "-"
		if s.FinishedAt != nil {
			took = s.FinishedAt.Sub(s.StartedAt).Round(time.Millisecond).String()
		}
		cmd := s.CommandType
		if cmd == "" {
			cmd = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", s.Seq, s.Step, s.Kind, s.Attempt, cmd, s.Status,
			s.StartedAt.UTC().Format("15:04:05.000"), took, s.Reason)
	}
	tw.Flush()
	return ExitOK
}

type sagaJSON struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Status     string          `json:"status"`
	Step       int             `json:"step"`
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
	return sagaJSON{ID: i.ID, Type: i.Type, Status: string(i.Status), Step: i.Step, Version: i.Version,
		FailedStep: i.FailedStep, Reason: i.Reason, Data: i.Data, CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt}
}

func toStepJSON(s saga.StepRecord) stepJSON {
	return stepJSON{Seq: s.Seq, Step: s.Step, Kind: string(s.Kind), Attempt: s.Attempt, CommandID: s.CommandID,
		CommandType: s.CommandType, Status: string(s.Status), Reason: s.Reason, Result: s.Result,
		StartedAt: s.StartedAt, FinishedAt: s.FinishedAt}
}

func writeJSON(stdio IO, v any) {
	enc := json.NewEncoder(stdio.Out)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
