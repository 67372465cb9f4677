// Package ports serves the ledger's gRPC API (bank.ledger.v1.LedgerService)
// and chooses the gRPC status codes.
package ports

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/examples/ledger/app/command"
	"github.com/stratahq/strata/examples/ledger/app/query"
	"github.com/stratahq/strata/examples/ledger/domain/account"
	ledgerv1 "github.com/stratahq/strata/examples/ledger/gen/proto/bank/ledger/v1"
)

// Server implements ledgerv1.LedgerServiceServer.
type Server struct {
	ledgerv1.UnimplementedLedgerServiceServer
	commands *command.Handlers
	queries  *query.Queries
	log      *slog.Logger
}

// NewServer returns the gRPC server of the ledger.
func NewServer(commands *command.Handlers, queries *query.Queries, log *slog.Logger) *Server {
	return &Server{commands: commands, queries: queries, log: log}
}

// OpenAccount implements ledgerv1.LedgerServiceServer.
func (s *Server) OpenAccount(ctx context.Context, r *ledgerv1.OpenAccountRequest) (*ledgerv1.OpenAccountResponse, error) {
	if r.GetAccountId() == "" {
		return nil, status.Error(codes.InvalidArgument, "account_id is empty")
	}
	res, err := s.commands.OpenAccount(ctx, r.GetAccountId(), r.GetOwner(), r.GetCurrency(), r.GetOverdraftLimit())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &ledgerv1.OpenAccountResponse{Version: res.Version}, nil
}

// Deposit implements ledgerv1.LedgerServiceServer.
func (s *Server) Deposit(ctx context.Context, r *ledgerv1.DepositRequest) (*ledgerv1.DepositResponse, error) {
	res, err := s.commands.Deposit(ctx, r.GetAccountId(), r.GetCommandId(), r.GetAmount(), r.GetReference())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &ledgerv1.DepositResponse{Version: res.Version, Balance: res.Balance}, nil
}

// Withdraw implements ledgerv1.LedgerServiceServer.
func (s *Server) Withdraw(ctx context.Context, r *ledgerv1.WithdrawRequest) (*ledgerv1.WithdrawResponse, error) {
	res, err := s.commands.Withdraw(ctx, r.GetAccountId(), r.GetCommandId(), r.GetAmount(), r.GetReference())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &ledgerv1.WithdrawResponse{Version: res.Version, Balance: res.Balance}, nil
}

// GetAccount implements ledgerv1.LedgerServiceServer.
func (s *Server) GetAccount(ctx context.Context, r *ledgerv1.GetAccountRequest) (*ledgerv1.GetAccountResponse, error) {
	a, err := s.queries.GetAccount(ctx, r.GetAccountId(), r.GetMinVersion())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &ledgerv1.GetAccountResponse{Account: toProto(a)}, nil
}

// ListAccounts implements ledgerv1.LedgerServiceServer.
func (s *Server) ListAccounts(ctx context.Context, r *ledgerv1.ListAccountsRequest) (*ledgerv1.ListAccountsResponse, error) {
	as, err := s.queries.AccountsOf(ctx, r.GetOwner())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	out := &ledgerv1.ListAccountsResponse{Accounts: make([]*ledgerv1.Account, len(as))}
	for i, a := range as {
		out.Accounts[i] = toProto(a)
	}
	return out, nil
}

func toProto(a query.Account) *ledgerv1.Account {
	return &ledgerv1.Account{AccountId: a.AccountID, Owner: a.Owner, Currency: a.Currency,
		Balance: a.Balance, OverdraftLimit: a.OverdraftLimit, Version: a.Version}
}

// toStatus maps the ledger's errors to gRPC codes. Errors it does not know
// are logged and become Internal without their text.
func (s *Server) toStatus(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, account.ErrNotFound), errors.Is(err, query.ErrNotFound):
		return status.Error(codes.NotFound, "account not found")
	case errors.Is(err, account.ErrAlreadyOpen):
		return status.Error(codes.AlreadyExists, "account already open")
	case errors.Is(err, account.ErrInvalid), errors.Is(err, account.ErrInvalidAmount):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, account.ErrOverdraft):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, eventstore.ErrVersionConflict):
		return status.Error(codes.Aborted, "concurrent change, retry")
	case errors.Is(err, query.ErrNotCaughtUp):
		return status.Error(codes.DeadlineExceeded, "read model has not caught up")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	default:
		s.log.ErrorContext(ctx, "ledger request failed", "err", err)
		return status.Error(codes.Internal, "internal error")
	}
}
