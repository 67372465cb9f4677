package registry

import (
	"errors"
	"fmt"
	"net/http"
)

// Confluent Schema Registry error codes. The HTTP status of a five-digit code is
// its first three digits; 409 (incompatible schema) is its own status.
const (
	CodeSubjectNotFound           = 40401
	CodeVersionNotFound           = 40402
	CodeSchemaNotFound            = 40403
	CodeSubjectSoftDeleted        = 40404
	CodeSubjectNotSoftDeleted     = 40405
	CodeVersionSoftDeleted        = 40406
	CodeVersionNotSoftDeleted     = 40407
	CodeSubjectConfigNotFound     = 40408
	CodeSubjectModeNotFound       = 40409
	CodeIncompatibleSchema        = 409
	CodeInvalidSchema             = 42201
	CodeInvalidVersion            = 42202
	CodeInvalidCompatibilityLevel = 42203
	CodeInvalidMode               = 42204
	CodeOperationNotPermitted     = 42205
	CodeReferenceExists           = 42206
	CodeBadRequest                = 400
	CodeNotFound                  = 404
	CodeStoreError                = 50001
)

// ErrNotFound is what every "... not found" Error unwraps to, ErrInvalid what
// every rejected input unwraps to, and ErrIncompatible what a schema refused by
// the compatibility rules unwraps to. Use errors.Is on them; use errors.As with
// *Error for the Confluent code.
var (
	ErrNotFound     = errors.New("registry: not found")
	ErrInvalid      = errors.New("registry: invalid request")
	ErrIncompatible = errors.New("registry: incompatible schema")
	ErrConflict     = errors.New("registry: operation not permitted in this state")
)

// Error is a registry error with its Confluent error code. Its JSON form is the
// body Confluent's clients parse: {"error_code":N,"message":"..."}.
type Error struct {
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("registry: %d: %s", e.Code, e.Message) }

// Status is the HTTP status the code is sent with.
func (e *Error) Status() int {
	switch {
	case e.Code >= 10000:
		return e.Code / 100
	case e.Code >= 100 && e.Code < 600:
		return e.Code
	default:
		return http.StatusInternalServerError
	}
}

// Unwrap returns the sentinel the code belongs to.
func (e *Error) Unwrap() error {
	switch s := e.Status(); {
	case s == http.StatusNotFound:
		return ErrNotFound
	case s == http.StatusConflict:
		return ErrIncompatible
	case e.Code == CodeOperationNotPermitted || e.Code == CodeReferenceExists:
		return ErrConflict
	case s == http.StatusUnprocessableEntity || s == http.StatusBadRequest:
		return ErrInvalid
	default:
		return nil
	}
}

func newError(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func errSubjectNotFound(subject string) *Error {
	return newError(CodeSubjectNotFound, "Subject '%s' not found.", subject)
}

func errVersionNotFound(subject string, version int) *Error {
	return newError(CodeVersionNotFound, "Version %d not found for subject '%s'.", version, subject)
}

func errSchemaNotFound() *Error { return newError(CodeSchemaNotFound, "Schema not found") }
