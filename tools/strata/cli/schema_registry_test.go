package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/compat"
)

// fakeRegistry is the slice of the Confluent Schema Registry REST API that
// srclient calls for check and register, refusing incompatible schemas with
// our checker like the real one does with Avro Java's.
type fakeRegistry struct {
	mu       sync.Mutex
	subjects map[string][]int // subject -> ids, version = index+1
	schemas  []string         // id-1 -> text
	levels   map[string]string
	writes   int
}

func newFakeRegistry(t *testing.T) (*fakeRegistry, string) {
	f := &fakeRegistry{subjects: map[string][]int{}, levels: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	fail := func(status, code int, msg string) {
		reply(status, map[string]any{"error_code": code, "message": msg})
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var body struct {
		Schema        string `json:"schema"`
		Compatibility string `json:"compatibility"`
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		json.NewDecoder(r.Body).Decode(&body)
	}
	switch {
	case len(parts) == 2 && parts[0] == "config" && r.Method == http.MethodPut:
		f.writes++
		f.levels[parts[1]] = body.Compatibility
		reply(200, map[string]string{"compatibility": body.Compatibility})
	case len(parts) == 2 && parts[0] == "config" && r.Method == http.MethodGet:
		l, ok := f.levels[parts[1]]
		if !ok {
			fail(404, 40408, "Subject does not have subject-level compatibility configured")
			return
		}
		reply(200, map[string]string{"compatibilityLevel": l})
	case len(parts) == 3 && parts[0] == "schemas" && parts[1] == "ids":
		id, _ := strconv.Atoi(parts[2])
		if id < 1 || id > len(f.schemas) {
			fail(404, 40403, "Schema not found")
			return
		}
		reply(200, map[string]any{"schema": f.schemas[id-1]})
	case len(parts) == 2 && parts[0] == "subjects" && r.Method == http.MethodPost: // lookup
		ids, ok := f.subjects[parts[1]]
		if !ok {
			fail(404, 40401, "Subject not found")
			return
		}
		for i, id := range ids {
			if f.schemas[id-1] == body.Schema {
				reply(200, map[string]any{"subject": parts[1], "version": i + 1, "id": id, "schema": body.Schema})
				return
			}
		}
		fail(404, 40403, "Schema not found")
	case len(parts) == 3 && parts[0] == "subjects" && parts[2] == "versions" && r.Method == http.MethodGet:
		ids, ok := f.subjects[parts[1]]
		if !ok {
			fail(404, 40401, "Subject not found")
			return
		}
		vs := make([]int, len(ids))
		for i := range ids {
			vs[i] = i + 1
		}
		reply(200, vs)
	case len(parts) == 4 && parts[0] == "subjects" && parts[2] == "versions" && r.Method == http.MethodGet:
		ids := f.subjects[parts[1]]
		v, _ := strconv.Atoi(parts[3])
		if v < 1 || v > len(ids) {
			fail(404, 40402, "Version not found")
			return
		}
		reply(200, map[string]any{"subject": parts[1], "version": v, "id": ids[v-1], "schema": f.schemas[ids[v-1]-1]})
	case len(parts) == 3 && parts[0] == "subjects" && parts[2] == "versions" && r.Method == http.MethodPost: // register
		subject := parts[1]
		next, err := avro.ParseWithCache(body.Schema, "", &avro.SchemaCache{})
		if err != nil {
			fail(422, 42201, err.Error())
			return
		}
		var prev []avro.Schema
		for _, id := range f.subjects[subject] {
			if f.schemas[id-1] == body.Schema {
				reply(200, map[string]any{"id": id})
				return
			}
			prev = append(prev, avro.MustParse(f.schemas[id-1]))
		}
		level, _ := compat.ParseLevel(f.levels[subject])
		if level == "" {
			level = compat.Backward
		}
		if problems := compat.Check(level, prev, next); len(problems) > 0 {
			fail(409, 409, fmt.Sprintf("Schema being registered is incompatible with an earlier schema for subject %q: %v", subject, problems))
			return
		}
		f.writes++
		f.schemas = append(f.schemas, body.Schema)
		f.subjects[subject] = append(f.subjects[subject], len(f.schemas))
		reply(200, map[string]any{"id": len(f.schemas)})
	default:
		fail(404, 404, "no route "+r.Method+" "+r.URL.Path)
	}
}

func TestSchemaRegisterAndCheckAgainstRegistry(t *testing.T) {
	reg, url := newFakeRegistry(t)
	dir := t.TempDir()
	writeProject(t, dir)
	writeFile(t, filepath.Join(dir, addressPath), address)
	writeFile(t, filepath.Join(dir, orderPath), placedV1)
	writeFile(t, filepath.Join(dir, "schemas", "subjects.yaml"), "subjects:\n  shop.order.OrderPlaced:\n    level: BACKWARD_TRANSITIVE\n")

	// Offline dry run: levels only.
	code, out, errs := run(t, "schema", "register", "--root", dir, "--dry-run", "--registry", "")
	if code != ExitOK || !strings.Contains(out, "shop.order.OrderPlaced") || !strings.Contains(out, "BACKWARD_TRANSITIVE") {
		t.Fatalf("offline dry run: exit %d\n%s%s", code, out, errs)
	}
	if code, _, _ := run(t, "schema", "register", "--root", dir, "--registry", ""); code != ExitUsage {
		t.Errorf("no registry: exit %d, want 2", code)
	}

	code, out, errs = run(t, "schema", "register", "--root", dir, "--registry", url)
	if code != ExitOK || !regexpRow(out, "shop.order.OrderPlaced", "BACKWARD_TRANSITIVE", "1", "1", "registered") {
		t.Fatalf("first register: exit %d\n%s%s", code, out, errs)
	}
	if reg.levels["shop.order.OrderPlaced"] != "BACKWARD_TRANSITIVE" {
		t.Errorf("level not set: %v", reg.levels)
	}
	if len(reg.subjects) != 1 {
		t.Errorf("subjects %v: only OrderPlaced is a subject (Address is embedded)", reg.subjects)
	}
	// Idempotent: the same schema keeps its version and id.
	code, out, _ = run(t, "schema", "register", "--root", dir, "--registry", url)
	if code != ExitOK || !regexpRow(out, "shop.order.OrderPlaced", "BACKWARD_TRANSITIVE", "1", "1", "unchanged") || len(reg.schemas) != 1 {
		t.Fatalf("second register: exit %d\n%s", code, out)
	}
	// A compatible v2.
	writeFile(t, filepath.Join(dir, orderPath), placedV2)
	if code, out, errs := run(t, "schema", "check", "--root", dir, "--against", "registry", "--registry", url); code != ExitOK {
		t.Fatalf("check v2: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = run(t, "schema", "register", "--root", dir, "--registry", url)
	if code != ExitOK || !regexpRow(out, "shop.order.OrderPlaced", "BACKWARD_TRANSITIVE", "2", "2", "registered") {
		t.Fatalf("register v2: exit %d\n%s", code, out)
	}
	// v3 reads v2 but not v1: the gate and the registry refuse it alike.
	writeFile(t, filepath.Join(dir, orderPath), placedV3)
	t.Setenv("SCHEMA_REGISTRY_URL", url)
	code, out, _ = run(t, "schema", "check", "--root", dir, "--against", "registry")
	if code != ExitFail || !strings.Contains(out, "READER_FIELD_MISSING_DEFAULT_VALUE shop.order.OrderPlaced /fields/2: currency (BACKWARD_TRANSITIVE: the new schema cannot read data written with registry version 1 (id 1))") {
		t.Fatalf("check v3: exit %d\n%s", code, out)
	}
	writes := reg.writes
	code, out, _ = run(t, "schema", "register", "--root", dir, "--dry-run")
	if code != ExitFail || !strings.Contains(out, "would be refused: READER_FIELD_MISSING_DEFAULT_VALUE /fields/2 currency") || reg.writes != writes {
		t.Fatalf("dry run v3: exit %d, writes %d->%d\n%s", code, writes, reg.writes, out)
	}
	code, out, _ = run(t, "schema", "register", "--root", dir)
	if code != ExitFail || !strings.Contains(out, "REFUSED by the registry") || len(reg.schemas) != 2 {
		t.Fatalf("register v3: exit %d\n%s", code, out)
	}
	// Lowering the level to push v3 through: refused, the registry's level
	// stays, unless the override names the subject (and is logged).
	writeFile(t, filepath.Join(dir, "schemas", "subjects.yaml"), "subjects:\n  shop.order.OrderPlaced:\n    level: NONE\n")
	code, out, _ = run(t, "schema", "register", "--root", dir)
	if code != ExitFail || !strings.Contains(out, "REFUSED: level would be lowered from BACKWARD_TRANSITIVE") ||
		reg.levels["shop.order.OrderPlaced"] != "BACKWARD_TRANSITIVE" || len(reg.schemas) != 2 {
		t.Fatalf("register with a lowered level: exit %d, level %s\n%s", code, reg.levels["shop.order.OrderPlaced"], out)
	}
	code, out, errs = run(t, "schema", "register", "--root", dir, "--allow-lower-level", "shop.order.OrderPlaced")
	if code != ExitOK || !strings.Contains(errs, "OVERRIDE: shop.order.OrderPlaced level lowered from BACKWARD_TRANSITIVE to NONE") || reg.levels["shop.order.OrderPlaced"] != "NONE" {
		t.Fatalf("register with the override: exit %d\n%s%s", code, out, errs)
	}
	// An unreachable registry is a usage error (2), not a verdict.
	if code, _, _ := run(t, "schema", "check", "--root", dir, "--against", "registry", "--registry", "http://127.0.0.1:1"); code != ExitUsage {
		t.Errorf("unreachable registry: exit %d, want 2", code)
	}
}

// regexpRow reports whether out has a table row with these cells in order.
func regexpRow(out string, cells ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == strings.Join(cells, " ") {
			return true
		}
	}
	return false
}
