package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/chatboxsdk/chatbox/storage"
)

// MaxAuditEntries bounds the audit log: once it holds this many entries,
// each new one drops the oldest by (At, ID). A dropped entry's id is
// forgotten with it, and the HelpRequests figure of Aggregate counts only
// the entries still held.
const MaxAuditEntries = 10_000

// auditLog holds the newest MaxAuditEntries entries, sorted by (At, ID)
// ascending; byID holds their ids.
type auditLog struct {
	entries []storage.AuditEntry
	byID    map[string]struct{}
}

func auditKey(e storage.AuditEntry) key { return key{at: e.At, id: e.ID} }

func cmpAudit(e storage.AuditEntry, k key) int { return compareKeys(auditKey(e), k) }

// AppendAudit records e. ID, Action, Actor and At are required and Detail
// is at most storage.MaxAuditDetailBytes (storage.ErrInvalid). An id
// already held is a no-op returning nil. See MaxAuditEntries for the bound.
func (s *Store) AppendAudit(ctx context.Context, e storage.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return fmt.Errorf("memory: append audit entry: %w", err)
	}
	e.At = e.At.Round(0)

	s.mu.Lock()
	defer s.mu.Unlock()
	a := &s.audit
	if _, ok := a.byID[e.ID]; ok {
		return nil
	}
	k := auditKey(e)
	if n := len(a.entries); n == 0 || cmpAudit(a.entries[n-1], k) < 0 {
		a.entries = append(a.entries, e)
	} else {
		i, _ := slices.BinarySearchFunc(a.entries, k, cmpAudit)
		a.entries = slices.Insert(a.entries, i, e)
	}
	a.byID[e.ID] = struct{}{}
	if len(a.entries) > MaxAuditEntries {
		delete(a.byID, a.entries[0].ID)
		a.entries[0] = storage.AuditEntry{}
		a.entries = a.entries[1:]
	}
	return nil
}

// ListAudit returns a page of the audit log, newest first by (At, ID),
// filtered by q. A malformed cursor gives storage.ErrInvalid.
func (s *Store) ListAudit(ctx context.Context, q storage.AuditQuery) (storage.AuditPage, error) {
	if err := ctx.Err(); err != nil {
		return storage.AuditPage{}, err
	}
	l := listing{kind: kindAudit, order: storage.Descending}
	cur, hasCur, err := resumeAt(q.Cursor, l)
	if err != nil {
		return storage.AuditPage{}, fmt.Errorf("memory: list audit: %w", err)
	}
	limit := storage.ClampLimit(q.Limit)

	s.mu.RLock()
	defer s.mu.RUnlock()
	// Keep [From, Before), then what sorts before the cursor.
	entries := inRange(s.audit.entries, q.From, q.Before, cmpAudit)
	if hasCur {
		i, _ := slices.BinarySearchFunc(entries, cur, cmpAudit)
		entries = entries[:i]
	}
	var page storage.AuditPage
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if (q.ConversationID != "" && e.ConversationID != q.ConversationID) ||
			(q.Actor != "" && e.Actor != q.Actor) || (q.Action != "" && e.Action != q.Action) {
			continue
		}
		if len(page.Entries) == limit {
			page.NextCursor = encodeCursor(l, auditKey(page.Entries[limit-1]))
			break
		}
		page.Entries = append(page.Entries, e)
	}
	return page, nil
}
