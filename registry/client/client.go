package client

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/riferrei/srclient"
)

// Environment variables FromEnv reads.
const (
	EnvURL               = "SCHEMA_REGISTRY_URL"
	EnvBasicAuthUserInfo = "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO"
	EnvBasicAuthFile     = "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO_FILE"
	EnvBearerToken       = "SCHEMA_REGISTRY_BEARER_TOKEN"
	EnvBearerTokenFile   = "SCHEMA_REGISTRY_BEARER_TOKEN_FILE"
	EnvTLSCA             = "SCHEMA_REGISTRY_TLS_CA"
	EnvTLSCert           = "SCHEMA_REGISTRY_TLS_CERT"
	EnvTLSKey            = "SCHEMA_REGISTRY_TLS_KEY"
	EnvTLSServerName     = "SCHEMA_REGISTRY_TLS_SERVER_NAME"
	EnvTimeout           = "SCHEMA_REGISTRY_TIMEOUT"
)

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// ErrConfig is what every configuration problem unwraps to.
var ErrConfig = errors.New("schema registry client: bad configuration")

// Config says how to reach a registry.
type Config struct {
	URL string
	// Username and Password: HTTP basic authentication.
	Username, Password string
	// BearerToken: "Authorization: Bearer ..." (not with basic auth).
	BearerToken string
	TLS         TLSConfig
	// Timeout bounds one request; zero means DefaultTimeout.
	Timeout time.Duration
}

// TLSConfig holds the TLS settings; all are optional (an https URL with none
// verifies the server against the system's CAs).
type TLSConfig struct {
	CAFile     string // PEM CAs to trust instead of the system's
	CertFile   string // PEM client certificate (with KeyFile)
	KeyFile    string
	ServerName string // verify the server's certificate against this name
}

func (t TLSConfig) isZero() bool { return t == TLSConfig{} }

// FromEnv reads the configuration from the environment (see the package doc).
// A missing SCHEMA_REGISTRY_URL is not an error here: Validate reports it.
func FromEnv() (Config, error) { return FromLookup(os.Getenv) }

// FromLookup is FromEnv with another source of variables (tests, env files).
func FromLookup(getenv func(string) string) (Config, error) {
	cfg := Config{
		URL:         strings.TrimSpace(getenv(EnvURL)),
		BearerToken: strings.TrimSpace(getenv(EnvBearerToken)),
		TLS: TLSConfig{
			CAFile: getenv(EnvTLSCA), CertFile: getenv(EnvTLSCert), KeyFile: getenv(EnvTLSKey),
			ServerName: getenv(EnvTLSServerName),
		},
	}
	var errs []error
	userInfo := getenv(EnvBasicAuthUserInfo)
	if f := getenv(EnvBasicAuthFile); f != "" {
		if userInfo != "" {
			errs = append(errs, fmt.Errorf("%w: set %s or %s, not both", ErrConfig, EnvBasicAuthUserInfo, EnvBasicAuthFile))
		}
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrConfig, EnvBasicAuthFile, err))
		}
		userInfo = strings.TrimSpace(string(b))
	}
	if userInfo != "" {
		user, pass, ok := strings.Cut(userInfo, ":")
		if !ok || user == "" || pass == "" {
			errs = append(errs, fmt.Errorf("%w: basic-auth user info must be user:password", ErrConfig))
		}
		cfg.Username, cfg.Password = user, pass
	}
	if f := getenv(EnvBearerTokenFile); f != "" {
		if cfg.BearerToken != "" {
			errs = append(errs, fmt.Errorf("%w: set %s or %s, not both", ErrConfig, EnvBearerToken, EnvBearerTokenFile))
		}
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrConfig, EnvBearerTokenFile, err))
		}
		cfg.BearerToken = strings.TrimSpace(string(b))
	}
	if s := getenv(EnvTimeout); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%w: %s=%q is not a positive duration", ErrConfig, EnvTimeout, s))
		}
		cfg.Timeout = d
	}
	if err := cfg.takeURLUserInfo(); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

// takeURLUserInfo moves credentials written in the URL (Confluent's "URL"
// credentials source) into Username and Password, so the URL can be logged.
func (c *Config) takeURLUserInfo() error {
	if c.URL == "" {
		return nil
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.User == nil {
		return nil // Validate reports a bad URL
	}
	pass, _ := u.User.Password()
	if c.Username != "" || c.BearerToken != "" {
		return fmt.Errorf("%w: credentials both in %s and in the URL", ErrConfig, EnvURL)
	}
	c.Username, c.Password = u.User.Username(), pass
	u.User = nil
	c.URL = u.String()
	return nil
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, fmt.Errorf("%w: no registry URL (set %s)", ErrConfig, EnvURL))
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%w: registry URL %q is not an http(s) URL", ErrConfig, c.URL))
	} else if u.Scheme == "http" && !c.TLS.isZero() {
		errs = append(errs, fmt.Errorf("%w: TLS settings given for the plain-http URL %s", ErrConfig, c.URL))
	} else if u.User != nil && (c.Username != "" || c.BearerToken != "") {
		errs = append(errs, fmt.Errorf("%w: credentials both in the URL and in the configuration", ErrConfig))
	}
	if (c.Username == "") != (c.Password == "") {
		errs = append(errs, fmt.Errorf("%w: basic auth needs both a user and a password", ErrConfig))
	}
	if c.Username != "" && c.BearerToken != "" {
		errs = append(errs, fmt.Errorf("%w: basic auth and a bearer token are exclusive", ErrConfig))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, fmt.Errorf("%w: a TLS client certificate needs both %s and %s", ErrConfig, EnvTLSCert, EnvTLSKey))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%w: negative timeout", ErrConfig))
	}
	return errors.Join(errs...)
}

// Redacted is the URL and the kind of credentials, for logs.
func (c Config) Redacted() string {
	s := c.URL
	switch {
	case c.Username != "":
		s += " (basic auth as " + c.Username + ")"
	case c.BearerToken != "":
		s += " (bearer token)"
	}
	if !c.TLS.isZero() {
		s += " (TLS settings)"
	}
	return s
}

// Option adjusts the client New builds.
type Option func(*options)

type options struct{ noCache bool }

// WithoutCache makes every call ask the registry (the CLI's commands want the
// registry's current state); by default srclient caches schemas by id and by
// subject version, which never change.
func WithoutCache() Option { return func(o *options) { o.noCache = true } }

// New returns an srclient client for cfg: credentials through SetCredentials
// or SetBearerToken, TLS and the timeout through WithClient, goavro codec
// creation off (Strata decodes with hamba/avro).
func New(cfg Config, opts ...Option) (*srclient.SchemaRegistryClient, error) {
	if err := cfg.takeURLUserInfo(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	hc, err := HTTPClient(cfg)
	if err != nil {
		return nil, err
	}
	c := srclient.NewSchemaRegistryClient(strings.TrimRight(cfg.URL, "/"), srclient.WithClient(hc))
	c.CodecCreationEnabled(false)
	c.CachingEnabled(!o.noCache)
	if cfg.Username != "" {
		c.SetCredentials(cfg.Username, cfg.Password)
	}
	if cfg.BearerToken != "" {
		c.SetBearerToken(cfg.BearerToken)
	}
	return c, nil
}

// NewFromEnv is FromEnv then New, with defaultURL when SCHEMA_REGISTRY_URL is
// unset ("" makes it required).
func NewFromEnv(defaultURL string, opts ...Option) (*srclient.SchemaRegistryClient, error) {
	cfg, err := FromEnv()
	if err != nil {
		return nil, err
	}
	if cfg.URL == "" {
		cfg.URL = defaultURL
	}
	return New(cfg, opts...)
}

// HTTPClient is the *http.Client New gives srclient: cfg's TLS settings and
// timeout, and error answers normalised to Confluent's JSON. It carries no
// credentials (Authorize adds them to a request of your own).
func HTTPClient(cfg Config) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if !cfg.TLS.isZero() {
		tc, err := cfg.TLS.config()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{Timeout: timeout, Transport: confluentErrors{tr}}, nil
}

// Authorize sets cfg's credentials on a request built outside srclient (the
// mode and import endpoints srclient does not cover, readiness checks).
func (c Config) Authorize(req *http.Request) {
	switch {
	case c.Username != "":
		req.SetBasicAuth(c.Username, c.Password)
	case c.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+c.BearerToken)
	}
}

func (t TLSConfig) config() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: TLS CA: %w", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: TLS CA %s holds no PEM certificate", ErrConfig, t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: TLS client certificate: %w", ErrConfig, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// confluentErrors rewrites an error answer whose body is not Confluent's
// {"error_code", "message"} (a proxy's 401 page, a 502) into that form, with
// the HTTP status as the code, so srclient always returns an srclient.Error.
type confluentErrors struct{ next http.RoundTripper }

func (t confluentErrors) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 300 {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	var probe struct {
		Code *int `json:"error_code"`
	}
	if rerr == nil && json.Unmarshal(body, &probe) == nil && probe.Code != nil {
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" || len(msg) > 512 {
		msg = resp.Status
	}
	fixed, _ := json.Marshal(struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}{resp.StatusCode, msg})
	resp.Body = io.NopCloser(bytes.NewReader(fixed))
	resp.ContentLength = int64(len(fixed))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// ForURL is FromEnv then New with the URL replaced by url when url is not
// empty: credentials and TLS settings still come from the environment. It
// serves components whose configuration carries the registry URL apart.
func ForURL(url string, opts ...Option) (*srclient.SchemaRegistryClient, error) {
	cfg, err := FromEnv()
	if err != nil {
		return nil, err
	}
	if url != "" {
		cfg.URL = url
	}
	return New(cfg, opts...)
}
