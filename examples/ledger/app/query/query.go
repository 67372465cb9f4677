// Package query holds the ledger's read use cases over the projected read
// model.
package query

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound: the read model has no such account (yet).
var ErrNotFound = errors.New("account not found")

// ErrNotCaughtUp: the read model did not reach the asked version in time.
var ErrNotCaughtUp = errors.New("read model has not caught up")

// Account is a row of the read model.
type Account struct {
	AccountID, Owner, Currency string
	Balance                    int64
	OverdraftLimit             int64
	Version                    int64
}

// ReadModel is what the queries read.
type ReadModel interface {
	Account(ctx context.Context, id string) (Account, error) // ErrNotFound
	AccountsOf(ctx context.Context, owner string) ([]Account, error)
}

// Queries answers the ledger's questions.
type Queries struct {
	rm   ReadModel
	wait time.Duration
}

// New returns the queries; wait bounds how long GetAccount waits for a
// min_version.
func New(rm ReadModel, wait time.Duration) *Queries { return &Queries{rm: rm, wait: wait} }

// GetAccount returns account id once the read model has reached minVersion
// (0: as it is now).
func (q *Queries) GetAccount(ctx context.Context, id string, minVersion int64) (Account, error) {
	deadline := time.Now().Add(q.wait)
	for {
		a, err := q.rm.Account(ctx, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Account{}, err
		}
		if err == nil && a.Version >= minVersion {
			return a, nil
		}
		if minVersion == 0 {
			return Account{}, err
		}
		if time.Now().After(deadline) {
			return Account{}, fmt.Errorf("account %s at version %d: %w", id, minVersion, ErrNotCaughtUp)
		}
		select {
		case <-ctx.Done():
			return Account{}, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// AccountsOf lists the accounts of owner.
func (q *Queries) AccountsOf(ctx context.Context, owner string) ([]Account, error) {
	return q.rm.AccountsOf(ctx, owner)
}
