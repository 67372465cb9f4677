package registry_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/internal/testenv"
)

// TestSRClient drives the registry with github.com/riferrei/srclient.
func TestSRClient(t *testing.T) {
	base := newRegistry(t)
	c := srclient.NewSchemaRegistryClient(base)
	const subject = "test.users.User"

	s1, err := c.CreateSchema(subject, userV1, srclient.Avro)
	if err != nil {
		t.Fatalf("CreateSchema v1: %v", err)
	}
	again, err := srclient.NewSchemaRegistryClient(base).CreateSchema(subject, userV1Same, srclient.Avro)
	if err != nil || again.ID() != s1.ID() {
		t.Fatalf("CreateSchema of the same schema: %v, id %d want %d", err, again.ID(), s1.ID())
	}
	s2, err := c.CreateSchema(subject, userV2, srclient.Avro)
	if err != nil {
		t.Fatalf("CreateSchema v2: %v", err)
	}
	fresh := srclient.NewSchemaRegistryClient(base)
	got, err := fresh.GetSchema(s1.ID())
	if err != nil || got.Schema() != userV1 {
		t.Fatalf("GetSchema: %v %v", got, err)
	}
	if got.Codec() == nil {
		t.Error("srclient built no goavro codec from the schema")
	}
	latest, err := fresh.GetLatestSchema(subject)
	if err != nil || latest.ID() != s2.ID() || latest.Version() != 2 {
		t.Fatalf("GetLatestSchema: %+v %v", latest, err)
	}
	byVersion, err := fresh.GetSchemaByVersion(subject, 1)
	if err != nil || byVersion.ID() != s1.ID() {
		t.Fatalf("GetSchemaByVersion: %v", err)
	}
	looked, err := fresh.LookupSchema(subject, userV1, srclient.Avro)
	if err != nil || looked.ID() != s1.ID() || looked.Version() != 1 {
		t.Fatalf("LookupSchema: %+v %v", looked, err)
	}
	versions, err := fresh.GetSchemaVersions(subject)
	if err != nil || len(versions) != 2 {
		t.Fatalf("GetSchemaVersions: %v %v", versions, err)
	}
	ok, err := fresh.IsSchemaCompatible(subject, userV1, "latest", srclient.Avro)
	if err != nil || !ok {
		t.Errorf("IsSchemaCompatible(v1) = %v, %v", ok, err)
	}
	ok, err = fresh.IsSchemaCompatible(subject, userBad, "latest", srclient.Avro)
	if err != nil || ok {
		t.Errorf("IsSchemaCompatible(bad) = %v, %v", ok, err)
	}
	_, err = fresh.CreateSchema(subject, userBad, srclient.Avro)
	var srErr srclient.Error
	if !errors.As(err, &srErr) || srErr.Code != 409 {
		t.Errorf("CreateSchema(bad) = %v, want error_code 409", err)
	}
	_, err = fresh.GetSchema(9999)
	if !errors.As(err, &srErr) || srErr.Code != 40403 {
		t.Errorf("GetSchema(9999) = %v, want 40403", err)
	}
	level, err := fresh.ChangeSubjectCompatibilityLevel(subject, srclient.Full)
	if err != nil || *level != srclient.Full {
		t.Errorf("ChangeSubjectCompatibilityLevel: %v %v", level, err)
	}
	level, err = fresh.GetCompatibilityLevel(subject, true)
	if err != nil || *level != srclient.Full {
		t.Errorf("GetCompatibilityLevel: %v %v", level, err)
	}
	// srclient's permanent delete is a soft delete followed by a permanent one
	if err := fresh.DeleteSubject(subject, true); err != nil {
		t.Errorf("DeleteSubject permanent: %v", err)
	}
	if _, err := fresh.GetSchemaVersions(subject); !errors.As(err, &srErr) || srErr.Code != 40401 {
		t.Errorf("versions after DeleteSubject = %v, want 40401", err)
	}
}

// TestConfluentGoClient drives the registry with confluent-kafka-go's
// schemaregistry client.
func TestConfluentGoClient(t *testing.T) {
	base := newRegistry(t)
	c, err := schemaregistry.NewClient(schemaregistry.NewConfig(base))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const subject = "test.users.User"

	id1, err := c.Register(subject, schemaregistry.SchemaInfo{Schema: userV1}, false)
	if err != nil {
		t.Fatalf("Register v1: %v", err)
	}
	id2, err := c.Register(subject, schemaregistry.SchemaInfo{Schema: userV2, SchemaType: "AVRO"}, false)
	if err != nil || id2 == id1 {
		t.Fatalf("Register v2: %d %v", id2, err)
	}
	fresh, err := schemaregistry.NewClient(schemaregistry.NewConfig(base))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if again, err := fresh.Register(subject, schemaregistry.SchemaInfo{Schema: userV1Same}, false); err != nil || again != id1 {
		t.Fatalf("Register of the same schema: %d %v, want %d", again, err, id1)
	}
	info, err := fresh.GetBySubjectAndID(subject, id1)
	if err != nil || info.Schema != userV1 {
		t.Fatalf("GetBySubjectAndID: %+v %v", info, err)
	}
	info, err = fresh.GetBySubjectAndID("", id2)
	if err != nil || info.Schema != userV2 {
		t.Fatalf("GetBySubjectAndID without subject: %+v %v", info, err)
	}
	meta, err := fresh.GetLatestSchemaMetadata(subject)
	if err != nil || meta.ID != id2 || meta.Version != 2 || meta.Subject != subject || meta.Schema != userV2 {
		t.Fatalf("GetLatestSchemaMetadata: %+v %v", meta, err)
	}
	meta, err = fresh.GetSchemaMetadata(subject, 1)
	if err != nil || meta.ID != id1 {
		t.Fatalf("GetSchemaMetadata(1): %+v %v", meta, err)
	}
	if id, err := fresh.GetID(subject, schemaregistry.SchemaInfo{Schema: userV2}, false); err != nil || id != id2 {
		t.Fatalf("GetID: %d %v", id, err)
	}
	if v, err := fresh.GetVersion(subject, schemaregistry.SchemaInfo{Schema: userV1}, false); err != nil || v != 1 {
		t.Fatalf("GetVersion: %d %v", v, err)
	}
	if vs, err := fresh.GetAllVersions(subject); err != nil || len(vs) != 2 {
		t.Fatalf("GetAllVersions: %v %v", vs, err)
	}
	if subjects, err := fresh.GetAllSubjects(); err != nil || len(subjects) != 1 || subjects[0] != subject {
		t.Fatalf("GetAllSubjects: %v %v", subjects, err)
	}
	if svs, err := fresh.GetSubjectsAndVersionsByID(id1); err != nil || len(svs) != 1 || svs[0].Version != 1 {
		t.Fatalf("GetSubjectsAndVersionsByID: %v %v", svs, err)
	}

	if ok, err := fresh.TestCompatibility(subject, 2, schemaregistry.SchemaInfo{Schema: userV1}); err != nil || !ok {
		t.Errorf("TestCompatibility(v1) = %v %v", ok, err)
	}
	if ok, err := fresh.TestCompatibility(subject, 2, schemaregistry.SchemaInfo{Schema: userBad}); err != nil || ok {
		t.Errorf("TestCompatibility(bad) = %v %v", ok, err)
	}
	if ok, err := fresh.TestSubjectCompatibility(subject, schemaregistry.SchemaInfo{Schema: userBad}); err != nil || ok {
		t.Errorf("TestSubjectCompatibility(bad) = %v %v", ok, err)
	}
	_, err = fresh.Register(subject, schemaregistry.SchemaInfo{Schema: userBad}, false)
	if err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("Register(bad) = %v, want a 409", err)
	}

	if level, err := fresh.GetDefaultCompatibility(); err != nil || level != schemaregistry.Backward {
		t.Errorf("GetDefaultCompatibility = %v %v", level, err)
	}
	if level, err := fresh.UpdateCompatibility(subject, schemaregistry.FullTransitive); err != nil || level != schemaregistry.FullTransitive {
		t.Errorf("UpdateCompatibility = %v %v", level, err)
	}
	if level, err := fresh.GetCompatibility(subject); err != nil || level != schemaregistry.FullTransitive {
		t.Errorf("GetCompatibility = %v %v", level, err)
	}
	if _, err := fresh.GetCompatibility("no-config"); err == nil || !strings.Contains(err.Error(), "40408") {
		t.Errorf("GetCompatibility of a subject without config = %v, want 40408", err)
	}
	if deleted, err := fresh.DeleteSubject(subject, false); err != nil || len(deleted) != 2 {
		t.Errorf("DeleteSubject = %v %v", deleted, err)
	}
	if deleted, err := fresh.DeleteSubject(subject, true); err != nil || len(deleted) != 2 {
		t.Errorf("DeleteSubject permanent = %v %v", deleted, err)
	}
}

// TestPythonClient runs testdata/clients.py with Python confluent-kafka's
// SchemaRegistryClient and AvroSerializer/AvroDeserializer. The interpreter
// comes from ci/pyenv.sh (a cached venv with exact pins); when it cannot be
// had the test skips locally and fails under CI.
func TestPythonClient(t *testing.T) {
	base := newRegistry(t)
	python := pythonWithConfluentKafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/clients.py", base, testenv.UniqueName("Order"))
	out, err := cmd.CombinedOutput()
	t.Logf("clients.py:\n%s", out)
	if err != nil {
		t.Fatalf("clients.py: %v", err)
	}
	if !strings.Contains(string(out), "python client: all checks passed") {
		t.Fatal("clients.py did not finish its checks")
	}
}

func pythonWithConfluentKafka(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("STRATA_PYTHON"); p != "" {
		return p
	}
	script, err := filepath.Abs("../ci/pyenv.sh")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := "python venv with confluent-kafka unavailable (ci/pyenv.sh): " + err.Error() + ": " + stderr.String()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return strings.TrimSpace(string(out))
}
