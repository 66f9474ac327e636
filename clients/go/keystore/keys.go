package keystore

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	keystorev1 "github.com/openkcm/keystore/clients/go/keystorev1"
)

// ID is the KeyId of name:version.
func ID(name string, version uint32) *keystorev1.KeyId {
	return &keystorev1.KeyId{Name: name, Version: version}
}

// Generate creates a key with fresh material as version 1.
func (c *Client) Generate(ctx context.Context, spec *keystorev1.KeySpec) (*keystorev1.KeyMetadata, error) {
	md, err := c.Keys.Generate(ctx, &keystorev1.GenerateRequest{Spec: spec})
	return md, mapError(err)
}

// Import stores the caller's material as version 1; the caller still owns (and zeroes) material.
func (c *Client) Import(ctx context.Context, spec *keystorev1.KeySpec, material []byte) (*keystorev1.KeyMetadata, error) {
	md, err := c.Keys.Import(ctx, &keystorev1.ImportRequest{Spec: spec, Material: material})
	return md, mapError(err)
}

// Material is the plaintext of a key version. The slice is the caller's: overwrite it with Zero
// once used.
func (c *Client) Material(ctx context.Context, id *keystorev1.KeyId) ([]byte, error) {
	resp, err := c.Keys.GetMaterial(ctx, &keystorev1.GetMaterialRequest{Id: id})
	if err != nil {
		return nil, mapError(err)
	}
	return resp.GetMaterial(), nil
}

// Metadata is the metadata of a key version, whatever its status.
func (c *Client) Metadata(ctx context.Context, id *keystorev1.KeyId) (*keystorev1.KeyMetadata, error) {
	md, err := c.Keys.GetMetadata(ctx, &keystorev1.GetMetadataRequest{Id: id})
	return md, mapError(err)
}

// Rotate creates the next version of the named key and deprecates the previous one.
func (c *Client) Rotate(ctx context.Context, name string) (*keystorev1.KeyMetadata, error) {
	md, err := c.Keys.Rotate(ctx, &keystorev1.RotateRequest{Name: name})
	return md, mapError(err)
}

// SetStatus changes the status if the key's revision is still expectedRevision (else ErrConflict).
func (c *Client) SetStatus(ctx context.Context, id *keystorev1.KeyId, status keystorev1.KeyStatus,
	expectedRevision uint64) (*keystorev1.KeyMetadata, error) {
	md, err := c.Keys.SetStatus(ctx, &keystorev1.SetStatusRequest{Id: id, Status: status, ExpectedRevision: expectedRevision})
	return md, mapError(err)
}

// SetExpiry sets the expiry (the zero time removes it) by compare-and-set on the revision.
func (c *Client) SetExpiry(ctx context.Context, id *keystorev1.KeyId, expiry time.Time,
	expectedRevision uint64) (*keystorev1.KeyMetadata, error) {
	req := &keystorev1.SetExpiryRequest{Id: id, ExpectedRevision: expectedRevision}
	if !expiry.IsZero() {
		req.Expiry = timestamppb.New(expiry)
	}
	md, err := c.Keys.SetExpiry(ctx, req)
	return md, mapError(err)
}

// SetTags replaces the tags by compare-and-set on the revision.
func (c *Client) SetTags(ctx context.Context, id *keystorev1.KeyId, tags map[string]string,
	expectedRevision uint64) (*keystorev1.KeyMetadata, error) {
	md, err := c.Keys.SetTags(ctx, &keystorev1.SetTagsRequest{Id: id, Tags: tags, ExpectedRevision: expectedRevision})
	return md, mapError(err)
}

// Delete deletes one key version and answers how many were deleted (0 or 1).
func (c *Client) Delete(ctx context.Context, id *keystorev1.KeyId) (uint32, error) {
	resp, err := c.Keys.Delete(ctx, &keystorev1.DeleteRequest{Target: &keystorev1.DeleteRequest_Id{Id: id}})
	return resp.GetDeleted(), mapError(err)
}

// DeleteAll deletes every version of the named key and answers how many were deleted.
func (c *Client) DeleteAll(ctx context.Context, name string) (uint32, error) {
	resp, err := c.Keys.Delete(ctx, &keystorev1.DeleteRequest{Target: &keystorev1.DeleteRequest_AllVersionsOf{AllVersionsOf: name}})
	return resp.GetDeleted(), mapError(err)
}

// List is one page of the keys the filter matches that the caller may see (nil: every key).
func (c *Client) List(ctx context.Context, filter *keystorev1.KeyFilter) (*keystorev1.ListResponse, error) {
	resp, err := c.Keys.List(ctx, &keystorev1.ListRequest{Filter: filter})
	return resp, mapError(err)
}

// ListAll follows the cursors to the last page and returns every key the filter matches.
func (c *Client) ListAll(ctx context.Context, filter *keystorev1.KeyFilter) ([]*keystorev1.KeyMetadata, error) {
	var keys []*keystorev1.KeyMetadata
	page := &keystorev1.KeyFilter{}
	if filter != nil {
		page = proto.Clone(filter).(*keystorev1.KeyFilter)
	}
	for {
		resp, err := c.List(ctx, page)
		if err != nil {
			return keys, err
		}
		keys = append(keys, resp.GetKeys()...)
		if resp.GetNextCursor() == "" {
			return keys, nil
		}
		page.Cursor = resp.GetNextCursor()
	}
}
