// Package saga is Strata's durable saga (process manager) engine: a saga is a
// persisted state machine, not an in-memory loop.
//
// A Definition lists ordered steps. Each step may send a command (its Action)
// and may have a compensating command (its Compensation). An Engine keeps, in
// PostgreSQL schema "saga":
//
//   - instances: id, type, status, the current step by name, the version of
//     the definition the instance runs on, data, version (optimistic
//     concurrency: every transition is UPDATE ... WHERE version = $read);
//   - steps: the step log, one row per command sent (action or compensation
//     attempt) with its outcome, so `strata saga show` prints the full history;
//   - deadlines: at most one per saga (the reply timeout of the command in
//     flight, or the back-off before a compensation is retried), fired by
//     FireDue, which claims rows with SELECT ... FOR UPDATE SKIP LOCKED and is
//     therefore safe in several orchestrator instances;
//   - outbox: commands written in the same transaction as the state change
//     that decided them; RelayOutbox claims them with a lease, hands them to a
//     Transport (Kafka in production, an in-process function in tests) with
//     no transaction open, and deletes them once sent.
//
// Replies are correlated by saga id + step + kind (action or compensation) and,
// when the reply carries it, the command id of the attempt: duplicates and late
// replies (for a step that already finished or timed out) are recognised and
// ignored. A failed or timed-out action compensates the completed steps in
// reverse order (a timed-out step is compensated too, because its effect may
// have happened). Steps have retry policies with exponential backoff
// (RetryPolicy): a timed-out action may be sent again; a compensation that
// fails as often as its policy allows parks the saga (status PARKED, counted
// in strata_saga_parked_total) until a late success of the step arrives or an
// operator calls Retry (`strata saga retry ID`).
//
// Definitions are versioned: an instance runs to its end on the version it
// started with, new instances start on the highest version registered, and an
// instance whose version or step the engine does not know (or whose
// transition panicked) is parked with the reason, never guessed at. Package
// saga/answer lets participants answer a repeated command with the outcome
// they recorded.
//
// Getting started:
//
//	if err := saga.Migrate(ctx, pool); err != nil { ... }
//	eng, err := saga.New(pool, saga.Config{Encoder: enc}, def)
//	eng.Start(ctx, def.Type, orderID, data)      // on OrderPlaced
//	eng.HandleReply(ctx, saga.Reply{...})        // on each participant reply
//	go eng.Run(ctx, transport, saga.RunOptions{}) // outbox relay + deadline scanner
//
// The transition rules are a pure function (see machine.go) tested without a
// database; the engine adds persistence around them.
package saga
