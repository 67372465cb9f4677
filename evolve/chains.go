package evolve

import (
	"errors"
	"fmt"

	"github.com/stratahq/strata/project"
	"github.com/stratahq/strata/upcasters"
)

// CheckChains checks that the runtime's upcaster chains are exactly the
// declared histories: the same types, versions and schemas, and an Up step
// where, and only where, the declaration says path: upcaster. The runtime
// then follows the verdicts `strata schema verify` proves (a project's test
// calls it with its chains).
func (c *Catalog) CheckChains(chains ...upcasters.Chain) error {
	var errs []error
	seen := map[string]bool{}
	for _, ch := range chains {
		seen[ch.EventType] = true
		t, ok := c.types[ch.EventType]
		if !ok {
			errs = append(errs, fmt.Errorf("chain %s: not a subject of the project", ch.EventType))
			continue
		}
		if len(ch.Versions) != len(t.Versions) {
			errs = append(errs, fmt.Errorf("chain %s: %d versions, the subjects file declares %d", ch.EventType, len(ch.Versions), len(t.Versions)))
			continue
		}
		for i, v := range ch.Versions {
			d := t.Versions[i]
			s, err := upcasters.ParseSchema(v.Schema)
			if err != nil {
				errs = append(errs, fmt.Errorf("chain %s v%d: %w", ch.EventType, v.Version, err))
				continue
			}
			switch {
			case v.Version != d.Number:
				errs = append(errs, fmt.Errorf("chain %s: version %d where the subjects file declares %d", ch.EventType, v.Version, d.Number))
			case s.Fingerprint() != d.Fingerprint:
				errs = append(errs, fmt.Errorf("chain %s v%d: its schema differs from %s", ch.EventType, v.Version, d.File))
			case (v.Up != nil) != (d.Path == project.PathUpcaster):
				errs = append(errs, fmt.Errorf("chain %s v%d: declared path: %s, but the chain's step is %s", ch.EventType, v.Version, d.Path, stepKind(v.Up != nil)))
			}
		}
	}
	for _, name := range c.Names() {
		if len(c.types[name].Versions) > 0 && !seen[name] {
			errs = append(errs, fmt.Errorf("%s: the subjects file declares a history but no chain implements it", name))
		}
	}
	return errors.Join(errs...)
}

func stepKind(up bool) string {
	if up {
		return "an Up function (upcaster)"
	}
	return "nil (resolution)"
}
