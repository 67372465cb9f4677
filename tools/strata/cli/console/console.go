// Package console is `strata console`: the operator console (package
// console) served on a loopback address.
package console

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/console"
	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
	"github.com/stratahq/strata/tools/strata/cli/consumers"
)

// Option adds to the console's configuration what only an application
// binary has: its event types, upcasters and projections (then the console
// also shows events as today's types and rebuilds projections).
type Option func(*console.Config) error

// Command is `strata console`; a projector binary passes Options to serve the
// same command with its projections (services/projector: `projector console`).
func Command(opts ...Option) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "console",
		Short: "serve the operator console (events, consumers, DLQ, sagas, projections, schemas) on 127.0.0.1",
		Long: `Serves the operator console on a loopback address until interrupted: streams
and events decoded through their writer schema, consumer lag and the relay's
position (live), dead letters with replay, sagas with retry, projection status,
schema subjects with diffs. Events are shown as written (their writer schema);
strata has no application code, so rebuilding projections and showing events
as today's types need the console served by the projector binary (the shop:
projector console), which adds its projections and upcasters.

Every request needs the token (--token or $CONSOLE_TOKEN, at least 16
characters): as a bearer token, as the basic-auth password (any user), or
through the sign-in page, which sets a cookie. The console is read-only unless
--allow-write: replay, retry and rebuild answer 403 without it.`,
		Args: clikit.NoArgs,
	}
	dbURL := clikit.DatabaseURL(cmd)
	regURL := clikit.Registry(cmd)
	kf := clikit.KafkaFlags(cmd)
	addr := cmd.Flags().String("addr", envOr("CONSOLE_ADDR", "127.0.0.1:8091"), "listen address (loopback only)")
	token := cmd.Flags().String("token", "", "access token (default $CONSOLE_TOKEN)")
	write := cmd.Flags().Bool("allow-write", false, "allow replay, retry and rebuild")
	prefix := cmd.Flags().String("topic-prefix", "", "only topics (dead letters, consumer lag) with this prefix")
	envFile := cmd.Flags().String("env-file", "", "write CONSOLE_ADDR and CONSOLE_TOKEN export lines here once listening")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *token == "" {
			*token = os.Getenv("CONSOLE_TOKEN")
		}
		if len(*token) < 16 {
			return clikit.Usagef("a token of at least 16 characters is required: --token or CONSOLE_TOKEN")
		}
		if err := console.CheckAddr(*addr); err != nil {
			return &clikit.UsageError{Err: err}
		}
		if err := clikit.RequireDatabase(*dbURL); err != nil {
			return err
		}
		kc, err := kf.Config()
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		pool, err := clikit.Connect(ctx, *dbURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		store, err := eventstore.New(pool, eventstore.Config{NoNotify: true})
		if err != nil {
			return err
		}
		cfg := console.Config{
			Pool: pool, Store: store,
			Kafka: kc, TopicPrefix: *prefix, Token: *token, AllowWrite: *write,
			Lag:    Lag,
			Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)),
		}
		if *regURL != "" {
			reg, err := client.ForURL(*regURL)
			if err != nil {
				return &clikit.UsageError{Err: err}
			}
			cfg.Registry = reg
		}
		for _, o := range opts {
			if err := o(&cfg); err != nil {
				return err
			}
		}
		srv, err := console.New(cfg)
		if err != nil {
			return err
		}
		return srv.ListenAndServe(ctx, *addr, func(bound string) {
			mode := "read-only"
			if *write {
				mode = "write actions allowed"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "strata console: http://%s (%s)\n", bound, mode)
			if *envFile != "" {
				line := fmt.Sprintf("export CONSOLE_ADDR='%s'\nexport CONSOLE_URL='http://%s'\nexport CONSOLE_TOKEN='%s'\n", bound, bound, *token)
				if err := os.WriteFile(*envFile, []byte(line), 0o600); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "strata console: env file: %v\n", err)
				}
			}
		})
	}
	return cmd
}

// Lag is consumers.ConsumerLag in the console's shape.
func Lag(ctx context.Context, kc messaging.KafkaConfig, prefix string) ([]console.GroupLag, error) {
	rows, _, err := consumers.ConsumerLag(ctx, kc, nil, prefix)
	out := make([]console.GroupLag, 0, len(rows))
	for _, r := range rows {
		out = append(out, console.GroupLag(r))
	}
	return out, err
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
