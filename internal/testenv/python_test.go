package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

func TestPythonHasConfluentKafka(t *testing.T) {
	py := Python(t)
	out, err := exec.Command(py, "-c",
		"from confluent_kafka.schema_registry import SchemaRegistryClient; import importlib.metadata as m; print(m.version('confluent-kafka'))").CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", py, err, out)
	}
	if v := strings.TrimSpace(string(out)); !strings.HasPrefix(v, "2.") {
		t.Fatalf("confluent-kafka version %q, want 2.x", v)
	}
}
