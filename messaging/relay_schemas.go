package messaging

import (
	"context"
	"errors"
	"fmt"
)

// ErrSchemaRefused is what a *SchemaRefusedError unwraps to.
var ErrSchemaRefused = errors.New("messaging: the schema registry refuses the writer schema")

// SchemaRefusedError reports an event type whose writer schema the registry
// refuses: incompatible with the subject's versions (409), invalid (422), or
// not registered while the relay does not register schemas (404). The relay
// holds that type's events, and the events after them in the same streams,
// reports the refusal and keeps relaying everything else.
type SchemaRefusedError struct {
	Subject     string // the event type's Avro full name (RecordNameStrategy)
	Fingerprint string // the writer schema's fingerprint in the event store
	Code        int    // the registry's error code (409, 42201, 40401, 40403, ...)
	Rule        string // what the registry said: the incompatibilities, or why it is missing
	Registering bool   // whether the relay tried to register the schema
}

func (e *SchemaRefusedError) Error() string {
	return fmt.Sprintf("schema registry refuses the writer schema of subject %s (error %d): %s", e.Subject, e.Code, e.Rule)
}

func (e *SchemaRefusedError) Unwrap() error { return ErrSchemaRefused }

// heldEvent is an event waiting behind a refused schema; its slot is already
// in pending (so the checkpoint stops before it).
type heldEvent struct {
	e     *LogEvent
	topic string
	slot  *slot
}

func streamKey(topic, streamID string) string { return topic + "\x00" + streamID }

// schemaID returns the registry id of e's writer schema: from the relay's
// cache, from this lead's refusals (until the next retry), or from the
// registry.
func (s *leadState) schemaID(ctx context.Context, e *LogEvent) (registered, error) {
	cfg := &s.r.cfg
	if reg, ok := s.r.schemas.cached(e.Fingerprint); ok {
		return reg, nil
	}
	if refused, ok := s.refused[e.Fingerprint]; ok {
		return registered{}, refused
	}
	sctx, cancel := s.r.dbctx(ctx)
	js, err := cfg.Log.WriterSchema(sctx, e.Fingerprint)
	cancel()
	if err != nil {
		return registered{}, fmt.Errorf("relay writer schema %s of %s: %w", e.Fingerprint, e.EventType, err)
	}
	reg, err := s.r.schemas.resolve(e.Fingerprint, e.EventType, js, cfg.RegisterSchemas)
	var refused *SchemaRefusedError
	if errors.As(err, &refused) {
		if s.refused == nil {
			s.refused = map[string]*SchemaRefusedError{}
		}
		s.refused[e.Fingerprint] = refused
		cfg.Logger.Error("relay: the schema registry refuses an event type; its events wait (other types and streams keep flowing)",
			"relay", cfg.Name, "subject", refused.Subject, "code", refused.Code, "rule", refused.Rule,
			"registering", refused.Registering, "retry_in", cfg.SchemaRetry)
		if cfg.Metrics != nil {
			cfg.Metrics.RelaySchemaRefusals.WithLabelValues(cfg.Name, refused.Subject).Inc()
		}
		return registered{}, refused
	}
	if err != nil {
		return registered{}, fmt.Errorf("relay schema id of %s: %w", e.EventType, err)
	}
	return reg, nil
}

// streamHeld reports whether an earlier event of e's stream is held.
func (s *leadState) streamHeld(topic string, e *LogEvent) bool {
	return s.heldStreams[streamKey(topic, e.StreamID)]
}

// hold parks e behind a refused schema (or behind an earlier held event of
// its stream), keeping its place in the checkpoint order.
func (s *leadState) hold(e *LogEvent, topic string) {
	sl := &slot{cursor: e.Cursor, recordedAt: e.RecordedAt, topic: topic, key: e.StreamID, eventID: e.EventID}
	s.pending = append(s.pending, sl)
	s.held = append(s.held, heldEvent{e: e, topic: topic, slot: sl})
	if s.heldStreams == nil {
		s.heldStreams = map[string]bool{}
	}
	s.heldStreams[streamKey(topic, e.StreamID)] = true
	if len(s.held) == 1 {
		s.nextRetry = s.r.cfg.Now().Add(s.r.cfg.SchemaRetry)
	}
}

// retryHeld asks the registry again, every SchemaRetry, about the refused
// schemas, and produces the held events whose schema it now accepts, in log
// order, never before an earlier held event of their stream.
func (s *leadState) retryHeld(ctx context.Context) error {
	cfg := &s.r.cfg
	if len(s.held) == 0 || cfg.Now().Before(s.nextRetry) {
		return nil
	}
	s.nextRetry = cfg.Now().Add(cfg.SchemaRetry)
	clear(s.refused)
	held := s.held
	s.held, s.heldStreams = nil, map[string]bool{}
	released := 0
	for i, h := range held {
		key := streamKey(h.topic, h.e.StreamID)
		if !s.heldStreams[key] {
			reg, err := s.schemaID(ctx, h.e)
			if err == nil {
				if err := s.send(ctx, h.e, h.topic, reg, h.slot); err != nil {
					s.held = append(s.held, held[i:]...)
					return err
				}
				released++
				continue
			}
			if !errors.Is(err, ErrSchemaRefused) {
				s.held = append(s.held, held[i:]...)
				for _, rest := range held[i:] {
					s.heldStreams[streamKey(rest.topic, rest.e.StreamID)] = true
				}
				return err
			}
		}
		s.heldStreams[key] = true
		s.held = append(s.held, h)
	}
	if released > 0 {
		cfg.Logger.Info("relay: released events the schema registry now accepts", "relay", cfg.Name,
			"released", released, "still_held", len(s.held))
	}
	return nil
}
