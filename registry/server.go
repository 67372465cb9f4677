package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ContentType is what the server answers with; requests may use it,
// application/vnd.schemaregistry+json, application/json or none.
const ContentType = "application/vnd.schemaregistry.v1+json"

// maxBody bounds a request body.
const maxBody = 16 << 20

// Server is the Confluent Schema Registry REST API over a Store.
type Server struct {
	store *Store
	log   *slog.Logger
	mux   *http.ServeMux
}

var _ http.Handler = (*Server)(nil)

// NewServer returns the HTTP handler of the registry API.
func NewServer(store *Store, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: store, log: log, mux: http.NewServeMux()}
	routes := map[string]func(r *http.Request) (any, error){
		"GET /{$}":                                                  func(*http.Request) (any, error) { return struct{}{}, nil },
		"GET /subjects":                                             s.subjects,
		"GET /subjects/{subject}/versions":                          s.versions,
		"POST /subjects/{subject}/versions":                         s.register,
		"GET /subjects/{subject}/versions/{version}":                s.version,
		"GET /subjects/{subject}/versions/{version}/referencedby":   s.referencedBy,
		"DELETE /subjects/{subject}/versions/{version}":             s.deleteVersion,
		"POST /subjects/{subject}":                                  s.lookup,
		"DELETE /subjects/{subject}":                                s.deleteSubject,
		"GET /schemas/ids/{id}":                                     s.schemaByID,
		"GET /schemas/ids/{id}/subjects":                            s.subjectsByID,
		"GET /schemas/ids/{id}/versions":                            s.versionsByID,
		"GET /schemas/types":                                        func(*http.Request) (any, error) { return []string{SchemaTypeAvro}, nil },
		"POST /compatibility/subjects/{subject}/versions/{version}": s.compatibility,
		"POST /compatibility/subjects/{subject}/versions":           s.compatibility,
		"GET /config":                                               s.getConfig,
		"GET /config/{subject}":                                     s.getConfig,
		"PUT /config":                                               s.putConfig,
		"PUT /config/{subject}":                                     s.putConfig,
		"DELETE /config":                                            s.deleteConfig,
		"DELETE /config/{subject}":                                  s.deleteConfig,
		"GET /mode":                                                 s.getMode,
		"GET /mode/{subject}":                                       s.getMode,
		"PUT /mode":                                                 s.putMode,
		"PUT /mode/{subject}":                                       s.putMode,
		"DELETE /mode":                                              s.deleteMode,
		"DELETE /mode/{subject}":                                    s.deleteMode,
	}
	for pattern, h := range routes {
		s.mux.Handle(pattern, s.json(h))
	}
	s.mux.Handle("GET /subjects/{subject}/versions/{version}/schema", s.raw(s.rawVersion))
	s.mux.Handle("GET /schemas/ids/{id}/schema", s.raw(s.rawSchemaByID))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.write(w, r, time.Now(), nil, newError(CodeNotFound, "HTTP 404 Not Found"))
	})
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) json(h func(r *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		v, err := h(r)
		s.write(w, r, start, v, err)
	})
}

// raw serves a schema's text as is (GET .../schema).
func (s *Server) raw(h func(r *http.Request) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		text, err := h(r)
		if err != nil {
			s.write(w, r, start, nil, err)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		io.WriteString(w, text)
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", http.StatusOK, "elapsed", time.Since(start))
	})
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, start time.Time, v any, err error) {
	status := http.StatusOK
	if err != nil {
		var re *Error
		if !errors.As(err, &re) {
			re = newError(CodeStoreError, "Error in the backend data store")
		}
		status, v = re.Status(), re
		if status >= 500 {
			s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
		}
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Debug("write response", "err", err)
	}
	s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", status, "elapsed", time.Since(start))
}

func flag(r *http.Request, name string) bool {
	b, _ := strconv.ParseBool(r.URL.Query().Get(name))
	return b
}

// parseVersion reads a version path segment: a number in [1, 2^31-1],
// "latest" or -1.
func parseVersion(s string) (int, error) {
	if strings.EqualFold(s, "latest") || s == "-1" {
		return Latest, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > math.MaxInt32 {
		return 0, newError(CodeInvalidVersion, "The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", s)
	}
	return v, nil
}

func parseID(s string) (int, error) {
	id, err := strconv.Atoi(s)
	if err != nil || id < 0 || id > math.MaxInt32 {
		return 0, newError(CodeSchemaNotFound, "Schema %s not found", s)
	}
	return id, nil
}

// schemaRequest is the body of register, lookup and compatibility requests.
type schemaRequest struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType"`
	References []Reference `json:"references"`
	ID         int         `json:"id"`
	Version    int         `json:"version"`
}

func decode(r *http.Request, v any) error {
	body := http.MaxBytesReader(nil, r.Body, maxBody)
	if err := json.NewDecoder(body).Decode(v); err != nil {
		return newError(CodeBadRequest, "Unrecognized or malformed request body: %v", err)
	}
	return nil
}

// schemaResponse is a subject version, or a schema by id (no subject).
type schemaResponse struct {
	Subject    string      `json:"subject,omitempty"`
	Version    int         `json:"version,omitempty"`
	ID         int         `json:"id,omitempty"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
}

func versionResponse(sv SubjectVersion) schemaResponse {
	resp := schemaResponse{Subject: sv.Subject, Version: sv.Version, ID: sv.Schema.ID, References: sv.Schema.References, Schema: sv.Schema.Text}
	if sv.Schema.Type != SchemaTypeAvro {
		resp.SchemaType = sv.Schema.Type
	}
	return resp
}

func (s *Server) subjects(r *http.Request) (any, error) {
	subjects, err := s.store.Subjects(r.Context(), flag(r, "deleted"))
	if err != nil {
		return nil, err
	}
	out := []string{}
	prefix := r.URL.Query().Get("subjectPrefix")
	for _, sub := range subjects {
		if strings.HasPrefix(sub, prefix) {
			out = append(out, sub)
		}
	}
	return out, nil
}

func (s *Server) versions(r *http.Request) (any, error) {
	return s.store.Versions(r.Context(), r.PathValue("subject"), flag(r, "deleted"))
}

func (s *Server) subjectVersion(r *http.Request) (SubjectVersion, error) {
	v, err := parseVersion(r.PathValue("version"))
	if err != nil {
		return SubjectVersion{}, err
	}
	return s.store.Version(r.Context(), r.PathValue("subject"), v, flag(r, "deleted"))
}

func (s *Server) version(r *http.Request) (any, error) {
	sv, err := s.subjectVersion(r)
	if err != nil {
		return nil, err
	}
	return versionResponse(sv), nil
}

func (s *Server) rawVersion(r *http.Request) (string, error) {
	sv, err := s.subjectVersion(r)
	if err != nil {
		return "", err
	}
	return sv.Schema.Text, nil
}

func (s *Server) referencedBy(r *http.Request) (any, error) {
	v, err := parseVersion(r.PathValue("version"))
	if err != nil {
		return nil, err
	}
	ids, err := s.store.ReferencedBy(r.Context(), r.PathValue("subject"), v)
	if ids == nil && err == nil {
		ids = []int{}
	}
	return ids, err
}

func (s *Server) register(r *http.Request) (any, error) {
	var req schemaRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	subject := r.PathValue("subject")
	id, version, err := s.store.Register(r.Context(), RegisterRequest{
		Subject: subject, Schema: req.Schema, SchemaType: req.SchemaType, References: req.References,
		ID: req.ID, Version: req.Version,
	})
	if err != nil {
		var re *Error
		if errors.As(err, &re) && re.Code == CodeIncompatibleSchema {
			s.log.Info("refused incompatible schema", "subject", subject, "err", re.Message)
		}
		return nil, err
	}
	s.log.Info("registered schema", "subject", subject, "id", id, "version", version)
	return struct {
		ID int `json:"id"`
	}{id}, nil
}

func (s *Server) lookup(r *http.Request) (any, error) {
	var req schemaRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	sv, err := s.store.Lookup(r.Context(), LookupRequest{
		Subject: r.PathValue("subject"), Schema: req.Schema, SchemaType: req.SchemaType,
		References: req.References, Deleted: flag(r, "deleted"),
	})
	if err != nil {
		return nil, err
	}
	return versionResponse(sv), nil
}

func (s *Server) deleteSubject(r *http.Request) (any, error) {
	return s.store.DeleteSubject(r.Context(), r.PathValue("subject"), flag(r, "permanent"))
}

func (s *Server) deleteVersion(r *http.Request) (any, error) {
	v, err := parseVersion(r.PathValue("version"))
	if err != nil {
		return nil, err
	}
	return s.store.DeleteVersion(r.Context(), r.PathValue("subject"), v, flag(r, "permanent"))
}

func (s *Server) schema(r *http.Request) (*Schema, error) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.store.SchemaByID(r.Context(), id)
}

func (s *Server) schemaByID(r *http.Request) (any, error) {
	sc, err := s.schema(r)
	if err != nil {
		return nil, err
	}
	resp := schemaResponse{Schema: sc.Text, References: sc.References}
	if sc.Type != SchemaTypeAvro {
		resp.SchemaType = sc.Type
	}
	return resp, nil
}

func (s *Server) rawSchemaByID(r *http.Request) (string, error) {
	sc, err := s.schema(r)
	if err != nil {
		return "", err
	}
	return sc.Text, nil
}

func (s *Server) idVersions(r *http.Request) ([]SubjectVersion, error) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.store.VersionsByID(r.Context(), id, flag(r, "deleted"))
}

func (s *Server) subjectsByID(r *http.Request) (any, error) {
	svs, err := s.idVersions(r)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, sv := range svs {
		if len(out) == 0 || out[len(out)-1] != sv.Subject {
			out = append(out, sv.Subject)
		}
	}
	return out, nil
}

type subjectAndVersion struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

func (s *Server) versionsByID(r *http.Request) (any, error) {
	svs, err := s.idVersions(r)
	if err != nil {
		return nil, err
	}
	out := make([]subjectAndVersion, len(svs))
	for i, sv := range svs {
		out[i] = subjectAndVersion{sv.Subject, sv.Version}
	}
	return out, nil
}

type compatibilityResponse struct {
	IsCompatible bool     `json:"is_compatible"`
	Messages     []string `json:"messages,omitempty"`
}

func (s *Server) compatibility(r *http.Request) (any, error) {
	version := 0
	if vs := r.PathValue("version"); vs != "" {
		v, err := parseVersion(vs)
		if err != nil {
			return nil, err
		}
		version = v
	}
	var req schemaRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	problems, level, err := s.store.CheckCompatibility(r.Context(), CompatibilityRequest{
		Subject: r.PathValue("subject"), Schema: req.Schema, SchemaType: req.SchemaType,
		References: req.References, Version: version,
	})
	if err != nil {
		return nil, err
	}
	resp := compatibilityResponse{IsCompatible: len(problems) == 0}
	if flag(r, "verbose") {
		resp.Messages = append(problems, fmt.Sprintf("{compatibility:'%s'}", level))
		if resp.IsCompatible {
			resp.Messages = []string{}
		}
	}
	return resp, nil
}

type configResponse struct {
	CompatibilityLevel string `json:"compatibilityLevel"`
}

type configUpdate struct {
	Compatibility string `json:"compatibility"`
}

func (s *Server) getConfig(r *http.Request) (any, error) {
	l, err := s.store.Config(r.Context(), r.PathValue("subject"), flag(r, "defaultToGlobal"))
	return configResponse{string(l)}, err
}

func (s *Server) putConfig(r *http.Request) (any, error) {
	var req configUpdate
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	l, err := s.store.SetConfig(r.Context(), r.PathValue("subject"), req.Compatibility)
	if err != nil {
		return nil, err
	}
	s.log.Info("set compatibility level", "subject", r.PathValue("subject"), "level", l)
	return configUpdate{string(l)}, nil
}

func (s *Server) deleteConfig(r *http.Request) (any, error) {
	l, err := s.store.DeleteConfig(r.Context(), r.PathValue("subject"))
	return configResponse{string(l)}, err
}

type modeBody struct {
	Mode string `json:"mode"`
}

func (s *Server) getMode(r *http.Request) (any, error) {
	m, err := s.store.Mode(r.Context(), r.PathValue("subject"), flag(r, "defaultToGlobal"))
	return modeBody{m}, err
}

func (s *Server) putMode(r *http.Request) (any, error) {
	var req modeBody
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	m, err := s.store.SetMode(r.Context(), r.PathValue("subject"), req.Mode, flag(r, "force"))
	if err != nil {
		return nil, err
	}
	s.log.Info("set mode", "subject", r.PathValue("subject"), "mode", m)
	return modeBody{m}, nil
}

func (s *Server) deleteMode(r *http.Request) (any, error) {
	m, err := s.store.DeleteMode(r.Context(), r.PathValue("subject"))
	return modeBody{m}, err
}
