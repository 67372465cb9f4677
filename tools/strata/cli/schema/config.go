package schema

import (
	"slices"

	"github.com/stratahq/strata/compat"
	"github.com/stratahq/strata/project"
	"github.com/stratahq/strata/schemalint"
)

// subjectsConfig is the subjects file with the project's topic naming.
type subjectsConfig struct {
	*project.Subjects
	proj *project.Project
}

// level returns the compatibility level of subject.
func (c *subjectsConfig) level(subject string) compat.Level { return c.Subjects.Level(subject) }

// subject is the registry subject of a schema file (RecordNameStrategy).
func (c *subjectsConfig) subject(f *schemalint.File) string { return f.FullName }

// topic is the Kafka topic of a subject: its own, else the project's naming
// with the domain folder as stream type.
func (c *subjectsConfig) topic(f *schemalint.File) string {
	if s, ok := c.Subjects.Subjects[f.FullName]; ok && s.Topic != "" {
		return s.Topic
	}
	if c.Kind(f.FullName) == project.KindCommand {
		return c.proj.CommandsTopic(f.Domain)
	}
	return c.proj.EventsTopic(f.Domain, f.Domain)
}

// unknownSubjects lists configured subjects that no schema file defines as a
// subject (a typo, or a contract removed without its configuration).
func (c *subjectsConfig) unknownSubjects(set *schemalint.Set) []string {
	var out []string
	for name := range c.Subjects.Subjects {
		if f := set.Lookup(name); f == nil || !f.IsSubject() {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
