package archive

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hamba/avro/v2/ocf"
)

// Format is the manifest's format tag.
const Format = "strata-archive/1"

// File names inside an archive directory.
const (
	ManifestFile = "manifest.json"
	SumsFile     = "SHA256SUMS"
)

// Manifest describes one archive run.
type Manifest struct {
	Format      string        `json:"format"`
	ID          string        `json:"id"`
	CreatedAt   time.Time     `json:"created_at"`
	Before      time.Time     `json:"before"`
	ClosedTypes []string      `json:"closed_types,omitempty"`
	Events      int64         `json:"events"`
	Files       []FileEntry   `json:"files"`
	Streams     []StreamEntry `json:"streams"`
	Schemas     []SchemaEntry `json:"schemas"`
}

// FileEntry is one container file.
type FileEntry struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	Events int64  `json:"events"`
}

// Stream statuses in a manifest.
const (
	StatusArchived = "archived" // events deleted from the store, kept here
	StatusSkipped  = "skipped"  // written here but left in the store (it changed meanwhile)
	StatusPending  = "pending"  // written, deletion not yet done (a run that stopped half-way)
)

// StreamEntry is one archived stream.
type StreamEntry struct {
	StreamID      string `json:"stream_id"`
	StreamType    string `json:"stream_type"`
	Version       int64  `json:"version"`
	Events        int64  `json:"events"`
	FirstPosition int64  `json:"first_position"`
	LastPosition  int64  `json:"last_position"`
	LastType      string `json:"last_event_type"`
	Tombstoned    bool   `json:"tombstoned,omitempty"`
	Checksum      string `json:"checksum"` // StreamChecksums / StreamHash
	File          string `json:"file"`
	Status        string `json:"status"`
	Reason        string `json:"reason,omitempty"`
}

// SchemaEntry is a writer schema some archived payload uses.
type SchemaEntry struct {
	Fingerprint string `json:"fingerprint"` // hex SHA-256 of the Parsing Canonical Form
	Name        string `json:"name"`
	JSON        string `json:"schema"`
}

// Stream returns the manifest's entry for a stream.
func (m *Manifest) Stream(id string) (StreamEntry, bool) {
	for _, s := range m.Streams {
		if s.StreamID == id {
			return s, true
		}
	}
	return StreamEntry{}, false
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArchive, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidArchive, ManifestFile, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w: %s: format %q, want %q", ErrInvalidArchive, ManifestFile, m.Format, Format)
	}
	return &m, nil
}

// writeManifest writes the manifest and SHA256SUMS (over the container files
// and the manifest), syncing both.
func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := writeSynced(filepath.Join(dir, ManifestFile), append(b, '\n')); err != nil {
		return err
	}
	sums := map[string]string{ManifestFile: fmt.Sprintf("%x", sha256.Sum256(append(b, '\n')))}
	for _, f := range m.Files {
		sums[f.Name] = f.SHA256
	}
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, n := range names {
		fmt.Fprintf(&sb, "%s  %s\n", sums[n], n) // sha256sum's text mode line
	}
	return writeSynced(filepath.Join(dir, SumsFile), []byte(sb.String()))
}

func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return fmt.Sprintf("%x", h.Sum(nil)), n, nil
}

// VerifyReport is what Verify checked.
type VerifyReport struct {
	Files   int
	Events  int64
	Streams int
}

// Verify checks an archive directory: every line of SHA256SUMS, then every
// container file decoded record by record, each stream's event count and
// checksum against the manifest. progress (may be nil) is called per file.
func Verify(dir string, progress func(Progress)) (*Manifest, VerifyReport, error) {
	var rep VerifyReport
	if err := checkSums(dir); err != nil {
		return nil, rep, err
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, rep, err
	}
	type acc struct {
		h *StreamHash
		n int64
	}
	got := map[string]*acc{}
	for i, f := range m.Files {
		if progress != nil {
			progress(Progress{Phase: "verify", Done: i, Total: len(m.Files), Item: f.Name})
		}
		var n int64
		err := readFile(filepath.Join(dir, f.Name), func(r *Record) error {
			a := got[r.StreamID]
			if a == nil {
				a = &acc{h: NewStreamHash()}
				got[r.StreamID] = a
			}
			n++
			a.n++
			return a.h.Add(r)
		})
		if err != nil {
			return nil, rep, err
		}
		if n != f.Events {
			return nil, rep, fmt.Errorf("%w: %s holds %d events, manifest says %d", ErrInvalidArchive, f.Name, n, f.Events)
		}
		rep.Files++
		rep.Events += n
	}
	for _, s := range m.Streams {
		a := got[s.StreamID]
		if a == nil {
			return nil, rep, fmt.Errorf("%w: stream %s is in the manifest but in no file", ErrInvalidArchive, s.StreamID)
		}
		if a.n != s.Events {
			return nil, rep, fmt.Errorf("%w: stream %s has %d events in the files, manifest says %d", ErrInvalidArchive, s.StreamID, a.n, s.Events)
		}
		if sum := a.h.Sum(); sum != s.Checksum {
			return nil, rep, &ChecksumError{What: "stream " + s.StreamID, Want: s.Checksum, Got: sum}
		}
		rep.Streams++
	}
	if progress != nil {
		progress(Progress{Phase: "verify", Done: len(m.Files), Total: len(m.Files)})
	}
	return m, rep, nil
}

// checkSums verifies every line of dir/SHA256SUMS.
func checkSums(dir string) error {
	f, err := os.Open(filepath.Join(dir, SumsFile))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArchive, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || strings.ContainsAny(name, `/\`) {
			return fmt.Errorf("%w: %s: bad line %q", ErrInvalidArchive, SumsFile, sc.Text())
		}
		got, _, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidArchive, err)
		}
		if got != sum {
			return &ChecksumError{What: name, Want: sum, Got: got}
		}
		lines++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidArchive, SumsFile, err)
	}
	if lines == 0 {
		return fmt.Errorf("%w: %s is empty", ErrInvalidArchive, SumsFile)
	}
	return nil
}

// readFile decodes every record of a container file.
func readFile(path string, fn func(*Record) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArchive, err)
	}
	defer f.Close()
	_, cache, err := parseRecordSchema()
	if err != nil {
		return err
	}
	dec, err := ocf.NewDecoder(bufio.NewReader(f), ocf.WithDecoderSchemaCache(cache))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidArchive, filepath.Base(path), err)
	}
	for dec.HasNext() {
		var r Record
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidArchive, filepath.Base(path), err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := dec.Error(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: %w", ErrInvalidArchive, filepath.Base(path), err)
	}
	return nil
}
