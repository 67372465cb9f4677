package console

import (
	"errors"
	"net/http"
	"time"

	"github.com/stratahq/strata/saga"
)

func (s *Server) routeSagas() {
	s.mux.HandleFunc("GET /sagas", s.sagasPage)
	s.mux.HandleFunc("GET /sagas/{id}", s.sagaPage)
	s.mux.HandleFunc("GET /sagas/{id}/live", s.sagaLive)
	s.mux.HandleFunc("POST /sagas/{id}/retry", s.sagaRetry)
	s.mux.HandleFunc("POST /sagas/{id}/resolve", s.sagaResolve)
}

func (s *Server) sagasPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opt := saga.ListOptions{Status: saga.Status(q.Get("status")), Stuck: q.Get("stuck") != "", Now: s.cfg.Now(), Limit: 200}
	if d, err := time.ParseDuration(q.Get("stuck_after")); err == nil {
		opt.StuckAfter = d
	}
	data := map[string]any{"Title": "sagas", "Status": q.Get("status"), "Stuck": opt.Stuck, "StuckAfter": q.Get("stuck_after"),
		"Statuses": []saga.Status{saga.StatusRunning, saga.StatusCompensating, saga.StatusParked, saga.StatusCompleted, saga.StatusCompensated}}
	list, err := saga.List(r.Context(), s.cfg.Pool, opt)
	if err != nil {
		data["Error"] = err.Error()
	}
	data["Sagas"] = list
	byStatus := map[string]int{}
	if counts, err := saga.CountByStatus(r.Context(), s.cfg.Pool); err == nil {
		for k, n := range counts {
			byStatus[k[1]] += n
		}
	}
	data["Counts"] = byStatus
	s.render(w, r, "sagas", data)
}

func (s *Server) sagaPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	inst, steps, err := saga.Get(r.Context(), s.cfg.Pool, id)
	data := map[string]any{"Title": "saga " + id, "Saga": inst, "Steps": steps, "Flash": r.URL.Query().Get("flash")}
	if err != nil {
		if errors.Is(err, saga.ErrNotFound) {
			w.WriteHeader(http.StatusNotFound)
		}
		data["Error"] = err.Error()
		data["Saga"] = nil
	}
	s.render(w, r, "saga", data)
}

// sagaRetry is saga.Retry: a PARKED saga compensates again.
func (s *Server) sagaRetry(w http.ResponseWriter, r *http.Request) {
	if !s.writeGuard(w) {
		return
	}
	id := r.PathValue("id")
	if err := saga.Retry(r.Context(), s.cfg.Pool, id, s.cfg.Now().UTC()); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, saga.ErrNotParked) {
			status = http.StatusConflict
		}
		w.WriteHeader(status)
		inst, steps, _ := saga.Get(r.Context(), s.cfg.Pool, id)
		s.render(w, r, "saga", map[string]any{"Title": "saga " + id, "Saga": inst, "Steps": steps, "Error": err.Error()})
		return
	}
	s.cfg.Logger.Info("console: saga retry", "saga", id)
	http.Redirect(w, r, "/sagas/"+id+"?flash="+urlq("Retry requested: the orchestrator sends the failed compensation again."), http.StatusSeeOther)
}

// sagaLive pushes the saga's state and step log while the page is open.
func (s *Server) sagaLive(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.sse(w, r, "saga", "saga", "live", func() (map[string]any, error) {
		inst, steps, err := saga.Get(r.Context(), s.cfg.Pool, id)
		return map[string]any{"Saga": inst, "Steps": steps}, err
	})
}

// sagaResolve is saga.Resolve: an operator ends a PARKED saga by hand as
// COMPLETED or COMPENSATED, with a note, after putting things right outside it.
func (s *Server) sagaResolve(w http.ResponseWriter, r *http.Request) {
	if !s.writeGuard(w) {
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := r.PathValue("id")
	as, note := saga.Status(r.PostFormValue("as")), r.PostFormValue("note")
	if note == "" {
		http.Redirect(w, r, "/sagas/"+id+"?flash="+urlq("Say what was done by hand (the note) before resolving."), http.StatusSeeOther)
		return
	}
	if err := saga.Resolve(r.Context(), s.cfg.Pool, id, as, note, s.cfg.Now().UTC()); err != nil {
		w.WriteHeader(http.StatusConflict)
		inst, steps, _ := saga.Get(r.Context(), s.cfg.Pool, id)
		s.render(w, r, "saga", map[string]any{"Title": "saga " + id, "Saga": inst, "Steps": steps, "Error": err.Error()})
		return
	}
	s.cfg.Logger.Info("console: saga resolved", "saga", id, "as", as)
	http.Redirect(w, r, "/sagas/"+id+"?flash="+urlq("Resolved as "+string(as)+"."), http.StatusSeeOther)
}
