package schema

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/compat"
	"github.com/stratahq/strata/project"
	"github.com/stratahq/strata/schemalint"
)

// Rules of `strata schema check` besides the Avro incompatibility types
// (READER_FIELD_MISSING_DEFAULT_VALUE, TYPE_MISMATCH, ...).
const (
	ruleSubjectRemoved = "SUBJECT_REMOVED" // a subject present at the base is gone
	ruleLevelMissing   = "LEVEL_MISSING"   // a subject the subjects file gives no level
	ruleLevelLowered   = "LEVEL_LOWERED"   // a subject's level checks less than the base's, without --allow-lower-level
	ruleParse          = schemalint.RuleParse
)

// checkFinding is one problem found by check.
type checkFinding struct {
	Path      string `json:"path"`
	Line      int    `json:"line"`
	Rule      string `json:"rule"`
	Subject   string `json:"subject"`
	Level     string `json:"level,omitempty"`
	Location  string `json:"location,omitempty"`
	Message   string `json:"message"`
	Direction string `json:"direction,omitempty"` // BACKWARD: the new schema cannot read old data; FORWARD: old readers cannot read new data
	Against   string `json:"against,omitempty"`   // the previous version the problem was found against
}

func (f checkFinding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: %s %s", f.Path, f.Line, f.Rule, f.Subject)
	if f.Location != "" {
		fmt.Fprintf(&b, " %s", f.Location)
	}
	fmt.Fprintf(&b, ": %s", f.Message)
	switch f.Direction {
	case compat.DirBackward:
		fmt.Fprintf(&b, " (%s: the new schema cannot read data written with %s)", f.Level, f.Against)
	case compat.DirForward:
		fmt.Fprintf(&b, " (%s: readers using %s cannot read data written with the new schema)", f.Level, f.Against)
	}
	return b.String()
}

// checkedSubject is the outcome for one subject.
type checkedSubject struct {
	Subject  string `json:"subject"`
	Path     string `json:"path"`
	Level    string `json:"level"`
	Status   string `json:"status"` // new, unchanged, compatible, incompatible, unparsable
	Versions int    `json:"versions"`
}

type checkReport struct {
	Against    string           `json:"against"`
	Compatible bool             `json:"compatible"`
	Subjects   []checkedSubject `json:"subjects"`
	Findings   []checkFinding   `json:"findings"`
	Overrides  []levelOverride  `json:"overrides"`
}

// levelOverride is a level lowered with --allow-lower-level: allowed, and
// logged.
type levelOverride struct {
	Subject string `json:"subject"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// previousFunc returns the previous versions of a subject (oldest first,
// each with a label such as "git:abc1234" or "registry version 3"), or none
// when the subject is new.
type previousFunc func(ctx context.Context, f *schemalint.File, level compat.Level) ([]version, error)

type version struct {
	label  string
	text   string
	schema avro.Schema
}

// schemaCheckFlags defines the flags of `strata schema check [--against git:REF|registry]
// [--format text|json]`: the CI gate.
func schemaCheckFlags(fs *flag.FlagSet, sf *schemaFlags) runFunc {
	against := fs.String("against", "", "git:REF or registry (default: git: the merge-base of HEAD with main)")
	format := fs.String("format", "text", "text or json")
	registryURL := fs.String("registry", os.Getenv("SCHEMA_REGISTRY_URL"), "registry URL for --against registry (default $SCHEMA_REGISTRY_URL)")
	allowLower := map[string]bool{}
	fs.Func("allow-lower-level", "SUBJECT (repeatable, or * for every subject): allow its level to check less than the base's; the override is logged", func(v string) error {
		allowLower[v] = true
		return nil
	})
	return func(ctx context.Context, stdio IO, rest []string) int {
		if len(rest) > 0 {
			return fail(stdio, "check", fmt.Errorf("unexpected arguments %q", rest))
		}
		if *format != "text" && *format != "json" {
			return fail(stdio, "check", fmt.Errorf("--format %q: want text or json", *format))
		}
		cfg, err := sf.load()
		if err != nil {
			return fail(stdio, "check", err)
		}
		work, err := sf.loadWorkTree()
		if err != nil {
			return fail(stdio, "check", err)
		}
		for _, name := range cfg.unknownSubjects(work) {
			fmt.Fprintf(stdio.Err, "strata schema check: warning: %s configures %s, which is not a subject of %s\n", sf.config, name, sf.schemas)
		}

		report := &checkReport{Against: *against, Subjects: []checkedSubject{}, Findings: []checkFinding{}, Overrides: []levelOverride{}}
		var previous previousFunc
		var baseCfg *project.Subjects // the subjects file at the base (git mode)
		switch {
		case *against == "registry":
			if *registryURL == "" {
				return fail(stdio, "check", fmt.Errorf("--against registry needs SCHEMA_REGISTRY_URL or --registry"))
			}
			c, err := newRegistryClient(*registryURL)
			if err != nil {
				return fail(stdio, "check", err)
			}
			previous = registryPrevious(c)
		case *against == "" || strings.HasPrefix(*against, "git:"):
			ref := strings.TrimPrefix(*against, "git:")
			if ref == "" {
				ref = defaultBase(ctx, sf.root)
				if ref == "" {
					fmt.Fprintln(stdio.Err, "strata schema check: no merge-base with main: nothing to check against")
					report.Against = "git:"
					report.Compatible = true
					return writeCheckReport(stdio, *format, report)
				}
			}
			short := ref
			if len(short) > 12 && isHex(short) {
				short = short[:12]
			}
			report.Against = "git:" + short
			gp, removed, err := gitPrevious(ctx, sf, ref, report.Against, work)
			if err != nil {
				return fail(stdio, "check", err)
			}
			if baseCfg, err = loadGitSubjects(ctx, sf, ref); err != nil {
				return fail(stdio, "check", err)
			}
			previous = gp
			report.Findings = append(report.Findings, removed...)
		default:
			return fail(stdio, "check", fmt.Errorf("--against %q: want git:REF or registry", *against))
		}

		for _, f := range work.Files {
			if f.Err != nil {
				report.Findings = append(report.Findings, checkFinding{
					Path: f.Path, Line: 1, Rule: ruleParse, Subject: f.FullName, Message: f.Err.Error(),
				})
			}
		}
		for _, f := range work.Subjects() {
			subject := cfg.subject(f)
			level := cfg.level(subject)
			line := 1
			if sub, ok := cfg.Subjects.Subjects[subject]; ok {
				line = sub.Line
			}
			if !cfg.HasLevel(subject) {
				report.Findings = append(report.Findings, checkFinding{
					Path: sf.config, Line: line, Rule: ruleLevelMissing, Subject: subject, Level: string(level),
					Message: fmt.Sprintf("no level: every subject's compatibility level is written down (an event: level: %s)", compat.BackwardTransitive),
				})
			}
			// The base's level is the floor: a change may raise it, and lower it
			// only with an explicit, logged override.
			if baseCfg != nil && baseCfg.Defines(subject) {
				if base := baseCfg.Level(subject); !level.Covers(base) {
					switch {
					case allowLower[subject] || allowLower["*"]:
						report.Overrides = append(report.Overrides, levelOverride{Subject: subject, From: string(base), To: string(level)})
						fmt.Fprintf(stdio.Err, "strata schema check: OVERRIDE: %s level lowered from %s to %s (--allow-lower-level)\n", subject, base, level)
					default:
						report.Findings = append(report.Findings, checkFinding{
							Path: sf.config, Line: line, Rule: ruleLevelLowered, Subject: subject, Level: string(base),
							Message: fmt.Sprintf("level lowered from %s to %s; checked at %s (lowering needs --allow-lower-level %s)", base, level, base, subject),
							Against: report.Against,
						})
						level = base
					}
				}
			}
			cs := checkedSubject{Subject: subject, Path: f.Path, Level: string(level)}
			prev, err := previous(ctx, f, level)
			if err != nil {
				return fail(stdio, "check", fmt.Errorf("%s: %w", cs.Subject, err))
			}
			cs.Versions = len(prev)
			switch {
			case len(prev) == 0:
				cs.Status = "new"
			case prev[len(prev)-1].text == f.Text && !level.Transitive():
				cs.Status = "unchanged"
			default:
				schemas := make([]avro.Schema, len(prev))
				for i, v := range prev {
					schemas[i] = v.schema
				}
				problems := compat.Check(level, schemas, f.Schema)
				cs.Status = "compatible"
				if prev[len(prev)-1].text == f.Text {
					cs.Status = "unchanged"
				}
				if len(problems) > 0 {
					cs.Status = "incompatible"
				}
				for _, p := range problems {
					path, line := work.Locate(f, p.Location)
					report.Findings = append(report.Findings, checkFinding{
						Path: path, Line: line, Rule: p.Type, Subject: cs.Subject, Level: string(level),
						Location: p.Location, Message: p.Message, Direction: p.Direction, Against: prev[p.Version-1].label,
					})
				}
			}
			report.Subjects = append(report.Subjects, cs)
		}
		report.Compatible = len(report.Findings) == 0
		return writeCheckReport(stdio, *format, report)
	}
}

func writeCheckReport(stdio IO, format string, r *checkReport) int {
	if format == "json" {
		enc := json.NewEncoder(stdio.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fail(stdio, "check", err)
		}
	} else {
		for _, f := range r.Findings {
			fmt.Fprintln(stdio.Out, f)
		}
		counts := map[string]int{}
		for _, s := range r.Subjects {
			counts[s.Status]++
		}
		fmt.Fprintf(stdio.Err, "schema check against %s: %d subject(s): %d new, %d unchanged, %d compatible, %d incompatible; %d finding(s)\n",
			r.Against, len(r.Subjects), counts["new"], counts["unchanged"], counts["compatible"], counts["incompatible"], len(r.Findings))
	}
	if !r.Compatible {
		return ExitFail
	}
	return ExitOK
}

// gitPrevious gives, for each subject, its version at ref (and for
// transitive levels every distinct earlier version in the history of the
// schema folder up to ref), plus a finding for each subject removed since ref.
func gitPrevious(ctx context.Context, sf *schemaFlags, ref, label string, work *schemalint.Set) (previousFunc, []checkFinding, error) {
	base, err := loadGitSet(ctx, sf.root, ref, sf.schemas)
	if err != nil {
		return nil, nil, err
	}
	var removed []checkFinding
	for _, old := range base.Subjects() {
		if work.Lookup(old.FullName) == nil {
			removed = append(removed, checkFinding{
				Path: old.Path, Line: 1, Rule: ruleSubjectRemoved, Subject: old.FullName,
				Message: "the subject's schema was removed; stored events of this type could no longer be read (keep the file; deprecate it in its doc)",
				Against: label,
			})
		}
	}
	var commits []string
	sets := map[string]*schemalint.Set{}
	prev := func(ctx context.Context, f *schemalint.File, level compat.Level) ([]version, error) {
		old := base.Lookup(f.FullName)
		if old == nil || !old.IsSubject() {
			return nil, nil
		}
		last := version{label: label, text: old.Text, schema: old.Schema}
		if !level.Transitive() {
			return []version{last}, nil
		}
		if commits == nil {
			if commits, err = history(ctx, sf.root, ref, sf.schemas); err != nil {
				return nil, err
			}
		}
		var out []version
		seen := map[string]bool{}
		for _, c := range commits {
			set, ok := sets[c]
			if !ok {
				if set, err = loadGitSet(ctx, sf.root, c, sf.schemas); err != nil {
					return nil, err
				}
				sets[c] = set
			}
			g := set.Lookup(f.FullName)
			if g == nil || g.Err != nil || seen[g.Text] {
				continue
			}
			seen[g.Text] = true
			out = append(out, version{label: "git:" + c[:min(12, len(c))], text: g.Text, schema: g.Schema})
		}
		if len(out) == 0 || out[len(out)-1].text != last.text {
			out = append(out, last)
		}
		return out, nil
	}
	return prev, removed, nil
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}
