package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/jackc/pgx/v5"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/upcasters"
)

func (s *Server) routeEvents() {
	s.mux.HandleFunc("GET /events", s.eventsPage)
	s.mux.HandleFunc("GET /events/{position}", s.eventPage)
	s.mux.HandleFunc("GET /correlation/{id}", s.correlationPage)
}

// EventFilter selects stored events for the events page.
type EventFilter struct {
	Stream      string
	Type        string
	Correlation string
	Since       time.Time
	Until       time.Time
	Limit       int
}

// Event is a stored event decoded for display.
type Event struct {
	eventstore.RecordedEvent
	Cursor        string
	Writer        string          // writer schema fingerprint
	WriterName    string          // writer schema's full name
	WriterVersion int             // version in the upcaster chain, 0 when the type has none
	Upcast        bool            // the writer schema is not today's
	Raw           json.RawMessage // decoded with the writer schema
	Current       json.RawMessage // upcast to today's type
	Error         string
}

const eventColumns = `position, tx_id::text, stream_id, stream_type, version, event_id, event_type, schema_fingerprint, payload,
	coalesce(correlation_id, ''), coalesce(causation_id, ''), coalesce(user_id, ''), coalesce(traceparent, ''), recorded_at`

// FindEvents returns the newest events passing f (at most f.Limit, default 100).
func (s *Server) FindEvents(ctx context.Context, f EventFilter) ([]eventstore.RecordedEvent, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var since, until *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	if !f.Until.IsZero() {
		until = &f.Until
	}
	return s.queryEvents(ctx, `SELECT `+eventColumns+` FROM events
		WHERE ($1 = '' OR stream_id = $1) AND ($2 = '' OR event_type = $2) AND ($3 = '' OR correlation_id = $3)
		  AND ($4::timestamptz IS NULL OR recorded_at >= $4) AND ($5::timestamptz IS NULL OR recorded_at < $5)
		ORDER BY position DESC LIMIT $6`, f.Stream, f.Type, f.Correlation, since, until, f.Limit)
}

func (s *Server) queryEvents(ctx context.Context, sql string, args ...any) ([]eventstore.RecordedEvent, error) {
	rows, err := s.cfg.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	var out []eventstore.RecordedEvent
	for rows.Next() {
		var e eventstore.RecordedEvent
		var tx string
		var fp []byte
		if err := rows.Scan(&e.Position, &tx, &e.StreamID, &e.StreamType, &e.Version, &e.ID, &e.Type, &fp, &e.Payload,
			&e.CorrelationID, &e.CausationID, &e.UserID, &e.TraceParent, &e.RecordedAt); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		e.TxID, _ = strconv.ParseUint(tx, 10, 64)
		copy(e.Fingerprint[:], fp)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Decode decodes one stored event with its writer schema (kept by the event
// store) and upcasts it to today's type; a failure is reported in Error.
func (s *Server) Decode(ctx context.Context, e eventstore.RecordedEvent) Event {
	out := Event{RecordedEvent: e, Cursor: e.Cursor().String(), Writer: e.Fingerprint.String()}
	var cur serde.Type
	known := false
	if s.cfg.Upcaster != nil {
		if n, ok := s.cfg.Upcaster.Version(e.Type, e.Fingerprint); ok {
			out.WriterVersion = n
		}
		cur, known = s.cfg.Types.ByName(e.Type)
		out.Upcast = !known || cur.Fingerprint != e.Fingerprint
	}
	w, name, err := s.writerSchema(ctx, e.Fingerprint)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.WriterName = name
	var generic any
	if err := avro.Unmarshal(w, e.Payload, &generic); err != nil {
		out.Error = "decode with the writer schema: " + err.Error()
		return out
	}
	out.Raw, _ = json.Marshal(generic)
	if s.cfg.Types == nil {
		return out // generic console: shown as written
	}
	if !known {
		out.Error = "no current type " + e.Type + " in this build: shown as written"
		return out
	}
	v, err := s.cfg.Upcaster.Decode(e.Type, w, e.Payload)
	if err != nil {
		out.Error = "upcast: " + err.Error()
		return out
	}
	_, body, err := s.cfg.Types.Encode(v)
	var cg any
	if err == nil {
		err = avro.Unmarshal(cur.Schema, body, &cg)
	}
	if err == nil {
		out.Current, err = json.Marshal(cg)
	}
	if err != nil {
		out.Error = "today's " + e.Type + ": " + err.Error()
	}
	return out
}

func (s *Server) writerSchema(ctx context.Context, fp eventstore.Fingerprint) (avro.Schema, string, error) {
	if v, ok := s.writers.Load(fp); ok {
		w := v.(writer)
		return w.schema, w.name, nil
	}
	sc, err := s.cfg.Store.Schema(ctx, fp)
	if err != nil {
		return nil, "", err
	}
	w, err := upcasters.ParseSchema(sc.JSON)
	if err != nil {
		return nil, "", fmt.Errorf("writer schema %s: %w", fp, err)
	}
	s.writers.Store(fp, writer{w, sc.Name})
	return w, sc.Name, nil
}

type writer struct {
	schema avro.Schema
	name   string
}

func parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: use RFC 3339, 2006-01-02T15:04 or a duration back from now (2h)", v)
}

func (s *Server) eventsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := EventFilter{Stream: q.Get("stream"), Type: q.Get("type"), Correlation: q.Get("correlation")}
	f.Limit, _ = strconv.Atoi(q.Get("limit"))
	data := map[string]any{"Title": "events", "Q": map[string]string{
		"stream": f.Stream, "type": f.Type, "correlation": f.Correlation, "since": q.Get("since"), "until": q.Get("until")}}
	var err error
	if f.Since, err = parseTime(q.Get("since")); err == nil {
		f.Until, err = parseTime(q.Get("until"))
	}
	if err != nil {
		data["Error"] = err.Error()
		s.render(w, r, "events", data)
		return
	}
	evs, err := s.FindEvents(r.Context(), f)
	if err != nil {
		data["Error"] = err.Error()
	}
	data["Events"] = evs
	var names []string
	if s.cfg.Types != nil {
		for _, t := range s.cfg.Types.Types() {
			names = append(names, t.Name)
		}
	}
	data["Types"] = names
	s.render(w, r, "events", data)
}

func (s *Server) eventPage(w http.ResponseWriter, r *http.Request) {
	pos, err := strconv.ParseInt(r.PathValue("position"), 10, 64)
	if err != nil {
		http.Error(w, "position: "+err.Error(), http.StatusBadRequest)
		return
	}
	evs, err := s.queryEvents(r.Context(), `SELECT `+eventColumns+` FROM events WHERE position = $1`, pos)
	if err == nil && len(evs) == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, pgx.ErrNoRows) {
			status = http.StatusNotFound
		}
		w.WriteHeader(status)
		s.render(w, r, "event", map[string]any{"Title": "event", "Error": fmt.Sprintf("event at position %d: %v", pos, err)})
		return
	}
	s.render(w, r, "event", map[string]any{"Title": fmt.Sprintf("event %d", pos), "E": s.Decode(r.Context(), evs[0])})
}

func (s *Server) correlationPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	evs, err := s.queryEvents(r.Context(), `SELECT `+eventColumns+` FROM events WHERE correlation_id = $1 ORDER BY recorded_at, position LIMIT 500`, id)
	data := map[string]any{"Title": "correlation " + id, "ID": id, "Events": evs}
	if err != nil {
		data["Error"] = err.Error()
	}
	s.render(w, r, "correlation", data)
}
