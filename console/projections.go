package console

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/stratahq/strata/projection"
)

func (s *Server) routeProjections() {
	s.mux.HandleFunc("GET /projections", s.projectionsPage)
	s.mux.HandleFunc("GET /projections/live", s.projectionsLive)
	s.mux.HandleFunc("POST /projections/{name}/rebuild", s.projectionRebuild)
}

// rebuilds tracks the rebuilds this console started.
type rebuilds struct {
	mu  sync.Mutex
	wg  sync.WaitGroup
	run map[string]*Rebuild
}

// Rebuild is a rebuild's last progress and, when done, its outcome.
type Rebuild struct {
	projection.Progress
	Started  time.Time
	Finished bool
	Err      string
	ETA      time.Duration // estimated time left (0 when unknown or done)
}

func newRebuilds() *rebuilds { return &rebuilds{run: map[string]*Rebuild{}} }

func (b *rebuilds) get(name string) (Rebuild, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.run[name]
	if !ok {
		return Rebuild{}, false
	}
	return *r, true
}

func (b *rebuilds) wait() { b.wg.Wait() }

// ProjectionRow is one projection's status and its rebuild, if any.
type ProjectionRow struct {
	projection.Status
	Rebuild    *Rebuild
	Rebuilding bool
}

func (s *Server) projectionRows(ctx context.Context) ([]ProjectionRow, error) {
	var sts []projection.Status
	var err error
	if s.canRebuild() {
		sts, err = s.runner.Status(ctx)
	} else {
		sts, err = projection.StatusAll(ctx, s.cfg.Pool)
	}
	if err != nil {
		return nil, err
	}
	out := make([]ProjectionRow, 0, len(sts))
	for _, st := range sts {
		row := ProjectionRow{Status: st}
		if rb, ok := s.rebuilds.get(st.Name); ok {
			row.Rebuild, row.Rebuilding = &rb, !rb.Finished
		}
		out = append(out, row)
	}
	return out, nil
}

func (s *Server) projectionsPage(w http.ResponseWriter, r *http.Request) {
	rows, err := s.projectionRows(r.Context())
	data := map[string]any{"Title": "projections", "Rows": rows, "Flash": r.URL.Query().Get("flash"), "CanRebuild": s.canRebuild()}
	if err != nil {
		data["Error"] = err.Error()
	}
	s.render(w, r, "projections", data)
}

func (s *Server) projectionsLive(w http.ResponseWriter, r *http.Request) {
	s.sse(w, r, "status", "projections", "rows", func() (map[string]any, error) {
		rows, err := s.projectionRows(r.Context())
		return map[string]any{"Rows": rows}, err
	})
}

// projectionRebuild starts projection.Runner.Rebuild in the background; the
// page follows its progress live. One rebuild per projection at a time (the
// runner also refuses a second one across processes).
func (s *Server) projectionRebuild(w http.ResponseWriter, r *http.Request) {
	if !s.writeGuard(w) {
		return
	}
	if !s.canRebuild() {
		http.Error(w, "this console has no projection code: rebuild with the projector binary (projector rebuild NAME, or serve projector console)", http.StatusNotImplemented)
		return
	}
	name := r.PathValue("name")
	if _, err := s.runner.Projection(name); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	b := s.rebuilds
	b.mu.Lock()
	if cur, ok := b.run[name]; ok && !cur.Finished {
		b.mu.Unlock()
		http.Redirect(w, r, "/projections?flash="+urlq("A rebuild of "+name+" is already running."), http.StatusSeeOther)
		return
	}
	rb := &Rebuild{Started: s.cfg.Now(), Progress: projection.Progress{Projection: name, Phase: "starting"}}
	b.run[name] = rb
	b.wg.Add(1)
	b.mu.Unlock()
	ctx := context.WithoutCancel(r.Context())
	go func() {
		defer b.wg.Done()
		final, err := s.runner.Rebuild(ctx, s.cfg.Store, s.cfg.Upcaster, name, projection.RebuildOptions{
			BatchSize: 200,
			Progress: func(p projection.Progress) {
				b.mu.Lock()
				defer b.mu.Unlock()
				rb.Progress = p
				if p.Done > 0 && p.Total > p.Done {
					rb.ETA = time.Duration(float64(p.Elapsed) * float64(p.Total-p.Done) / float64(p.Done))
				} else {
					rb.ETA = 0
				}
			},
		})
		b.mu.Lock()
		defer b.mu.Unlock()
		rb.Finished, rb.ETA = true, 0
		if err != nil {
			rb.Err = err.Error()
			if errors.Is(err, projection.ErrRebuildRunning) {
				rb.Err = "another rebuild of " + name + " is running (the CLI?)"
			}
			s.cfg.Logger.Error("console: rebuild", "projection", name, "err", err)
			return
		}
		rb.Progress = final
		rb.Phase = "swapped"
		s.cfg.Logger.Info("console: rebuild done", "projection", name, "events", final.Done, "elapsed", final.Elapsed)
	}()
	http.Redirect(w, r, "/projections?flash="+urlq("Rebuild of "+name+" started; progress below."), http.StatusSeeOther)
}

// canRebuild: the console was given the projections' code and a decoder.
func (s *Server) canRebuild() bool { return len(s.cfg.Projections) > 0 && s.cfg.Upcaster != nil }
