// Package bootstrap is the start-up code of a Strata service: the main
// function (environment, flags, logger, signals), configuration from the
// environment (KafkaFromEnv, GRPCConfigFromEnv, Required), PostgreSQL pools
// with the event store and its metrics (OpenStore), the /metrics endpoint
// with the -env-file export lines (ServeMetrics), and the gRPC server
// (GRPCServer) with health that follows the service's dependencies
// (WatchHealth with PoolCheck and KafkaCheck).
//
// It is wiring only. Each service keeps its own Config, FromEnv, Validate
// and Run in its service package; Run calls these helpers where the steps
// are the same, and main is one call:
//
//	func main() {
//		bootstrap.Main("ledger", service.FromEnv, func(cfg *service.Config, fs *flag.FlagSet, log *slog.Logger) {
//			cfg.Logger = log
//			bootstrap.Flags(fs, &cfg.GRPCAddr, &cfg.MetricsAddr, &cfg.EnvFile)
//		}, service.Run)
//	}
//
// # gRPC security
//
// GRPCServer authenticates callers when its GRPCConfig says so: mutual TLS
// (ClientCAFile: the client certificate's first URI SAN or common name is
// the identity) and/or bearer JWTs verified against a JWKS (JWKSURL, with
// optional issuer and audience; the "sub" claim is the identity; "exp" is
// required; HMAC and "none" are refused). A bearer token, when sent, must be
// valid; without one, a verified client certificate identifies the caller;
// without either the call fails with Unauthenticated. Health Check and Watch
// stay open to probes. The verified subject is the only source of the user
// id in observe.UserID(ctx), which services write into event metadata: a
// client's "x-user-id" header is ignored. IdentityFrom returns the identity
// and how it was proven.
//
// A handler's panic is recovered into codes.Internal with the fixed message
// "internal error"; the panic value and stack go to the log only. Package
// bootstraptest serves a JWKS for tests and signs tokens with it.
package bootstrap
