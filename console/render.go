package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05.000Z")
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
	"dur": func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"json": func(b json.RawMessage) string {
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "  "); err != nil {
			return string(b)
		}
		return out.String()
	},
	"pct": func(done, total int64) int64 {
		if total <= 0 {
			return 100
		}
		return min(100, 100*done/total)
	},
	"lower": strings.ToLower,
	"deref": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
	"navItems": func() []string { return []string{"events", "consumers", "dlq", "sagas", "projections", "schemas"} },
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:8] + "…"
		}
		return s
	},
}

// parseTemplates builds one template set per page: the layout plus the page
// (plus the shared partials).
func (s *Server) parseTemplates() error {
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		return err
	}
	for _, n := range names {
		name := strings.TrimSuffix(n.Name(), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n.Name())
		if err != nil {
			return fmt.Errorf("console template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return nil
}

// page is what every page template gets.
type page struct {
	Title      string
	Nav        string
	AllowWrite bool
	Flash      string
	Error      string
	Data       any
}

// render writes a whole page, or only its "content" block for htmx requests
// that target it.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	s.renderBlock(w, r, name, "layout", data)
}

func (s *Server) renderBlock(w http.ResponseWriter, r *http.Request, name, block string, data any) {
	t, ok := s.pages[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	p := page{Title: name, Nav: name, AllowWrite: s.cfg.AllowWrite, Data: data}
	if m, ok := data.(map[string]any); ok {
		if t, ok := m["Title"].(string); ok {
			p.Title = t
		}
		if f, ok := m["Flash"].(string); ok {
			p.Flash = f
		}
		if e, ok := m["Error"].(string); ok {
			p.Error = e
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, p); err != nil {
		s.cfg.Logger.Error("console render", "page", name, "block", block, "err", err)
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

// fragment renders a named block to a string (for server-sent events).
func (s *Server) fragment(name, block string, data any) (string, error) {
	var buf bytes.Buffer
	p := page{Nav: name, AllowWrite: s.cfg.AllowWrite, Data: data}
	if err := s.pages[name].ExecuteTemplate(&buf, block, p); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// sse streams a page's block: every s.cfg.LiveEvery it calls load and sends
// the block rendered with its data as the server-sent event named event,
// until the client goes away. A load error is sent as an alert.
func (s *Server) sse(w http.ResponseWriter, r *http.Request, event, name, block string, load func() (map[string]any, error)) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	t := time.NewTicker(s.cfg.LiveEvery)
	defer t.Stop()
	for {
		data, err := load()
		var html string
		if err == nil {
			html, err = s.fragment(name, block, data)
		}
		if err != nil {
			html = `<p class="error" role="alert">` + template.HTMLEscapeString(err.Error()) + `</p>`
		}
		fmt.Fprintf(w, "event: %s\n", event)
		for _, line := range strings.Split(html, "\n") {
			fmt.Fprintf(w, "data: %s\n", line)
		}
		fmt.Fprint(w, "\n")
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}

func urlq(s string) string { return url.QueryEscape(s) }
