package saga

import (
	"encoding/json"
	"fmt"
	"maps"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// The transition rules, as a pure function of (definition, instance, event,
// now): no I/O, no clock, no random ids. The Engine loads, calls step, and
// writes the outcome in one transaction.

type eventKind int

const (
	evStart eventKind = iota + 1
	evReply
	evTimeout  // the reply deadline of commandID passed
	evRetryDue // the compensation back-off (or an operator's retry) is over
)

type event struct {
	kind      eventKind
	reply     Reply
	commandID string
}

// Deadline kinds.
const (
	deadlineTimeout = "timeout"
	deadlineRetry   = "retry"
)

type deadline struct {
	CommandID string
	Kind      string
	DueAt     time.Time
}

type finish struct {
	Seq    int
	Status StepStatus
	Reason string
	Result json.RawMessage
}

type send struct {
	Seq       int
	CommandID string
	Command   Command
}

// outcome is what a transition decided.
type outcome struct {
	inst     Instance
	ignored  string // non-empty: the event changed nothing, and why
	finishes []finish
	records  []StepRecord
	sends    []send
	deadline *deadline // set when clearDeadline is false and a new one is due
	// clearDeadline removes the saga's deadline (always done when deadline is set too).
	clearDeadline bool
	notes         []string // metric events: timeout, completed, compensated, parked
}

// commandNamespace makes command ids deterministic: uuid v5 of "sagaID/seq".
var commandNamespace = uuid.MustParse("6f1c6a8e-2f0e-5a1b-9a57-5b7f3c1d2e90")

// CommandID returns the id of the command a saga sends as its seq-th step-log row.
func CommandID(sagaID string, seq int) string {
	return uuid.NewSHA1(commandNamespace, []byte(sagaID+"/"+strconv.Itoa(seq))).String()
}

type machine struct {
	def       *Definition
	now       time.Time
	compRetry RetryPolicy // the default compensation retry policy
	nextSeq   int         // seq of the next step-log row
}

// policy returns the retry policy of step s for kind k, defaults filled in.
func (m *machine) policy(s Step, k Kind) RetryPolicy {
	if k == KindCompensation {
		return s.CompensationRetry.withDefaults(m.compRetry)
	}
	return s.Retry.withDefaults(RetryPolicy{MaxAttempts: 1, InitialInterval: m.compRetry.InitialInterval})
}

// step runs one transition. A panic (e.g. in a step's builder) is recovered
// and returned as a *PanicError.
func (m *machine) step(inst Instance, ev event) (o outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{SagaID: inst.ID, Value: r, Stack: debug.Stack()}
		}
	}()
	o = outcome{inst: inst}
	o.inst.Results = maps.Clone(inst.Results)
	if o.inst.Results == nil {
		o.inst.Results = map[string]json.RawMessage{}
	}
	switch ev.kind {
	case evStart:
		err = m.forward(&o, 0)
	case evReply:
		err = m.onReply(&o, ev.reply)
	case evTimeout:
		err = m.onTimeout(&o, ev.commandID)
	case evRetryDue:
		err = m.onRetryDue(&o, ev.commandID)
	default:
		return o, fmt.Errorf("saga %s: unknown event kind %d", inst.ID, ev.kind)
	}
	if err != nil {
		return o, err
	}
	if o.ignored == "" {
		o.inst.UpdatedAt = m.now
		if err := m.announce(&o, inst.Status); err != nil {
			return o, err
		}
	}
	return o, nil
}

// announce adds the definition's outcome messages when the transition ended
// the saga or parked it.
func (m *machine) announce(o *outcome, before Status) error {
	st := o.inst.Status
	if m.def.OnOutcome == nil || st == before || !(st.Terminal() || st == StatusParked) {
		return nil
	}
	oc := Outcome{SagaID: o.inst.ID, Status: st, Data: o.inst.Data, FailedStep: o.inst.FailedStep, Reason: o.inst.Reason, At: m.now}
	if st == StatusParked && o.inst.Step >= 0 && o.inst.Step < len(m.def.Steps) {
		oc.Step = m.def.Steps[o.inst.Step].Name
	}
	cmds, err := m.def.OnOutcome(oc)
	if err != nil {
		return fmt.Errorf("saga %s: outcome %s: %w", o.inst.ID, st, err)
	}
	for i, c := range cmds {
		if c.Key == "" {
			c.Key = o.inst.ID
		}
		id := uuid.NewSHA1(commandNamespace, fmt.Appendf(nil, "%s/outcome/%s/%d/%d", o.inst.ID, st, o.inst.Version+1, i)).String()
		o.sends = append(o.sends, send{Seq: 0, CommandID: id, Command: c})
	}
	return nil
}

func (m *machine) seq() int {
	m.nextSeq++
	return m.nextSeq - 1
}

func (m *machine) call(o *outcome, name string, k Kind, seq int) Call {
	return Call{
		SagaID:    o.inst.ID,
		Step:      name,
		Kind:      k,
		Attempt:   o.inst.Attempt,
		CommandID: CommandID(o.inst.ID, seq),
		Data:      o.inst.Data,
		Results:   o.inst.Results,
		Reason:    o.inst.Reason,
	}
}

// forward runs the saga from step i on: steps without an action pass at once;
// the first step with one sends its command; past the last step it completes.
func (m *machine) forward(o *outcome, i int) error {
	steps := m.def.Steps
	for i < len(steps) && (steps[i].Action == nil || o.inst.Results[doneKey(steps[i].Name)] != nil) {
		reason := "done before the saga started"
		if steps[i].Action != nil {
			reason = "already done: the participant reported it before it was asked"
		}
		o.records = append(o.records, StepRecord{
			SagaID: o.inst.ID, Seq: m.seq(), Step: steps[i].Name, Kind: KindAction, Attempt: 1,
			Status: StepSucceeded, Reason: reason, StartedAt: m.now, FinishedAt: ptr(m.now),
		})
		i++
	}
	o.clearDeadline = true
	if i >= len(steps) {
		o.inst.Status = StatusCompleted
		o.inst.Step = len(steps)
		o.inst.PendingSeq, o.inst.PendingCmd = 0, ""
		o.notes = append(o.notes, "completed")
		return nil
	}
	o.inst.Status = StatusRunning
	o.inst.Step = i
	o.inst.Attempt = 1
	return m.sendCommand(o, steps[i], KindAction, steps[i].Action)
}

// compensate compensates step i and every step before it, in reverse order,
// skipping steps without a compensation.
func (m *machine) compensate(o *outcome, i int) error {
	steps := m.def.Steps
	for i >= 0 && (steps[i].Compensation == nil || o.inst.Results[compensatedKey(steps[i].Name)] != nil) {
		if steps[i].Compensation != nil {
			o.records = append(o.records, StepRecord{
				SagaID: o.inst.ID, Seq: m.seq(), Step: steps[i].Name, Kind: KindCompensation, Attempt: 0,
				Status: StepSucceeded, Reason: "already undone: the participant reported it before it was asked",
				StartedAt: m.now, FinishedAt: ptr(m.now),
			})
		}
		i--
	}
	o.clearDeadline = true
	if i < 0 {
		o.inst.Status = StatusCompensated
		o.inst.Step = -1
		o.inst.PendingSeq, o.inst.PendingCmd = 0, ""
		o.notes = append(o.notes, "compensated")
		return nil
	}
	o.inst.Status = StatusCompensating
	o.inst.Step = i
	o.inst.Attempt = 1
	return m.sendCommand(o, steps[i], KindCompensation, steps[i].Compensation)
}

func (m *machine) sendCommand(o *outcome, s Step, k Kind, b Builder) error {
	seq := m.seq()
	c := m.call(o, s.Name, k, seq)
	cmd, err := b(c)
	if err != nil {
		return fmt.Errorf("saga %s: build %s of step %s: %w", o.inst.ID, k, s.Name, err)
	}
	if cmd.Key == "" {
		cmd.Key = o.inst.ID
	}
	o.records = append(o.records, StepRecord{
		SagaID: o.inst.ID, Seq: seq, Step: s.Name, Kind: k, Attempt: o.inst.Attempt,
		CommandID: c.CommandID, CommandType: cmd.Type, Status: StepPending, StartedAt: m.now,
	})
	o.sends = append(o.sends, send{Seq: seq, CommandID: c.CommandID, Command: cmd})
	o.inst.PendingSeq, o.inst.PendingCmd = seq, c.CommandID
	o.deadline = &deadline{CommandID: c.CommandID, Kind: deadlineTimeout, DueAt: m.now.Add(m.def.timeout(s, k))}
	return nil
}

func (m *machine) pendingKind(inst Instance) Kind {
	if inst.Status == StatusCompensating || (inst.Status == StatusParked && inst.ParkedFrom != StatusRunning) {
		return KindCompensation
	}
	return KindAction
}

func (m *machine) onReply(o *outcome, r Reply) error {
	inst := o.inst
	k := r.Kind
	if k == "" {
		k = KindAction
	}
	switch {
	case inst.Status == StatusCompleted && k == KindCompensation && r.Success:
		return m.undoneAfterCompletion(o, r)
	case inst.Status.Terminal():
		o.ignored = "saga already " + string(inst.Status)
		return nil
	case inst.Step < 0 || inst.Step >= len(m.def.Steps):
		o.ignored = "no step in progress"
		return nil
	case inst.PendingCmd == "":
		// Waiting for a retry, or parked: a success of the step in progress
		// (an earlier attempt answering late, or the participant answering a
		// repeated command) is the step's outcome.
		cur := m.def.Steps[inst.Step]
		if r.Success && r.Step == cur.Name && k == m.pendingKind(inst) {
			return m.lateSuccess(o, r, k)
		}
		if inst.Status == StatusParked {
			o.ignored = "no command in flight (" + string(inst.Status) + ")"
			return nil
		}
	}
	cur := m.def.Steps[inst.Step]
	if k == KindCompensation && r.Success && (r.Step != cur.Name || k != m.pendingKind(inst)) {
		return m.compensatedEarly(o, r)
	}
	if k == KindAction && r.Success && inst.Status == StatusRunning && r.Step != cur.Name {
		return m.doneEarly(o, r)
	}
	if r.Step != cur.Name || k != m.pendingKind(inst) {
		o.ignored = fmt.Sprintf("reply for %s %s, waiting for %s %s", r.Step, k, cur.Name, m.pendingKind(inst))
		return nil
	}
	if inst.PendingCmd == "" {
		o.ignored = "no command in flight (" + string(inst.Status) + ")"
		return nil
	}
	if r.CommandID != "" && r.CommandID != inst.PendingCmd && m.sentBefore(inst.ID, r.CommandID) {
		// An earlier attempt of the same action or compensation that
		// succeeded late still counts (participants are idempotent and answer
		// every attempt with the outcome they recorded); a late failure is
		// stale. A reply caused by a command the saga never sent (the
		// participant acted for someone else, e.g. the order was confirmed
		// through its API) answers the step all the same: it is the
		// participant's state.
		if !r.Success {
			o.ignored = "reply to an earlier attempt " + r.CommandID
			return nil
		}
	}
	if r.Success {
		o.finishes = append(o.finishes, finish{Seq: inst.PendingSeq, Status: StepSucceeded, Result: r.Result})
		if len(r.Result) > 0 && k == KindAction {
			o.inst.Results[cur.Name] = r.Result
		}
		if k == KindAction {
			return m.forward(o, inst.Step+1)
		}
		return m.compensate(o, inst.Step-1)
	}
	o.finishes = append(o.finishes, finish{Seq: inst.PendingSeq, Status: StepFailed, Reason: r.Reason})
	if k == KindAction {
		o.inst.FailedStep, o.inst.Reason = cur.Name, r.Reason
		// The step failed, so it did nothing: compensate the ones before it.
		return m.compensate(o, inst.Step-1)
	}
	return m.compensationFailed(o, r.Reason)
}

// lateSuccess applies a success of the step in progress that came while no
// command was in flight (a retry pending, or parked).
func (m *machine) lateSuccess(o *outcome, r Reply, k Kind) error {
	inst := o.inst
	cur := m.def.Steps[inst.Step]
	o.records = append(o.records, StepRecord{
		SagaID: inst.ID, Seq: m.seq(), Step: cur.Name, Kind: k, Attempt: inst.Attempt, CommandID: r.CommandID,
		Status: StepSucceeded, Reason: "answered while " + waitingFor(inst), Result: r.Result, StartedAt: m.now, FinishedAt: ptr(m.now),
	})
	o.notes = append(o.notes, "late_success")
	o.inst.ParkedFrom = ""
	if k == KindAction {
		if len(r.Result) > 0 {
			o.inst.Results[cur.Name] = r.Result
		}
		o.inst.Reason = ""
		return m.forward(o, inst.Step+1)
	}
	return m.compensate(o, inst.Step-1)
}

func waitingFor(inst Instance) string {
	if inst.Status == StatusParked {
		return "parked"
	}
	return "waiting for a retry"
}

// compensatedEarly handles a successful compensation reply for a step whose
// compensation was not asked for (yet): a participant undid the step on its
// own (e.g. the customer cancelled the order). The step is marked, so it is
// never undone twice, and a running saga stops going forward: it compensates
// from the step in progress (included, as after a timeout) down.
func (m *machine) compensatedEarly(o *outcome, r Reply) error {
	idx := m.index(r.Step)
	inst := o.inst
	switch {
	case idx < 0 || m.def.Steps[idx].Compensation == nil:
		o.ignored = "compensation reply for a step without compensation: " + r.Step
		return nil
	case inst.Status == StatusRunning && idx > inst.Step,
		inst.Status == StatusCompensating && idx >= inst.Step:
		o.ignored = "compensation reply for a step not done or already compensated: " + r.Step
		return nil
	case inst.Results[compensatedKey(r.Step)] != nil:
		o.ignored = "compensation of " + r.Step + " already recorded"
		return nil
	}
	o.inst.Results[compensatedKey(r.Step)] = json.RawMessage(`true`)
	o.notes = append(o.notes, "undone_by_participant")
	if inst.Status != StatusRunning {
		return nil
	}
	reason := r.Step + " was undone by its participant while the saga ran"
	o.finishes = append(o.finishes, finish{Seq: inst.PendingSeq, Status: StepFailed, Reason: "abandoned: " + reason})
	o.inst.FailedStep, o.inst.Reason = r.Step, reason
	return m.compensate(o, inst.Step)
}

// undoneAfterCompletion reopens a COMPLETED saga when a participant undoes
// one of its steps afterwards (e.g. a confirmed order is cancelled): the other
// steps are compensated, in reverse, so nothing stays held for it.
func (m *machine) undoneAfterCompletion(o *outcome, r Reply) error {
	idx := m.index(r.Step)
	if idx < 0 || m.def.Steps[idx].Compensation == nil || o.inst.Results[compensatedKey(r.Step)] != nil {
		o.ignored = "saga already COMPLETED"
		return nil
	}
	o.inst.Results[compensatedKey(r.Step)] = json.RawMessage(`true`)
	o.inst.FailedStep, o.inst.Reason = r.Step, r.Step+" was undone by its participant after the saga completed"
	o.notes = append(o.notes, "reopened")
	return m.compensate(o, len(m.def.Steps)-1)
}

// doneEarly records a successful action reply for a step the saga has not
// reached: a participant did it on its own (e.g. the order was confirmed
// through the API). When the saga gets there, it does not ask again.
func (m *machine) doneEarly(o *outcome, r Reply) error {
	idx := m.index(r.Step)
	switch {
	case idx <= o.inst.Step || m.def.Steps[idx].Action == nil:
		o.ignored = "reply for a step already passed: " + r.Step
	case o.inst.Results[doneKey(r.Step)] != nil:
		o.ignored = r.Step + " already recorded as done"
	default:
		o.inst.Results[doneKey(r.Step)] = json.RawMessage(`true`)
		o.notes = append(o.notes, "done_by_participant")
	}
	return nil
}

// sentBefore reports whether commandID is one this saga sent (command ids
// are derived from the saga id and the step-log seq).
func (m *machine) sentBefore(sagaID, commandID string) bool {
	for seq := 1; seq < m.nextSeq; seq++ {
		if CommandID(sagaID, seq) == commandID {
			return true
		}
	}
	return false
}

func (m *machine) index(step string) int {
	for i, s := range m.def.Steps {
		if s.Name == step {
			return i
		}
	}
	return -1
}

// doneKey is the Results key marking a step done by its participant unasked.
func doneKey(step string) string { return "~done:" + step }

// compensatedKey is the Results key marking a step undone by its participant.
func compensatedKey(step string) string { return "~compensated:" + step }

func (m *machine) onTimeout(o *outcome, commandID string) error {
	inst := o.inst
	if inst.Status.Terminal() || inst.PendingCmd == "" || commandID != inst.PendingCmd {
		o.ignored = "deadline of a command no longer in flight"
		return nil
	}
	cur := m.def.Steps[inst.Step]
	o.notes = append(o.notes, "timeout")
	reason := fmt.Sprintf("no reply to %s of %s within %s", m.pendingKind(inst), cur.Name, m.def.timeout(cur, m.pendingKind(inst)))
	o.finishes = append(o.finishes, finish{Seq: inst.PendingSeq, Status: StepTimedOut, Reason: reason})
	if p := m.policy(cur, KindAction); inst.Status == StatusRunning && inst.Attempt < p.MaxAttempts {
		// The step's retry policy asks again after a back-off.
		o.inst.PendingSeq, o.inst.PendingCmd = 0, ""
		o.inst.Reason = fmt.Sprintf("%s (attempt %d of %d); retrying", reason, inst.Attempt, p.MaxAttempts)
		o.clearDeadline = true
		o.deadline = &deadline{CommandID: "", Kind: deadlineRetry, DueAt: m.now.Add(p.Delay(inst.Attempt))}
		return nil
	}
	if inst.Status == StatusRunning {
		o.inst.FailedStep, o.inst.Reason = cur.Name, reason
		// The action may still take effect: compensate it too.
		return m.compensate(o, inst.Step)
	}
	return m.compensationFailed(o, reason)
}

// compensationFailed retries the compensation in progress after a back-off,
// or parks the saga once it has failed maxAttempts times.
func (m *machine) compensationFailed(o *outcome, reason string) error {
	o.inst.PendingSeq, o.inst.PendingCmd = 0, ""
	o.inst.Reason = fmt.Sprintf("compensation %s failed (attempt %d): %s", m.def.Steps[o.inst.Step].Name, o.inst.Attempt, reason)
	o.clearDeadline = true
	p := m.policy(m.def.Steps[o.inst.Step], KindCompensation)
	if o.inst.Attempt >= p.MaxAttempts {
		o.inst.Status = StatusParked
		o.inst.ParkedFrom = StatusCompensating
		o.notes = append(o.notes, "parked")
		return nil
	}
	o.deadline = &deadline{CommandID: "", Kind: deadlineRetry, DueAt: m.now.Add(p.Delay(o.inst.Attempt))}
	return nil
}

func (m *machine) onRetryDue(o *outcome, _ string) error {
	inst := o.inst
	if (inst.Status != StatusCompensating && inst.Status != StatusRunning) || inst.PendingCmd != "" || inst.Step < 0 || inst.Step >= len(m.def.Steps) {
		o.ignored = "no step waiting for a retry"
		o.clearDeadline = true
		return nil
	}
	s := m.def.Steps[inst.Step]
	o.inst.Attempt = inst.Attempt + 1
	o.clearDeadline = true
	if inst.Status == StatusRunning {
		if s.Action == nil {
			o.ignored = "step " + s.Name + " has no action to retry"
			return nil
		}
		return m.sendCommand(o, s, KindAction, s.Action)
	}
	return m.sendCommand(o, s, KindCompensation, s.Compensation)
}

func ptr[T any](v T) *T { return &v }
