// Package bootstraptest serves a JSON Web Key Set over HTTP and signs tokens
// with its key, so a test can start a service whose gRPC server checks bearer
// tokens (bootstrap.GRPCConfig.JWKSURL) and call it as a given user.
//
//	iss := bootstraptest.NewIssuer(t)
//	cfg.GRPC = bootstrap.GRPCConfig{JWKSURL: iss.URL}
//	ctx = iss.Context(ctx, "user-7") // outgoing "authorization: Bearer <JWT sub=user-7>"
package bootstraptest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/metadata"
)

// Issuer is a test identity provider: an RSA key and its JWKS on an
// httptest server, closed when the test ends.
type Issuer struct {
	URL string // the JWKS URL
	Key *rsa.PrivateKey
	KID string
}

// NewIssuer starts the JWKS server for t.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{Key: key, KID: "test-key-1"}
	b64 := base64.RawURLEncoding.EncodeToString
	body, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": iss.KID, "alg": "RS256", "use": "sig",
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body) //nolint:errcheck
	}))
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	return iss
}

// Sign returns a signed RS256 token with the given claims (add "exp": a
// server requires it).
func (i *Issuer) Sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = i.KID
	s, err := tok.SignedString(i.Key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Token returns a token for subject sub, valid for an hour.
func (i *Issuer) Token(t testing.TB, sub string) string {
	return i.Sign(t, jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()})
}

// Context returns ctx with an outgoing bearer token for sub.
func (i *Issuer) Context(t testing.TB, ctx context.Context, sub string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+i.Token(t, sub))
}
