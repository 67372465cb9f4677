package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (s *Server) routeSchemas() {
	s.mux.HandleFunc("GET /schemas", s.schemasPage)
	s.mux.HandleFunc("GET /schemas/{subject}", s.subjectPage)
}

// registryGet reads one JSON document from the schema registry's REST API.
func (s *Server) registryGet(ctx context.Context, path string, v any) error {
	if s.cfg.RegistryURL == "" {
		return fmt.Errorf("no schema registry configured (--registry or SCHEMA_REGISTRY_URL)")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.cfg.RegistryURL, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("registry %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("registry %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// CatalogEntry is one event type this build knows.
type CatalogEntry struct {
	Name        string
	Fingerprint string
	Subject     string
}

func (s *Server) schemasPage(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{"Title": "schemas"}
	var subjects []string
	if err := s.registryGet(r.Context(), "/subjects", &subjects); err != nil {
		data["Error"] = err.Error()
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
	var global struct {
		Level string `json:"compatibilityLevel"`
	}
	if err := s.registryGet(r.Context(), "/config", &global); err == nil {
		data["Global"] = global.Level
	}
	var cat []CatalogEntry
	for _, t := range s.cfg.Types.Types() {
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
	esc := "/subjects/" + url.PathEscape(subject)
	data := map[string]any{"Title": "subject " + subject, "Subject": subject}
	var versions []int
	if err := s.registryGet(r.Context(), esc+"/versions", &versions); err != nil {
		data["Error"] = err.Error()
		s.render(w, r, "subject", data)
		return
	}
	var all []SchemaVersion
	for _, v := range versions {
		var sv SchemaVersion
		if err := s.registryGet(r.Context(), esc+"/versions/"+strconv.Itoa(v), &sv); err != nil {
			data["Error"] = err.Error()
			break
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
	var level struct {
		Level string `json:"compatibilityLevel"`
	}
	if err := s.registryGet(r.Context(), "/config/"+url.PathEscape(subject)+"?defaultToGlobal=true", &level); err == nil {
		data["Level"] = level.Level
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
