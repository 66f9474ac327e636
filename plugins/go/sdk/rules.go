package sdk

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// CheckUpdate is the rule of UpdateKeyMetadata: only lifecycle fields may change, and the proposed
// revision must be exactly one more than the stored one.
func CheckUpdate(stored, proposed Metadata) error {
	if !stored.SameImmutableFields(proposed) {
		return Invalid("metadata", "only status, expiry, tags, updated time and lifecycle MAC may change; material and identity are immutable")
	}
	if proposed.Revision != stored.Revision+1 {
		return Conflict(stored.ID, proposed.Revision-1, stored.Revision)
	}
	return nil
}

// CheckRewrap is the rule of RewrapKey: compare-and-set on the stored revision.
func CheckRewrap(stored Metadata, expectedRevision int64) error {
	if stored.Revision != expectedRevision {
		return Conflict(stored.ID, expectedRevision, stored.Revision)
	}
	return nil
}

// CursorAfter is a cursor that continues after id: its position in KeyID order.
func CursorAfter(id KeyID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id.String()))
}

// PositionOf is the key after which a cursor made by CursorAfter continues.
func PositionOf(cursor string) (KeyID, error) {
	invalid := Invalid("filter.cursor", "is not a cursor returned by a previous page")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return KeyID{}, invalid
	}
	text := string(raw)
	colon := strings.LastIndexByte(text, ':')
	if colon <= 0 {
		return KeyID{}, invalid
	}
	version, err := strconv.ParseInt(text[colon+1:], 10, 32)
	if err != nil || version < 1 {
		return KeyID{}, invalid
	}
	return KeyID{Name: text[:colon], Version: int32(version)}, nil
}

// SelectPage is the page of sorted (ascending KeyID order) that f asks for, for a backend that
// can iterate its keys in order. next is called until it returns false.
func SelectPage(next func() (Metadata, bool), f Filter) (Page, error) {
	var after *KeyID
	if f.Cursor != "" {
		id, err := PositionOf(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		after = &id
	}
	page := Page{}
	for m, ok := next(); ok; m, ok = next() {
		if (after != nil && m.ID.Compare(*after) <= 0) || !f.Matches(m) {
			continue
		}
		if len(page.Keys) == f.PageSize {
			page.NextCursor = CursorAfter(page.Keys[len(page.Keys)-1].ID)
			return page, nil
		}
		page.Keys = append(page.Keys, m)
	}
	return page, nil
}
