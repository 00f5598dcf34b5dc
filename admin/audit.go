package admin

import (
	"context"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// AuditList is the answer of GET /audit.
type AuditList struct {
	Entries []AuditEntry `json:"entries"`
	// NextCursor continues the listing; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// AuditEntry is one record of the audit log. At is in UTC.
type AuditEntry struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
	// Actor is the user id of who acted.
	Actor string `json:"actor"`
	// Action is "takeover", "release", "end" or "help_request"; the list
	// may grow.
	Action         string `json:"action"`
	ConversationID string `json:"conversation_id,omitempty"`
	Detail         string `json:"detail,omitempty"`
}

// validAction reports whether s looks like an action name: 1 to 64
// lowercase ASCII letters and underscores. Names the log never holds match
// nothing rather than being refused, so the list of actions may grow.
func validAction(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return s != ""
}

// listAudit serves GET /audit.
func (h *Handler) listAudit(rq *request) (any, *apiError) {
	q := parseQuery(rq.r.URL.RawQuery, "conversation", "actor", "action", "from", "before", "limit", "cursor")
	aq := storage.AuditQuery{
		ConversationID: q.str("conversation"),
		Actor:          q.str("actor"),
		Action:         storage.AuditAction(q.str("action")),
		Limit:          q.limit(),
		Cursor:         q.str("cursor"),
	}
	aq.From, aq.Before = q.timeRange("from", "before")
	if aq.Action != "" && !validAction(string(aq.Action)) {
		q.fail(badField("action", "action must be an action name such as takeover"))
	}
	if q.err != nil {
		return nil, q.err
	}

	ctx, cancel := context.WithTimeout(rq.r.Context(), h.storeTimeout)
	page, err := h.store.ListAudit(ctx, aq)
	cancel()
	if err != nil {
		return nil, rq.storeError(err, "list audit", "cursor")
	}
	out := AuditList{Entries: make([]AuditEntry, 0, len(page.Entries)), NextCursor: page.NextCursor}
	for _, e := range page.Entries {
		out.Entries = append(out.Entries, AuditEntry{
			ID:             e.ID,
			At:             utc(e.At),
			Actor:          e.Actor,
			Action:         string(e.Action),
			ConversationID: e.ConversationID,
			Detail:         e.Detail,
		})
	}
	return out, nil
}
