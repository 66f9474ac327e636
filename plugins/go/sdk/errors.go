package sdk

import (
	"fmt"

	"github.com/openkcm/keystore/plugins/go/sdk/pluginv1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a failure of the contract's kinds. Return one of the constructors below from a
// Backend method; the host sees it as the Java exception of the same meaning. Any other error
// reaches the host as unavailable.
type Error struct {
	Code    codes.Code
	Message string
	detail  *pluginv1.KeystoreError
}

func (e *Error) Error() string { return e.Message }

// GRPCStatus makes the error a gRPC status, with its detail, when it crosses the wire.
func (e *Error) GRPCStatus() *status.Status {
	s := status.New(e.Code, e.Message)
	if e.detail != nil {
		if with, err := s.WithDetails(e.detail); err == nil {
			return with
		}
	}
	return s
}

// NotFound: the key is not stored.
func NotFound(id KeyID) *Error {
	return &Error{Code: codes.NotFound, Message: fmt.Sprintf("key %s not found", id)}
}

// Exists: a different record is stored under the id (keys are create-only).
func Exists(id KeyID) *Error {
	return &Error{Code: codes.AlreadyExists,
		Message: fmt.Sprintf("key %s already exists with a different record; keys are create-only", id)}
}

// Conflict: a compare-and-set found another revision than the caller expected.
func Conflict(id KeyID, expected, stored int64) *Error {
	return &Error{Code: codes.Aborted,
		Message: fmt.Sprintf("revision conflict on key %s: expected revision %d but the stored revision is %d", id, expected, stored),
		detail:  &pluginv1.KeystoreError{ExpectedRevision: expected, StoredRevision: stored}}
}

// Invalid: input broke a rule; field names it (e.g. "metadata.id", "filter.cursor").
func Invalid(field, rule string) *Error {
	return &Error{Code: codes.InvalidArgument, Message: fmt.Sprintf("invalid %s: %s", field, rule),
		detail: &pluginv1.KeystoreError{Field: field, Rule: rule}}
}

// Unavailable: the backend cannot serve now; a retry later may succeed.
func Unavailable(format string, args ...any) *Error {
	return &Error{Code: codes.Unavailable, Message: fmt.Sprintf(format, args...)}
}

// Refused: a policy of the backend refuses the request.
func Refused(format string, args ...any) *Error {
	return &Error{Code: codes.PermissionDenied, Message: fmt.Sprintf(format, args...)}
}

// Integrity: a stored record failed an integrity check.
func Integrity(format string, args ...any) *Error {
	return &Error{Code: codes.DataLoss, Message: fmt.Sprintf(format, args...)}
}
