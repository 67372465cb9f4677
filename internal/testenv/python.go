package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// RepoRoot returns the repository's root: the nearest directory above the
// working directory (a test's package directory) that holds go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testenv: working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

var python struct {
	once sync.Once
	path string
	err  error
}

// Python returns the interpreter of the cached venv that ci/pyenv.sh builds,
// with confluent-kafka[avro,schemaregistry] installed, for tests that prove
// Strata against Python's Confluent client. When the venv cannot be built
// (no python3, no network on first use) the test is skipped, or fails under CI.
func Python(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	python.once.Do(func() {
		cmd := exec.Command(filepath.Join(root, "ci", "pyenv.sh"))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			python.err = fmt.Errorf("ci/pyenv.sh: %w: %s", err, strings.TrimSpace(stderr.String()))
			return
		}
		python.path = strings.TrimSpace(stdout.String())
		if python.path == "" {
			python.err = errors.New("ci/pyenv.sh printed no interpreter path")
		}
	})
	if python.err != nil {
		missing(t, "Python venv with confluent-kafka", python.err)
	}
	return python.path
}
