package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Config configures Run.
type Config struct {
	// Addr is the listen address, e.g. 127.0.0.1:8081.
	Addr string
	// DatabaseURL is the PostgreSQL database holding the registry.
	DatabaseURL string
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Checker decides compatibility; nil means compat.Check.
	Checker Checker
	// Ready, when set, is called with the listening address once the
	// database is migrated and the server accepts requests.
	Ready func(addr net.Addr)
	// Users, when not empty, turns on HTTP basic authentication: every
	// request needs one of these credentials (LoadUsers reads a file).
	Users Users
	// TLS, when set, serves HTTPS (and with a client CA, mutual TLS).
	TLS TLSFiles
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("registry: listen address is empty"))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("registry: database URL is empty"))
	} else if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
		errs = append(errs, fmt.Errorf("registry: database URL: %w", err))
	}
	if err := c.TLS.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Open connects to the database at url and applies the registry's migrations.
func Open(ctx context.Context, url string, log *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("registry: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("registry: connect: %w", err)
	}
	if err := Migrate(ctx, pool, log); err != nil {
		pool.Close()
		return nil, fmt.Errorf("registry: %w", err)
	}
	return pool, nil
}

// Run opens the database, migrates it and serves the registry API on
// cfg.Addr until ctx is cancelled, then shuts down gracefully (in-flight
// requests get 10 seconds).
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var tlsConfig *tls.Config
	if cfg.TLS.Enabled() {
		tc, err := cfg.TLS.config()
		if err != nil {
			return err
		}
		tlsConfig = tc
	}
	pool, err := Open(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("registry: listen: %w", err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	srv := &http.Server{
		Handler:           BasicAuth(cfg.Users, NewServer(NewStore(pool, cfg.Checker), log)),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("schema registry listening", "addr", ln.Addr().String(), "tls", tlsConfig != nil,
		"client_certificates", cfg.TLS.ClientCAFile != "", "basic_auth_users", len(cfg.Users))
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("registry: serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("schema registry shutting down")
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("registry: shutdown: %w", err)
	}
	return nil
}
