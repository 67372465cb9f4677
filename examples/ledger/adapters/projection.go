package adapters

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/examples/ledger/app/query"
	events "github.com/stratahq/strata/examples/ledger/gen/avro/account"
	"github.com/stratahq/strata/examples/ledger/gen/readdb"
	"github.com/stratahq/strata/projection"
)

// schemaSQL is the read model's DDL, shared with sqlc (sqlc.yaml).
//
//go:embed sql/schema.sql
var schemaSQL string

// accountsTable is the table's name in schema.sql; the projection runner
// gives the physical name to write (the live table or a rebuild's shadow).
const accountsTable = `"read".accounts`

// AccountsProjection keeps the read model "read".accounts: one row per
// account with its balance and the version of the last event applied.
type AccountsProjection struct{}

var _ projection.Projection = AccountsProjection{}

// Name implements projection.Projection.
func (AccountsProjection) Name() string { return "accounts" }

// EventTypes implements projection.Projection.
func (AccountsProjection) EventTypes() []string {
	return []string{"bank.account.AccountOpened", "bank.account.MoneyDeposited", "bank.account.MoneyWithdrawn"}
}

// Tables implements projection.Projection.
func (AccountsProjection) Tables() []string { return []string{"accounts"} }

// Create runs the statements of schema.sql after its "-- table" line, on the
// physical table name.
func (AccountsProjection) Create(ctx context.Context, tx pgx.Tx, t projection.Tables) error {
	_, ddl, ok := strings.Cut(schemaSQL, "-- table\n")
	if !ok {
		return errors.New("accounts projection: schema.sql has no -- table line")
	}
	_, err := tx.Exec(ctx, strings.ReplaceAll(ddl, accountsTable, t.Get("accounts")))
	return err
}

// Apply implements projection.Projection.
func (AccountsProjection) Apply(ctx context.Context, tx pgx.Tx, t projection.Tables, ev projection.Event) error {
	table := t.Get("accounts")
	var err error
	switch e := ev.Data.(type) {
	case *events.AccountOpened:
		_, err = tx.Exec(ctx, `INSERT INTO `+table+` (account_id, owner, currency, balance, overdraft_limit, version, updated_at)
			VALUES ($1, $2, $3, 0, $4, $5, $6)`, e.AccountID, e.Owner, e.Currency, e.OverdraftLimit, ev.Version, e.OpenedAt)
	case *events.MoneyDeposited:
		err = move(ctx, tx, table, e.AccountID, e.Amount, ev)
	case *events.MoneyWithdrawn:
		err = move(ctx, tx, table, e.AccountID, -e.Amount, ev)
	default:
		return fmt.Errorf("accounts projection: unknown event %T", ev.Data)
	}
	return err
}

func move(ctx context.Context, tx pgx.Tx, table, id string, delta int64, ev projection.Event) error {
	tag, err := tx.Exec(ctx, `UPDATE `+table+` SET balance = balance + $2, version = $3, updated_at = $4 WHERE account_id = $1`,
		id, delta, ev.Version, ev.RecordedAt)
	if err == nil && tag.RowsAffected() != 1 {
		err = fmt.Errorf("accounts projection: %s of unknown account %s", ev.Type, id)
	}
	return err
}

// ReadModel answers queries from "read".accounts with the sqlc-generated
// queries.
type ReadModel struct {
	q *readdb.Queries
}

var _ query.ReadModel = (*ReadModel)(nil)

// NewReadModel returns the read model on pool.
func NewReadModel(pool *pgxpool.Pool) *ReadModel { return &ReadModel{q: readdb.New(pool)} }

// Account implements query.ReadModel.
func (r *ReadModel) Account(ctx context.Context, id string) (query.Account, error) {
	row, err := r.q.GetAccount(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return query.Account{}, fmt.Errorf("account %s: %w", id, query.ErrNotFound)
	}
	if err != nil {
		return query.Account{}, err
	}
	return query.Account(row), nil
}

// AccountsOf implements query.ReadModel.
func (r *ReadModel) AccountsOf(ctx context.Context, owner string) ([]query.Account, error) {
	rows, err := r.q.ListAccountsByOwner(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]query.Account, len(rows))
	for i, row := range rows {
		out[i] = query.Account(row)
	}
	return out, nil
}
