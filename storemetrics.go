package chatbox

import (
	"context"
	"errors"
	"time"

	"github.com/chatboxsdk/chatbox/internal/metrics"
	"github.com/chatboxsdk/chatbox/storage"
)

// meteredStore records the latency and failures of every Store call.
// Not-found, conflict and invalid-argument results are answers, not
// failures, and are not counted as errors.
type meteredStore struct {
	inner storage.Store
	m     *metrics.Metrics
	now   func() time.Time
}

// timed runs one store call and records it under op.
func timed[T any](s meteredStore, op string, call func() (T, error)) (T, error) {
	start := s.now()
	v, err := call()
	s.observe(op, start, err)
	return v, err
}

func (s meteredStore) observe(op string, start time.Time, err error) {
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrInvalid) {
		err = nil
	}
	s.m.StoreOperation(op, s.now().Sub(start), err)
}

func (s meteredStore) CreateConversation(ctx context.Context, c storage.Conversation) error {
	_, err := timed(s, "create_conversation", func() (struct{}, error) { return struct{}{}, s.inner.CreateConversation(ctx, c) })
	return err
}

func (s meteredStore) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	return timed(s, "get_conversation", func() (storage.Conversation, error) { return s.inner.GetConversation(ctx, id) })
}

func (s meteredStore) ListConversations(ctx context.Context, q storage.ConversationQuery) (storage.ConversationPage, error) {
	return timed(s, "list_conversations", func() (storage.ConversationPage, error) { return s.inner.ListConversations(ctx, q) })
}

func (s meteredStore) EndConversation(ctx context.Context, id string, at time.Time) error {
	_, err := timed(s, "end_conversation", func() (struct{}, error) { return struct{}{}, s.inner.EndConversation(ctx, id, at) })
	return err
}

func (s meteredStore) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	start := s.now()
	stored, created, err := s.inner.AppendMessage(ctx, m)
	s.observe("append_message", start, err)
	return stored, created, err
}

func (s meteredStore) UpdateMessage(ctx context.Context, m storage.Message) error {
	_, err := timed(s, "update_message", func() (struct{}, error) { return struct{}{}, s.inner.UpdateMessage(ctx, m) })
	return err
}

func (s meteredStore) GetMessage(ctx context.Context, conversationID, id string) (storage.Message, error) {
	return timed(s, "get_message", func() (storage.Message, error) { return s.inner.GetMessage(ctx, conversationID, id) })
}

func (s meteredStore) ListMessages(ctx context.Context, q storage.MessageQuery) (storage.MessagePage, error) {
	return timed(s, "list_messages", func() (storage.MessagePage, error) { return s.inner.ListMessages(ctx, q) })
}

func (s meteredStore) ChangeMode(ctx context.Context, c storage.ModeChange) (storage.Conversation, bool, error) {
	start := s.now()
	conv, changed, err := s.inner.ChangeMode(ctx, c)
	s.observe("change_mode", start, err)
	return conv, changed, err
}

func (s meteredStore) AppendAudit(ctx context.Context, e storage.AuditEntry) error {
	_, err := timed(s, "append_audit", func() (struct{}, error) { return struct{}{}, s.inner.AppendAudit(ctx, e) })
	return err
}

func (s meteredStore) ListAudit(ctx context.Context, q storage.AuditQuery) (storage.AuditPage, error) {
	return timed(s, "list_audit", func() (storage.AuditPage, error) { return s.inner.ListAudit(ctx, q) })
}

func (s meteredStore) Aggregate(ctx context.Context, q storage.AggregateQuery) (storage.Aggregate, error) {
	return timed(s, "aggregate", func() (storage.Aggregate, error) { return s.inner.Aggregate(ctx, q) })
}
