package keystore

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The mapping alone, on status errors built here; the tests against the runtime show the server
// answers these codes.
func TestEveryCodeTheKeystoreUsesMapsToItsKind(t *testing.T) {
	for code, kind := range map[codes.Code]error{
		codes.NotFound: ErrNotFound, codes.AlreadyExists: ErrExists, codes.Aborted: ErrConflict,
		codes.DataLoss: ErrIntegrity, codes.Unavailable: ErrUnavailable, codes.InvalidArgument: ErrInvalidInput,
		codes.FailedPrecondition: ErrRefused, codes.PermissionDenied: ErrPermissionDenied,
		codes.Unauthenticated: ErrUnauthenticated,
	} {
		err := fmt.Errorf("wrapped: %w", mapError(status.Error(code, "the server's words")))
		if !errors.Is(err, kind) {
			t.Errorf("%s: %v is not %v", code, err, kind)
		}
		for _, other := range kinds {
			if other != kind && errors.Is(err, other) {
				t.Errorf("%s: %v is also %v", code, err, other)
			}
		}
		var mapped *Error
		if !errors.As(err, &mapped) || mapped.Code != code || mapped.Message != "the server's words" {
			t.Errorf("%s: %#v", code, mapped)
		}
		if status.Code(mapped) != code {
			t.Errorf("%s: status.Code gives %s", code, status.Code(mapped))
		}
	}
}

func TestACodeTheKeystoreDoesNotUseKeepsOnlyItsStatus(t *testing.T) {
	err := mapError(status.Error(codes.Internal, "boom"))
	for _, kind := range kinds {
		if errors.Is(err, kind) {
			t.Errorf("%v is %v", err, kind)
		}
	}
	if status.Code(err) != codes.Internal || err.Error() != "keystore: Internal: boom" {
		t.Errorf("%v", err)
	}
}

func TestInvalidInputNamesTheFieldFromTheMessageOrABadRequestDetail(t *testing.T) {
	fromMessage := mapError(status.Error(codes.InvalidArgument, "invalid keyId.name (key a:1): is required"))
	var mapped *Error
	if !errors.As(fromMessage, &mapped) || mapped.Field != "keyId.name" {
		t.Errorf("from the message: %#v", mapped)
	}
	st, err := status.New(codes.InvalidArgument, "bad").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "spec.key_size", Description: "too big"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.As(mapError(st.Err()), &mapped) || mapped.Field != "spec.key_size" {
		t.Errorf("from the detail: %#v", mapped)
	}
	if other := mapError(status.Error(codes.NotFound, "invalid x: y")); other.(*Error).Field != "" {
		t.Errorf("a field outside INVALID_ARGUMENT: %v", other)
	}
}

func TestNoErrorAndNoStatusPassThrough(t *testing.T) {
	if mapError(nil) != nil {
		t.Error("nil became an error")
	}
	plain := errors.New("plain")
	if mapError(plain) != plain {
		t.Error("a non-status error was changed")
	}
}
