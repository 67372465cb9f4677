package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/stratahq/strata/serde"
)

func (s *Server) routeSchemas() {
	s.mux.HandleFunc("GET /schemas", s.schemasPage)
	s.mux.HandleFunc("GET /schemas/{subject}", s.subjectPage)
}

var errNoRegistry = errors.New("no schema registry configured (--registry or SCHEMA_REGISTRY_URL)")

// CatalogEntry is one event type this build knows.
type CatalogEntry struct {
	Name        string
	Fingerprint string
	Subject     string
}

func (s *Server) schemasPage(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{"Title": "schemas"}
	var subjects []string
	if s.cfg.Registry == nil {
		data["Error"] = errNoRegistry.Error()
	} else {
		var err error
		if subjects, err = s.cfg.Registry.GetSubjects(); err != nil {
			data["Error"] = "registry: " + err.Error()
		}
		if lvl, err := s.cfg.Registry.GetGlobalCompatibilityLevel(); err == nil && lvl != nil {
			data["Global"] = string(*lvl)
		}
	}
	q := strings.ToLower(r.URL.Query().Get("q"))
	data["Q"] = q
	var shown []string
	for _, sub := range subjects {
		if q == "" || strings.Contains(strings.ToLower(sub), q) {
			shown = append(shown, sub)
		}
	}
	slices.Sort(shown)
	if len(shown) > 500 {
		shown = shown[:500]
	}
	data["Subjects"] = shown
	var cat []CatalogEntry
	for _, t := range s.types() {
		cat = append(cat, CatalogEntry{Name: t.Name, Fingerprint: fmt.Sprintf("%x", t.Fingerprint[:8])})
	}
	data["Catalog"] = cat
	s.render(w, r, "schemas", data)
}

// SchemaVersion is one registered version of a subject.
type SchemaVersion struct {
	Version int    `json:"version"`
	ID      int    `json:"id"`
	Schema  string `json:"schema"`
	Type    string `json:"schemaType"`
	Pretty  string `json:"-"`
}

// DiffLine is one line of a line diff: op is ' ', '+' or '-'.
type DiffLine struct {
	Op   string
	Text string
}

func (s *Server) subjectPage(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	data := map[string]any{"Title": "subject " + subject, "Subject": subject}
	if s.cfg.Registry == nil {
		data["Error"] = errNoRegistry.Error()
		s.render(w, r, "subject", data)
		return
	}
	versions, err := s.cfg.Registry.GetSchemaVersions(subject)
	if err != nil {
		data["Error"] = "registry: " + err.Error()
		s.render(w, r, "subject", data)
		return
	}
	var all []SchemaVersion
	for _, v := range versions {
		sc, err := s.cfg.Registry.GetSchemaByVersion(subject, v)
		if err != nil {
			data["Error"] = "registry: " + err.Error()
			break
		}
		sv := SchemaVersion{Version: v, ID: sc.ID(), Schema: sc.Schema()}
		if t := sc.SchemaType(); t != nil {
			sv.Type = string(*t)
		}
		var buf bytes.Buffer
		if json.Indent(&buf, []byte(sv.Schema), "", "  ") == nil {
			sv.Pretty = buf.String()
		} else {
			sv.Pretty = sv.Schema
		}
		all = append(all, sv)
	}
	data["Versions"] = all
	if lvl, err := s.cfg.Registry.GetCompatibilityLevel(subject, true); err == nil && lvl != nil {
		data["Level"] = string(*lvl)
	}
	from, _ := strconv.Atoi(r.URL.Query().Get("from"))
	to, _ := strconv.Atoi(r.URL.Query().Get("to"))
	if len(all) >= 2 && (from == 0 || to == 0) {
		from, to = all[len(all)-2].Version, all[len(all)-1].Version
	}
	data["From"], data["To"] = from, to
	var a, b string
	for _, sv := range all {
		if sv.Version == from {
			a = sv.Pretty
		}
		if sv.Version == to {
			b = sv.Pretty
		}
	}
	if a != "" && b != "" {
		data["Diff"] = diffLines(strings.Split(a, "\n"), strings.Split(b, "\n"))
	}
	s.render(w, r, "subject", data)
}

// diffLines is a longest-common-subsequence line diff (schemas are small).
func diffLines(a, b []string) []DiffLine {
	n, m := len(a), len(b)
	l := make([][]int, n+1)
	for i := range l {
		l[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var out []DiffLine
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, DiffLine{" ", a[i]})
			i, j = i+1, j+1
		case l[i+1][j] >= l[i][j+1]:
			out = append(out, DiffLine{"-", a[i]})
			i++
		default:
			out = append(out, DiffLine{"+", b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, DiffLine{"-", a[i]})
	}
	for ; j < m; j++ {
		out = append(out, DiffLine{"+", b[j]})
	}
	return out
}

// types is this build's event types (none in a generic console).
func (s *Server) types() []serde.Type {
	if s.cfg.Types == nil {
		return nil
	}
	return s.cfg.Types.Types()
}
