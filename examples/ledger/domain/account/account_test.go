package account_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stratahq/strata/examples/ledger/domain/account"
	events "github.com/stratahq/strata/examples/ledger/gen/avro/account"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func opened(limit int64) *events.AccountOpened {
	return &events.AccountOpened{AccountID: "a1", Owner: "ann", Currency: "EUR", OverdraftLimit: limit, OpenedAt: now}
}

func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given []any
		do    func(account.Account) ([]any, error)
		want  []any
		err   error
	}{
		{"open", nil, func(a account.Account) ([]any, error) { return a.Open("ann", "EUR", 100, now) }, []any{opened(100)}, nil},
		{"open twice", []any{opened(0)}, func(a account.Account) ([]any, error) { return a.Open("ann", "EUR", 0, now) }, nil, account.ErrAlreadyOpen},
		{"open invalid", nil, func(a account.Account) ([]any, error) { return a.Open("", "EURO", -1, now) }, nil, account.ErrInvalid},
		{"deposit", []any{opened(0)}, func(a account.Account) ([]any, error) { return a.Deposit(500, "salary", now) },
			[]any{&events.MoneyDeposited{AccountID: "a1", Amount: 500, Reference: "salary", DepositedAt: now}}, nil},
		{"deposit to unknown account", nil, func(a account.Account) ([]any, error) { return a.Deposit(500, "", now) }, nil, account.ErrNotFound},
		{"deposit zero", []any{opened(0)}, func(a account.Account) ([]any, error) { return a.Deposit(0, "", now) }, nil, account.ErrInvalidAmount},
		{"withdraw into the overdraft", []any{opened(100), &events.MoneyDeposited{Amount: 50}},
			func(a account.Account) ([]any, error) { return a.Withdraw(150, "rent", now) },
			[]any{&events.MoneyWithdrawn{AccountID: "a1", Amount: 150, Reference: "rent", WithdrawnAt: now}}, nil},
		{"withdraw beyond the overdraft", []any{opened(100), &events.MoneyDeposited{Amount: 50}},
			func(a account.Account) ([]any, error) { return a.Withdraw(151, "", now) }, nil, account.ErrOverdraft},
		{"withdraw negative", []any{opened(0)}, func(a account.Account) ([]any, error) { return a.Withdraw(-1, "", now) }, nil, account.ErrInvalidAmount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := account.New("a1")
			for _, e := range tc.given {
				var err error
				if a, err = a.Apply(e); err != nil {
					t.Fatal(err)
				}
			}
			got, err := tc.do(a)
			if !errors.Is(err, tc.err) || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestApplyUnknownEvent(t *testing.T) {
	if _, err := account.New("a1").Apply("not an event"); err == nil {
		t.Fatal("an unknown event was applied")
	}
}
