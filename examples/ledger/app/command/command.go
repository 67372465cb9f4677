// Package command holds the ledger's write use cases: each loads an account,
// lets the domain decide and appends what it decided.
package command

import (
	"context"
	"time"

	"github.com/stratahq/strata/examples/ledger/domain/account"
)

// Accounts is the event-sourced account store the use cases need.
type Accounts interface {
	// Execute loads account id, runs decide on it and appends the events it
	// returns. commandID, when set, makes a retry a no-op.
	Execute(ctx context.Context, id, commandID string, decide func(account.Account) ([]any, error)) (Result, error)
}

// Result is an account after a command.
type Result struct {
	Version int64
	Balance int64
}

// Handlers runs the ledger's commands.
type Handlers struct {
	accounts Accounts
	now      func() time.Time
}

// New returns the command handlers; now is the clock.
func New(accounts Accounts, now func() time.Time) *Handlers {
	return &Handlers{accounts: accounts, now: now}
}

// OpenAccount opens account id.
func (h *Handlers) OpenAccount(ctx context.Context, id, owner, currency string, overdraftLimit int64) (Result, error) {
	return h.accounts.Execute(ctx, id, "open-"+id, func(a account.Account) ([]any, error) {
		return a.Open(owner, currency, overdraftLimit, h.now())
	})
}

// Deposit pays amount into account id.
func (h *Handlers) Deposit(ctx context.Context, id, commandID string, amount int64, reference string) (Result, error) {
	return h.accounts.Execute(ctx, id, commandID, func(a account.Account) ([]any, error) {
		return a.Deposit(amount, reference, h.now())
	})
}

// Withdraw takes amount out of account id, within its overdraft limit.
func (h *Handlers) Withdraw(ctx context.Context, id, commandID string, amount int64, reference string) (Result, error) {
	return h.accounts.Execute(ctx, id, commandID, func(a account.Account) ([]any, error) {
		return a.Withdraw(amount, reference, h.now())
	})
}
