package messaging_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/serde"
)

// TestRelayDeliversEveryEventInOrder relays a store with interleaved streams
// and checks every message: key, headers, wire format, registry schema, body,
// per-key order, no loss and no duplicates, and the stored checkpoint. Then a
// client no one here wrote (Python confluent-kafka's AvroDeserializer with
// its SchemaRegistryClient) decodes every message.
func TestRelayDeliversEveryEventInOrder(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const streams, versions = 20, 5
	total := s.appendOrders(t, ctx, 0, streams, 1, versions)

	relay, err := messaging.NewRelay(s.relayConfig("t"))
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(t, "relay", relay.Run)
	msgs := readTopic(t, s.brokers, s.topic("order"), total, time.Minute)
	if len(msgs) != total {
		t.Fatalf("got %d messages, want %d", len(msgs), total)
	}

	// The store's view, by event id.
	stored := map[string]eventstore.RecordedEvent{}
	// The read horizon is conservative while other databases' transactions
	// end (eventstore_horizon): wait for the whole log rather than expect it
	// on the first read.
	var all []eventstore.RecordedEvent
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if all, err = s.store.ReadAll(ctx, eventstore.Start, 10000); err != nil {
			t.Fatal(err)
		}
		if len(all) >= total || time.Now().After(deadline) {
			break
		}
	}
	for _, e := range all {
		stored[e.ID.String()] = e
	}
	reg := s.reg
	lastVersion := map[string]int64{}
	for _, m := range msgs {
		id := messaging.Header(m.Headers, messaging.HeaderEventID)
		e, ok := stored[id]
		if !ok {
			t.Fatalf("message with unknown event id %q", id)
		}
		if string(m.Key) != e.StreamID {
			t.Errorf("event %s key %q, want %q", id, m.Key, e.StreamID)
		}
		for h, want := range map[string]string{
			messaging.HeaderEventType:     e.Type,
			messaging.HeaderCorrelationID: e.CorrelationID,
			messaging.HeaderCausationID:   e.CausationID,
			messaging.HeaderTraceParent:   e.TraceParent,
			messaging.HeaderContentType:   messaging.ContentTypeAvro,
			messaging.HeaderSchemaVersion: "1",
			messaging.HeaderStreamVersion: strconv.FormatInt(e.Version, 10),
		} {
			if got := messaging.Header(m.Headers, h); got != want {
				t.Errorf("event %s header %s = %q, want %q", id, h, got, want)
			}
		}
		schemaID, body, err := serde.ParseWire(m.Value)
		if err != nil {
			t.Fatalf("event %s: %v", id, err)
		}
		if !bytes.Equal(body, e.Payload) {
			t.Errorf("event %s body differs from the stored payload", id)
		}
		sc, err := reg.GetSchema(schemaID)
		if err != nil {
			t.Fatalf("registry schema %d: %v", schemaID, err)
		}
		parsed, err := avro.ParseWithCache(sc.Schema(), "", &avro.SchemaCache{})
		if err != nil {
			t.Fatal(err)
		}
		if got := parsed.(avro.NamedSchema).FullName(); got != e.Type {
			t.Errorf("event %s schema id %d is %s, want %s", id, schemaID, got, e.Type)
		}
		if parsed.Fingerprint() != [32]byte(e.Fingerprint) {
			t.Errorf("event %s registry schema fingerprint differs from the writer schema's", id)
		}
		if e.Version != lastVersion[e.StreamID]+1 {
			t.Errorf("stream %s: version %d after %d (partition order broken or duplicate)", e.StreamID, e.Version, lastVersion[e.StreamID])
		}
		lastVersion[e.StreamID] = e.Version
	}
	for i := 0; i < streams; i++ {
		if v := lastVersion["order-"+strconv.Itoa(i)]; v != versions {
			t.Errorf("order-%d: last version %d, want %d", i, v, versions)
		}
	}
	stop()
	var pos int64
	if err := s.pool.QueryRow(ctx, `SELECT position FROM messaging_relay_checkpoints WHERE name = 't'`).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	if want := all[len(all)-1].Position; pos != want {
		t.Errorf("checkpoint position %d, want %d", pos, want)
	}

	t.Run("python confluent-kafka AvroDeserializer", func(t *testing.T) {
		py := pythonWithConfluentKafka(t)
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "testdata", "avro_consume.py")
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Minute)
		defer ccancel()
		cmd := exec.CommandContext(cctx, py, script, s.brokers, s.registry, s.topic("order"), strconv.Itoa(total), "90")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python consumer: %v\n%s", err, stderr.String())
		}
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Key       string         `json:"key"`
				EventID   string         `json:"event_id"`
				EventType string         `json:"event_type"`
				Value     map[string]any `json:"value"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("python output %q: %v", sc.Text(), err)
			}
			e, ok := stored[line.EventID]
			if !ok {
				t.Fatalf("python saw unknown event id %q", line.EventID)
			}
			if line.Key != e.StreamID {
				t.Errorf("python: event %s key %q, want %q", line.EventID, line.Key, e.StreamID)
			}
			want, err := s.types.Decode(e.Type, e.Payload)
			if err != nil {
				t.Fatal(err)
			}
			checkPythonValue(t, line.EventID, want, line.Value)
			n++
		}
		if n != total {
			t.Errorf("python decoded %d messages, want %d", n, total)
		}
	})
}

// checkPythonValue compares the fields Python decoded with the Go event.
func checkPythonValue(t *testing.T, id string, want any, got map[string]any) {
	t.Helper()
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	_ = json.Unmarshal(raw, &fields)
	// The generated structs have no JSON tags; compare the Avro field names
	// that matter for the read model.
	checks := map[string]string{"order_id": "OrderID", "total_amount": "TotalAmount", "tracking_number": "TrackingNumber", "customer_id": "CustomerID"}
	for avroName, goName := range checks {
		w, ok := fields[goName]
		if !ok {
			continue
		}
		g, ok := got[avroName]
		if !ok {
			t.Errorf("python: event %s has no field %s", id, avroName)
			continue
		}
		if ws, gs := jsonScalar(w), jsonScalar(g); ws != gs {
			t.Errorf("python: event %s field %s = %s, want %s", id, avroName, gs, ws)
		}
	}
}

func jsonScalar(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// pythonWithConfluentKafka returns the interpreter of ci/pyenv.sh's venv.
func pythonWithConfluentKafka(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("STRATA_PYTHON"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "ci", "pyenv.sh")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := "ci/pyenv.sh: " + err.Error() + "\n" + stderr.String()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return string(bytes.TrimSpace(out))
}

var _ = testenv.UniqueName
