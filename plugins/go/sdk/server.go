package sdk

import (
	"context"
	"errors"
	"time"

	pb "github.com/openkcm/keystore/plugins/go/sdk/pluginv1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// grpcServer serves KeystorePlugin by calling a Backend: it decodes and checks each request,
// and turns each error into the status code of its kind.
type grpcServer struct {
	pb.UnimplementedKeystorePluginServer
	backend Backend
}

func (s *grpcServer) StoreKey(ctx context.Context, r *pb.StoreKeyRequest) (*pb.StoreKeyResponse, error) {
	id, md, err := idAndMetadata(r.Id, r.Metadata)
	if err != nil {
		return nil, err
	}
	return &pb.StoreKeyResponse{}, toStatus(s.backend.StoreKey(ctx, id, nonNil(r.Sealed), md))
}

func (s *grpcServer) RetrieveKey(ctx context.Context, r *pb.RetrieveKeyRequest) (*pb.RetrieveKeyResponse, error) {
	id, err := keyIDFromPB(r.Id, "keyId")
	if err != nil {
		return nil, err
	}
	stored, err := s.backend.RetrieveKey(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.RetrieveKeyResponse{Sealed: stored.Sealed, Metadata: metadataToPB(stored.Metadata)}, nil
}

func (s *grpcServer) UpdateKeyMetadata(ctx context.Context, r *pb.UpdateKeyMetadataRequest) (*pb.UpdateKeyMetadataResponse, error) {
	id, md, err := idAndMetadata(r.Id, r.Metadata)
	if err != nil {
		return nil, err
	}
	now, err := s.backend.UpdateKeyMetadata(ctx, id, md)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.UpdateKeyMetadataResponse{Metadata: metadataToPB(now)}, nil
}

func (s *grpcServer) RewrapKey(ctx context.Context, r *pb.RewrapKeyRequest) (*pb.RewrapKeyResponse, error) {
	id, err := keyIDFromPB(r.Id, "keyId")
	if err != nil {
		return nil, err
	}
	return &pb.RewrapKeyResponse{}, toStatus(s.backend.RewrapKey(ctx, id, nonNil(r.Sealed), r.ExpectedRevision))
}

func (s *grpcServer) DeleteKey(ctx context.Context, r *pb.DeleteKeyRequest) (*pb.DeleteKeyResponse, error) {
	id, err := keyIDFromPB(r.Id, "keyId")
	if err != nil {
		return nil, err
	}
	deleted, err := s.backend.DeleteKey(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteKeyResponse{Deleted: deleted}, nil
}

func (s *grpcServer) ListKeys(ctx context.Context, r *pb.ListKeysRequest) (*pb.ListKeysResponse, error) {
	f, err := filterFromPB(r.Filter)
	if err != nil {
		return nil, err
	}
	page, err := s.backend.ListKeys(ctx, f)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.ListKeysResponse{Keys: make([]*pb.KeyMetadata, 0, len(page.Keys)), NextCursor: optional(page.NextCursor)}
	for _, m := range page.Keys {
		out.Keys = append(out.Keys, metadataToPB(m))
	}
	return out, nil
}

func (s *grpcServer) Health(ctx context.Context, _ *pb.HealthRequest) (*pb.HealthResponse, error) {
	start := time.Now()
	err := s.backend.Health(ctx)
	out := &pb.HealthResponse{Up: err == nil, LatencyMicros: time.Since(start).Microseconds()}
	if err != nil {
		out.Reason = err.Error()
	}
	return out, nil
}

func (s *grpcServer) Configure(ctx context.Context, r *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	settings := r.Settings
	if settings == nil {
		settings = map[string]string{}
	}
	return &pb.ConfigureResponse{}, toStatus(s.backend.Configure(ctx, settings))
}

func idAndMetadata(rid *pb.KeyId, rmd *pb.KeyMetadata) (KeyID, Metadata, error) {
	id, err := keyIDFromPB(rid, "keyId")
	if err != nil {
		return KeyID{}, Metadata{}, err
	}
	md, err := metadataFromPB(rmd)
	if err != nil {
		return KeyID{}, Metadata{}, err
	}
	if md.ID != id {
		return KeyID{}, Metadata{}, Invalid("metadata.id", "must equal the key id it is stored under")
	}
	return id, md, nil
}

// nonNil keeps an empty record distinct from none: protobuf decodes empty bytes as nil.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// toStatus passes *Error and context errors on as their codes; anything else is unavailable.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	var typed *Error
	switch {
	case errors.As(err, &typed):
		return typed.GRPCStatus().Err()
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Unavailable, err.Error())
}
