// Package stack carries the local stack's scripts (PostgreSQL, Kafka and the
// schema registry on 127.0.0.1; see ci/README.md) inside the strata binary,
// so `strata dev up|down|status|env` runs for any project exactly what
// `make up|down|status|env` runs for this repository, with the data under
// the project's own .local/ folder.
package stack

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
)

//go:embed stack.sh common.sh postgres.sh kafka.sh registry.sh kafka_ping.py kafka-pom.xml
var scripts embed.FS

// Extract writes the scripts into dir (created if needed), replacing what is
// there, and returns the path of the entry script.
func Extract(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	err := fs.WalkDir(scripts, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := scripts.ReadFile(path)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if filepath.Ext(path) == ".sh" {
			mode = 0o755
		}
		return os.WriteFile(filepath.Join(dir, path), b, mode)
	})
	if err != nil {
		return "", fmt.Errorf("extract stack scripts: %w", err)
	}
	return filepath.Join(dir, "stack.sh"), nil
}

// Command returns the command that runs the stack script with args (up,
// down, status, env, optionally component names) for the project in
// projectDir: the scripts are extracted to projectDir/.local/stack, the data
// lives in projectDir/.local, and the schema registry is served by strataBin
// (the running strata executable).
func Command(ctx context.Context, projectDir, strataBin string, args ...string) (*exec.Cmd, error) {
	abs, err := filepath.Abs(projectDir)
	if err != nil {
		return nil, err
	}
	script, err := Extract(filepath.Join(abs, ".local", "stack"))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "STRATA_PROJECT="+abs, "STRATA_BIN="+strataBin)
	return cmd, nil
}
