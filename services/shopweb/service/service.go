// Package service wires the shop's web front: gRPC clients to the order and
// query services, the pages of package ports, an HTTP server on loopback.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/services/shopweb/adapters"
	"github.com/stratahq/strata/services/shopweb/ports"
)

// Config configures the web front.
type Config struct {
	HTTPAddr  string // SHOPWEB_ADDR, default 127.0.0.1:8090
	OrderAddr string // ORDER_GRPC_ADDR, default 127.0.0.1:50051
	QueryAddr string // QUERY_GRPC_ADDR, default 127.0.0.1:50052
	EnvFile   string // when set, SHOPWEB_ADDR=<bound address> is written there
	Logger    *slog.Logger
	LiveEvery time.Duration
	// Ready, when set, is called with the bound address.
	Ready func(addr string)
}

// FromEnv reads the configuration from the environment.
func FromEnv() (Config, error) {
	return Config{
		HTTPAddr:  bootstrap.Getenv("SHOPWEB_ADDR", "127.0.0.1:8090"),
		OrderAddr: bootstrap.Getenv("ORDER_GRPC_ADDR", "127.0.0.1:50051"),
		QueryAddr: bootstrap.Getenv("QUERY_GRPC_ADDR", "127.0.0.1:50052"),
	}, nil
}

// Run serves the web front until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if errs := bootstrap.Required("shopweb", "SHOPWEB_ADDR", cfg.HTTPAddr, "ORDER_GRPC_ADDR", cfg.OrderAddr, "QUERY_GRPC_ADDR", cfg.QueryAddr); len(errs) > 0 {
		return errors.Join(errs...)
	}
	shop, err := adapters.Dial(cfg.OrderAddr, cfg.QueryAddr)
	if err != nil {
		return fmt.Errorf("shopweb: %w", err)
	}
	defer shop.Close()
	web, err := ports.New(shop, ports.Options{Logger: cfg.Logger, LiveEvery: cfg.LiveEvery})
	if err != nil {
		return fmt.Errorf("shopweb: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("shopweb: listen: %w", err)
	}
	addr := ln.Addr().String()
	if cfg.EnvFile != "" {
		if err := os.WriteFile(cfg.EnvFile, []byte("export SHOPWEB_ADDR='"+addr+"'\n"), 0o644); err != nil {
			ln.Close()
			return fmt.Errorf("shopweb: env file: %w", err)
		}
	}
	cfg.Logger.Info("shopweb listening", "addr", "http://"+addr, "order", cfg.OrderAddr, "query", cfg.QueryAddr)
	if cfg.Ready != nil {
		cfg.Ready(addr)
	}
	srv := &http.Server{Handler: web, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("shopweb: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
