package saga_test

import (
	"fmt"
	"time"

	"github.com/stratahq/strata/saga"
)

// A saga type is its ordered steps: each sends a command and may have a
// compensation that undoes it when a later step fails. Builders are pure:
// the same call gives the same command (with the call's command id).
func ExampleDefinition() {
	hold := func(c saga.Call) (saga.Command, error) {
		return saga.Command{Topic: "commands.account", Type: "bank.account.HoldFunds", Value: map[string]any{"command_id": c.CommandID}}, nil
	}
	release := func(c saga.Call) (saga.Command, error) {
		return saga.Command{Topic: "commands.account", Type: "bank.account.ReleaseFunds", Value: map[string]any{"command_id": c.CommandID}}, nil
	}
	credit := func(c saga.Call) (saga.Command, error) {
		return saga.Command{Topic: "commands.account", Type: "bank.account.Credit", Value: map[string]any{"command_id": c.CommandID}}, nil
	}
	transfer := &saga.Definition{
		Type:    "transfer",
		Timeout: 10 * time.Second,
		Steps: []saga.Step{
			{Name: "hold", Action: hold, Compensation: release},
			{Name: "credit", Action: credit},
		},
	}
	fmt.Println(transfer.Validate())
	fmt.Println((&saga.Definition{Type: "broken", Steps: []saga.Step{{Name: "x"}, {Name: "x", Action: hold}}}).Validate())
	// Output:
	// <nil>
	// saga broken: step "x" has neither action nor compensation
	// saga broken: step "x" twice
}
