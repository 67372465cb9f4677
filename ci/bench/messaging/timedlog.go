package main

import (
	"context"
	"time"

	"github.com/stratahq/strata/messaging"
)

// timedLog measures the relay's reads of the global log (breakdown).
type timedLog struct {
	*messaging.StoreLog
	reads int
	total time.Duration
	rows  int
}

func (t *timedLog) ReadLog(ctx context.Context, after messaging.Cursor, limit int) ([]messaging.LogEvent, error) {
	st := time.Now()
	evs, err := t.StoreLog.ReadLog(ctx, after, limit)
	t.total += time.Since(st)
	t.reads++
	t.rows += len(evs)
	return evs, err
}
