package main

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/openkcm/keystore/plugins/go/sdk"
)

// keyspace names the Redis keys of the plugin. Every record lives under its owner:
//
//	<prefix><kind>:<owner id>:<name>:<version>   the record (tenant, service or node)
//	<prefix>id:<name>:<version>                  the id's pointer: the Redis key of its record
//
// so that one owner's records are found, counted or dropped together (SCAN MATCH
// <prefix>tenant:acme:*, which is also how a listing filtered on its owner reads only them), while
// the id alone still finds its record. Owner ids and names are query-escaped: the parts never
// hold ':' or a glob character.
type keyspace struct {
	prefix string
}

var ownerKinds = map[sdk.OwnerKind]string{sdk.Tenant: "tenant", sdk.Service: "service", sdk.Node: "node"}
var kindsByPart = map[string]sdk.OwnerKind{"tenant": sdk.Tenant, "service": sdk.Service, "node": sdk.Node}

func (k keyspace) pointer(id sdk.KeyID) string {
	return k.prefix + "id:" + url.QueryEscape(id.Name) + ":" + strconv.Itoa(int(id.Version))
}

func (k keyspace) record(owner sdk.Owner, id sdk.KeyID) string {
	return k.prefix + ownerKinds[owner.Kind] + ":" + url.QueryEscape(owner.ID) + ":" +
		url.QueryEscape(id.Name) + ":" + strconv.Itoa(int(id.Version))
}

// pattern is the SCAN MATCH pattern of the records f can select: one owner's, one kind's, or all.
func (k keyspace) pattern(f sdk.Filter) string {
	base := globEscape(k.prefix)
	switch {
	case f.OwnerKind != "" && f.OwnerID != "":
		return base + ownerKinds[f.OwnerKind] + ":" + url.QueryEscape(f.OwnerID) + ":*"
	case f.OwnerKind != "":
		return base + ownerKinds[f.OwnerKind] + ":*"
	}
	return base + "*"
}

// parseRecord is the id of a record key, false for any other key (a pointer, a stranger's key).
func (k keyspace) parseRecord(key string) (sdk.KeyID, bool) {
	rest, ok := strings.CutPrefix(key, k.prefix)
	if !ok {
		return sdk.KeyID{}, false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 4 {
		return sdk.KeyID{}, false
	}
	if _, ok := kindsByPart[parts[0]]; !ok {
		return sdk.KeyID{}, false
	}
	name, err := url.QueryUnescape(parts[2])
	if err != nil || name == "" {
		return sdk.KeyID{}, false
	}
	version, err := strconv.ParseInt(parts[3], 10, 32)
	if err != nil || version < 1 {
		return sdk.KeyID{}, false
	}
	return sdk.KeyID{Name: name, Version: int32(version)}, true
}

// globEscape makes text match itself in a Redis glob pattern.
func globEscape(text string) string {
	var b strings.Builder
	for _, r := range text {
		if strings.ContainsRune(`*?[]\^`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
