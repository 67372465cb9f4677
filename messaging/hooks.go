package messaging

import "context"

// HandleHook wraps every handler attempt (ConsumerConfig.OnHandle): it gets
// the message's envelope before the handler's transaction begins and returns
// the context the handler runs with, plus a function called with the
// attempt's result (nil: handled and committed). observe.ConsumerHook uses it
// to continue the trace from the traceparent header and to put the
// correlation and causation ids into the handler's context (and so into its
// log lines and the events it appends).
type HandleHook func(ctx context.Context, env Envelope) (context.Context, func(err error))
