package evolve_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratahq/strata/eventstore/archive"
	"github.com/stratahq/strata/evolve"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/project"
	"github.com/stratahq/strata/services/order/upcast"
	"github.com/stratahq/strata/upcasters"
)

func load(t *testing.T, dir string) *evolve.Catalog {
	t.Helper()
	file, err := project.Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := project.LoadSubjects(p.Path(p.Schemas.Subjects))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := evolve.Load(p, s)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func currentJSON(t *testing.T, name string) string {
	t.Helper()
	for _, typ := range events.Types() {
		if typ.Name == name {
			return typ.JSON
		}
	}
	t.Fatalf("no type %s", name)
	return ""
}

// The shop's runtime chains are exactly its declared histories, and every
// writer schema the shop has used has a path.
func TestShopDeclarations(t *testing.T) {
	cat := load(t, ".")
	if err := cat.CheckChains(upcast.Chains()...); err != nil {
		t.Fatal(err)
	}
	v1 := upcast.OrderPlaced().Versions[0].Schema
	for _, c := range []struct {
		w             evolve.Writer
		version, path string
		ok, skipped   bool
		reason        string
	}{
		{w: evolve.Writer{Type: "shop.order.OrderPlaced", JSON: currentJSON(t, "shop.order.OrderPlaced")}, version: "2", path: "current", ok: true},
		{w: evolve.Writer{Type: "shop.order.OrderPlaced", JSON: v1}, version: "1", path: "v1 -upcaster-> v2 (current)", ok: true},
		{w: evolve.Writer{Type: "shop.order.OrderShipped", JSON: currentJSON(t, "shop.order.OrderShipped")}, version: "1", path: "current", ok: true},
		{w: evolve.Writer{Type: "shop.order.OrderSnapshot", JSON: `{"type":"record","name":"shop.order.OrderSnapshot","fields":[]}`}, version: "undeclared", ok: true, skipped: true},
		// A field added with a default: resolution would work, but it is not declared.
		{w: evolve.Writer{Type: "shop.order.OrderShipped", JSON: strings.Replace(currentJSON(t, "shop.order.OrderShipped"), `"fields":[`, `"fields":[{"name":"extra","type":"string","default":""},`, 1)},
			version: "undeclared", reason: "Avro resolution into the current schema is possible"},
		// v1 of OrderPlaced under another type name: not this type's version.
		{w: evolve.Writer{Type: "shop.order.OrderShipped", JSON: `{"type":"record","name":"shop.order.OrderShipped","fields":[{"name":"order_id","type":"int"}]}`},
			version: "undeclared", reason: "the current schema cannot read it"},
	} {
		p := cat.Prove(c.w)
		if p.OK != c.ok || p.Skipped != c.skipped || p.Version != c.version || p.Path != c.path || !strings.Contains(p.Reason, c.reason) {
			t.Errorf("Prove(%s) = %+v", c.w.Type, p)
		}
	}
}

func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["strata.yaml"] = "version: 1\nmodule: example.com/ledger\nnamespace: bank\n"
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	depositedV1 = `{"type":"record","name":"Deposited","namespace":"bank.ledger","doc":"d","fields":[{"name":"cents","type":"long","doc":"d"}]}`
	depositedV2 = `{"type":"record","name":"Deposited","namespace":"bank.ledger","doc":"d","fields":[{"name":"cents","type":"long","doc":"d"},{"name":"currency","type":"string","doc":"d"}]}`
)

// A declaration the gate's checker refuses is an error at load: the
// project cannot declare resolution where resolution fails.
func TestLoadRejectsBadDeclarations(t *testing.T) {
	subjects := func(path string) string {
		return "subjects:\n  bank.ledger.Deposited:\n    level: BACKWARD_TRANSITIVE\n    history:\n      - version: 1\n        schema: history/v1.avsc\n        path: " + path + "\n"
	}
	files := map[string]string{
		"schemas/avro/ledger/Deposited.avsc": depositedV2,
		"history/v1.avsc":                    depositedV1,
		"schemas/subjects.yaml":              subjects("resolution"),
	}
	dir := writeProject(t, files)
	p, _ := project.Load(filepath.Join(dir, "strata.yaml"))
	s, err := project.LoadSubjects(p.Path(p.Schemas.Subjects))
	if err != nil {
		t.Fatal(err)
	}
	_, err = evolve.Load(p, s)
	if err == nil || !strings.Contains(err.Error(), "bank.ledger.Deposited v1 is declared path: resolution, but the current schema cannot read it: READER_FIELD_MISSING_DEFAULT_VALUE") {
		t.Fatalf("err = %v", err)
	}
	// Declared as an upcaster it loads; a chain must then implement it.
	files["schemas/subjects.yaml"] = subjects("upcaster")
	dir = writeProject(t, files)
	cat := load(t, dir)
	if err := cat.CheckChains(); err == nil || !strings.Contains(err.Error(), "no chain implements it") {
		t.Errorf("CheckChains() = %v", err)
	}
	if err := cat.CheckChains(upcasters.Chain{EventType: "bank.ledger.Deposited", Versions: []upcasters.Version{{Version: 1, Schema: depositedV1}}}); err == nil || !strings.Contains(err.Error(), "declared path: upcaster, but the chain's step is nil") {
		t.Errorf("CheckChains(resolution step) = %v", err)
	}
	if p := cat.Prove(evolve.Writer{Type: "bank.ledger.Deposited", JSON: depositedV1}); !p.OK || p.Path != "v1 -upcaster-> v2 (current)" {
		t.Errorf("Prove(v1) = %+v", p)
	}
}

// Archive manifests are a source of writer schemas too: a proof names the
// archive, and an undeclared schema in one fails like one in the store.
func TestArchiveWriters(t *testing.T) {
	dir := t.TempDir()
	m := archive.Manifest{Format: archive.Format, ID: "20260101T000000Z-abc", Schemas: []archive.SchemaEntry{
		{Name: "shop.order.OrderPlaced", JSON: upcast.OrderPlaced().Versions[0].Schema},
		{Name: "shop.order.OrderShipped", JSON: `{"type":"record","name":"shop.order.OrderShipped","fields":[{"name":"order_id","type":"int"}]}`},
	}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, m.ID), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, m.ID, archive.ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := evolve.ArchiveWriters(dir)
	if err != nil || len(ws) != 2 {
		t.Fatalf("ArchiveWriters = %v, %v", ws, err)
	}
	cat := load(t, ".")
	if p := cat.Prove(ws[0]); !p.OK || p.Source != "archive 20260101T000000Z-abc" || p.Version != "1" {
		t.Errorf("Prove(archived v1) = %+v", p)
	}
	if p := cat.Prove(ws[1]); p.OK || p.Version != "undeclared" {
		t.Errorf("Prove(archived undeclared) = %+v", p)
	}
	if ws, err := evolve.ArchiveWriters(filepath.Join(dir, "missing")); err != nil || len(ws) != 0 {
		t.Errorf("missing folder: %v %v", ws, err)
	}
}
