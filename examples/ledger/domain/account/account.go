// Package account is the ledger's aggregate: an account's state, the events
// that change it and the rules a command must keep (no I/O, no clock).
package account

import (
	"errors"
	"fmt"
	"time"

	events "github.com/stratahq/strata/examples/ledger/gen/avro/account"
)

// Errors a command can fail with; ports maps them to gRPC codes.
var (
	ErrNotFound      = errors.New("account not found")
	ErrAlreadyOpen   = errors.New("account already open")
	ErrInvalidAmount = errors.New("amount must be positive")
	ErrInvalid       = errors.New("invalid account")
	// ErrOverdraft: the withdrawal would take the balance below
	// -OverdraftLimit. Returned wrapped in an *OverdraftError.
	ErrOverdraft = errors.New("overdraft limit exceeded")
)

// OverdraftError says by how much a withdrawal was refused.
type OverdraftError struct {
	Balance, Amount, Limit int64
}

func (e *OverdraftError) Error() string {
	return fmt.Sprintf("withdrawing %d from balance %d exceeds the overdraft limit %d", e.Amount, e.Balance, e.Limit)
}

// Unwrap returns ErrOverdraft.
func (e *OverdraftError) Unwrap() error { return ErrOverdraft }

// Account is the state folded from an account's events. Its fields are
// exported for the snapshot codec.
type Account struct {
	ID             string `json:"id"`
	Owner          string `json:"owner"`
	Currency       string `json:"currency"`
	Balance        int64  `json:"balance"`
	OverdraftLimit int64  `json:"overdraft_limit"`
	Opened         bool   `json:"opened"`
}

// New is the state of an account with no events.
func New(id string) Account { return Account{ID: id} }

// Apply folds one event into the state. Events of other types are errors.
func (a Account) Apply(e any) (Account, error) {
	switch e := e.(type) {
	case *events.AccountOpened:
		a.Owner, a.Currency, a.OverdraftLimit, a.Opened = e.Owner, e.Currency, e.OverdraftLimit, true
	case *events.MoneyDeposited:
		a.Balance += e.Amount
	case *events.MoneyWithdrawn:
		a.Balance -= e.Amount
	default:
		return a, fmt.Errorf("account: unknown event %T", e)
	}
	return a, nil
}

// Open decides the event that opens the account.
func (a Account) Open(owner, currency string, overdraftLimit int64, now time.Time) ([]any, error) {
	if a.Opened {
		return nil, ErrAlreadyOpen
	}
	var errs []error
	if owner == "" {
		errs = append(errs, errors.New("owner is empty"))
	}
	if len(currency) != 3 {
		errs = append(errs, fmt.Errorf("currency %q is not an ISO 4217 code", currency))
	}
	if overdraftLimit < 0 {
		errs = append(errs, errors.New("overdraft limit is negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return []any{&events.AccountOpened{AccountID: a.ID, Owner: owner, Currency: currency, OverdraftLimit: overdraftLimit, OpenedAt: now.UTC()}}, nil
}

// Deposit decides the event that pays amount in.
func (a Account) Deposit(amount int64, reference string, now time.Time) ([]any, error) {
	if !a.Opened {
		return nil, ErrNotFound
	}
	if amount <= 0 {
		return nil, ErrInvalidAmount
	}
	return []any{&events.MoneyDeposited{AccountID: a.ID, Amount: amount, Reference: reference, DepositedAt: now.UTC()}}, nil
}

// Withdraw decides the event that takes amount out, unless the balance
// would fall below -OverdraftLimit.
func (a Account) Withdraw(amount int64, reference string, now time.Time) ([]any, error) {
	if !a.Opened {
		return nil, ErrNotFound
	}
	if amount <= 0 {
		return nil, ErrInvalidAmount
	}
	if a.Balance-amount < -a.OverdraftLimit {
		return nil, &OverdraftError{Balance: a.Balance, Amount: amount, Limit: a.OverdraftLimit}
	}
	return []any{&events.MoneyWithdrawn{AccountID: a.ID, Amount: amount, Reference: reference, WithdrawnAt: now.UTC()}}, nil
}
