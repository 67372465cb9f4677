package bootstrap

import (
	"context"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errPanic is what a caller sees of a handler's panic: the value and the
// stack may hold anything (SQL, customer data) and go to the log only.
var errPanic = status.Error(codes.Internal, "internal error")

func logPanic(ctx context.Context, log *slog.Logger, method string, v any) {
	log.ErrorContext(ctx, "gRPC handler panicked", "method", method, "panic", v, "stack", string(debug.Stack()))
}

func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if v := recover(); v != nil {
				logPanic(ctx, log, info.FullMethod, v)
				resp, err = nil, errPanic
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if v := recover(); v != nil {
				logPanic(ss.Context(), log, info.FullMethod, v)
				err = errPanic
			}
		}()
		return handler(srv, ss)
	}
}
