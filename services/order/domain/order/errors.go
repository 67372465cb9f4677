package order

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; typed errors unwrap to them.
var (
	// ErrInvalid: a command's input breaks an invariant (see *ValidationError).
	ErrInvalid = errors.New("order: invalid")
	// ErrForbidden: the order's state does not allow the command (see *StateError).
	ErrForbidden = errors.New("order: not allowed in this state")
	// ErrNotFound: no such order.
	ErrNotFound = errors.New("order: not found")
)

// FieldViolation names one invalid input field.
type FieldViolation struct {
	Field       string // e.g. "items[1].quantity"
	Description string
}

// ValidationError lists every invalid field of a command.
type ValidationError struct{ Violations []FieldViolation }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	return "order: invalid: " + strings.Join(parts, "; ")
}

// Unwrap returns ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func (e *ValidationError) add(field, format string, args ...any) {
	e.Violations = append(e.Violations, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

func (e *ValidationError) orNil() error {
	if e == nil || len(e.Violations) == 0 {
		return nil
	}
	return e
}

// StateError says that Command is not allowed while the order is in State.
type StateError struct {
	Command string
	State   Status
}

func (e *StateError) Error() string {
	return fmt.Sprintf("order: cannot %s an order that is %s", e.Command, e.State)
}

// Unwrap returns ErrForbidden.
func (e *StateError) Unwrap() error { return ErrForbidden }
