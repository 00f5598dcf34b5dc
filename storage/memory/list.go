package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/chatboxsdk/chatbox/storage"
)

// ListConversations returns a page of the conversations matching q's
// filters, ordered by q.Sort in the direction q.Ascending gives, ties
// broken by ID. Listings by creation walk the store's creation index from
// the cursor on; the other sorts scan the matching conversations and sort
// those after the cursor. An unknown Sort or Mode, or a cursor of another
// sort, direction or kind of listing, gives storage.ErrInvalid.
func (s *Store) ListConversations(ctx context.Context, q storage.ConversationQuery) (storage.ConversationPage, error) {
	if err := ctx.Err(); err != nil {
		return storage.ConversationPage{}, err
	}
	if q.Sort < storage.SortByCreated || q.Sort > storage.SortByTokens {
		return storage.ConversationPage{}, fmt.Errorf("memory: list conversations: unknown sort %d: %w", q.Sort, storage.ErrInvalid)
	}
	if q.Mode != "" && !q.Mode.Valid() {
		return storage.ConversationPage{}, fmt.Errorf("memory: list conversations: unknown mode %q: %w", q.Mode, storage.ErrInvalid)
	}
	l := listing{kind: kindConversations, order: storage.Descending, sort: q.Sort}
	if q.Ascending {
		l.order = storage.Ascending
	}
	cur, hasCur, err := resumeAt(q.Cursor, l)
	if err != nil {
		return storage.ConversationPage{}, fmt.Errorf("memory: list conversations: %w", err)
	}
	limit := storage.ClampLimit(q.Limit)

	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.all
	if q.UserID != "" {
		list = s.byUser[q.UserID]
	}
	list = inRange(list, q.CreatedFrom, q.CreatedBefore, cmpConv)
	page := storage.ConversationPage{Total: -1}
	if q.WithTotal {
		page.Total = 0
		for _, e := range list {
			if matches(e, q) {
				page.Total++
			}
		}
	}
	var found []*conversation
	if q.Sort == storage.SortByCreated {
		found = walkCreated(list, q, l.order, cur, hasCur, limit+1)
	} else {
		found = scanSorted(list, q, l, cur, hasCur, limit+1)
	}
	if len(found) > limit {
		found = found[:limit]
		page.NextCursor = encodeCursor(l, sortKey(found[limit-1], q.Sort))
	}
	page.Conversations = make([]storage.Conversation, len(found))
	for i, e := range found {
		page.Conversations[i] = copyConversation(e.c)
	}
	return page, nil
}

// matches applies q's filters other than UserID and the creation range,
// which select the list itself.
func matches(e *conversation, q storage.ConversationQuery) bool {
	c := &e.c
	switch {
	case q.Status != "" && c.Status != q.Status:
		return false
	case q.Mode != "" && c.Mode.Normalize() != q.Mode.Normalize():
		return false
	case q.Model != "" && c.Model != q.Model:
		return false
	case q.OperatorAssisted != nil && c.Stats.OperatorAssisted != *q.OperatorAssisted:
		return false
	}
	return true
}

// sortKey is the listing position of e under sort.
func sortKey(e *conversation, sort storage.ConversationSort) key {
	c := &e.c
	switch sort {
	case storage.SortByUpdated:
		return key{at: c.UpdatedAt, id: c.ID}
	case storage.SortByMessages:
		return key{n: c.Stats.MessageCount, id: c.ID}
	case storage.SortByTokens:
		return key{n: c.Stats.Usage.InputTokens + c.Stats.Usage.OutputTokens, id: c.ID}
	default:
		return key{at: c.CreatedAt, id: c.ID}
	}
}

// walkCreated returns up to n matches of list, which is sorted by
// creation, from the cursor on in order.
func walkCreated(list []*conversation, q storage.ConversationQuery, order storage.Order, cur key, hasCur bool, n int) []*conversation {
	var out []*conversation
	if order == storage.Ascending {
		start := 0
		if hasCur {
			i, found := slices.BinarySearchFunc(list, cur, cmpConv)
			if found {
				i++
			}
			start = i
		}
		for i := start; i < len(list) && len(out) < n; i++ {
			if matches(list[i], q) {
				out = append(out, list[i])
			}
		}
		return out
	}
	end := len(list)
	if hasCur {
		end, _ = slices.BinarySearchFunc(list, cur, cmpConv)
	}
	for i := end - 1; i >= 0 && len(out) < n; i-- {
		if matches(list[i], q) {
			out = append(out, list[i])
		}
	}
	return out
}

// scanSorted returns up to n matches of list past the cursor in the order
// of l: it collects them all, then sorts.
func scanSorted(list []*conversation, q storage.ConversationQuery, l listing, cur key, hasCur bool, n int) []*conversation {
	dir := 1
	if l.order == storage.Descending {
		dir = -1
	}
	var out []*conversation
	for _, e := range list {
		if !matches(e, q) || (hasCur && dir*compareKeys(sortKey(e, l.sort), cur) <= 0) {
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *conversation) int {
		return dir * compareKeys(sortKey(a, l.sort), sortKey(b, l.sort))
	})
	return out[:min(n, len(out))]
}
