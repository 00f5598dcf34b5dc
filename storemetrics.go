package chatbox

import (
	"context"
	"errors"
	"time"

	"github.com/chatboxsdk/chatbox/metrics"
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

func (s meteredStore) observe(op string, start time.Time, err error) {
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrInvalid) {
		err = nil
	}
	s.m.StoreOperation(op, s.now().Sub(start), err)
}

func (s meteredStore) CreateConversation(ctx context.Context, c storage.Conversation) error {
	start := s.now()
	err := s.inner.CreateConversation(ctx, c)
	s.observe("create_conversation", start, err)
	return err
}

func (s meteredStore) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	start := s.now()
	c, err := s.inner.GetConversation(ctx, id)
	s.observe("get_conversation", start, err)
	return c, err
}

func (s meteredStore) ListConversations(ctx context.Context, q storage.ConversationQuery) (storage.ConversationPage, error) {
	start := s.now()
	p, err := s.inner.ListConversations(ctx, q)
	s.observe("list_conversations", start, err)
	return p, err
}

func (s meteredStore) EndConversation(ctx context.Context, id string, at time.Time) error {
	start := s.now()
	err := s.inner.EndConversation(ctx, id, at)
	s.observe("end_conversation", start, err)
	return err
}

func (s meteredStore) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	start := s.now()
	stored, created, err := s.inner.AppendMessage(ctx, m)
	s.observe("append_message", start, err)
	return stored, created, err
}

func (s meteredStore) UpdateMessage(ctx context.Context, m storage.Message) error {
	start := s.now()
	err := s.inner.UpdateMessage(ctx, m)
	s.observe("update_message", start, err)
	return err
}

func (s meteredStore) GetMessage(ctx context.Context, conversationID, id string) (storage.Message, error) {
	start := s.now()
	m, err := s.inner.GetMessage(ctx, conversationID, id)
	s.observe("get_message", start, err)
	return m, err
}

func (s meteredStore) ListMessages(ctx context.Context, q storage.MessageQuery) (storage.MessagePage, error) {
	start := s.now()
	p, err := s.inner.ListMessages(ctx, q)
	s.observe("list_messages", start, err)
	return p, err
}

func (s meteredStore) ChangeMode(ctx context.Context, c storage.ModeChange) (storage.Conversation, bool, error) {
	start := s.now()
	conv, changed, err := s.inner.ChangeMode(ctx, c)
	s.observe("change_mode", start, err)
	return conv, changed, err
}

func (s meteredStore) AppendAudit(ctx context.Context, e storage.AuditEntry) error {
	start := s.now()
	err := s.inner.AppendAudit(ctx, e)
	s.observe("append_audit", start, err)
	return err
}

func (s meteredStore) ListAudit(ctx context.Context, q storage.AuditQuery) (storage.AuditPage, error) {
	start := s.now()
	p, err := s.inner.ListAudit(ctx, q)
	s.observe("list_audit", start, err)
	return p, err
}

func (s meteredStore) Aggregate(ctx context.Context, q storage.AggregateQuery) (storage.Aggregate, error) {
	start := s.now()
	a, err := s.inner.Aggregate(ctx, q)
	s.observe("aggregate", start, err)
	return a, err
}
