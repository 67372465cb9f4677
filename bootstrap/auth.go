package bootstrap

import (
	"context"
	"strings"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/stratahq/strata/observe"
)

// Identity is a caller verified by the gRPC server.
type Identity struct {
	Subject string // the JWT's "sub", or the client certificate's subject
	Method  string // "jwt" or "mtls"
}

type identityKey struct{}

// IdentityFrom returns the verified caller of a gRPC call, if the server
// authenticates (GRPCConfig.Authenticates). Handlers also find the subject
// as observe.UserID(ctx), which is what goes into event metadata.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// jwtAlgorithms are the signing algorithms accepted; "none" and HMAC (a
// shared secret in a public key set makes no sense) are not among them.
var jwtAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

type authenticator struct {
	keys   keyfunc.Keyfunc // nil: no bearer tokens
	parser *jwt.Parser
	mtls   bool
}

func newAuthenticator(ctx context.Context, cfg GRPCConfig) (*authenticator, error) {
	a := &authenticator{mtls: cfg.ClientCAFile != ""}
	if cfg.JWKSURL != "" {
		k, err := keyfunc.NewDefaultCtx(ctx, []string{cfg.JWKSURL})
		if err != nil {
			return nil, err
		}
		a.keys = k
		opts := []jwt.ParserOption{jwt.WithValidMethods(jwtAlgorithms), jwt.WithExpirationRequired()}
		if cfg.JWTIssuer != "" {
			opts = append(opts, jwt.WithIssuer(cfg.JWTIssuer))
		}
		if cfg.JWTAudience != "" {
			opts = append(opts, jwt.WithAudience(cfg.JWTAudience))
		}
		a.parser = jwt.NewParser(opts...)
	}
	return a, nil
}

// public methods need no identity: load balancers and orchestrators probe
// health (Check, Watch) without credentials.
func public(method string) bool {
	return method == healthpb.Health_Check_FullMethodName || method == healthpb.Health_Watch_FullMethodName
}

// authenticate returns ctx with the caller's identity and user id, or an
// Unauthenticated error. A bearer token, when sent, must be valid; without
// one, a verified client certificate identifies the caller.
func (a *authenticator) authenticate(ctx context.Context) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var id Identity
	if auth := md.Get("authorization"); len(auth) > 0 && a.keys != nil {
		raw, ok := strings.CutPrefix(auth[0], "Bearer ")
		if !ok {
			return ctx, status.Error(codes.Unauthenticated, "authorization: want a bearer token")
		}
		tok, err := a.parser.ParseWithClaims(strings.TrimSpace(raw), &jwt.RegisteredClaims{}, a.keys.KeyfuncCtx(ctx))
		if err != nil {
			return ctx, status.Error(codes.Unauthenticated, "invalid bearer token")
		}
		sub, _ := tok.Claims.GetSubject()
		if sub == "" {
			return ctx, status.Error(codes.Unauthenticated, "bearer token has no subject")
		}
		id = Identity{Subject: sub, Method: "jwt"}
	} else if sub := certSubject(ctx); a.mtls && sub != "" {
		id = Identity{Subject: sub, Method: "mtls"}
	} else {
		return ctx, status.Error(codes.Unauthenticated, "no credentials")
	}
	ctx = context.WithValue(ctx, identityKey{}, id)
	return observe.WithUser(ctx, id.Subject), nil
}

// certSubject is the verified client certificate's first URI SAN (a SPIFFE
// id, say), else its common name; "" without a verified certificate.
func certSubject(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return ""
	}
	leaf := ti.State.VerifiedChains[0][0]
	if len(leaf.URIs) > 0 {
		return leaf.URIs[0].String()
	}
	return leaf.Subject.CommonName
}

func (a *authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if public(info.FullMethod) {
		return handler(ctx, req)
	}
	ctx, err := a.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (a *authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if public(info.FullMethod) {
		return handler(srv, ss)
	}
	ctx, err := a.authenticate(ss.Context())
	if err != nil {
		return err
	}
	return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
