package eventstore

import "time"

// AppendObservation describes one finished Append call, for metrics.
type AppendObservation struct {
	StreamType string
	Events     int           // batch size asked for
	Duration   time.Duration // the whole call, schema checks and the round trip included
	Replayed   bool          // an idempotent retry: nothing was written
	Err        error         // nil on success
}

// AppendObserver is called after every Append (Config.OnAppend). It runs on
// the caller's goroutine and must be quick (e.g. observe a histogram).
type AppendObserver func(AppendObservation)
