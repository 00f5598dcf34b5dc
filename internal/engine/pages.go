package engine

import (
	"errors"
	"slices"

	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

func (s *socket) handleHistory(f *protocol.ClientFrame) *protocol.Error {
	ctx, cancel := s.opCtx()
	defer cancel()
	if _, perr := s.owned(ctx, f.ConversationID); perr != nil {
		return perr
	}
	page, err := s.e.cfg.Store.ListMessages(ctx, storage.MessageQuery{
		ConversationID: f.ConversationID, Limit: f.Limit, Order: storage.Descending, Cursor: f.Cursor,
	})
	if err != nil {
		if errors.Is(err, storage.ErrInvalid) {
			return &protocol.Error{Code: protocol.CodeInvalidField, Message: "invalid cursor", Field: "cursor"}
		}
		return s.storeError(err, "list messages")
	}
	msgs := make([]protocol.Message, 0, len(page.Messages))
	for _, m := range slices.Backward(page.Messages) {
		msgs = append(msgs, wireMessage(m))
	}
	s.send(&protocol.ServerFrame{Type: protocol.TypeHistoryPage, ID: f.ID, ConversationID: f.ConversationID, Messages: msgs, Cursor: page.NextCursor})
	return nil
}

func (s *socket) handleList(f *protocol.ClientFrame) *protocol.Error {
	ctx, cancel := s.opCtx()
	defer cancel()
	page, err := s.e.cfg.Store.ListConversations(ctx, storage.ConversationQuery{UserID: s.identity.UserID, Limit: f.Limit, Cursor: f.Cursor})
	if err != nil {
		if errors.Is(err, storage.ErrInvalid) {
			return &protocol.Error{Code: protocol.CodeInvalidField, Message: "invalid cursor", Field: "cursor"}
		}
		return s.storeError(err, "list conversations")
	}
	convs := make([]protocol.Conversation, 0, len(page.Conversations))
	for _, c := range page.Conversations {
		convs = append(convs, *s.wireConversation(c))
	}
	s.send(&protocol.ServerFrame{Type: protocol.TypeConversations, ID: f.ID, Conversations: convs, Cursor: page.NextCursor})
	return nil
}

// wireConversation is a conversation as this socket may see it: operators
// also see whose it is.
func (s *socket) wireConversation(c storage.Conversation) *protocol.Conversation {
	w := &protocol.Conversation{
		ID: c.ID, Title: c.Title, Model: c.Model, Status: string(c.Status), Metadata: c.Metadata,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Mode: string(c.Mode.Normalize()),
	}
	if c.UserID != s.identity.UserID {
		w.UserID = c.UserID
	}
	if c.Mode == storage.ModeOperator {
		name := c.OperatorName
		if name == "" {
			name = "Operator"
		}
		w.Operator = &protocol.Operator{Name: name}
	}
	return w
}

func wireMessage(m storage.Message) protocol.Message {
	w := protocol.Message{
		ID: m.ID, Role: string(m.Role), Text: m.Text, FinishReason: m.FinishReason, Error: m.Error,
		ReplyTo: m.ReplyTo, Model: m.Model, CreatedAt: m.CreatedAt,
	}
	if m.Status == storage.MessageStreaming || m.Status == storage.MessageAwaitingApproval {
		w.Status = string(m.Status)
	}
	if m.Usage != (storage.Usage{}) {
		w.Usage = &protocol.Usage{InputTokens: m.Usage.InputTokens, OutputTokens: m.Usage.OutputTokens}
	}
	w.Parts = wireParts(m)
	return w
}
