package admin

import (
	"context"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// ConversationList is the answer of GET /conversations.
type ConversationList struct {
	Conversations []Conversation `json:"conversations"`
	// NextCursor continues the listing; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
	// Total counts every conversation the filters match, on every page.
	Total int64 `json:"total"`
}

// Conversation is a conversation as the API shows it. Times are in UTC.
type Conversation struct {
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	Title  string `json:"title"`
	Model  string `json:"model"`
	// Status is "active" or "ended".
	Status string `json:"status"`
	// Mode is "ai", "waiting" (the user asked for a person) or "operator".
	Mode string `json:"mode"`
	// Operator is the user id of the operator holding the conversation;
	// absent unless Mode is "operator".
	Operator string `json:"operator,omitempty"`
	// OperatorName is the holder's display name.
	OperatorName string            `json:"operator_name,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	// EndedAt is absent while the conversation is active.
	EndedAt time.Time `json:"ended_at,omitzero"`
	// ModeChangedAt is absent if the mode never changed.
	ModeChangedAt time.Time         `json:"mode_changed_at,omitzero"`
	Stats         ConversationStats `json:"stats"`
}

// ConversationStats are a conversation's figures. Response times are in
// milliseconds, rounded to the nearest; they are 0 while Responses is 0.
type ConversationStats struct {
	MessageCount     int64 `json:"message_count"`
	OperatorAssisted bool  `json:"operator_assisted"`
	InputTokens      int64 `json:"input_tokens"`
	OutputTokens     int64 `json:"output_tokens"`
	Responses        int64 `json:"responses"`
	ResponseMSAvg    int64 `json:"response_ms_avg"`
	ResponseMSMin    int64 `json:"response_ms_min"`
	ResponseMSMax    int64 `json:"response_ms_max"`
	// Cost is the conversation's tokens at its model's price, in the
	// price table's currency unit; absent when its model has no price.
	Cost *float64 `json:"cost,omitempty"`
}

// MessageList is the answer of GET /conversations/{id}/messages.
type MessageList struct {
	Messages []Message `json:"messages"`
	// NextCursor continues the listing; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Message is one message of a transcript. Times are in UTC.
type Message struct {
	ID string `json:"id"`
	// Role is "user", "assistant", "operator" or "system".
	Role string `json:"role"`
	Text string `json:"text"`
	// Status is "complete" or "streaming".
	Status string `json:"status"`
	// FinishReason is set on finished replies ("stop", "length", "abort",
	// "error", "handoff"...).
	FinishReason string `json:"finish_reason,omitempty"`
	// Error is the error code of a reply that finished with "error".
	Error     string    `json:"error,omitempty"`
	Model     string    `json:"model,omitempty"`
	ReplyTo   string    `json:"reply_to,omitempty"`
	Usage     Usage     `json:"usage,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Usage counts the tokens of a reply.
type Usage struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

// ms converts d to whole milliseconds, rounded to the nearest.
func ms(d time.Duration) int64 { return d.Round(time.Millisecond).Milliseconds() }

// utc returns t in UTC, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func (h *Handler) toConversation(c storage.Conversation) Conversation {
	st := c.Stats
	out := Conversation{
		ID:            c.ID,
		UserID:        c.UserID,
		Title:         c.Title,
		Model:         c.Model,
		Status:        string(c.Status),
		Mode:          string(c.Mode.Normalize()),
		Metadata:      c.Metadata,
		CreatedAt:     utc(c.CreatedAt),
		UpdatedAt:     utc(c.UpdatedAt),
		EndedAt:       utc(c.EndedAt),
		ModeChangedAt: utc(c.ModeChangedAt),
		Stats: ConversationStats{
			MessageCount:     st.MessageCount,
			OperatorAssisted: st.OperatorAssisted,
			InputTokens:      st.Usage.InputTokens,
			OutputTokens:     st.Usage.OutputTokens,
			Responses:        st.Responses,
			ResponseMSMin:    ms(st.ResponseTimeMin),
			ResponseMSMax:    ms(st.ResponseTimeMax),
		},
	}
	if out.Status == "" {
		out.Status = string(storage.StatusActive)
	}
	if c.Mode.Normalize() == storage.ModeOperator {
		out.Operator, out.OperatorName = c.Operator, c.OperatorName
	}
	if st.Responses > 0 {
		out.Stats.ResponseMSAvg = ms(st.ResponseTimeTotal / time.Duration(st.Responses))
	}
	if h.cost != nil {
		if v, ok := h.cost(c.Model, st.Usage); ok {
			out.Stats.Cost = &v
		}
	}
	return out
}

func toMessage(m storage.Message) Message {
	return Message{
		ID:           m.ID,
		Role:         string(m.Role),
		Text:         m.Text,
		Status:       string(m.Status),
		FinishReason: m.FinishReason,
		Error:        m.Error,
		Model:        m.Model,
		ReplyTo:      m.ReplyTo,
		Usage:        Usage{InputTokens: m.Usage.InputTokens, OutputTokens: m.Usage.OutputTokens},
		CreatedAt:    utc(m.CreatedAt),
		UpdatedAt:    utc(m.UpdatedAt),
	}
}

// sorts maps the sort parameter to the Store's keys.
func sortKey(s string) storage.ConversationSort {
	switch s {
	case "created":
		return storage.SortByCreated
	case "messages":
		return storage.SortByMessages
	case "tokens":
		return storage.SortByTokens
	}
	return storage.SortByUpdated
}

// listConversations serves GET /conversations.
func (h *Handler) listConversations(rq *request) (any, *apiError) {
	q := parseQuery(rq.r.URL.RawQuery, "user", "status", "mode", "needs_help", "operator_assisted",
		"model", "created_from", "created_before", "sort", "order", "limit", "cursor")
	sq := storage.ConversationQuery{
		UserID:           q.str("user"),
		Status:           storage.ConversationStatus(q.enum("status", "", "active", "ended")),
		Mode:             storage.Mode(q.enum("mode", "", "ai", "waiting", "operator")),
		OperatorAssisted: q.boolean("operator_assisted"),
		Model:            q.str("model"),
		Sort:             sortKey(q.enum("sort", "updated", "created", "updated", "messages", "tokens")),
		Ascending:        q.enum("order", "desc", "desc", "asc") == "asc",
		Limit:            q.limit(),
		Cursor:           q.str("cursor"),
		WithTotal:        true,
	}
	sq.CreatedFrom, sq.CreatedBefore = q.timeRange("created_from", "created_before")
	switch q.str("needs_help") {
	case "":
	case "true":
		if sq.Mode != "" && sq.Mode != storage.ModeWaiting {
			q.fail(badField("needs_help", "needs_help=true contradicts mode=%s", sq.Mode))
		}
		sq.Mode = storage.ModeWaiting
	default:
		q.fail(badField("needs_help", "needs_help accepts only true (use mode to list other conversations)"))
	}
	if q.err != nil {
		return nil, q.err
	}

	ctx, cancel := context.WithTimeout(rq.r.Context(), h.storeTimeout)
	page, err := h.store.ListConversations(ctx, sq)
	cancel()
	if err != nil {
		return nil, rq.storeError(err, "list conversations", "cursor")
	}
	out := ConversationList{
		Conversations: make([]Conversation, 0, len(page.Conversations)),
		NextCursor:    page.NextCursor,
		Total:         page.Total,
	}
	for _, c := range page.Conversations {
		out.Conversations = append(out.Conversations, h.toConversation(c))
	}
	return out, nil
}

// getConversation serves GET /conversations/{id}.
func (h *Handler) getConversation(rq *request) (any, *apiError) {
	if e := parseQuery(rq.r.URL.RawQuery).err; e != nil {
		return nil, e
	}
	c, e := h.conversation(rq)
	if e != nil {
		return nil, e
	}
	return h.toConversation(c), nil
}

// conversation reads the path's conversation.
func (h *Handler) conversation(rq *request) (storage.Conversation, *apiError) {
	if len(rq.convID) > MaxValueBytes {
		return storage.Conversation{}, badField("id", "the conversation id is longer than %d bytes", MaxValueBytes)
	}
	ctx, cancel := context.WithTimeout(rq.r.Context(), h.storeTimeout)
	c, err := h.store.GetConversation(ctx, rq.convID)
	cancel()
	if err != nil {
		return storage.Conversation{}, rq.storeError(err, "get conversation", "id")
	}
	return c, nil
}

// listMessages serves GET /conversations/{id}/messages.
func (h *Handler) listMessages(rq *request) (any, *apiError) {
	q := parseQuery(rq.r.URL.RawQuery, "cursor", "limit", "order")
	mq := storage.MessageQuery{
		ConversationID: rq.convID,
		Limit:          q.limit(),
		Cursor:         q.str("cursor"),
	}
	if q.enum("order", "asc", "asc", "desc") == "desc" {
		mq.Order = storage.Descending
	}
	if q.err != nil {
		return nil, q.err
	}
	// The conversation is read first: ListMessages does not promise
	// ErrNotFound for an unknown conversation.
	if _, e := h.conversation(rq); e != nil {
		return nil, e
	}
	ctx, cancel := context.WithTimeout(rq.r.Context(), h.storeTimeout)
	page, err := h.store.ListMessages(ctx, mq)
	cancel()
	if err != nil {
		return nil, rq.storeError(err, "list messages", "cursor")
	}
	out := MessageList{Messages: make([]Message, 0, len(page.Messages)), NextCursor: page.NextCursor}
	for _, m := range page.Messages {
		out.Messages = append(out.Messages, toMessage(m))
	}
	return out, nil
}
