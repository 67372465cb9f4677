package clikit

import (
	"encoding/json"
	"fmt"
	"io"
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
