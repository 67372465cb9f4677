package console

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/stratahq/strata/eventstore"
)

func (s *Server) routeConsumers() {
	s.mux.HandleFunc("GET /consumers", s.consumersPage)
	s.mux.HandleFunc("GET /consumers/live", s.consumersLive)
}

// Checkpoint is a global-log reader's saved position (the relay's among
// them) and how many events are stored beyond it.
type Checkpoint struct {
	Name      string
	Cursor    string
	Position  int64
	Behind    int64 // events after the position (capped at 100,000)
	UpdatedAt time.Time
}

// Consumers is the consumers page's live data.
type Consumers struct {
	Lag         []GroupLag
	LagError    string
	Checkpoints []Checkpoint
	Held        eventstore.HeldBack
	DLQ         []TopicSize
	At          time.Time
}

func (s *Server) consumers(ctx context.Context) (Consumers, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out := Consumers{At: s.cfg.Now()}
	// The relay's checkpoints (messaging) and the event store's subscription
	// checkpoints; the relay's table exists once a relay ran.
	var relays bool
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT to_regclass('messaging_relay_checkpoints') IS NOT NULL`).Scan(&relays); err != nil {
		return out, fmt.Errorf("checkpoints: %w", err)
	}
	sql := `SELECT 'subscription ' || name AS name, tx_id::text, position, updated_at FROM checkpoints`
	if relays {
		sql += ` UNION ALL SELECT 'relay ' || name, tx_id::text, position, updated_at FROM messaging_relay_checkpoints`
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT c.name, c.tx_id, c.position, c.updated_at,
		(SELECT count(*) FROM (SELECT 1 FROM events e WHERE e.position > c.position LIMIT 100000) x)
		FROM (`+sql+`) c ORDER BY c.name`)
	if err != nil {
		return out, fmt.Errorf("checkpoints: %w", err)
	}
	for rows.Next() {
		var c Checkpoint
		var tx string
		if err := rows.Scan(&c.Name, &tx, &c.Position, &c.UpdatedAt, &c.Behind); err != nil {
			rows.Close()
			return out, fmt.Errorf("checkpoints: %w", err)
		}
		c.Cursor = tx + ":" + fmt.Sprint(c.Position)
		out.Checkpoints = append(out.Checkpoints, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("checkpoints: %w", err)
	}
	if out.Held, err = s.cfg.Store.HeldBack(ctx); err != nil {
		return out, err
	}
	if s.cfg.Kafka == nil {
		out.LagError = errNoKafka.Error()
		return out, nil
	}
	if s.cfg.Lag != nil {
		if out.Lag, err = s.cfg.Lag(ctx, s.cfg.Kafka, s.cfg.TopicPrefix); err != nil {
			out.LagError = err.Error()
		}
	}
	if out.DLQ, err = s.DLQTopics(ctx); err != nil {
		out.LagError = err.Error()
	}
	return out, nil
}

func (s *Server) consumersPage(w http.ResponseWriter, r *http.Request) {
	c, err := s.consumers(r.Context())
	data := map[string]any{"Title": "consumers", "C": c}
	if err != nil {
		data["Error"] = err.Error()
	}
	s.render(w, r, "consumers", data)
}

func (s *Server) consumersLive(w http.ResponseWriter, r *http.Request) {
	s.sse(w, r, "consumers", "consumers", "live", func() (map[string]any, error) {
		c, err := s.consumers(r.Context())
		return map[string]any{"C": c}, err
	})
}
