package registry

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/stratahq/strata/registry"
)

const registrySummary = "the schema registry server (Confluent REST API on PostgreSQL)"

// Ready, when set (by tests), is told the address the server listens on.
var Ready func(net.Addr)

// runRegistry dispatches `strata registry SUBCOMMAND`.
func runRegistry(ctx context.Context, stdio IO, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		registryUsage(stdio.Out)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	switch args[0] {
	case "serve":
		return runRegistryServe(ctx, stdio, args[1:])
	default:
		fmt.Fprintf(stdio.Err, "strata registry: unknown subcommand %q\n\n", args[0])
		registryUsage(stdio.Err)
		return ExitUsage
	}
}

func registryUsage(w io.Writer) {
	io.WriteString(w, `usage: strata registry serve [--addr ADDR] [--database-url URL] [--log-level LEVEL]
                             [--basic-auth-file FILE] [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]

Serves the Confluent Schema Registry REST API backed by PostgreSQL, applying its
migrations at start. Flags override the environment:
  --addr             REGISTRY_ADDR (default 127.0.0.1:8081)
  --database-url     REGISTRY_DATABASE_URL, then DATABASE_URL
  --basic-auth-file  REGISTRY_BASIC_AUTH_FILE: "user:password" lines; every
                     request then needs one of them (HTTP basic auth)
                     REGISTRY_BASIC_AUTH_USER_INFO=user:password adds one user
                     (credentials are never taken from the command line)
  --tls-cert, --tls-key  REGISTRY_TLS_CERT, REGISTRY_TLS_KEY: serve HTTPS
  --tls-client-ca    REGISTRY_TLS_CLIENT_CA: require client certificates
Stops gracefully on SIGINT/SIGTERM. See docs/registry.md.
`)
}

func runRegistryServe(ctx context.Context, stdio IO, args []string) int {
	fs := flag.NewFlagSet("strata registry serve", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	addr := fs.String("addr", registryEnv("127.0.0.1:8081", "REGISTRY_ADDR"), "listen address")
	dbURL := fs.String("database-url", registryEnv("", "REGISTRY_DATABASE_URL", "DATABASE_URL"), "PostgreSQL URL of the registry's database")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	usersFile := fs.String("basic-auth-file", os.Getenv("REGISTRY_BASIC_AUTH_FILE"), "file of user:password lines (basic auth)")
	tlsCert := fs.String("tls-cert", os.Getenv("REGISTRY_TLS_CERT"), "PEM certificate (serve HTTPS)")
	tlsKey := fs.String("tls-key", os.Getenv("REGISTRY_TLS_KEY"), "PEM key of --tls-cert")
	tlsClientCA := fs.String("tls-client-ca", os.Getenv("REGISTRY_TLS_CLIENT_CA"), "PEM CAs of required client certificates")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stdio.Err, "strata registry serve: unexpected arguments %q\n", fs.Args())
		return ExitUsage
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stdio.Err, "strata registry serve: --log-level: %v\n", err)
		return ExitUsage
	}
	users, err := registryUsers(*usersFile, os.Getenv("REGISTRY_BASIC_AUTH_USER_INFO"))
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata registry serve: %v\n", err)
		return ExitUsage
	}
	cfg := registry.Config{
		Addr:        *addr,
		DatabaseURL: *dbURL,
		Logger:      slog.New(slog.NewTextHandler(stdio.Err, &slog.HandlerOptions{Level: lv})),
		Ready:       Ready,
		Users:       users,
		TLS:         registry.TLSFiles{CertFile: *tlsCert, KeyFile: *tlsKey, ClientCAFile: *tlsClientCA},
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stdio.Err, "strata registry serve: %v\n(set --database-url, REGISTRY_DATABASE_URL or DATABASE_URL)\n", err)
		return ExitUsage
	}
	if err := registry.Run(ctx, cfg); err != nil {
		fmt.Fprintf(stdio.Err, "strata registry serve: %v\n", err)
		return ExitUsage
	}
	return ExitOK
}

// registryUsers reads the users file (when named) and adds the user of
// userInfo ("user:password", when set).
func registryUsers(file, userInfo string) (registry.Users, error) {
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

// registryEnv returns the first non-empty environment variable of keys, else def.
func registryEnv(def string, keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return def
}
