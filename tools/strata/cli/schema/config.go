package schema

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/stratahq/strata/compat"
	"github.com/stratahq/strata/schemalint"
)

// subjectsConfig is schemas/subjects.yaml.
type subjectsConfig struct {
	Naming       string                   `yaml:"naming"`
	DefaultLevel string                   `yaml:"default_level"`
	TopicPrefix  string                   `yaml:"topic_prefix"`
	Subjects     map[string]subjectConfig `yaml:"subjects"`

	defaultLevel compat.Level
}

type subjectConfig struct {
	Level     string   `yaml:"level"`
	Topic     string   `yaml:"topic"`
	Producers []string `yaml:"producers"`
	Consumers []string `yaml:"consumers"`
}

// loadSubjectsConfig reads path; a missing file means every default
// (RecordNameStrategy, BACKWARD, topic events.<domain>).
func loadSubjectsConfig(path string) (*subjectsConfig, error) {
	cfg := &subjectsConfig{}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read subjects config: %w", err)
	default:
		if err := yaml.Unmarshal(data, cfg); err != nil {
			return nil, fmt.Errorf("subjects config %s: %w", path, err)
		}
	}
	return cfg, cfg.validate(path)
}

func (c *subjectsConfig) validate(path string) error {
	var errs []error
	if c.Naming == "" {
		c.Naming = "RecordNameStrategy"
	}
	if c.Naming != "RecordNameStrategy" {
		errs = append(errs, fmt.Errorf("%s: naming %q: only RecordNameStrategy is supported", path, c.Naming))
	}
	if c.DefaultLevel == "" {
		c.DefaultLevel = string(compat.Backward)
	}
	l, err := compat.ParseLevel(c.DefaultLevel)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: default_level: %w", path, err))
	}
	c.defaultLevel = l
	if c.TopicPrefix == "" {
		c.TopicPrefix = "events."
	}
	for name, s := range c.Subjects {
		if s.Level == "" {
			continue
		}
		if _, err := compat.ParseLevel(s.Level); err != nil {
			errs = append(errs, fmt.Errorf("%s: subject %s: %w", path, name, err))
		}
	}
	return errors.Join(errs...)
}

// level returns the compatibility level of subject.
func (c *subjectsConfig) level(subject string) compat.Level {
	if s, ok := c.Subjects[subject]; ok && s.Level != "" {
		l, _ := compat.ParseLevel(s.Level) // validated on load
		return l
	}
	return c.defaultLevel
}

// subject is the registry subject of a schema file (RecordNameStrategy).
func (c *subjectsConfig) subject(f *schemalint.File) string { return f.FullName }

// topic is the Kafka topic of a subject.
func (c *subjectsConfig) topic(f *schemalint.File) string {
	if s, ok := c.Subjects[f.FullName]; ok && s.Topic != "" {
		return s.Topic
	}
	return c.TopicPrefix + f.Domain
}

// unknownSubjects lists configured subjects that no schema file defines as a
// subject (a typo, or a contract removed without its configuration).
func (c *subjectsConfig) unknownSubjects(set *schemalint.Set) []string {
	var out []string
	for name := range c.Subjects {
		if f := set.Lookup(name); f == nil || !f.IsSubject() {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
