package bootstrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/stratahq/strata/observe"
)

// GRPCConfig says how a service's gRPC server secures itself. The zero value
// is a plaintext server that authenticates nobody (local development).
type GRPCConfig struct {
	// CertFile and KeyFile: the server's TLS certificate and key (both or
	// neither).
	CertFile, KeyFile string
	// ClientCAFile: mutual TLS. Clients must present a certificate signed by
	// one of these CAs; its subject (first URI SAN, else common name) is the
	// caller's identity unless a bearer token names one. Needs CertFile.
	ClientCAFile string
	// JWKSURL: bearer tokens ("authorization: Bearer <JWT>") are verified
	// against this JSON Web Key Set (refreshed in the background); the
	// token's "sub" claim is the caller's identity. Without ClientCAFile a
	// call with no token is refused.
	JWKSURL string
	// JWTIssuer and JWTAudience, when set, must match the token's "iss" and
	// one of its "aud".
	JWTIssuer, JWTAudience string
	// Logger receives recovered panics (default: slog.Default()).
	Logger *slog.Logger
}

// GRPCConfigFromEnv reads PREFIX_TLS_CERT, PREFIX_TLS_KEY,
// PREFIX_TLS_CLIENT_CA, PREFIX_JWKS_URL, PREFIX_JWT_ISSUER and
// PREFIX_JWT_AUDIENCE, for example GRPCConfigFromEnv("ORDER").
func GRPCConfigFromEnv(prefix string) GRPCConfig {
	return GRPCConfig{
		CertFile:     os.Getenv(prefix + "_TLS_CERT"),
		KeyFile:      os.Getenv(prefix + "_TLS_KEY"),
		ClientCAFile: os.Getenv(prefix + "_TLS_CLIENT_CA"),
		JWKSURL:      os.Getenv(prefix + "_JWKS_URL"),
		JWTIssuer:    os.Getenv(prefix + "_JWT_ISSUER"),
		JWTAudience:  os.Getenv(prefix + "_JWT_AUDIENCE"),
	}
}

// Validate reports every inconsistency at once.
func (c GRPCConfig) Validate() error {
	var errs []error
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("set both the TLS certificate and key, or neither"))
	}
	if c.ClientCAFile != "" && c.CertFile == "" {
		errs = append(errs, errors.New("mutual TLS (client CA) needs the server's TLS certificate and key"))
	}
	if c.JWKSURL == "" && (c.JWTIssuer != "" || c.JWTAudience != "") {
		errs = append(errs, errors.New("a JWT issuer or audience needs a JWKS URL"))
	}
	return errors.Join(errs...)
}

// Authenticates reports whether the server checks its callers' identity.
func (c GRPCConfig) Authenticates() bool { return c.ClientCAFile != "" || c.JWKSURL != "" }

// TLS reports whether the server speaks TLS.
func (c GRPCConfig) TLS() bool { return c.CertFile != "" }

// GRPCServer returns the gRPC server a service exposes, with, in order of
// the call: observe's tracing and metrics (on reg), panic recovery (a panic
// becomes codes.Internal with a fixed message; the value and stack go to the
// log only), authentication as cfg says (see Identity), then extra; with
// the health service (not serving until the caller says so, see
// WatchHealth) and reflection registered. The JWKS is refreshed until ctx
// ends.
func GRPCServer(ctx context.Context, name string, reg *prometheus.Registry, cfg GRPCConfig, extra ...grpc.ServerOption) (*grpc.Server, *health.Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%s: gRPC: %w", name, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	opts := observe.GRPCServerOptions(reg)
	if cfg.CertFile != "" {
		tc, err := serverTLS(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: TLS: %w", name, err)
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	unary := []grpc.UnaryServerInterceptor{recoverUnary(log)}
	stream := []grpc.StreamServerInterceptor{recoverStream(log)}
	if cfg.Authenticates() {
		a, err := newAuthenticator(ctx, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: authentication: %w", name, err)
		}
		unary = append(unary, a.unary)
		stream = append(stream, a.stream)
	}
	opts = append(opts, grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...))
	srv := grpc.NewServer(append(opts, extra...)...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return srv, hs, nil
}

func serverTLS(cfg GRPCConfig) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA %s: no PEM certificate", cfg.ClientCAFile)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}
