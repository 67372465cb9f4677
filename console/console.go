package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/upcasters"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ErrConfig: the console's configuration is incomplete.
var ErrConfig = errors.New("console: invalid configuration")

// LagFunc reads consumer-group lag for topics starting with prefix. The
// strata CLI passes its `consumers lag` function.
type LagFunc func(ctx context.Context, kc messaging.KafkaConfig, prefix string) ([]GroupLag, error)

// GroupLag is one consumer group's position on one partition.
type GroupLag struct {
	Group     string
	Topic     string
	Partition int32
	Committed int64
	High      int64
	Lag       int64
}

// SchemaRegistry is what the console asks the schema registry (the
// *srclient.SchemaRegistryClient of package registry/client has it all).
type SchemaRegistry interface {
	messaging.Registry
	GetSubjects() ([]string, error)
	GetSchemaVersions(subject string) ([]int, error)
	GetSchemaByVersion(subject string, version int) (*srclient.Schema, error)
	GetCompatibilityLevel(subject string, defaultToGlobal bool) (*srclient.CompatibilityLevel, error)
	GetGlobalCompatibilityLevel() (*srclient.CompatibilityLevel, error)
}

var _ SchemaRegistry = (*srclient.SchemaRegistryClient)(nil)

// Config is what the console reads and, with AllowWrite, repairs.
type Config struct {
	Pool        *pgxpool.Pool           // the event store's database (events, sagas, read models); required
	Store       *eventstore.Store       // required
	Types       *serde.Registry         // today's event types; nil: events are shown as written (writer schema only)
	Upcaster    *upcasters.Upcaster     // writer schema -> today's type; with Types and Projections it enables rebuilds
	Projections []projection.Projection // the projector's projections; none: status of every projection, no rebuild
	Kafka       messaging.KafkaConfig   // nil: the consumer and DLQ pages say Kafka is not configured
	Registry    SchemaRegistry          // decodes dead letters, lists subjects; nil without a registry
	TopicPrefix string                  // only topics (and their groups) with this prefix
	Lag         LagFunc                 // consumer lag; nil hides it
	Token       string                  // required: bearer token, basic-auth password or login cookie
	AllowWrite  bool                    // replay, retry, resolve, rebuild; read-only when false
	Logger      *slog.Logger
	Now         func() time.Time
	// LiveEvery is how often live values are pushed; default 1s.
	LiveEvery time.Duration
}

// Validate reports every problem with the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Pool == nil || c.Store == nil {
		errs = append(errs, fmt.Errorf("%w: Pool and Store are required", ErrConfig))
	}
	if (c.Types == nil) != (c.Upcaster == nil) {
		errs = append(errs, fmt.Errorf("%w: Types and Upcaster go together", ErrConfig))
	}
	if len(c.Projections) > 0 && c.Upcaster == nil {
		errs = append(errs, fmt.Errorf("%w: Projections need Types and Upcaster (a rebuild decodes events)", ErrConfig))
	}
	if len(c.Token) < 16 {
		errs = append(errs, fmt.Errorf("%w: Token must have at least 16 characters", ErrConfig))
	}
	return errors.Join(errs...)
}

// Server is the console: an http.Handler.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	pages    map[string]*template.Template
	runner   *projection.Runner
	rebuilds *rebuilds
	writers  sync.Map // eventstore.Fingerprint -> avro.Schema
}

// New builds the console.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LiveEvery <= 0 {
		cfg.LiveEvery = time.Second
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), pages: map[string]*template.Template{},
		runner: projection.NewRunner(cfg.Pool, cfg.Projections...), rebuilds: newRebuilds()}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	static, _ := fs.Sub(staticFS, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.logout)
	s.mux.HandleFunc("GET /{$}", s.home)
	s.routeEvents()
	s.routeConsumers()
	s.routeDLQ()
	s.routeSagas()
	s.routeProjections()
	s.routeSchemas()
	return s, nil
}

const cookieName = "strata_console"

// ServeHTTP checks credentials, then serves the page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
	if r.URL.Path == "/login" || strings.HasPrefix(r.URL.Path, "/static/") || s.authorized(r) {
		if r.Method == http.MethodPost && r.URL.Path != "/login" && !sameOrigin(r) {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		s.mux.ServeHTTP(w, r)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/html") && r.Method == http.MethodGet {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="strata console", charset="UTF-8"`)
	http.Error(w, "credentials required: a bearer token, basic auth or a login", http.StatusUnauthorized)
}

func (s *Server) authorized(r *http.Request) bool {
	var got string
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		got = strings.TrimPrefix(h, "Bearer ")
	} else if _, p, ok := r.BasicAuth(); ok {
		got = p
	} else if c, err := r.Cookie(cookieName); err == nil {
		got = c.Value
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) == 1
}

// sameOrigin refuses cross-site form posts (the login cookie would ride along).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		o = r.Header.Get("Referer")
	}
	if o == "" {
		return r.Header.Get("Sec-Fetch-Site") == "" || r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "login", map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	next := safeNext(r.PostFormValue("next"))
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("token")), []byte(s.cfg.Token)) != 1 {
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, r, "login", map[string]any{"Next": next, "Error": "That token is not the console's."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.cfg.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func safeNext(n string) string {
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") {
		return "/"
	}
	return n
}

// ListenAndServe serves the console on addr until ctx ends; ready (may be
// nil) is called with the bound address. Only loopback addresses are allowed.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(string)) error {
	if err := CheckAddr(addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("console listen: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		s.rebuilds.wait()
		return nil
	}
}

// CheckAddr refuses a listen address that is not a loopback one.
func CheckAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: console address %q: %w", ErrConfig, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%w: console address %q is not a loopback address", ErrConfig, addr)
	}
	return nil
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/events", http.StatusSeeOther)
}

// writeGuard answers 403 unless write actions are allowed.
func (s *Server) writeGuard(w http.ResponseWriter) bool {
	if !s.cfg.AllowWrite {
		http.Error(w, "the console is read-only: start it with --allow-write to repair", http.StatusForbidden)
		return false
	}
	return true
}
