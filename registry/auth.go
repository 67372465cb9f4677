package registry

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// Users are the basic-auth credentials the server accepts: user -> password.
// An empty Users turns authentication off.
type Users map[string]string

// ParseUsers reads "user:password" lines (the password may contain colons);
// blank lines and lines starting with # are skipped.
func ParseUsers(r io.Reader) (Users, error) {
	users := Users{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, pass, ok := strings.Cut(line, ":")
		if !ok || user == "" || pass == "" {
			return nil, fmt.Errorf("registry: users line %d: want user:password", n)
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("registry: users line %d: user %q given twice", n, user)
		}
		users[user] = pass
	}
	return users, sc.Err()
}

// LoadUsers reads a users file (ParseUsers). Keep it readable by the
// registry's user only: it holds passwords.
func LoadUsers(path string) (Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("registry: users file: %w", err)
	}
	defer f.Close()
	return ParseUsers(f)
}

// BasicAuth serves next to requests carrying one of users' credentials and
// answers every other request 401 with Confluent's error body. With no users
// it returns next.
func BasicAuth(users Users, next http.Handler) http.Handler {
	if len(users) == 0 {
		return next
	}
	// Compare hashes so neither the length nor the content of a password leaks
	// through timing, and every user costs the same.
	sums := make(map[string][32]byte, len(users))
	for u, p := range users {
		sums[u] = sha256.Sum256([]byte(p))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		want, known := sums[user]
		got := sha256.Sum256([]byte(pass))
		if !ok || subtle.ConstantTimeCompare(want[:], got[:]) != 1 || !known {
			w.Header().Set("WWW-Authenticate", `Basic realm="strata-registry", charset="UTF-8"`)
			w.Header().Set("Content-Type", ContentType)
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error_code":401,"message":"Unauthorized"}`+"\n")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TLSFiles are the server's TLS settings: a certificate and key (PEM) turn
// TLS on; ClientCAFile additionally requires client certificates signed by
// those CAs (mutual TLS).
type TLSFiles struct {
	CertFile, KeyFile, ClientCAFile string
}

// Enabled reports whether TLS is configured.
func (t TLSFiles) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" || t.ClientCAFile != "" }

func (t TLSFiles) validate() error {
	if !t.Enabled() {
		return nil
	}
	if t.CertFile == "" || t.KeyFile == "" {
		return errors.New("registry: TLS needs both a certificate and a key file")
	}
	return nil
}

func (t TLSFiles) config() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("registry: TLS certificate: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("registry: TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("registry: TLS client CA %s holds no PEM certificate", t.ClientCAFile)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}
