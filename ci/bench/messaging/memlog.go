package main

import (
	"context"
	"sort"

	"github.com/stratahq/strata/messaging"
)

// memLog is the global log held in memory: the relay with it measures the
// relay's own cost without PostgreSQL reads (a breakdown, not a product).
type memLog struct {
	events  []messaging.LogEvent
	schemas map[string]string
}

func (m *memLog) ReadLog(_ context.Context, after messaging.Cursor, limit int) ([]messaging.LogEvent, error) {
	i := sort.Search(len(m.events), func(i int) bool {
		c := m.events[i].Cursor
		return c.TxID > after.TxID || (c.TxID == after.TxID && c.Position > after.Position)
	})
	j := min(len(m.events), i+limit)
	return m.events[i:j], nil
}

func (m *memLog) WriterSchema(_ context.Context, fp string) (string, error) {
	return m.schemas[fp], nil
}
