package schema

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/stratahq/strata/project"
	"github.com/stratahq/strata/schemalint"
)

// git runs git in dir and returns its trimmed standard output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// defaultBase is the merge-base of HEAD with main (or origin/main); "" when
// there is none (no commits yet, no main branch): nothing to check against.
func defaultBase(ctx context.Context, root string) string {
	for _, main := range []string{"main", "origin/main", "master"} {
		if base, err := git(ctx, root, "merge-base", "HEAD", main); err == nil && base != "" {
			return base
		}
	}
	return ""
}

// loadGitSet loads the schema folder as it is at commit ref. A ref without
// the folder gives an empty set.
func loadGitSet(ctx context.Context, root, ref, schemas string) (*schemalint.Set, error) {
	dir := filepath.ToSlash(filepath.Clean(schemas))
	// The folder's path relative to the repository top, as git names it.
	prefix, err := git(ctx, root, "rev-parse", "--show-prefix")
	if err != nil {
		return nil, err
	}
	inRepo := path.Clean(path.Join(prefix, dir))
	top, err := git(ctx, root, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	// From the top: git archive refuses a working folder the ref lacks (a
	// project folder added since ref).
	cmd := exec.CommandContext(ctx, "git", "archive", "--format=tar", ref, "--", inRepo)
	cmd.Dir = top
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	tmp, err := os.MkdirTemp("", "strata-schemas-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := cmd.Run(); err != nil {
		msg := errb.String()
		if strings.Contains(msg, "did not match any files") {
			return emptySet(dir), nil
		}
		return nil, fmt.Errorf("git archive %s -- %s: %w: %s", ref, inRepo, err, strings.TrimSpace(msg))
	}
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read git archive of %s: %w", ref, err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasPrefix(h.Name, inRepo+"/") {
			continue
		}
		rel := strings.TrimPrefix(h.Name, inRepo+"/")
		dst := filepath.Join(tmp, filepath.FromSlash(dir), filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, fmt.Errorf("extract %s: %w", h.Name, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("extract %s: %w", h.Name, err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return nil, fmt.Errorf("extract %s: %w", h.Name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, filepath.FromSlash(dir))); err != nil {
		return emptySet(dir), nil
	}
	return schemalint.Load(os.DirFS(tmp), dir)
}

func emptySet(dir string) *schemalint.Set {
	set, _ := schemalint.Load(emptyFS{}, ".")
	set.Root = dir
	return set
}

// history returns every commit reachable from ref that changed the schema
// folder, oldest first. There is no cap: a transitive level holds against
// every version ever committed.
func history(ctx context.Context, root, ref, schemas string) ([]string, error) {
	out, err := git(ctx, root, "log", "--format=%H", ref, "--", schemas)
	if err != nil {
		return nil, err
	}
	if out == "" {
		return nil, nil
	}
	commits := strings.Split(out, "\n")
	for i, j := 0, len(commits)-1; i < j; i, j = i+1, j-1 {
		commits[i], commits[j] = commits[j], commits[i]
	}
	return commits, nil
}

// loadGitSubjects reads the subjects file as it is at ref, strictly; nil when
// ref has none.
func loadGitSubjects(ctx context.Context, sf *schemaFlags, ref string) (*project.Subjects, error) {
	prefix, err := git(ctx, sf.root, "rev-parse", "--show-prefix")
	if err != nil {
		return nil, err
	}
	inRepo := path.Clean(path.Join(prefix, filepath.ToSlash(sf.config)))
	cmd := exec.CommandContext(ctx, "git", "show", ref+":"+inRepo)
	cmd.Dir = sf.root
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := errb.String()
		if strings.Contains(msg, "does not exist") || strings.Contains(msg, "exists on disk, but not in") {
			return nil, nil
		}
		return nil, fmt.Errorf("git show %s:%s: %w: %s", ref, inRepo, err, strings.TrimSpace(msg))
	}
	s, err := project.ParseSubjectsAt(ref+":"+inRepo, out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("the base's subjects file: %w", err)
	}
	return s, nil
}
