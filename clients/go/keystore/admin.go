package keystore

import (
	"context"
	"errors"
	"io"

	keystorev1 "github.com/openkcm/keystore/clients/go/keystorev1"
)

// Backends lists every tracked backend.
func (c *Client) Backends(ctx context.Context) ([]*keystorev1.BackendStatus, error) {
	resp, err := c.Admin.ListBackends(ctx, &keystorev1.ListBackendsRequest{})
	return resp.GetBackends(), mapError(err)
}

// Routes lists the routes in force, most specific first.
func (c *Client) Routes(ctx context.Context) ([]*keystorev1.Route, error) {
	resp, err := c.Admin.ListRoutes(ctx, &keystorev1.ListRoutesRequest{})
	return resp.GetRoutes(), mapError(err)
}

// CacheStatistics is the cache counters per layer and tier.
func (c *Client) CacheStatistics(ctx context.Context) ([]*keystorev1.CacheStatistics, error) {
	resp, err := c.Admin.GetCacheStatistics(ctx, &keystorev1.GetCacheStatisticsRequest{})
	return resp.GetStatistics(), mapError(err)
}

// Rewrap re-wraps every key under the sealing KEK's current version.
func (c *Client) Rewrap(ctx context.Context) (*keystorev1.RewrapReport, error) {
	report, err := c.Admin.Rewrap(ctx, &keystorev1.RewrapRequest{})
	return report, mapError(err)
}

// Reconcile compares what each backend holds with what the keystore knows. Only orphans (records the
// runtime wrote and abandoned) are ever deleted; remove deletes every orphan found and forgets every
// missing key. Prefer ReconcileRemove with the ids of a report you reviewed.
func (c *Client) Reconcile(ctx context.Context, remove bool) ([]*keystorev1.ReconciliationReport, error) {
	resp, err := c.Admin.Reconcile(ctx, &keystorev1.ReconcileRequest{Remove: remove})
	return resp.GetReports(), mapError(err)
}

// ReconcileRemove removes only the findings named (the ids of a report's findings), each only if its
// evidence still holds; an id that is not a finding id is ErrInvalidInput and nothing is removed.
func (c *Client) ReconcileRemove(ctx context.Context, ids ...string) ([]*keystorev1.ReconciliationReport, error) {
	resp, err := c.Admin.Reconcile(ctx, &keystorev1.ReconcileRequest{RemoveIds: ids})
	return resp.GetReports(), mapError(err)
}

// Locate says which backend holds each key version (at most 1000), as the keystore recorded it;
// a location without a backend is a key the keystore has no record of.
func (c *Client) Locate(ctx context.Context, ids ...*keystorev1.KeyId) ([]*keystorev1.KeyLocation, error) {
	resp, err := c.Admin.Locate(ctx, &keystorev1.LocateRequest{Ids: ids})
	return resp.GetLocations(), mapError(err)
}

// Migrate moves the matching keys (nil: all) to where the routing policy sends them, calling
// progress for every interim report, and returns the final one.
func (c *Client) Migrate(ctx context.Context, filter *keystorev1.KeyFilter,
	progress func(*keystorev1.MigrationReport)) (*keystorev1.MigrationReport, error) {
	stream, err := c.Admin.Migrate(ctx, &keystorev1.MigrateRequest{Filter: filter})
	if err != nil {
		return nil, mapError(err)
	}
	for {
		report, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, mapError(io.ErrUnexpectedEOF)
		}
		if err != nil {
			return nil, mapError(err)
		}
		if report.GetFinished() {
			return report, nil
		}
		if progress != nil {
			progress(report)
		}
	}
}
