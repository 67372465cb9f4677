package compat

import (
	"fmt"
	"strings"
)

// Level is a Confluent Schema Registry compatibility level.
type Level string

// The Confluent compatibility levels.
const (
	Backward           Level = "BACKWARD"            // the new schema reads data written with the latest one
	BackwardTransitive Level = "BACKWARD_TRANSITIVE" // the new schema reads data written with every previous one
	Forward            Level = "FORWARD"             // the latest schema reads data written with the new one
	ForwardTransitive  Level = "FORWARD_TRANSITIVE"  // every previous schema reads data written with the new one
	Full               Level = "FULL"                // Backward and Forward
	FullTransitive     Level = "FULL_TRANSITIVE"     // BackwardTransitive and ForwardTransitive
	None               Level = "NONE"                // no check
)

// Levels lists every level, in the order Confluent documents them.
var Levels = []Level{Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive, None}

// ParseLevel returns the Level named by s (case-insensitive, '-' accepted
// for '_').
func ParseLevel(s string) (Level, error) {
	norm := Level(strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_")))
	for _, l := range Levels {
		if l == norm {
			return l, nil
		}
	}
	return "", fmt.Errorf("compat: unknown compatibility level %q (want one of %s)", s, levelList())
}

func levelList() string {
	names := make([]string, len(Levels))
	for i, l := range Levels {
		names[i] = string(l)
	}
	return strings.Join(names, ", ")
}

// backward reports whether l requires the new schema to read old data.
func (l Level) backward() bool {
	return l == Backward || l == BackwardTransitive || l == Full || l == FullTransitive
}

// forward reports whether l requires old schemas to read new data.
func (l Level) forward() bool {
	return l == Forward || l == ForwardTransitive || l == Full || l == FullTransitive
}

// Transitive reports whether l checks against every previous version rather
// than only the latest.
func (l Level) Transitive() bool {
	return l == BackwardTransitive || l == ForwardTransitive || l == FullTransitive
}

// Covers reports whether l checks at least everything o checks: lowering a
// subject from o to a level that does not cover it lets through changes o
// would refuse (BACKWARD_TRANSITIVE covers BACKWARD; NONE covers only NONE).
func (l Level) Covers(o Level) bool {
	return (l.backward() || !o.backward()) && (l.forward() || !o.forward()) && (l.Transitive() || !o.Transitive())
}
