package registry

import (
	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/compat"
)

// DefaultLevel is the global compatibility level until one is configured, as
// in Confluent Schema Registry.
const DefaultLevel = compat.Backward

// Checker decides whether next may follow previous (oldest first) at level;
// an empty result means compatible. The default is compat.Check, the same
// checker as the CI gate (`strata schema compat`), so the registry and the
// gate give one verdict.
type Checker interface {
	Check(level compat.Level, previous []avro.Schema, next avro.Schema) []compat.Incompatibility
}

// CheckerFunc adapts a function to Checker.
type CheckerFunc func(level compat.Level, previous []avro.Schema, next avro.Schema) []compat.Incompatibility

// Check calls f.
func (f CheckerFunc) Check(level compat.Level, previous []avro.Schema, next avro.Schema) []compat.Incompatibility {
	return f(level, previous, next)
}

// parseLevel validates a level name with Confluent's error code.
func parseLevel(s string) (compat.Level, error) {
	l, err := compat.ParseLevel(s)
	if err != nil {
		return "", newError(CodeInvalidCompatibilityLevel, "Invalid compatibility level %q. Valid values are NONE, BACKWARD, FORWARD, FULL, BACKWARD_TRANSITIVE, FORWARD_TRANSITIVE and FULL_TRANSITIVE", s)
	}
	return l, nil
}
