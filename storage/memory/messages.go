package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/chatboxsdk/chatbox/storage"
)

// AppendMessage stores m in its conversation. ID, ConversationID, Role and
// CreatedAt are required (storage.ErrInvalid); the conversation must exist
// (storage.ErrNotFound). If (ConversationID, ID) is already stored, the
// stored message is returned with created == false and nothing changes; a
// different Role gives storage.ErrConflict. A created message moves the
// conversation's UpdatedAt forward to its CreatedAt, never backward, and
// counts in its Stats: MessageCount, Usage, and OperatorAssisted for a
// storage.RoleOperator message. The store keeps its own copy of m.Parts.
func (s *Store) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	if err := ctx.Err(); err != nil {
		return storage.Message{}, false, err
	}
	switch {
	case m.ID == "":
		return storage.Message{}, false, fmt.Errorf("memory: append message: empty id: %w", storage.ErrInvalid)
	case m.ConversationID == "":
		return storage.Message{}, false, fmt.Errorf("memory: append message %q: empty conversation id: %w", m.ID, storage.ErrInvalid)
	case m.Role == "":
		return storage.Message{}, false, fmt.Errorf("memory: append message %q: empty role: %w", m.ID, storage.ErrInvalid)
	case m.CreatedAt.IsZero():
		return storage.Message{}, false, fmt.Errorf("memory: append message %q: zero CreatedAt: %w", m.ID, storage.ErrInvalid)
	}
	m = copyMessage(m)
	m.CreatedAt = m.CreatedAt.Round(0)
	m.UpdatedAt = m.UpdatedAt.Round(0)
	stored := &message{m: m}

	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.convs[m.ConversationID]
	if !ok {
		return storage.Message{}, false, notFoundConversation(m.ConversationID)
	}
	if old, ok := e.byID[m.ID]; ok {
		if old.m.Role != m.Role {
			return storage.Message{}, false, fmt.Errorf("memory: append message %q: stored with role %q, not %q: %w",
				m.ID, old.m.Role, m.Role, storage.ErrConflict)
		}
		return copyMessage(old.m), false, nil
	}
	k := key{at: m.CreatedAt, id: m.ID}
	if n := len(e.msgs); n == 0 || cmpMessage(e.msgs[n-1], k) < 0 {
		e.msgs = append(e.msgs, stored)
	} else {
		i, _ := slices.BinarySearchFunc(e.msgs, k, cmpMessage)
		e.msgs = slices.Insert(e.msgs, i, stored)
	}
	e.byID[m.ID] = stored
	if m.CreatedAt.After(e.c.UpdatedAt) {
		e.c.UpdatedAt = m.CreatedAt
	}
	st := &e.c.Stats
	st.MessageCount++
	addUsage(&st.Usage, m.Usage, storage.Usage{})
	if m.Role == storage.RoleOperator {
		st.OperatorAssisted = true
	}
	return copyMessage(m), true, nil
}

// UpdateMessage replaces Text, Parts, Status, FinishReason, Error, Usage,
// Model and UpdatedAt of the stored message (m.ConversationID, m.ID); the
// other fields of m are ignored. The conversation's Stats.Usage moves by
// the difference from the stored usage, so a repeated update adds nothing;
// an update taking the message from an unfinished status (streaming, or
// awaiting approval) to complete counts a response whose time runs from
// the message's CreatedAt to m.UpdatedAt (none when m.UpdatedAt is zero
// or earlier). Empty ids give storage.ErrInvalid, unknown messages
// storage.ErrNotFound.
func (s *Store) UpdateMessage(ctx context.Context, m storage.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.ID == "" || m.ConversationID == "" {
		return fmt.Errorf("memory: update message: empty id or conversation id: %w", storage.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.convs[m.ConversationID]
	if !ok {
		return notFoundConversation(m.ConversationID)
	}
	stored, ok := e.byID[m.ID]
	if !ok {
		return notFoundMessage(m.ConversationID, m.ID)
	}
	m.UpdatedAt = m.UpdatedAt.Round(0)
	st := &e.c.Stats
	old := &stored.m
	addUsage(&st.Usage, m.Usage, old.Usage)
	if unfinished(old.Status) && m.Status == storage.MessageComplete && !m.UpdatedAt.IsZero() {
		if rt := m.UpdatedAt.Sub(old.CreatedAt); rt >= 0 {
			stored.responded, stored.responseTime = true, rt
			if st.Responses == 0 || rt < st.ResponseTimeMin {
				st.ResponseTimeMin = rt
			}
			st.ResponseTimeMax = max(st.ResponseTimeMax, rt)
			st.Responses++
			st.ResponseTimeTotal += rt
		}
	}
	old.Text = m.Text
	old.Parts = cloneParts(m.Parts)
	old.Status = m.Status
	old.FinishReason = m.FinishReason
	old.Error = m.Error
	old.Usage = m.Usage
	old.Model = m.Model
	old.UpdatedAt = m.UpdatedAt
	return nil
}

// GetMessage returns a copy of one message or storage.ErrNotFound.
func (s *Store) GetMessage(ctx context.Context, conversationID, id string) (storage.Message, error) {
	if err := ctx.Err(); err != nil {
		return storage.Message{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.convs[conversationID]
	if !ok {
		return storage.Message{}, notFoundConversation(conversationID)
	}
	m, ok := e.byID[id]
	if !ok {
		return storage.Message{}, notFoundMessage(conversationID, id)
	}
	return copyMessage(m.m), nil
}

// ListMessages returns a page of a conversation's messages ordered by
// (CreatedAt, ID) in q.Order. An empty ConversationID, an unknown Order or a
// malformed cursor gives storage.ErrInvalid; an unknown conversation gives
// storage.ErrNotFound.
func (s *Store) ListMessages(ctx context.Context, q storage.MessageQuery) (storage.MessagePage, error) {
	if err := ctx.Err(); err != nil {
		return storage.MessagePage{}, err
	}
	if q.ConversationID == "" {
		return storage.MessagePage{}, fmt.Errorf("memory: list messages: empty conversation id: %w", storage.ErrInvalid)
	}
	if q.Order != storage.Ascending && q.Order != storage.Descending {
		return storage.MessagePage{}, fmt.Errorf("memory: list messages: unknown order %d: %w", q.Order, storage.ErrInvalid)
	}
	var (
		from    key
		hasFrom bool
	)
	if q.Cursor != "" {
		k, err := decodeCursor(q.Cursor, listing{kind: kindMessages, order: q.Order})
		if err != nil {
			return storage.MessagePage{}, fmt.Errorf("memory: list messages: %w", err)
		}
		from, hasFrom = k, true
	}
	limit := storage.ClampLimit(q.Limit)

	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.convs[q.ConversationID]
	if !ok {
		return storage.MessagePage{}, notFoundConversation(q.ConversationID)
	}
	// window is what remains after the cursor, in ascending order.
	window := e.msgs
	if hasFrom {
		i, found := slices.BinarySearchFunc(window, from, cmpMessage)
		if q.Order == storage.Ascending {
			if found {
				i++
			}
			window = window[i:]
		} else {
			window = window[:i]
		}
	}
	n := min(limit, len(window))
	page := storage.MessagePage{Messages: make([]storage.Message, n)}
	for j := range n {
		if q.Order == storage.Ascending {
			page.Messages[j] = copyMessage(window[j].m)
		} else {
			page.Messages[j] = copyMessage(window[len(window)-1-j].m)
		}
	}
	if n < len(window) {
		last := page.Messages[n-1]
		page.NextCursor = encodeCursor(listing{kind: kindMessages, order: q.Order}, key{at: last.CreatedAt, id: last.ID})
	}
	return page, nil
}

func notFoundMessage(conversationID, id string) error {
	return fmt.Errorf("memory: message %q in conversation %q: %w", id, conversationID, storage.ErrNotFound)
}

// copyMessage returns m with a Parts slice of its own.
func copyMessage(m storage.Message) storage.Message {
	m.Parts = cloneParts(m.Parts)
	return m
}

// cloneParts returns a copy of parts, nil when there are none. A Part
// holds no reference, so copying the slice copies the parts.
func cloneParts(parts []storage.Part) []storage.Part {
	if len(parts) == 0 {
		return nil
	}
	return slices.Clone(parts)
}

// unfinished reports whether a reply in status st has yet to complete: a
// later update to storage.MessageComplete counts it as a response.
func unfinished(st storage.MessageStatus) bool {
	return st == storage.MessageStreaming || st == storage.MessageAwaitingApproval
}

// addUsage adds to sum the difference from old to now, field by field.
func addUsage(sum *storage.Usage, now, old storage.Usage) {
	sum.InputTokens += now.InputTokens - old.InputTokens
	sum.OutputTokens += now.OutputTokens - old.OutputTokens
	sum.CachedInputTokens += now.CachedInputTokens - old.CachedInputTokens
	sum.ReasoningTokens += now.ReasoningTokens - old.ReasoningTokens
}
