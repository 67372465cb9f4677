package observe

import (
	"context"
	"io"
	"log/slog"
)

type ctxKey int

const (
	keyCorrelation ctxKey = iota
	keyCausation
	keyUser
)

// WithCorrelation returns ctx carrying the correlation id and causation id
// (either may be empty, which leaves the existing value in place).
func WithCorrelation(ctx context.Context, correlationID, causationID string) context.Context {
	if correlationID != "" {
		ctx = context.WithValue(ctx, keyCorrelation, correlationID)
	}
	if causationID != "" {
		ctx = context.WithValue(ctx, keyCausation, causationID)
	}
	return ctx
}

// WithUser returns ctx carrying the id of the user on whose behalf it runs.
func WithUser(ctx context.Context, userID string) context.Context {
	if userID == "" {
		return ctx
	}
	return context.WithValue(ctx, keyUser, userID)
}

// CorrelationID returns the correlation id carried by ctx, or "".
func CorrelationID(ctx context.Context) string { s, _ := ctx.Value(keyCorrelation).(string); return s }

// CausationID returns the causation id carried by ctx, or "".
func CausationID(ctx context.Context) string { s, _ := ctx.Value(keyCausation).(string); return s }

// UserID returns the user id carried by ctx, or "".
func UserID(ctx context.Context) string { s, _ := ctx.Value(keyUser).(string); return s }

// NewLogger returns a JSON slog logger writing to w at level; records logged
// with a context get correlation_id, causation_id, user_id and trace_id
// attributes from it.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(NewHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}

// NewHandler wraps next so that records gain the correlation attributes of
// their context.
func NewHandler(next slog.Handler) slog.Handler { return ctxHandler{next} }

type ctxHandler struct{ next slog.Handler }

func (h ctxHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if v := CorrelationID(ctx); v != "" {
			r.AddAttrs(slog.String("correlation_id", v))
		}
		if v := CausationID(ctx); v != "" {
			r.AddAttrs(slog.String("causation_id", v))
		}
		if v := UserID(ctx); v != "" {
			r.AddAttrs(slog.String("user_id", v))
		}
		if v := TraceID(ctx); v != "" {
			r.AddAttrs(slog.String("trace_id", v))
		}
	}
	return h.next.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(a []slog.Attr) slog.Handler { return ctxHandler{h.next.WithAttrs(a)} }
func (h ctxHandler) WithGroup(n string) slog.Handler      { return ctxHandler{h.next.WithGroup(n)} }
