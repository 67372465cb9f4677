package client

import (
	"errors"
	"net/http"

	"github.com/riferrei/srclient"
)

// Code returns the registry's error code in err: Confluent's error_code
// (40401, 409, 42201, ...) or, for an answer that had none, the HTTP status.
// It is 0 when err is not an error answer of a registry (nil, a network
// failure, a timeout).
func Code(err error) int {
	var e srclient.Error
	if errors.As(err, &e) {
		return e.Code
	}
	var pe *srclient.Error
	if errors.As(err, &pe) && pe != nil {
		return pe.Code
	}
	return 0
}

// Message returns the registry's error message in err, else "".
func Message(err error) string {
	var e srclient.Error
	if errors.As(err, &e) {
		return e.Message
	}
	var pe *srclient.Error
	if errors.As(err, &pe) && pe != nil {
		return pe.Message
	}
	return ""
}

// Status is the HTTP status of a registry error code (40401 -> 404, 409 -> 409),
// 0 when err is not a registry answer.
func Status(err error) int {
	c := Code(err)
	switch {
	case c >= 10000:
		return c / 100
	case c >= 100 && c < 600:
		return c
	}
	return 0
}

// IsNotFound reports a 404: no such subject, version or schema.
func IsNotFound(err error) bool { return Status(err) == http.StatusNotFound }

// IsIncompatible reports a 409: the registry refused the schema under the
// subject's compatibility level.
func IsIncompatible(err error) bool { return Status(err) == http.StatusConflict }

// IsInvalid reports a 422 (invalid schema, version, level or mode; an
// operation the subject's mode forbids) or a 400.
func IsInvalid(err error) bool {
	s := Status(err)
	return s == http.StatusUnprocessableEntity || s == http.StatusBadRequest
}

// IsUnauthorized reports a 401 or 403: missing or refused credentials.
func IsUnauthorized(err error) bool {
	s := Status(err)
	return s == http.StatusUnauthorized || s == http.StatusForbidden
}

// IsRefusal reports an answer that repeating the same request will not
// change: the schema is incompatible or invalid, or the subject's mode
// forbids the operation (409, 422, 400). Network failures, 5xx and 401 are
// not refusals.
func IsRefusal(err error) bool { return IsIncompatible(err) || IsInvalid(err) }
