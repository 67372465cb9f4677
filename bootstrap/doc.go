// Package bootstrap holds the start-up code the shop's services share: the
// main function (environment, flags, logger, signals), environment defaults,
// opening the event store with its metrics, and serving /metrics with the
// -env-file export lines.
//
// It is wiring only. Each service keeps its own Config, FromEnv, Validate
// and Run in its service package; Run calls these helpers where the steps
// are the same, and main is one call:
//
//	func main() {
//		bootstrap.Main("payment", service.FromEnv, func(cfg *service.Config, fs *flag.FlagSet, log *slog.Logger) {
//			cfg.Logger = log
//			bootstrap.Flags(fs, nil, &cfg.MetricsAddr, &cfg.EnvFile)
//		}, service.Run)
//	}
package bootstrap
