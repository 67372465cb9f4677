package registry_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/compat"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/registry"
)

func readSchema(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/evolution/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var errorTypeRE = regexp.MustCompile(`errorType:'([A-Z_]+)', location:'([^']*)'`)

// problemsIn extracts "TYPE location" from the registry's messages.
func problemsIn(s string) []string {
	var out []string
	for _, m := range errorTypeRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+" "+m[2])
	}
	slices.Sort(out)
	return out
}

// TestEvolutionScenario is issue 5's scenario against the real registry:
// v1, a compatible v2 (accepted), an incompatible v3 refused by the registry
// and by compat.Check (the CI gate's checker) with the same verdict and the
// same incompatibility types and locations.
func TestEvolutionScenario(t *testing.T) {
	base := newRegistry(t)
	const subject = "shop.order.OrderPlaced"
	v1, v2, v3 := readSchema(t, "order_placed_v1.avsc"), readSchema(t, "order_placed_v2.avsc"), readSchema(t, "order_placed_v3.avsc")

	id1 := register(t, base, subject, v1)
	id2 := register(t, base, subject, v2)
	if id1 == id2 {
		t.Fatalf("v2 got v1's id %d", id1)
	}
	status, v := call(t, "POST", base+"/subjects/"+subject+"/versions", map[string]any{"schema": v3})
	if status != 409 || errorCode(v) != 409 {
		t.Fatalf("register v3 = %d %v, want 409", status, v)
	}
	fromRegistry := problemsIn(v.(map[string]any)["message"].(string))

	parse := func(s string) avro.Schema {
		t.Helper()
		p, err := avro.ParseWithCache(s, "", &avro.SchemaCache{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	problems := compat.Check(compat.Backward, []avro.Schema{parse(v1), parse(v2)}, parse(v3))
	if len(problems) == 0 {
		t.Fatal("compat.Check finds v3 compatible; the registry refused it")
	}
	var fromGate []string
	for _, p := range problems {
		fromGate = append(fromGate, p.Type+" "+p.Location)
	}
	slices.Sort(fromGate)
	if !slices.Equal(fromRegistry, fromGate) {
		t.Errorf("registry found %v, compat.Check %v", fromRegistry, fromGate)
	}
	for _, want := range []string{"TYPE_MISMATCH /fields/2/type", "READER_FIELD_MISSING_DEFAULT_VALUE /fields/5"} {
		if !slices.Contains(fromRegistry, want) {
			t.Errorf("registry's verdict lacks %q: %v", want, fromRegistry)
		}
	}

	// the compatibility endpoint agrees, and the refusal created nothing
	cv := mustCall(t, 200, "POST", base+"/compatibility/subjects/"+subject+"/versions/latest?verbose=true", map[string]any{"schema": v3}).(map[string]any)
	if cv["is_compatible"] != false || !slices.Equal(problemsIn(fmt.Sprint(cv["messages"])), fromGate) {
		t.Errorf("compatibility endpoint = %v, want the gate's %v", cv, fromGate)
	}
	if v := mustCall(t, 200, "GET", base+"/subjects/"+subject+"/versions", nil); fmt.Sprint(v) != "[1 2]" {
		t.Errorf("versions after the refusal = %v", v)
	}
	// v2 is compatible under the gate too
	if p := compat.Check(compat.Backward, []avro.Schema{parse(v1)}, parse(v2)); len(p) != 0 {
		t.Errorf("compat.Check refuses v2: %v", p)
	}
}

// TestConcurrentRegistration: 16 goroutines register the same schema in one
// subject, the same schema in 16 subjects, and 16 different schemas in one
// subject (level NONE). One schema has one id, one subject never has two
// versions of a schema, and versions are 1..n without gaps.
func TestConcurrentRegistration(t *testing.T) {
	base := newRegistry(t)
	mustCall(t, 200, "PUT", base+"/config/many", map[string]any{"compatibility": "NONE"})
	const n = 16
	var (
		wg                 sync.WaitGroup
		sameIDs, sharedIDs [n]int
		manyIDs            [n]int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sameIDs[i] = tryRegister(t, base, "same", userV1)
			sharedIDs[i] = tryRegister(t, base, fmt.Sprintf("shared-%02d", i), userV2)
			manyIDs[i] = tryRegister(t, base, "many", fmt.Sprintf(`{"type":"record","name":"R%d","fields":[{"name":"f","type":"int"}]}`, i))
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for i := range n {
		if sameIDs[i] != sameIDs[0] {
			t.Fatalf("same schema, same subject: ids %v", sameIDs)
		}
		if sharedIDs[i] != sharedIDs[0] {
			t.Fatalf("same schema, 16 subjects: ids %v", sharedIDs)
		}
	}
	if v := mustCall(t, 200, "GET", base+"/subjects/same/versions", nil); fmt.Sprint(v) != "[1]" {
		t.Errorf("subject 'same' versions = %v, want [1]", v)
	}
	versions := mustCall(t, 200, "GET", base+"/subjects/many/versions", nil).([]any)
	if len(versions) != n {
		t.Fatalf("subject 'many' has %d versions, want %d: %v", len(versions), n, versions)
	}
	seen := map[int]bool{}
	for i, v := range versions {
		if v != float64(i+1) {
			t.Errorf("versions of 'many' = %v, want 1..%d", versions, n)
			break
		}
		got := mustCall(t, 200, "GET", base+fmt.Sprintf("/subjects/many/versions/%d", i+1), nil).(map[string]any)
		seen[int(got["id"].(float64))] = true
	}
	for _, id := range manyIDs {
		if !seen[id] {
			t.Errorf("id %d returned by a registration is in no version of 'many'", id)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct ids for %d schemas", len(seen), n)
	}
	subjects := mustCall(t, 200, "GET", base+fmt.Sprintf("/schemas/ids/%d/subjects", sharedIDs[0]), nil).([]any)
	if len(subjects) != n {
		t.Errorf("shared schema is in %d subjects, want %d", len(subjects), n)
	}
}

// TestMigrateConcurrently: registries starting at once over one database
// apply the migrations once and all start.
func TestMigrateConcurrently(t *testing.T) {
	dbURL := testenv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := registry.Open(ctx, dbURL, nil)
			if err == nil {
				pool.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	pool, err := registry.Open(ctx, dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var applied int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM registry.schema_migrations").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	if applied != len(files) {
		t.Errorf("%d migration rows, want %d", applied, len(files))
	}
}
