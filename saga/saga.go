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
	// Retry says how often the action is sent again when its reply does not
	// come in time (a failure reply is a business answer and is not
	// retried). Zero: one attempt, then the saga compensates.
	Retry RetryPolicy
	// CompensationRetry says how often a failed or timed-out compensation is
	// sent again before the saga parks. Zero: the engine's default
	// (Config.MaxCompensationAttempts, Config.CompensationRetryDelay, doubling).
	CompensationRetry RetryPolicy
}

// RetryPolicy is a per-step retry policy with exponential backoff, named as
// Temporal names its activity retry options. The delay before attempt n+1 is
// InitialInterval * BackoffCoefficient^(n-1), at most MaxInterval.
type RetryPolicy struct {
	MaxAttempts        int           // attempts in all, the first included; 0 takes the default
	InitialInterval    time.Duration // delay before the second attempt; 0 takes the default
	BackoffCoefficient float64       // 2 when 0
	MaxInterval        time.Duration // 100 * InitialInterval when 0
}

// withDefaults fills the zero fields of p from def.
func (p RetryPolicy) withDefaults(def RetryPolicy) RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = def.MaxAttempts
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = def.InitialInterval
	}
	if p.BackoffCoefficient < 1 {
		p.BackoffCoefficient = def.BackoffCoefficient
	}
	if p.BackoffCoefficient < 1 {
		p.BackoffCoefficient = 2
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = def.MaxInterval
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = 100 * p.InitialInterval
	}
	return p
}

// Delay returns the back-off after the attempt-th attempt failed.
func (p RetryPolicy) Delay(attempt int) time.Duration {
	d := float64(p.InitialInterval)
	for i := 1; i < attempt && d < float64(p.MaxInterval); i++ {
		d *= p.BackoffCoefficient
	}
	if d > float64(p.MaxInterval) {
		d = float64(p.MaxInterval)
	}
	return time.Duration(d)
}

// Definition is a saga type: its name, version and ordered steps.
//
// An instance runs to its end on the definition version it started with
// (Temporal's and Axon's rule for in-flight workflows): a change to the steps
// that in-flight instances must not see is a new Version, deployed next to
// the old one until no instance runs on the old one. New instances start on
// the highest version registered. The step in progress is stored by name; an
// instance whose version or step the engine does not know is parked with a
// reason, never guessed at.
type Definition struct {
	Type    string
	Version int // 1 when 0
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
	if d.Version < 0 {
		errs = append(errs, fmt.Errorf("saga %s: version %d < 0", d.Type, d.Version))
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
		for _, p := range []RetryPolicy{s.Retry, s.CompensationRetry} {
			if p.MaxAttempts < 0 || p.InitialInterval < 0 || p.MaxInterval < 0 || (p.BackoffCoefficient != 0 && p.BackoffCoefficient < 1) {
				errs = append(errs, fmt.Errorf("saga %s: step %q: bad retry policy %+v", d.Type, s.Name, p))
			}
		}
	}
	return errors.Join(errs...)
}

// version is the definition's version (1 when unset).
func (d *Definition) version() int {
	if d.Version <= 0 {
		return 1
	}
	return d.Version
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
	ID       string
	Type     string
	Status   Status
	Step     int    // index of StepName in the instance's definition version (-1 after compensation, len(steps) after completion)
	StepName string // the step in progress, as stored ("" when terminal)
	// DefinitionVersion is the version of the definition the instance runs on.
	DefinitionVersion int
	// ParkedFrom is the status a PARKED instance had (RUNNING or
	// COMPENSATING): Retry resumes it there.
	ParkedFrom Status
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
	// ErrUnknownVersion: the instance runs on a definition version this engine does not have.
	ErrUnknownVersion = errors.New("saga: unknown definition version")
	// ErrUnknownStep: the instance's step is not in its definition version.
	ErrUnknownStep = errors.New("saga: unknown step")
)

// PanicError is a panic recovered in the engine (e.g. in a step's builder);
// the saga it hit is parked with it as the reason.
type PanicError struct {
	SagaID string
	Value  any
	Stack  []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("saga %s: panic: %v", e.SagaID, e.Value) }

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
