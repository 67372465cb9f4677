package clikit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// Format is the -o output format of a listing command.
type Format string

// The output formats: an aligned table for people, JSON Lines (one object
// per line) for scripts.
const (
	Table Format = "table"
	JSON  Format = "json"
)

func (f *Format) String() string { return string(*f) }
func (f *Format) Type() string   { return "table|json" }
func (f *Format) Set(v string) error {
	switch Format(v) {
	case Table, JSON:
		*f = Format(v)
		return nil
	}
	return fmt.Errorf("want table or json, not %q", v)
}

// Output adds -o/--output (table or json, default def) to cmd.
func Output(cmd *cobra.Command, def Format) *Format {
	f := def
	cmd.Flags().VarP(&f, "output", "o", "output format: table or json (one JSON object per line)")
	return &f
}

// OutputOrJSON is Output plus the older --json (hidden, the same as -o json)
// of commands that had it; call the result once flags are parsed.
func OutputOrJSON(cmd *cobra.Command, def Format) func() Format {
	output := Output(cmd, def)
	asJSON := cmd.Flags().Bool("json", false, "same as -o json")
	_ = cmd.Flags().MarkHidden("json")
	return func() Format {
		if *asJSON {
			return JSON
		}
		return *output
	}
}

// JSONLines writes each value as one line of JSON.
func JSONLines[T any](w io.Writer, vs []T) error {
	enc := json.NewEncoder(w)
	for _, v := range vs {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

// NewTable returns a tabwriter for aligned columns; Flush it when done.
func NewTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// Lister writes a listing's records: under -o json one JSON object per line,
// under -o table one aligned row per record below a header.
type Lister struct {
	format Format
	enc    *json.Encoder
	tw     *tabwriter.Writer
	header []string
	headed bool
}

// NewLister writes to w in format f; header names the table's columns.
func NewLister(w io.Writer, f Format, header ...string) *Lister {
	return &Lister{format: f, enc: json.NewEncoder(w), tw: NewTable(w), header: header}
}

// Row writes one record: v as JSON, or cells as a table row.
func (l *Lister) Row(v any, cells ...any) error {
	if l.format == JSON {
		return l.enc.Encode(v)
	}
	l.head()
	for i, c := range cells {
		if i > 0 {
			fmt.Fprint(l.tw, "\t")
		}
		fmt.Fprint(l.tw, c)
	}
	_, err := fmt.Fprintln(l.tw)
	return err
}

// Flush writes what the table holds (its columns are aligned over the rows
// since the last Flush); a table with no rows still gets its header.
func (l *Lister) Flush() error {
	if l.format == JSON {
		return nil
	}
	l.head()
	return l.tw.Flush()
}

func (l *Lister) head() {
	if !l.headed {
		l.headed = true
		fmt.Fprintln(l.tw, strings.Join(l.header, "\t"))
	}
}
