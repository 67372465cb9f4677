package project_test

import (
	"testing"

	"github.com/stratahq/strata/project"
)

// The repository's own project and subjects files are valid.
func TestRepositoryProject(t *testing.T) {
	file, err := project.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := project.LoadSubjects(p.Path(p.Schemas.Subjects))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Subjects) == 0 {
		t.Errorf("%s lists no subjects", s.File)
	}
}
