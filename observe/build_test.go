package observe

import (
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestBuildInfoPrefersLinkerValues(t *testing.T) {
	old, oldC := Version, Commit
	t.Cleanup(func() { Version, Commit = old, oldC })
	Version, Commit = "v9.9.9", "0123456789abcdef0123"
	b := BuildInfo()
	if b.Version != "v9.9.9" || b.Commit != "0123456789abcdef0123" || b.GoVersion != runtime.Version() {
		t.Fatalf("BuildInfo = %+v", b)
	}
	reg := prometheus.NewRegistry()
	if err := RegisterBuildInfo(reg, "order"); err != nil {
		t.Fatal(err)
	}
	if err := RegisterBuildInfo(reg, "order"); err != nil {
		t.Fatalf("registering twice: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "strata_build_info" || len(mfs[0].GetMetric()) != 1 {
		t.Fatalf("gathered %v, %v", mfs, err)
	}
	m := mfs[0].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	want := map[string]string{"service": "order", "version": "v9.9.9", "commit": "0123456789ab", "go_version": runtime.Version()}
	if m.GetGauge().GetValue() != 1 || len(labels) != len(want) {
		t.Fatalf("metric %v", m)
	}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, labels[k], v)
		}
	}
	Version, Commit = "", ""
	if b := BuildInfo(); b.Version == "" {
		t.Fatalf("no version without ldflags: %+v", b)
	}
}
