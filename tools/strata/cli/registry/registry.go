// Package registry is `strata registry`: Strata's schema registry server.
package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/registry"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Ready, when set (by tests), is told the address the server listens on.
var Ready func(net.Addr)

// Command is `strata registry serve`.
func Command() *cobra.Command {
	cmd := clikit.Group(&cobra.Command{
		Use:   "registry",
		Short: "the schema registry server (Confluent REST API on PostgreSQL)",
	})
	cmd.AddCommand(serveCommand())
	return cmd
}

func serveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "serve the Confluent Schema Registry REST API backed by PostgreSQL",
		Long: `Serves the Confluent Schema Registry REST API backed by PostgreSQL, applying its
migrations at start. Flags override the environment:
  --addr             REGISTRY_ADDR (default 127.0.0.1:8081)
  --database-url     REGISTRY_DATABASE_URL, then DATABASE_URL
  --basic-auth-file  REGISTRY_BASIC_AUTH_FILE: "user:password" lines; every
                     request then needs one of them (HTTP basic auth).
                     REGISTRY_BASIC_AUTH_USER_INFO=user:password adds one user
                     (credentials are never taken from the command line)
  --tls-cert, --tls-key  REGISTRY_TLS_CERT, REGISTRY_TLS_KEY: serve HTTPS
  --tls-client-ca    REGISTRY_TLS_CLIENT_CA: require client certificates
Modes READWRITE, READONLY and IMPORT (PUT /mode). Stops gracefully on
SIGINT/SIGTERM. See docs/registry.md.`,
		Args: clikit.NoArgs,
	}
	f := cmd.Flags()
	addr := f.String("addr", env("127.0.0.1:8081", "REGISTRY_ADDR"), "listen address")
	dbURL := f.String("database-url", env("", "REGISTRY_DATABASE_URL", "DATABASE_URL"), "PostgreSQL URL of the registry's database")
	level := f.String("log-level", "info", "debug, info, warn or error")
	usersFile := f.String("basic-auth-file", os.Getenv("REGISTRY_BASIC_AUTH_FILE"), "file of user:password lines (basic auth)")
	tlsCert := f.String("tls-cert", os.Getenv("REGISTRY_TLS_CERT"), "PEM certificate (serve HTTPS)")
	tlsKey := f.String("tls-key", os.Getenv("REGISTRY_TLS_KEY"), "PEM key of --tls-cert")
	tlsClientCA := f.String("tls-client-ca", os.Getenv("REGISTRY_TLS_CLIENT_CA"), "PEM CAs of required client certificates")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var lv slog.Level
		if err := lv.UnmarshalText([]byte(*level)); err != nil {
			return clikit.Usagef("--log-level: %v", err)
		}
		users, err := loadUsers(*usersFile, os.Getenv("REGISTRY_BASIC_AUTH_USER_INFO"))
		if err != nil {
			return clikit.Usagef("%v", err)
		}
		cfg := registry.Config{
			Addr:        *addr,
			DatabaseURL: *dbURL,
			Logger:      slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lv})),
			Ready:       Ready,
			Users:       users,
			TLS:         registry.TLSFiles{CertFile: *tlsCert, KeyFile: *tlsKey, ClientCAFile: *tlsClientCA},
		}
		if err := cfg.Validate(); err != nil {
			return clikit.Usagef("%v\n(set --database-url, REGISTRY_DATABASE_URL or DATABASE_URL)", err)
		}
		if err := registry.Run(cmd.Context(), cfg); err != nil {
			return clikit.Unavailable(err)
		}
		return nil
	}
	return cmd
}

// loadUsers reads the users file (when named) and adds the user of userInfo
// ("user:password", when set).
func loadUsers(file, userInfo string) (registry.Users, error) {
	users := registry.Users{}
	if file != "" {
		u, err := registry.LoadUsers(file)
		if err != nil {
			return nil, err
		}
		users = u
	}
	if userInfo != "" {
		extra, err := registry.ParseUsers(strings.NewReader(userInfo))
		if err != nil || len(extra) != 1 {
			return nil, errors.New("REGISTRY_BASIC_AUTH_USER_INFO must be user:password")
		}
		for u, p := range extra {
			if _, dup := users[u]; dup {
				return nil, fmt.Errorf("user %q is both in the users file and in REGISTRY_BASIC_AUTH_USER_INFO", u)
			}
			users[u] = p
		}
	}
	return users, nil
}

// env returns the first non-empty environment variable of keys, else def.
func env(def string, keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return def
}
