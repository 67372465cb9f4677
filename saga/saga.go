package saga

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Status is where a saga instance is in its life.
type Status string

// Saga statuses. COMPLETED and COMPENSATED are terminal; PARKED waits for an
// operator (Retry).
const (
	StatusRunning      Status = "RUNNING"
	StatusCompensating Status = "COMPENSATING"
	StatusCompleted    Status = "COMPLETED"
	StatusCompensated  Status = "COMPENSATED"
	StatusParked       Status = "PARKED"
)

// Terminal reports whether no further transition can happen without an operator.
func (s Status) Terminal() bool { return s == StatusCompleted || s == StatusCompensated }

// Kind tells an action from a compensation.
type Kind string

// Step kinds.
const (
	KindAction       Kind = "action"
	KindCompensation Kind = "compensation"
)

// StepStatus is the outcome of one step-log row.
type StepStatus string

// Step-log row statuses.
const (
	StepPending   StepStatus = "PENDING"
	StepSucceeded StepStatus = "SUCCEEDED"
	StepFailed    StepStatus = "FAILED"
	StepTimedOut  StepStatus = "TIMED_OUT"
)

// Call is what a command builder is given: the saga, the step and the id the
// command must carry (the transport sends it as the message's event id).
type Call struct {
	SagaID    string
	Step      string
	Kind      Kind
	Attempt   int
	CommandID string
	Data      json.RawMessage            // the saga's input
	Results   map[string]json.RawMessage // step name -> result of its successful reply
	Reason    string                     // why the saga is compensating ("" while running)
}

// Command is a message a step sends to a participant.
type Command struct {
	Topic string // e.g. commands.payment
	Type  string // Avro full name, e.g. shop.payment.AuthorizePayment
	Value any    // encoded by the Engine's Encoder
	Key   string // partition key; the saga id when empty
}

// Builder builds a step's command. It must be pure: the same call gives the
// same command.
type Builder func(c Call) (Command, error)

// Step is one step of a saga.
type Step struct {
	Name string
	// Action sends the step's command; nil for a step that is already done
	// when the saga starts (e.g. the order was placed) and only compensates.
	Action Builder
	// Compensation undoes the step; nil when there is nothing to undo.
	// Participants must make it idempotent and safe when the action never
	// happened or happens later (a timed-out step is compensated too).
	Compensation Builder
	// Timeout bounds the wait for the action's reply; 0 uses Definition.Timeout.
	Timeout time.Duration
	// CompensationTimeout bounds the wait for the compensation's reply; 0 uses
	// Definition.Timeout.
	CompensationTimeout time.Duration
}

// Definition is a saga type: its name and ordered steps.
type Definition struct {
	Type    string
	Steps   []Step
	Timeout time.Duration // default per-step reply timeout (30s when 0)
	// OnOutcome, when set, builds messages announcing that a saga completed,
	// compensated or parked (e.g. FulfilmentCompleted on events.saga). They
	// are written to the outbox in the transition's transaction, like
	// commands, with ids derived from the saga id, outcome and version.
	OnOutcome func(o Outcome) ([]Command, error)
}

// Outcome describes how a saga ended (or parked) for Definition.OnOutcome.
type Outcome struct {
	SagaID     string
	Status     Status // COMPLETED, COMPENSATED or PARKED
	Data       json.RawMessage
	FailedStep string    // the step whose failure started compensation
	Step       string    // PARKED: the step whose compensation failed
	Reason     string    // why it failed or parked
	At         time.Time // the engine's clock at the transition
}

// Validate reports every problem of the definition at once.
func (d *Definition) Validate() error {
	var errs []error
	if d.Type == "" {
		errs = append(errs, errors.New("saga definition: empty type"))
	}
	if len(d.Steps) == 0 {
		errs = append(errs, fmt.Errorf("saga %s: no steps", d.Type))
	}
	seen := map[string]bool{}
	for i, s := range d.Steps {
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("saga %s: step %d has no name", d.Type, i))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("saga %s: step %q twice", d.Type, s.Name))
		}
		seen[s.Name] = true
		if s.Action == nil && s.Compensation == nil {
			errs = append(errs, fmt.Errorf("saga %s: step %q has neither action nor compensation", d.Type, s.Name))
		}
	}
	return errors.Join(errs...)
}

func (d *Definition) timeout(s Step, k Kind) time.Duration {
	t := s.Timeout
	if k == KindCompensation {
		t = s.CompensationTimeout
	}
	if t <= 0 {
		t = d.Timeout
	}
	if t <= 0 {
		t = 30 * time.Second
	}
	return t
}

// Reply is a participant's answer to a command, translated by the caller
// (e.g. PaymentAuthorized -> Reply{Step: "process_payment", Success: true}).
type Reply struct {
	SagaID    string
	Step      string
	Kind      Kind   // action (default when empty) or compensation
	CommandID string // the command's id when the reply carries it; "" correlates by saga + step + kind
	Success   bool
	Reason    string          // why it failed
	Result    json.RawMessage // stored under Results[Step] on success (optional)
}

// Instance is a saga instance as stored.
type Instance struct {
	ID         string
	Type       string
	Status     Status
	Step       int
	Attempt    int
	PendingSeq int
	PendingCmd string
	Data       json.RawMessage
	Results    map[string]json.RawMessage
	FailedStep string
	Reason     string
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// StepRecord is one row of the step log.
type StepRecord struct {
	SagaID      string
	Seq         int
	Step        string
	Kind        Kind
	Attempt     int
	CommandID   string
	CommandType string
	Status      StepStatus
	Reason      string
	Result      json.RawMessage
	StartedAt   time.Time
	FinishedAt  *time.Time
}

// Errors.
var (
	// ErrVersionConflict: the instance changed since it was read; reload and retry.
	ErrVersionConflict = errors.New("saga: version conflict")
	// ErrNotFound: no saga instance with that id.
	ErrNotFound = errors.New("saga: not found")
	// ErrUnknownType: no definition registered for the saga's type.
	ErrUnknownType = errors.New("saga: unknown saga type")
	// ErrNotParked: Retry was asked for a saga that is not parked.
	ErrNotParked = errors.New("saga: not parked")
)

// VersionConflictError carries the detail of an ErrVersionConflict.
type VersionConflictError struct {
	SagaID   string
	Expected int64
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("saga %s: version %d changed underneath", e.SagaID, e.Expected)
}

// Unwrap returns ErrVersionConflict.
func (e *VersionConflictError) Unwrap() error { return ErrVersionConflict }

// IsRetryable reports whether err is worth retrying after reloading.
func IsRetryable(err error) bool { return errors.Is(err, ErrVersionConflict) }
