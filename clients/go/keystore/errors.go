package keystore

import (
	"errors"
	"fmt"
	"regexp"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The kinds of failure the keystore answers with, one per gRPC status code it uses. Test for them
// with errors.Is; errors.As with *Error gives the code, the server's message and, for
// ErrInvalidInput, the offending field.
var (
	ErrNotFound         = errors.New("keystore: not found")
	ErrExists           = errors.New("keystore: already exists")
	ErrConflict         = errors.New("keystore: conflict (revision changed)")
	ErrIntegrity        = errors.New("keystore: integrity check failed")
	ErrUnavailable      = errors.New("keystore: unavailable")
	ErrInvalidInput     = errors.New("keystore: invalid input")
	ErrRefused          = errors.New("keystore: refused by policy")
	ErrPermissionDenied = errors.New("keystore: permission denied")
	ErrUnauthenticated  = errors.New("keystore: unauthenticated")
)

// kinds maps each status code the server uses to its error; codes not listed keep only the status.
var kinds = map[codes.Code]error{
	codes.NotFound:           ErrNotFound,
	codes.AlreadyExists:      ErrExists,
	codes.Aborted:            ErrConflict,
	codes.DataLoss:           ErrIntegrity,
	codes.Unavailable:        ErrUnavailable,
	codes.InvalidArgument:    ErrInvalidInput,
	codes.FailedPrecondition: ErrRefused,
	codes.PermissionDenied:   ErrPermissionDenied,
	codes.Unauthenticated:    ErrUnauthenticated,
}

// Error is a failed call: the gRPC status, the kind it maps to, and the field an invalid input names.
type Error struct {
	Code    codes.Code
	Message string
	// Field is the request field an INVALID_ARGUMENT answer names ("" for other codes).
	Field string
	kind  error
	st    *status.Status
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%v: %s: %s", e.kind, e.Field, e.Message)
	}
	if e.kind == nil {
		return fmt.Sprintf("keystore: %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%v: %s", e.kind, e.Message)
}

// Unwrap makes errors.Is(err, ErrNotFound) and the like work.
func (e *Error) Unwrap() error { return e.kind }

// GRPCStatus keeps status.FromError and status.Code working on the mapped error.
func (e *Error) GRPCStatus() *status.Status { return e.st }

// mapError turns a status error from a call into an *Error; nil stays nil, and an error without a
// status (a cancelled context before the call, say) is returned as it is.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	return &Error{Code: st.Code(), Message: st.Message(), Field: field(st), kind: kinds[st.Code()], st: st}
}

// field is the field an INVALID_ARGUMENT answer names: the first of a google.rpc.BadRequest
// detail, else the one its message names ("invalid <field>[ of <key>]: <rule>", the keystore's wording).
func field(st *status.Status) string {
	if st.Code() != codes.InvalidArgument {
		return ""
	}
	for _, detail := range st.Details() {
		if bad, ok := detail.(*errdetails.BadRequest); ok && len(bad.GetFieldViolations()) > 0 {
			return bad.GetFieldViolations()[0].GetField()
		}
	}
	if named := invalidField.FindStringSubmatch(st.Message()); named != nil {
		return named[1]
	}
	return ""
}

var invalidField = regexp.MustCompile(`^invalid ([A-Za-z_][A-Za-z0-9_.\[\]]*)[ :]`)
