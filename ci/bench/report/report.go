// Package report is the shared shape of Strata's benchmark runners. Each area
// (eventstore, relay, serde, commands, ...) has a runner main package under
// ci/bench/<area>/ that measures against the real local stack in one process
// and writes one Markdown section to docs/benchmarks/<area>.md with this
// package: the reproducing command, the machine, the measurements, and every
// ratio against a baseline measured in the same run, with its target and
// whether it was met. ci/bench.sh runs the runners and joins the sections
// into docs/benchmarks.md. Nothing here asserts on time: a missed target is
// reported, explained by the runner, and does not fail the run.
package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Report accumulates one area's section.
type Report struct {
	area    string
	title   string
	command string
	started time.Time
	facts   [][2]string
	body    strings.Builder
	ratios  []Ratio
}

// New starts the section for area (the folder name under ci/bench) with a
// human title. command is the exact command that reproduces it.
func New(area, title, command string) *Report {
	return &Report{area: area, title: title, command: command, started: time.Now()}
}

// Fact adds a line to the machine-and-setup list (PostgreSQL settings, sizes, ...).
func (r *Report) Fact(key, value string) { r.facts = append(r.facts, [2]string{key, value}) }

// Heading starts a subsection.
func (r *Report) Heading(s string) { fmt.Fprintf(&r.body, "\n#### %s\n\n", s) }

// Para adds a paragraph of Markdown.
func (r *Report) Para(format string, args ...any) {
	fmt.Fprintf(&r.body, format, args...)
	r.body.WriteString("\n\n")
}

// Table adds a Markdown table.
func (r *Report) Table(header []string, rows [][]string) {
	r.body.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		r.body.WriteString("---|")
	}
	r.body.WriteString("\n")
	for _, row := range rows {
		r.body.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	r.body.WriteString("\n")
}

// Ratio is one comparison against a baseline measured in the same run.
type Ratio struct {
	Name     string
	Value    float64 // ours / baseline, in the direction where higher is better
	Target   float64 // minimum acceptable Value
	Detail   string  // the two measurements behind it
	Met      bool
	Verdict  string // why, when not met (or a caveat)
	AtMostOK bool   // Target is a maximum (e.g. latency growth), not a minimum
}

// AddRatio records a ratio whose value must be at least target.
func (r *Report) AddRatio(name string, value, target float64, detail string) *Ratio {
	r.ratios = append(r.ratios, Ratio{Name: name, Value: value, Target: target, Detail: detail, Met: value >= target})
	return &r.ratios[len(r.ratios)-1]
}

// AddCeiling records a ratio whose value must be at most ceiling (e.g. how
// much latency grows with the table's size).
func (r *Report) AddCeiling(name string, value, ceiling float64, detail string) *Ratio {
	r.ratios = append(r.ratios, Ratio{Name: name, Value: value, Target: ceiling, Detail: detail, Met: value <= ceiling, AtMostOK: true})
	return &r.ratios[len(r.ratios)-1]
}

// Explain attaches an explanation to the last ratio named name.
func (r *Report) Explain(name, why string) {
	for i := len(r.ratios) - 1; i >= 0; i-- {
		if r.ratios[i].Name == name {
			r.ratios[i].Verdict = why
			return
		}
	}
}

// Ratios returns the ratios recorded so far.
func (r *Report) Ratios() []Ratio { return r.ratios }

// Write renders the section to path (creating its folder).
func (r *Report) Write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.render(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (r *Report) render(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", r.title)
	fmt.Fprintf(&b, "Reproduce: `%s`  \n", r.command)
	fmt.Fprintf(&b, "Run at %s, took %s.\n\n", r.started.UTC().Format(time.RFC3339), time.Since(r.started).Round(time.Second))
	if len(r.ratios) > 0 {
		b.WriteString("| ratio | value | target | met | measured |\n|---|---|---|---|---|\n")
		for _, x := range r.ratios {
			cmp := "≥"
			if x.AtMostOK {
				cmp = "≤"
			}
			met := "yes"
			if !x.Met {
				met = "**no**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s %s | %s | %s |\n", x.Name, Num(x.Value), cmp, Num(x.Target), met, x.Detail)
		}
		b.WriteString("\n")
		for _, x := range r.ratios {
			if x.Verdict != "" {
				fmt.Fprintf(&b, "- **%s**: %s\n", x.Name, x.Verdict)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("<details><summary>Machine and setup</summary>\n\n")
	for _, f := range append(Machine(), r.facts...) {
		fmt.Fprintf(&b, "- %s: %s\n", f[0], f[1])
	}
	b.WriteString("\n</details>\n")
	b.WriteString(r.body.String())
	_, err := io.WriteString(w, b.String())
	return err
}

// Machine returns facts about the machine the run is on.
func Machine() [][2]string {
	facts := [][2]string{
		{"Go", runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH},
		{"CPUs (GOMAXPROCS)", fmt.Sprintf("%d (%d)", runtime.NumCPU(), runtime.GOMAXPROCS(0))},
	}
	if m := firstLine("/proc/cpuinfo", "model name"); m != "" {
		facts = append(facts, [2]string{"CPU", m})
	}
	if m := firstLine("/proc/meminfo", "MemTotal"); m != "" {
		facts = append(facts, [2]string{"memory", m})
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		facts = append(facts, [2]string{"load average at the end (shared machine)", strings.TrimSpace(string(b))})
	}
	return facts
}

func firstLine(path, prefix string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), prefix) {
			_, v, _ := strings.Cut(s.Text(), ":")
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Progress prints a timestamped progress line to stderr.
func Progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// Num formats a number with three significant figures.
func Num(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "n/a"
	case x == 0:
		return "0"
	case math.Abs(x) >= 1000:
		return fmt.Sprintf("%.0f", x)
	case math.Abs(x) >= 100:
		return fmt.Sprintf("%.0f", x)
	case math.Abs(x) >= 10:
		return fmt.Sprintf("%.1f", x)
	case math.Abs(x) >= 1:
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.3g", x)
}

// Durations summarises latencies.
type Durations []time.Duration

// Quantile returns the q-quantile (0..1) by nearest rank.
func (d Durations) Quantile(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append(Durations(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// Median is Quantile(0.5).
func (d Durations) Median() time.Duration { return d.Quantile(0.5) }

// Ms formats a duration in milliseconds.
func Ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }
