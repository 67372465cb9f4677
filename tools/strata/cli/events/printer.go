package events

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
	"github.com/stratahq/strata/upcasters"
)

// EventJSON is the shape `strata events` prints.
type EventJSON struct {
	Stream        string          `json:"stream"`
	StreamType    string          `json:"stream_type"`
	Version       int64           `json:"version"`
	Position      int64           `json:"position"`
	TxID          uint64          `json:"tx_id"`
	Cursor        string          `json:"cursor"`
	EventID       string          `json:"event_id"`
	Type          string          `json:"type"`
	RecordedAt    time.Time       `json:"recorded_at"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	CausationID   string          `json:"causation_id,omitempty"`
	UserID        string          `json:"user_id,omitempty"`
	TraceParent   string          `json:"traceparent,omitempty"`
	Writer        string          `json:"writer_fingerprint"`
	WriterVersion int             `json:"writer_version,omitempty"` // the registry subject's version of the writer schema, when registered
	Upcast        bool            `json:"upcast"`                   // data was resolved from the writer schema to the latest registered one
	Data          json.RawMessage `json:"data,omitempty"`
	Note          string          `json:"note,omitempty"`  // why data is as written although a registry was given
	Error         string          `json:"error,omitempty"` // why data is missing
}

// latest is a subject's latest registered schema (or why there is none).
type latest struct {
	schema  avro.Schema
	version int
	err     error
}

// printer decodes stored events generically: each with the writer schema the
// store keeps, then, with a registry and unless raw, resolved (Avro schema
// resolution) to the latest schema registered for its type (subject = full
// name). No generated types and no project's upcasters are needed.
type printer struct {
	store    *eventstore.Store
	reg      *srclient.SchemaRegistryClient // nil: no registry
	raw      bool
	list     *clikit.Lister
	compat   *avro.SchemaCompatibility
	writers  map[eventstore.Fingerprint]avro.Schema
	versions map[eventstore.Fingerprint]int
	latest   map[string]latest
}

func newPrinter(store *eventstore.Store, registryURL string, raw bool, out io.Writer, format clikit.Format) (*printer, error) {
	p := &printer{store: store, raw: raw, compat: avro.NewSchemaCompatibility(),
		list:    clikit.NewLister(out, format, "CURSOR", "STREAM", "VERSION", "TYPE", "RECORDED AT", "WRITER", "UPCAST"),
		writers: map[eventstore.Fingerprint]avro.Schema{}, versions: map[eventstore.Fingerprint]int{}, latest: map[string]latest{}}
	if registryURL != "" {
		reg, err := client.ForURL(registryURL)
		if err != nil {
			return nil, clikit.Unavailable(fmt.Errorf("registry: %w", err))
		}
		p.reg = reg
	}
	return p, nil
}

func (p *printer) writer(ctx context.Context, fp eventstore.Fingerprint) (avro.Schema, string, error) {
	if s, ok := p.writers[fp]; ok {
		return s, s.String(), nil
	}
	sc, err := p.store.Schema(ctx, fp)
	if err != nil {
		return nil, "", err
	}
	s, err := upcasters.ParseSchema(sc.JSON)
	if err != nil {
		return nil, "", fmt.Errorf("writer schema %s: %w", fp, err)
	}
	p.writers[fp] = s
	return s, sc.JSON, nil
}

func (p *printer) latestOf(eventType string) latest {
	if l, ok := p.latest[eventType]; ok {
		return l
	}
	var l latest
	sc, err := p.reg.GetLatestSchema(eventType)
	if err != nil {
		l.err = fmt.Errorf("no latest schema for subject %s: %w", eventType, err)
	} else if l.schema, err = upcasters.ParseSchema(sc.Schema()); err != nil {
		l.err = fmt.Errorf("latest schema of %s: %w", eventType, err)
	} else {
		l.version = sc.Version()
	}
	p.latest[eventType] = l
	return l
}

// writerVersion is the subject version the writer schema was registered as (0: not registered).
func (p *printer) writerVersion(eventType string, fp eventstore.Fingerprint, writerJSON string) int {
	if v, ok := p.versions[fp]; ok {
		return v
	}
	v := 0
	if sc, err := p.reg.LookupSchema(eventType, writerJSON, srclient.Avro); err == nil {
		v = sc.Version()
	}
	p.versions[fp] = v
	return v
}

// toJSON decodes one event; a decode failure is reported in the object, not fatal.
func (p *printer) toJSON(ctx context.Context, e *eventstore.RecordedEvent) EventJSON {
	out := EventJSON{
		Stream: e.StreamID, StreamType: e.StreamType, Version: e.Version, Position: e.Position, TxID: e.TxID,
		Cursor: e.Cursor().String(), EventID: e.ID.String(), Type: e.Type, RecordedAt: e.RecordedAt.UTC(),
		CorrelationID: e.CorrelationID, CausationID: e.CausationID, UserID: e.UserID, TraceParent: e.TraceParent,
		Writer: e.Fingerprint.String(),
	}
	w, wJSON, err := p.writer(ctx, e.Fingerprint)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	schema := w
	if p.reg != nil {
		out.WriterVersion = p.writerVersion(e.Type, e.Fingerprint, wJSON)
		if !p.raw {
			switch l := p.latestOf(e.Type); {
			case l.err != nil:
				out.Note = l.err.Error()
			case l.schema.Fingerprint() != w.Fingerprint():
				r, err := p.compat.Resolve(l.schema, w)
				if err != nil {
					out.Note = fmt.Sprintf("as written: no Avro resolution to %s version %d (%v); the project's upcasters handle it", e.Type, l.version, err)
				} else {
					schema, out.Upcast = r, true
				}
			}
		}
	}
	var generic any
	if err := avro.Unmarshal(schema, e.Payload, &generic); err != nil {
		out.Error = fmt.Sprintf("decode: %v", err)
		return out
	}
	b, err := json.Marshal(generic)
	if err != nil {
		out.Error = fmt.Sprintf("to JSON: %v", err)
		return out
	}
	out.Data = b
	return out
}

func (p *printer) print(ctx context.Context, evs []eventstore.RecordedEvent) error {
	for i := range evs {
		j := p.toJSON(ctx, &evs[i])
		if err := p.list.Row(j, j.Cursor, j.Stream, j.Version, j.Type, j.RecordedAt.Format(time.RFC3339), j.Writer[:min(12, len(j.Writer))], j.Upcast); err != nil {
			return err
		}
	}
	return nil
}
