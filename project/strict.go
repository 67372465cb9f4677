package project

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a project or subjects file: the file, the line and
// the key (a dotted path such as schemas.avro) it concerns.
type Error struct {
	File string
	Line int    // 0 when the value was not read from a file
	Key  string // "" for the document itself
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": %s", e.Key)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

// decoder walks a YAML node tree strictly, collecting every problem.
type decoder struct {
	file  string
	errs  []error
	lines map[string]int  // key path -> line of its value
	bad   map[string]bool // key paths with a problem

	skipUnknown bool // unknown keys are ignored (files of older commits)
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, lines: map[string]int{}, bad: map[string]bool{}}
}

func (d *decoder) errorf(line int, key, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
	d.bad[key] = true
}

// addValid appends the problems of a Validate, leaving out keys that
// already have one (a value that did not decode is not reported twice).
func (d *decoder) addValid(err error) {
	for _, e := range unjoin(err) {
		var pe *Error
		if errors.As(e, &pe) && d.bad[pe.Key] {
			continue
		}
		d.errs = append(d.errs, e)
	}
	sortErrors(d.errs)
}

func (d *decoder) err() error { return errors.Join(d.errs...) }

// document parses data and returns its root node, or nil after recording
// the problem.
func (d *decoder) document(data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3 messages start with "yaml: line N: ".
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if n, tail, ok := strings.Cut(rest, ": "); ok {
				if l, err := strconv.Atoi(n); err == nil {
					line, msg = l, tail
				}
			}
		}
		d.errorf(line, "", "invalid YAML: %s", msg)
		return nil
	}
	if len(doc.Content) == 0 {
		d.errorf(0, "", "empty file")
		return nil
	}
	return deref(doc.Content[0])
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mapping calls fields[key] for each key of the mapping n; an unknown or
// repeated key is a problem. With any set, every key is accepted and
// passed to it.
func (d *decoder) mapping(n *yaml.Node, path string, fields map[string]func(v *yaml.Node, key string), anyKey func(k string, v *yaml.Node, key string)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "want a mapping, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		key := join(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, path, "keys must be plain strings")
			continue
		}
		if seen[k.Value] {
			d.errorf(k.Line, key, "repeated key")
			continue
		}
		seen[k.Value] = true
		d.lines[key] = v.Line
		if anyKey != nil {
			anyKey(k.Value, v, key)
			continue
		}
		fn, ok := fields[k.Value]
		if !ok && d.skipUnknown {
			continue
		}
		if !ok {
			d.errorf(k.Line, key, "unknown key (want one of %s)", keyList(fields))
			continue
		}
		fn(v, key)
	}
}

func keyList(fields map[string]func(*yaml.Node, string)) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return strings.Join(keys, ", ")
}

// str decodes a string scalar (a YAML null leaves dst unchanged).
func (d *decoder) str(dst *string) func(*yaml.Node, string) {
	return func(n *yaml.Node, key string) {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			d.errorf(n.Line, key, "want a string, got %s", kindName(n))
			return
		}
		*dst = n.Value
	}
}

func (d *decoder) integer(dst *int) func(*yaml.Node, string) {
	return func(n *yaml.Node, key string) {
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.errorf(n.Line, key, "want an integer, got %s", kindName(n))
			return
		}
		v, err := strconv.Atoi(n.Value)
		if err != nil {
			d.errorf(n.Line, key, "want an integer: %v", err)
			return
		}
		*dst = v
	}
}

func (d *decoder) strings(dst *[]string) func(*yaml.Node, string) {
	return func(n *yaml.Node, key string) {
		if n.Kind != yaml.SequenceNode {
			d.errorf(n.Line, key, "want a list of strings, got %s", kindName(n))
			return
		}
		out := []string{}
		for i, item := range n.Content {
			item = deref(item)
			if item.Kind != yaml.ScalarNode || item.Tag != "!!str" {
				d.errorf(item.Line, fmt.Sprintf("%s[%d]", key, i), "want a string, got %s", kindName(item))
				continue
			}
			out = append(out, item.Value)
		}
		*dst = out
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return fmt.Sprintf("string %q", n.Value)
		case "!!null":
			return "nothing"
		}
		return fmt.Sprintf("%s %s", strings.TrimPrefix(n.Tag, "!!"), n.Value)
	}
	return "an unexpected node"
}
