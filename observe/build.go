package observe

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Version and Commit name the build. Release builds set them with
//
//	go build -ldflags "-X github.com/stratahq/strata/observe.Version=v1.2.3 -X github.com/stratahq/strata/observe.Commit=abc1234"
//
// (ci/run.sh and ci/stack/registry.sh do, from git describe). Left empty,
// BuildInfo falls back to what the Go toolchain recorded.
var (
	Version string
	Commit  string
)

// Build describes the running binary.
type Build struct {
	Version   string `json:"version"`    // ldflags Version, else the main module's version ("(devel)" for a local build)
	Commit    string `json:"commit"`     // ldflags Commit, else vcs.revision ("" when built without VCS stamping)
	Modified  bool   `json:"modified"`   // vcs.modified: built from a work tree with uncommitted changes
	GoVersion string `json:"go_version"` // the toolchain that built it
	Path      string `json:"path"`       // the main package
}

// BuildInfo reports the running binary's version, commit and Go version:
// the ldflags values when set, else runtime/debug's build information.
func BuildInfo() Build {
	b := Build{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		b.Path = bi.Path
		if b.Version == "" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	return b
}

// RegisterBuildInfo registers strata_build_info{service,version,commit,
// go_version}, a gauge that is always 1: join on it to see which build each
// instance runs (count by (version) (strata_build_info) shows a rollout).
func RegisterBuildInfo(reg prometheus.Registerer, service string) error {
	b := BuildInfo()
	commit := b.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if b.Modified && commit != "" {
		commit += "-dirty"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "strata_build_info",
		Help: "The build this process runs (always 1): service, version, commit and Go version as labels.",
		ConstLabels: prometheus.Labels{
			"service": service, "version": b.Version, "commit": commit, "go_version": b.GoVersion,
		},
	})
	g.Set(1)
	if err := reg.Register(g); err != nil {
		if _, dup := errors.AsType[prometheus.AlreadyRegisteredError](err); dup {
			return nil // the same service started twice on one registry (tests)
		}
		return fmt.Errorf("strata_build_info: %w", err)
	}
	return nil
}
