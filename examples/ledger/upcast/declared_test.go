package upcast_test

import (
	"testing"

	"github.com/stratahq/strata/evolve"
	"github.com/stratahq/strata/project"

	"github.com/stratahq/strata/examples/ledger/upcast"
)

// The runtime's chains are exactly the histories schemas/subjects.yaml
// declares, which `strata schema verify` proves stored data against.
func TestChainsMatchDeclarations(t *testing.T) {
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
	cat, err := evolve.Load(p, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.CheckChains(upcast.Chains()...); err != nil {
		t.Fatal(err)
	}
}
