package registry_test

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/registry"
)

const (
	userV1 = `{"type":"record","name":"User","namespace":"test.users","fields":[{"name":"id","type":"string"}]}`
	// userV1 again: other whitespace, attribute order, namespace shorthand and a doc
	userV1Same = `{
  "name": "test.users.User", "doc": "a user", "type": "record",
  "fields": [ {"type": "string", "name": "id", "doc": "the id"} ]
}`
	userV2 = `{"type":"record","name":"User","namespace":"test.users","fields":[{"name":"id","type":"string"},{"name":"email","type":"string","default":""}]}`
	// userV2 with another default: not the same schema
	userV2OtherDefault = `{"type":"record","name":"User","namespace":"test.users","fields":[{"name":"id","type":"string"},{"name":"email","type":"string","default":"none"}]}`
	// incompatible with userV2 under BACKWARD: a new field without default
	userBad = `{"type":"record","name":"User","namespace":"test.users","fields":[{"name":"id","type":"string"},{"name":"email","type":"string","default":""},{"name":"age","type":"int"}]}`
)

func TestRegisterIsIdempotentAndIDsAreGlobal(t *testing.T) {
	base := newRegistry(t)
	id1 := register(t, base, "test.users.User", userV1)
	if again := register(t, base, "test.users.User", userV1Same); again != id1 {
		t.Fatalf("same schema registered again: id %d, want %d", again, id1)
	}
	if v := mustCall(t, 200, "GET", base+"/subjects/test.users.User/versions", nil); !reflect.DeepEqual(v, []any{1.0}) {
		t.Fatalf("versions after idempotent registration = %v, want [1]", v)
	}
	if other := register(t, base, "other-subject", userV1); other != id1 {
		t.Fatalf("same schema in another subject: id %d, want the global id %d", other, id1)
	}
	id2 := register(t, base, "test.users.User", userV2)
	id3 := register(t, base, "test.users.User", userV2OtherDefault)
	if id2 == id1 || id3 == id2 {
		t.Fatalf("different schemas share an id: %d %d %d", id1, id2, id3)
	}

	for _, version := range []string{"3", "latest", "-1"} {
		v := mustCall(t, 200, "GET", base+"/subjects/test.users.User/versions/"+version, nil).(map[string]any)
		if v["subject"] != "test.users.User" || v["version"] != 3.0 || int(v["id"].(float64)) != id3 || v["schema"] != userV2OtherDefault {
			t.Errorf("GET versions/%s = %v", version, v)
		}
		if _, ok := v["schemaType"]; ok {
			t.Errorf("GET versions/%s: schemaType present for AVRO: %v", version, v)
		}
	}
	if _, raw := callRaw(t, "GET", base+"/subjects/test.users.User/versions/1/schema", nil); string(raw) != userV1 {
		t.Errorf("raw schema = %s", raw)
	}
	if _, raw := callRaw(t, "GET", base+fmt.Sprintf("/schemas/ids/%d/schema", id1), nil); string(raw) != userV1 {
		t.Errorf("raw schema by id = %s", raw)
	}
	if v := mustCall(t, 200, "GET", base+fmt.Sprintf("/schemas/ids/%d", id1), nil); !reflect.DeepEqual(v, map[string]any{"schema": userV1}) {
		t.Errorf("schema by id = %v", v)
	}
	if v := mustCall(t, 200, "GET", base+fmt.Sprintf("/schemas/ids/%d/subjects", id1), nil); !reflect.DeepEqual(v, []any{"other-subject", "test.users.User"}) {
		t.Errorf("subjects of id = %v", v)
	}
	want := []any{map[string]any{"subject": "other-subject", "version": 1.0}, map[string]any{"subject": "test.users.User", "version": 1.0}}
	if v := mustCall(t, 200, "GET", base+fmt.Sprintf("/schemas/ids/%d/versions", id1), nil); !reflect.DeepEqual(v, want) {
		t.Errorf("versions of id = %v", v)
	}
	if v := mustCall(t, 200, "GET", base+"/subjects", nil); !reflect.DeepEqual(v, []any{"other-subject", "test.users.User"}) {
		t.Errorf("subjects = %v", v)
	}
	if v := mustCall(t, 200, "GET", base+"/subjects?subjectPrefix=test.", nil); !reflect.DeepEqual(v, []any{"test.users.User"}) {
		t.Errorf("subjects?subjectPrefix=test. = %v", v)
	}
	if v := mustCall(t, 200, "GET", base+"/schemas/types", nil); !reflect.DeepEqual(v, []any{"AVRO"}) {
		t.Errorf("types = %v", v)
	}

	// lookup with a differently written but same schema
	v := mustCall(t, 200, "POST", base+"/subjects/test.users.User", map[string]any{"schema": userV1Same}).(map[string]any)
	if v["version"] != 1.0 || int(v["id"].(float64)) != id1 || v["schema"] != userV1 || v["subject"] != "test.users.User" {
		t.Errorf("lookup = %v", v)
	}
}

func TestErrorCodes(t *testing.T) {
	base := newRegistry(t)
	register(t, base, "s", userV1)
	register(t, base, "s", userV2)
	register(t, base, "gone", userV1)
	mustCall(t, 200, "DELETE", base+"/subjects/gone", nil)
	register(t, base, "vgone", userV1)
	register(t, base, "vgone", userV2)
	mustCall(t, 200, "DELETE", base+"/subjects/vgone/versions/1", nil)
	register(t, base, "ro", userV1)
	mustCall(t, 200, "PUT", base+"/mode/ro", map[string]any{"mode": "READONLY"})

	tests := []struct {
		name         string
		method, path string
		body         any
		status, code int
	}{
		{"subject not found", "GET", "/subjects/nope/versions", nil, 404, registry.CodeSubjectNotFound},
		{"subject not found (version)", "GET", "/subjects/nope/versions/1", nil, 404, registry.CodeSubjectNotFound},
		{"soft-deleted subject hidden", "GET", "/subjects/gone/versions", nil, 404, registry.CodeSubjectNotFound},
		{"version not found", "GET", "/subjects/s/versions/9", nil, 404, registry.CodeVersionNotFound},
		{"schema id not found", "GET", "/schemas/ids/999", nil, 404, registry.CodeSchemaNotFound},
		{"schema id not found (subjects)", "GET", "/schemas/ids/999/subjects", nil, 404, registry.CodeSchemaNotFound},
		{"lookup: schema not in subject", "POST", "/subjects/s", map[string]any{"schema": userBad}, 404, registry.CodeSchemaNotFound},
		{"lookup: no subject", "POST", "/subjects/nope", map[string]any{"schema": userV1}, 404, registry.CodeSubjectNotFound},
		{"invalid schema: not JSON", "POST", "/subjects/s/versions", map[string]any{"schema": "{not json"}, 422, registry.CodeInvalidSchema},
		{"invalid schema: unknown type", "POST", "/subjects/s/versions", map[string]any{"schema": `{"type":"record","name":"X","fields":[{"name":"a","type":"Nope"}]}`}, 422, registry.CodeInvalidSchema},
		{"invalid schema: bad default", "POST", "/subjects/s/versions", map[string]any{"schema": `{"type":"record","name":"X","fields":[{"name":"a","type":"int","default":"x"}]}`}, 422, registry.CodeInvalidSchema},
		{"invalid schema: empty", "POST", "/subjects/s/versions", map[string]any{"schema": ""}, 422, registry.CodeInvalidSchema},
		{"unsupported schema type", "POST", "/subjects/p/versions", map[string]any{"schema": `syntax = "proto3";`, "schemaType": "PROTOBUF"}, 422, registry.CodeInvalidSchema},
		{"unresolvable reference", "POST", "/subjects/r/versions", map[string]any{"schema": userV1, "references": []any{map[string]any{"name": "x.Y", "subject": "nope", "version": 1}}}, 422, registry.CodeInvalidSchema},
		{"invalid version 0", "GET", "/subjects/s/versions/0", nil, 422, registry.CodeInvalidVersion},
		{"invalid version text", "GET", "/subjects/s/versions/abc", nil, 422, registry.CodeInvalidVersion},
		{"invalid version in compatibility", "POST", "/compatibility/subjects/s/versions/x", map[string]any{"schema": userV1}, 422, registry.CodeInvalidVersion},
		{"invalid compatibility level", "PUT", "/config/s", map[string]any{"compatibility": "SIDEWAYS"}, 422, registry.CodeInvalidCompatibilityLevel},
		{"invalid global level", "PUT", "/config", map[string]any{"compatibility": ""}, 422, registry.CodeInvalidCompatibilityLevel},
		{"incompatible", "POST", "/subjects/s/versions", map[string]any{"schema": userBad}, 409, registry.CodeIncompatibleSchema},
		{"subject soft-deleted", "DELETE", "/subjects/gone", nil, 404, registry.CodeSubjectSoftDeleted},
		{"subject not soft-deleted", "DELETE", "/subjects/s?permanent=true", nil, 404, registry.CodeSubjectNotSoftDeleted},
		{"delete unknown subject", "DELETE", "/subjects/nope", nil, 404, registry.CodeSubjectNotFound},
		{"version soft-deleted", "DELETE", "/subjects/vgone/versions/1", nil, 404, registry.CodeVersionSoftDeleted},
		{"soft-deleted version hidden", "GET", "/subjects/vgone/versions/1", nil, 404, registry.CodeVersionNotFound},
		{"version not soft-deleted", "DELETE", "/subjects/vgone/versions/2?permanent=true", nil, 404, registry.CodeVersionNotSoftDeleted},
		{"subject config not set", "GET", "/config/s", nil, 404, registry.CodeSubjectConfigNotFound},
		{"subject mode not set", "GET", "/mode/s", nil, 404, registry.CodeSubjectModeNotFound},
		{"invalid mode", "PUT", "/mode", map[string]any{"mode": "SOMETIMES"}, 422, registry.CodeInvalidMode},
		{"read-only subject refuses register", "POST", "/subjects/ro/versions", map[string]any{"schema": userV2}, 422, registry.CodeOperationNotPermitted},
		{"read-only subject refuses delete", "DELETE", "/subjects/ro", nil, 422, registry.CodeOperationNotPermitted},
		{"import of an id refused", "POST", "/subjects/s/versions", map[string]any{"schema": userV1, "id": 77}, 422, registry.CodeOperationNotPermitted},
		{"malformed body", "POST", "/subjects/s/versions", "just a string", 400, 400},
		{"unknown route", "GET", "/no/such/route", nil, 404, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, v := call(t, tt.method, base+tt.path, tt.body)
			if status != tt.status || errorCode(v) != tt.code {
				t.Fatalf("%s %s = %d %v, want %d with error_code %d", tt.method, tt.path, status, v, tt.status, tt.code)
			}
			if msg, _ := v.(map[string]any)["message"].(string); msg == "" {
				t.Errorf("no message: %v", v)
			}
		})
	}
}

func TestIncompatibleMessageNamesEachRule(t *testing.T) {
	base := newRegistry(t)
	register(t, base, "s", userV2)
	// two problems: a field without default, and a type change
	bad := `{"type":"record","name":"User","namespace":"test.users","fields":[{"name":"id","type":"int"},{"name":"email","type":"string","default":""},{"name":"age","type":"int"}]}`
	status, v := call(t, "POST", base+"/subjects/s/versions", map[string]any{"schema": bad})
	msg, _ := v.(map[string]any)["message"].(string)
	if status != 409 || errorCode(v) != 409 {
		t.Fatalf("register incompatible = %d %v", status, v)
	}
	for _, want := range []string{"READER_FIELD_MISSING_DEFAULT_VALUE", "age", "TYPE_MISMATCH", "/fields/0/type", "BACKWARD", "oldSchemaVersion:1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
}

func TestDeleteLifecycle(t *testing.T) {
	base := newRegistry(t)
	id1 := register(t, base, "d", userV1)
	register(t, base, "d", userV2)
	if v := mustCall(t, 200, "DELETE", base+"/subjects/d", nil); !reflect.DeepEqual(v, []any{1.0, 2.0}) {
		t.Fatalf("soft delete subject = %v", v)
	}
	if v := mustCall(t, 200, "GET", base+"/subjects", nil); !reflect.DeepEqual(v, []any{}) {
		t.Errorf("subjects after soft delete = %v", v)
	}
	if v := mustCall(t, 200, "GET", base+"/subjects?deleted=true", nil); !reflect.DeepEqual(v, []any{"d"}) {
		t.Errorf("subjects?deleted=true = %v", v)
	}
	if v := mustCall(t, 200, "GET", base+"/subjects/d/versions?deleted=true", nil); !reflect.DeepEqual(v, []any{1.0, 2.0}) {
		t.Errorf("versions?deleted=true = %v", v)
	}
	mustCall(t, 200, "GET", base+"/subjects/d/versions/1?deleted=true", nil)
	// the id stays resolvable: events in the store carry it
	mustCall(t, 200, "GET", base+fmt.Sprintf("/schemas/ids/%d", id1), nil)
	// registering again continues the numbering and keeps the id; no
	// compatibility check against soft-deleted versions
	if id := register(t, base, "d", userV1); id != id1 {
		t.Errorf("re-registered id %d, want %d", id, id1)
	}
	if v := mustCall(t, 200, "GET", base+"/subjects/d/versions", nil); !reflect.DeepEqual(v, []any{3.0}) {
		t.Errorf("versions after re-register = %v", v)
	}
	if v := mustCall(t, 200, "DELETE", base+"/subjects/d/versions/latest", nil); v != 3.0 {
		t.Errorf("delete latest = %v", v)
	}
	if v := mustCall(t, 200, "DELETE", base+"/subjects/d/versions/3?permanent=true", nil); v != 3.0 {
		t.Errorf("permanent delete of version 3 = %v", v)
	}
	if v := mustCall(t, 200, "DELETE", base+"/subjects/d?permanent=true", nil); !reflect.DeepEqual(v, []any{1.0, 2.0}) {
		t.Errorf("permanent delete = %v", v)
	}
	if v := mustCall(t, 200, "GET", base+"/subjects?deleted=true", nil); !reflect.DeepEqual(v, []any{}) {
		t.Errorf("subjects after permanent delete = %v", v)
	}
	// a permanently deleted subject starts over at version 1
	register(t, base, "d", userV2)
	if v := mustCall(t, 200, "GET", base+"/subjects/d/versions", nil); !reflect.DeepEqual(v, []any{1.0}) {
		t.Errorf("versions after permanent delete and register = %v", v)
	}
}

func TestConfigAndCompatibility(t *testing.T) {
	base := newRegistry(t)
	if v := mustCall(t, 200, "GET", base+"/config", nil); !reflect.DeepEqual(v, map[string]any{"compatibilityLevel": "BACKWARD"}) {
		t.Errorf("default config = %v", v)
	}
	register(t, base, "c", userV2)

	check := func(path, schema string, want bool) map[string]any {
		t.Helper()
		v := mustCall(t, 200, "POST", base+path, map[string]any{"schema": schema}).(map[string]any)
		if v["is_compatible"] != want {
			t.Errorf("POST %s = %v, want is_compatible %v", path, v, want)
		}
		return v
	}
	check("/compatibility/subjects/c/versions/latest", userV1, true) // removing a field is BACKWARD
	check("/compatibility/subjects/c/versions/1", userBad, false)
	check("/compatibility/subjects/c/versions", userBad, false)
	check("/compatibility/subjects/new-subject/versions/latest", userBad, true)
	if status, v := call(t, "POST", base+"/compatibility/subjects/new-subject/versions/1", map[string]any{"schema": userBad}); status != 404 || errorCode(v) != registry.CodeSubjectNotFound {
		t.Errorf("compatibility against a version of a missing subject = %d %v", status, v)
	}
	v := check("/compatibility/subjects/c/versions/latest?verbose=true", userBad, false)
	msgs, _ := v["messages"].([]any)
	if len(msgs) == 0 || !strings.Contains(fmt.Sprint(msgs), "READER_FIELD_MISSING_DEFAULT_VALUE") {
		t.Errorf("verbose messages = %v", v)
	}
	if _, ok := check("/compatibility/subjects/c/versions/latest", userBad, false)["messages"]; ok {
		t.Errorf("messages without verbose")
	}

	if v := mustCall(t, 200, "PUT", base+"/config/c", map[string]any{"compatibility": "forward"}); !reflect.DeepEqual(v, map[string]any{"compatibility": "FORWARD"}) {
		t.Errorf("PUT /config/c = %v", v)
	}
	if v := mustCall(t, 200, "GET", base+"/config/c", nil); !reflect.DeepEqual(v, map[string]any{"compatibilityLevel": "FORWARD"}) {
		t.Errorf("GET /config/c = %v", v)
	}
	// FORWARD: the old schema must read the new one; a new field without a default is fine
	check("/compatibility/subjects/c/versions/latest", userBad, true)
	check("/compatibility/subjects/c/versions/latest", `{"type":"record","name":"User","namespace":"test.users","fields":[{"name":"email","type":"string","default":""}]}`, false)

	if v := mustCall(t, 200, "GET", base+"/config/other?defaultToGlobal=true", nil); !reflect.DeepEqual(v, map[string]any{"compatibilityLevel": "BACKWARD"}) {
		t.Errorf("defaultToGlobal = %v", v)
	}
	if v := mustCall(t, 200, "DELETE", base+"/config/c", nil); !reflect.DeepEqual(v, map[string]any{"compatibilityLevel": "FORWARD"}) {
		t.Errorf("DELETE /config/c = %v", v)
	}
	mustCall(t, 200, "PUT", base+"/config", map[string]any{"compatibility": "NONE"})
	if v := mustCall(t, 200, "GET", base+"/config/c?defaultToGlobal=true", nil); !reflect.DeepEqual(v, map[string]any{"compatibilityLevel": "NONE"}) {
		t.Errorf("global NONE = %v", v)
	}
	register(t, base, "c", userBad) // NONE accepts anything
	if v := mustCall(t, 200, "DELETE", base+"/config", nil); !reflect.DeepEqual(v, map[string]any{"compatibilityLevel": "NONE"}) {
		t.Errorf("DELETE /config = %v", v)
	}
	if v := mustCall(t, 200, "GET", base+"/config", nil); !reflect.DeepEqual(v, map[string]any{"compatibilityLevel": "BACKWARD"}) {
		t.Errorf("config after DELETE = %v", v)
	}

	// mode
	if v := mustCall(t, 200, "GET", base+"/mode", nil); !reflect.DeepEqual(v, map[string]any{"mode": "READWRITE"}) {
		t.Errorf("GET /mode = %v", v)
	}
	mustCall(t, 200, "PUT", base+"/mode", map[string]any{"mode": "READONLY"})
	if status, v := call(t, "POST", base+"/subjects/c/versions", map[string]any{"schema": userV1}); status != 422 || errorCode(v) != registry.CodeOperationNotPermitted {
		t.Errorf("register in global READONLY = %d %v", status, v)
	}
	mustCall(t, 200, "GET", base+"/subjects/c/versions/latest", nil) // reads still work
	mustCall(t, 200, "PUT", base+"/mode/c", map[string]any{"mode": "READWRITE"})
	register(t, base, "c", userV1) // the subject's own mode wins
	mustCall(t, 200, "DELETE", base+"/mode/c", nil)
	mustCall(t, 200, "PUT", base+"/mode", map[string]any{"mode": "READWRITE"})
}

func TestReferences(t *testing.T) {
	dbURL := testenv.NewDatabase(t)
	base := serveOn(t, dbURL)
	money := `{"type":"record","name":"Money","namespace":"shop.common","fields":[{"name":"units","type":"long"},{"name":"currency","type":"string","default":"EUR"}]}`
	order := `{"type":"record","name":"OrderPlaced","namespace":"shop.order","fields":[{"name":"id","type":"string"},{"name":"total","type":"shop.common.Money"}]}`
	moneyID := register(t, base, "shop.common.Money", money)

	// without the reference the named type is unknown
	if status, v := call(t, "POST", base+"/subjects/shop.order.OrderPlaced/versions", map[string]any{"schema": order}); status != 422 || errorCode(v) != registry.CodeInvalidSchema {
		t.Fatalf("register without reference = %d %v", status, v)
	}
	ref := registry.Reference{Name: "shop.common.Money", Subject: "shop.common.Money", Version: 1}
	orderID := register(t, base, "shop.order.OrderPlaced", order, ref)
	if orderID == moneyID {
		t.Fatal("referring schema got the referenced schema's id")
	}
	// "latest" (-1) resolves to version 1: the same schema, the same id
	latest := ref
	latest.Version = -1
	if id := register(t, base, "shop.order.OrderPlaced", order, latest); id != orderID {
		t.Errorf("reference to latest: id %d, want %d", id, orderID)
	}
	wantRefs := []any{map[string]any{"name": "shop.common.Money", "subject": "shop.common.Money", "version": 1.0}}
	v := mustCall(t, 200, "GET", base+fmt.Sprintf("/schemas/ids/%d", orderID), nil).(map[string]any)
	if !reflect.DeepEqual(v["references"], wantRefs) || v["schema"] != order {
		t.Errorf("schema by id with references = %v", v)
	}
	v = mustCall(t, 200, "GET", base+"/subjects/shop.order.OrderPlaced/versions/latest", nil).(map[string]any)
	if !reflect.DeepEqual(v["references"], wantRefs) {
		t.Errorf("version with references = %v", v)
	}
	if v := mustCall(t, 200, "GET", base+"/subjects/shop.common.Money/versions/1/referencedby", nil); !reflect.DeepEqual(v, []any{float64(orderID)}) {
		t.Errorf("referencedby = %v", v)
	}
	// compatibility of a referring schema: a v2 adding a field with a default
	order2 := `{"type":"record","name":"OrderPlaced","namespace":"shop.order","fields":[{"name":"id","type":"string"},{"name":"total","type":"shop.common.Money"},{"name":"note","type":"string","default":""}]}`
	cv := mustCall(t, 200, "POST", base+"/compatibility/subjects/shop.order.OrderPlaced/versions/latest",
		map[string]any{"schema": order2, "references": []registry.Reference{ref}}).(map[string]any)
	if cv["is_compatible"] != true {
		t.Errorf("compatibility with references = %v", cv)
	}
	register(t, base, "shop.order.OrderPlaced", order2, ref)

	// a referenced version cannot go while a live schema uses it
	for _, path := range []string{"/subjects/shop.common.Money/versions/1", "/subjects/shop.common.Money"} {
		if status, v := call(t, "DELETE", base+path, nil); status != 422 || errorCode(v) != registry.CodeReferenceExists {
			t.Errorf("DELETE %s = %d %v, want 42206", path, status, v)
		}
	}
	mustCall(t, 200, "DELETE", base+"/subjects/shop.order.OrderPlaced", nil)
	mustCall(t, 200, "DELETE", base+"/subjects/shop.common.Money", nil)
	// soft-deleted referrers still hold a permanent delete back
	if status, v := call(t, "DELETE", base+"/subjects/shop.common.Money?permanent=true", nil); status != 422 || errorCode(v) != registry.CodeReferenceExists {
		t.Errorf("permanent delete of a referenced subject = %d %v", status, v)
	}
	mustCall(t, 200, "DELETE", base+"/subjects/shop.order.OrderPlaced?permanent=true", nil)
	mustCall(t, 200, "DELETE", base+"/subjects/shop.common.Money?permanent=true", nil)

	// the ids stay resolvable, even when the referenced subject's version 1
	// now holds another schema: a reference keeps the id it resolved to
	register(t, base, "shop.common.Money", `{"type":"record","name":"Other","namespace":"shop.common","fields":[]}`)
	fresh := serveOn(t, dbURL) // nothing cached
	v = mustCall(t, 200, "GET", fresh+fmt.Sprintf("/schemas/ids/%d", orderID), nil).(map[string]any)
	if v["schema"] != order || !reflect.DeepEqual(v["references"], wantRefs) {
		t.Errorf("schema %d after its reference's subject was deleted = %v", orderID, v)
	}
}

func TestSubjectNamesAreEscaped(t *testing.T) {
	base := newRegistry(t)
	const subject = "team/a b:c%d"
	esc := url.PathEscape(subject)
	id := register(t, base, esc, userV1)
	if v := mustCall(t, 200, "GET", base+"/subjects", nil); !reflect.DeepEqual(v, []any{subject}) {
		t.Errorf("subjects = %v, want [%q]", v, subject)
	}
	v := mustCall(t, 200, "GET", base+"/subjects/"+esc+"/versions/1", nil).(map[string]any)
	if v["subject"] != subject || int(v["id"].(float64)) != id {
		t.Errorf("version = %v", v)
	}
}
