package schema

import (
	"context"
	"fmt"

	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/compat"
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/schemalint"
)

// registryClient is the part of a Confluent-compatible registry client the
// schema commands use; *srclient.SchemaRegistryClient satisfies it.
type registryClient interface {
	GetSchemaVersions(subject string) ([]int, error)
	GetSchemaByVersion(subject string, version int) (*srclient.Schema, error)
	LookupSchema(subject string, schema string, schemaType srclient.SchemaType, references ...srclient.Reference) (*srclient.Schema, error)
	CreateSchema(subject string, schema string, schemaType srclient.SchemaType, references ...srclient.Reference) (*srclient.Schema, error)
	ChangeSubjectCompatibilityLevel(subject string, compatibility srclient.CompatibilityLevel) (*srclient.CompatibilityLevel, error)
	GetCompatibilityLevel(subject string, defaultToGlobal bool) (*srclient.CompatibilityLevel, error)
}

var _ registryClient = (*srclient.SchemaRegistryClient)(nil)

// newRegistryClient is the registry client for url, credentials and TLS from
// the environment, without srclient's cache (always the registry's current
// state).
func newRegistryClient(url string) (*srclient.SchemaRegistryClient, error) {
	return client.ForURL(url, client.WithoutCache())
}

// registryPrevious gives every version registered under a subject, oldest
// first (transitive levels need them all; the others use the latest).
func registryPrevious(c registryClient) previousFunc {
	return func(_ context.Context, f *schemalint.File, level compat.Level) ([]version, error) {
		return registryVersions(c, f.FullName, level)
	}
}

// registryVersions returns the versions of subject that level checks
// against: all for transitive levels, else the latest. None when the subject
// is not registered.
func registryVersions(c registryClient, subject string, level compat.Level) ([]version, error) {
	nums, err := c.GetSchemaVersions(subject)
	if client.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: versions of %s: %w", subject, err)
	}
	if !level.Transitive() && len(nums) > 1 {
		nums = nums[len(nums)-1:]
	}
	out := make([]version, 0, len(nums))
	for _, n := range nums {
		s, err := c.GetSchemaByVersion(subject, n)
		if err != nil {
			return nil, fmt.Errorf("registry: %s version %d: %w", subject, n, err)
		}
		parsed, err := compat.Parse(s.Schema())
		if err != nil {
			return nil, fmt.Errorf("registry: %s version %d does not parse: %w", subject, n, err)
		}
		out = append(out, version{label: fmt.Sprintf("registry version %d (id %d)", n, s.ID()), text: s.Schema(), schema: parsed})
	}
	return out, nil
}
