// Package adapters connects the ledger to PostgreSQL: accounts in Strata's
// event store (with snapshots), and the accounts projection with its
// sqlc-generated read queries.
package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/examples/ledger/app/command"
	"github.com/stratahq/strata/examples/ledger/domain/account"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/serde"
)

// StreamType is the event store stream type of accounts; the relay publishes
// their events to the Kafka topic events.account.
const StreamType = "account"

// StreamID is the event store stream of account id.
func StreamID(id string) string { return "account-" + id }

// SnapshotEvery is how many events lie between two snapshots of an account.
const SnapshotEvery = 20

// Upcaster decodes a payload written with an older writer schema into the
// current Go type (*upcasters.Upcaster).
type Upcaster interface {
	Decode(eventType string, writer avro.Schema, payload []byte) (any, error)
}

// Accounts keeps accounts in the event store.
type Accounts struct {
	repo *eventstore.Repository[account.Account]
}

var _ command.Accounts = (*Accounts)(nil)

// NewAccounts returns the account store: types encodes new events, up
// decodes stored ones of any version.
func NewAccounts(store *eventstore.Store, types *serde.Registry, up Upcaster) (*Accounts, error) {
	repo, err := eventstore.NewRepository(store, eventstore.RepositoryConfig[account.Account]{
		StreamType: StreamType,
		Initial:    func(stream string) account.Account { return account.New(stream[len("account-"):]) },
		Apply:      func(a account.Account, e any) (account.Account, error) { return a.Apply(e) },
		Encoder: eventstore.EncoderFunc(func(v any) (eventstore.Schema, []byte, error) {
			t, b, err := types.Encode(v)
			return eventstore.Schema{Fingerprint: t.Fingerprint, Name: t.Name, JSON: t.JSON}, b, err
		}),
		Decoder: &decoder{types: types, up: up, parsed: map[eventstore.Fingerprint]avro.Schema{}},
		Snapshots: &eventstore.SnapshotCodec[account.Account]{
			Version: 1,
			Encode:  func(a account.Account) ([]byte, error) { return json.Marshal(a) },
			Decode: func(b []byte) (account.Account, error) {
				var a account.Account
				return a, json.Unmarshal(b, &a)
			},
		},
		SnapshotEvery: SnapshotEvery,
	})
	if err != nil {
		return nil, err
	}
	return &Accounts{repo: repo}, nil
}

// eventNamespace is the UUIDv5 namespace of event ids derived from command ids.
var eventNamespace = uuid.MustParse("5d1f3c4e-2a8b-4e61-9a0f-6b7c8d9e0f12")

// Execute implements command.Accounts. The events carry the request's
// correlation id, the command id as causation id, the verified user id and
// the trace.
func (s *Accounts) Execute(ctx context.Context, id, commandID string, decide func(account.Account) ([]any, error)) (command.Result, error) {
	stream := StreamID(id)
	opts := []eventstore.ExecOption{
		eventstore.WithConflictRetries(3),
		eventstore.WithMetadata(eventstore.Metadata{
			CorrelationID: observe.CorrelationID(ctx), CausationID: commandID,
			UserID: observe.UserID(ctx), TraceParent: observe.TraceParent(ctx),
		}),
	}
	if commandID != "" {
		opts = append(opts, eventstore.WithEventIDs(func(i int) uuid.UUID {
			return uuid.NewSHA1(eventNamespace, fmt.Appendf(nil, "%s\x00%s\x00%d", commandID, stream, i))
		}))
	}
	ex, err := s.repo.Execute(ctx, stream, decide, opts...)
	if err != nil {
		return command.Result{}, err
	}
	if ex.Append.Replayed {
		// A retried command: its events were stored before; report the
		// account as it is.
		l, err := s.repo.Load(ctx, stream)
		if err != nil {
			return command.Result{}, err
		}
		return command.Result{Version: l.Version, Balance: l.State.Balance}, nil
	}
	return command.Result{Version: ex.Version, Balance: ex.State.Balance}, nil
}

// Load returns account id as stored (snapshot plus later events).
func (s *Accounts) Load(ctx context.Context, id string) (eventstore.Loaded[account.Account], error) {
	return s.repo.Load(ctx, StreamID(id))
}

// decoder decodes stored events: those of the current schema directly,
// others through the upcaster with their writer schema.
type decoder struct {
	types  *serde.Registry
	up     Upcaster
	mu     sync.Mutex
	parsed map[eventstore.Fingerprint]avro.Schema
}

func (d *decoder) Decode(eventType string, writer eventstore.Schema, payload []byte) (any, error) {
	if t, ok := d.types.ByName(eventType); ok && eventstore.Fingerprint(t.Fingerprint) == writer.Fingerprint {
		return d.types.Decode(eventType, payload)
	}
	d.mu.Lock()
	sc, ok := d.parsed[writer.Fingerprint]
	d.mu.Unlock()
	if !ok {
		var err error
		if sc, err = avro.Parse(writer.JSON); err != nil {
			return nil, fmt.Errorf("writer schema of %s: %w", eventType, err)
		}
		d.mu.Lock()
		d.parsed[writer.Fingerprint] = sc
		d.mu.Unlock()
	}
	if d.up == nil {
		return nil, errors.New("no upcaster for an older writer schema")
	}
	return d.up.Decode(eventType, sc, payload)
}
