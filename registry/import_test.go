package registry_test

import (
	"strconv"
	"testing"

	"github.com/stratahq/strata/registry"
)

// TestImportMode moves a subject history in with the ids and versions another
// registry gave it, as Confluent's IMPORT mode does.
func TestImportMode(t *testing.T) {
	base := newRegistry(t)
	put := func(path string, body map[string]any) (int, any) { return call(t, "PUT", base+path, body) }
	post := func(path string, body map[string]any) (int, any) { return call(t, "POST", base+path, body) }

	// IMPORT needs an empty registry, unless forced.
	if status, _ := post("/subjects/existing/versions", map[string]any{"schema": userV1}); status != 200 {
		t.Fatalf("register: %d", status)
	}
	if status, v := put("/mode", map[string]any{"mode": "IMPORT"}); status != 422 || errorCode(v) != registry.CodeOperationNotPermitted {
		t.Fatalf("IMPORT on a registry with subjects: %d %v, want 42205", status, v)
	}
	if status, v := put("/mode/fresh", map[string]any{"mode": "IMPORT"}); status != 200 || v.(map[string]any)["mode"] != "IMPORT" {
		t.Fatalf("IMPORT on an empty subject: %d %v", status, v)
	}
	if status, v := put("/mode?force=true", map[string]any{"mode": "import"}); status != 200 || v.(map[string]any)["mode"] != "IMPORT" {
		t.Fatalf("forced IMPORT: %d %v", status, v)
	}
	if status, v := call(t, "GET", base+"/mode", nil); status != 200 || v.(map[string]any)["mode"] != "IMPORT" {
		t.Fatalf("GET /mode: %d %v", status, v)
	}

	// Ids and versions are kept; no compatibility check; re-import is idempotent.
	imports := []struct {
		schema      string
		id, version int
	}{
		{userV1, 100, 3},
		{userV1Same, 101, 4}, // the same schema to Strata (doc only), another id elsewhere: kept
		{userBad, 102, 7},    // incompatible with version 4: imports are not checked
	}
	for _, im := range imports {
		for range 2 {
			status, v := post("/subjects/moved/versions", map[string]any{"schema": im.schema, "id": im.id, "version": im.version})
			if status != 200 || int(v.(map[string]any)["id"].(float64)) != im.id {
				t.Fatalf("import id %d version %d: %d %v", im.id, im.version, status, v)
			}
		}
		status, v := call(t, "GET", base+"/subjects/moved/versions/"+strconv.Itoa(im.version), nil)
		if status != 200 || int(v.(map[string]any)["id"].(float64)) != im.id || v.(map[string]any)["schema"] != im.schema {
			t.Errorf("version %d after import: %d %v", im.version, status, v)
		}
		if status, v := call(t, "GET", base+"/schemas/ids/"+strconv.Itoa(im.id), nil); status != 200 || v.(map[string]any)["schema"] != im.schema {
			t.Errorf("schema id %d after import: %d %v", im.id, status, v)
		}
	}
	refused := []struct {
		name string
		body map[string]any
	}{
		{"no id", map[string]any{"schema": userV2}},
		{"another schema under a taken id", map[string]any{"schema": userV2, "id": 100, "version": 9}},
		{"a taken version with another id", map[string]any{"schema": userV2, "id": 103, "version": 3}},
	}
	for _, r := range refused {
		if status, v := post("/subjects/moved/versions", r.body); status != 422 || errorCode(v) != registry.CodeOperationNotPermitted {
			t.Errorf("import with %s: %d %v, want 42205", r.name, status, v)
		}
	}
	// Without a version, the next one.
	if status, v := post("/subjects/other/versions", map[string]any{"schema": userV2, "id": 50}); status != 200 {
		t.Fatalf("import without a version: %d %v", status, v)
	}
	if status, v := call(t, "GET", base+"/subjects/other/versions/1", nil); status != 200 || int(v.(map[string]any)["id"].(float64)) != 50 {
		t.Errorf("import without a version: version 1 = %d %v", status, v)
	}

	// Back to READWRITE: explicit ids are refused, new ids start above the imported ones.
	if status, _ := put("/mode", map[string]any{"mode": "READWRITE"}); status != 200 {
		t.Fatal("READWRITE")
	}
	if status, v := post("/subjects/moved/versions", map[string]any{"schema": userV2, "id": 104}); status != 422 || errorCode(v) != registry.CodeOperationNotPermitted {
		t.Errorf("explicit id in READWRITE: %d %v, want 42205", status, v)
	}
	status, v := post("/subjects/new/versions", map[string]any{"schema": `{"type":"record","name":"N","fields":[{"name":"n","type":"long"}]}`})
	if status != 200 || int(v.(map[string]any)["id"].(float64)) <= 102 {
		t.Errorf("new registration after import: %d %v, want an id above 102", status, v)
	}
	// The imported schema text answers a look-up; registering it again is idempotent.
	if status, v := post("/subjects/moved/versions", map[string]any{"schema": userBad}); status != 200 || int(v.(map[string]any)["id"].(float64)) != 102 {
		t.Errorf("re-register of an imported schema: %d %v, want id 102", status, v)
	}
}
