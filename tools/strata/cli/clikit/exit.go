package clikit

import (
	"errors"
	"fmt"
	"io"
)

// Exit codes shared by every command.
const (
	ExitOK    = 0 // success; also help that was asked for
	ExitFail  = 1 // the command ran and found a problem (incompatible schema, lag over limit, ...)
	ExitUsage = 2 // bad flags or arguments, unreadable input or an unreachable dependency
)

// IO is what a command reads and writes (for commands written as
// func(ctx, IO, args) int; see Legacy).
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// UsageError is a bad invocation: the runner prints it and the command's
// usage on stderr and exits 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitError ends the program with Code. A nil Err prints nothing (the command
// already said what went wrong).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Exit returns an error that ends the program with code (0: success) after
// printing err, when err is not nil.
func Exit(code int, err error) error {
	return &ExitError{Code: code, Err: err}
}

// ExitCode is the exit code for err returned by a command's RunE.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if ee, ok := errors.AsType[*ExitError](err); ok {
		return ee.Code
	}
	if _, ok := errors.AsType[*UsageError](err); ok {
		return ExitUsage
	}
	return ExitFail
}

// Unavailable is exit 2 without usage: input that cannot be read or a
// dependency (database, Kafka, registry) that cannot be reached.
func Unavailable(err error) error {
	return &ExitError{Code: ExitUsage, Err: err}
}
