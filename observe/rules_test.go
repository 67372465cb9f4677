package observe_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/saga"
)

type noHeldBack struct{}

func (noHeldBack) HeldBack(context.Context) (eventstore.HeldBack, error) {
	return eventstore.HeldBack{}, nil
}

type noStatus struct{}

func (noStatus) Status(context.Context) ([]projection.Status, error) { return nil, nil }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// registeredMetrics builds every collector Strata's services register (the
// same constructors the services call) and returns the series names they
// can expose: histograms with _bucket, _sum and _count.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	var cs []prometheus.Collector
	gm := observe.NewGRPCMetrics(nil)
	cs = append(cs, gm.Handling)
	sm, err := observe.NewStoreMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	cs = append(cs, sm.AppendSeconds, sm.AppendBatch, observe.NewHeldBackCollector(noHeldBack{}))
	pm, err := observe.NewProjectionMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	cs = append(cs, pm.Freshness, pm.Events, observe.NewProjectionStatusCollector(noStatus{}))
	cs = append(cs, messaging.NewMetrics().Collectors()...)
	engine, err := saga.New(nil, saga.Config{
		Encoder: saga.EncoderFunc(func(context.Context, saga.Command) ([]byte, error) { return nil, nil }),
	})
	if err != nil {
		t.Fatal(err)
	}
	cs = append(cs, engine.Metrics().Events, engine.Metrics().Parked)
	cs = append(cs, saga.NewStatesCollector(nil), observe.NewSagaAgeCollector(nil), observe.NewDLQSizeCollector(nil, nil, ""))

	names := map[string]bool{}
	add := func(c prometheus.Collector) {
		_, histogram := c.(*prometheus.HistogramVec)
		ch := make(chan *prometheus.Desc, 64)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			m := fqName.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("no name in %s", d)
			}
			names[m[1]] = true
			if histogram {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					names[m[1]+s] = true
				}
			}
		}
	}
	for _, c := range cs {
		add(c)
	}
	// Go runtime and process collectors of observe.NewRegistry.
	mfs, err := observe.NewRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			names[mf.GetName()+s] = true
		}
	}
	return names
}

var (
	promStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers = regexp.MustCompile(`\{[^{}]*\}`)
	promRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "by": true,
		"without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true}
)

// metricNames returns the metric names a PromQL expression selects, and
// checks that its brackets balance.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	depth := map[rune]int{}
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for _, r := range promStrings.ReplaceAllString(expr, `""`) {
		switch r {
		case '(', '[', '{':
			depth[r]++
		case ')', ']', '}':
			depth[pairs[r]]--
			if depth[pairs[r]] < 0 {
				t.Errorf("unbalanced %q in %s", r, expr)
			}
		}
	}
	for r, n := range depth {
		if n != 0 {
			t.Errorf("unbalanced %q in %s", r, expr)
		}
	}
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRanges.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		id := s[loc[0]:loc[1]]
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if promKeywords[id] || strings.HasPrefix(rest, "(") {
			continue // an operator keyword or a function
		}
		if loc[0] > 0 && (s[loc[0]-1] >= '0' && s[loc[0]-1] <= '9' || s[loc[0]-1] == '.') {
			continue // the exponent or unit of a number, e.g. 1e3
		}
		out = append(out, id)
	}
	return out
}

func repoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// anchors returns the GitHub anchors of the markdown headings in doc.
func anchors(doc string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		out[b.String()] = true
	}
	return out
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRules(t *testing.T) {
	known := registeredMetrics(t)
	var rf ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(repoFile(t, "observe/prometheus/strata-alerts.yaml"))))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("strata-alerts.yaml: %v", err)
	}
	ops := anchors(string(repoFile(t, "docs/operations.md")))
	seen := map[string]bool{}
	forRe := regexp.MustCompile(`^\d+[smhd]$`)
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: no name or no rules", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("group %s: a rule without alert name or expr: %+v", g.Name, r)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			seen[r.Alert] = true
			if r.For != "" && !forRe.MatchString(r.For) {
				t.Errorf("alert %s: for %q", r.Alert, r.For)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("alert %s: severity %q", r.Alert, s)
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("alert %s: no summary", r.Alert)
			}
			url := r.Annotations["runbook_url"]
			doc, anchor, _ := strings.Cut(url, "#")
			if doc != "docs/operations.md" || !ops[anchor] {
				t.Errorf("alert %s: runbook_url %q is not a section of docs/operations.md", r.Alert, url)
			}
			names := metricNames(t, r.Expr)
			if len(names) == 0 {
				t.Errorf("alert %s: no metric in %s", r.Alert, r.Expr)
			}
			for _, n := range names {
				if !known[n] {
					t.Errorf("alert %s: metric %s is not registered by Strata's code", r.Alert, n)
				}
			}
		}
	}
	for _, want := range []string{"StrataConsumerLagHigh", "StrataDLQGrowing", "StrataSagaStuck", "StrataProjectionFailing", "StrataFreshnessObjective"} {
		if !seen[want] {
			t.Errorf("alert %s is missing", want)
		}
	}
}

func TestGrafanaDashboard(t *testing.T) {
	known := registeredMetrics(t)
	var dash struct {
		UID           string `json:"uid"`
		Title         string `json:"title"`
		SchemaVersion int    `json:"schemaVersion"`
		Templating    struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			GridPos struct{ H, W, X, Y int }
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	b := repoFile(t, "observe/grafana/strata-overview.json")
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if dash.UID == "" || dash.Title == "" || dash.SchemaVersion < 30 {
		t.Fatalf("dashboard uid %q title %q schemaVersion %d", dash.UID, dash.Title, dash.SchemaVersion)
	}
	ids := map[int]bool{}
	var covered []string
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q overflows the grid", p.Title)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, n := range metricNames(t, tg.Expr) {
				if !known[n] {
					t.Errorf("panel %q: metric %s is not registered by Strata's code", p.Title, n)
				}
				covered = append(covered, strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum"))
			}
		}
	}
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(string); ok && strings.HasPrefix(q, "label_values(") {
			for _, n := range metricNames(t, strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ", job)")) {
				if !known[n] {
					t.Errorf("variable %s: metric %s is not registered", v.Name, n)
				}
			}
		}
	}
	// The metric list, each on the dashboard.
	for _, want := range []string{
		"strata_grpc_server_handling_seconds",   // command latency by command and code
		"strata_eventstore_append_seconds",      // append latency
		"strata_eventstore_append_batch_events", // batch size
		"strata_messaging_relay_lag_events", "strata_messaging_relay_lag_seconds",
		"strata_messaging_consumer_lag",       // per group/partition
		"strata_projection_lag_events",        // projection lag
		"strata_projection_freshness_seconds", // end-to-end freshness
		"strata_messaging_consumer_retries_total", "strata_messaging_consumer_dlq_total", "strata_messaging_dlq_messages",
		"strata_saga_instances",               // saga states
		"strata_eventstore_held_back_seconds", // readers held back
	} {
		if !slices.Contains(covered, want) {
			t.Errorf("no panel shows %s", want)
		}
	}
}

func TestMetricNamesParser(t *testing.T) {
	got := metricNames(t, `histogram_quantile(0.99, sum by (le, method) (rate(a_bucket{code!~"OK|x"}[5m]))) / on(job) b > 1e3 and c offset 5m`)
	if strings.Join(got, ",") != "a_bucket,b,c" {
		t.Fatalf("metricNames = %v", got)
	}
}
