package pgstore

import (
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatboxsdk/chatbox/storage"
)

// convColumns are the columns scanConversation reads, in its order.
const convColumns = `id, user_id, title, model, status, metadata, created_at, updated_at, ended_at,
	mode, operator, operator_name, mode_changed_at,
	message_count, operator_assisted, input_tokens, output_tokens,
	response_count, response_us_total, response_us_min, response_us_max`

func scanConversation(row pgx.Row) (storage.Conversation, error) {
	var (
		c                   storage.Conversation
		status, mode        string
		metadata            map[string]string
		ended, modeChanged  *time.Time
		total, minUS, maxUS int64
		created, updated    time.Time
		responses           int64
		messages, in, out   int64
		assisted            bool
	)
	err := row.Scan(&c.ID, &c.UserID, &c.Title, &c.Model, &status, &metadata, &created, &updated, &ended,
		&mode, &c.Operator, &c.OperatorName, &modeChanged,
		&messages, &assisted, &in, &out, &responses, &total, &minUS, &maxUS)
	if err != nil {
		return storage.Conversation{}, err
	}
	c.Status, c.Mode = storage.ConversationStatus(status), storage.Mode(mode).Normalize()
	if len(metadata) > 0 {
		c.Metadata = metadata
	}
	c.CreatedAt, c.UpdatedAt = created.UTC(), updated.UTC()
	c.EndedAt, c.ModeChangedAt = optTime(ended), optTime(modeChanged)
	c.Stats = storage.ConversationStats{
		MessageCount:      messages,
		OperatorAssisted:  assisted,
		Usage:             storage.Usage{InputTokens: in, OutputTokens: out},
		Responses:         responses,
		ResponseTimeTotal: time.Duration(total) * time.Microsecond,
		ResponseTimeMin:   time.Duration(minUS) * time.Microsecond,
		ResponseTimeMax:   time.Duration(maxUS) * time.Microsecond,
	}
	return c, nil
}

// msgColumns are the columns scanMessage reads, in its order.
const msgColumns = `conversation_id, id, role, text, status, finish_reason, error, model, reply_to,
	input_tokens, output_tokens, created_at, updated_at`

func scanMessage(row pgx.Row) (storage.Message, error) {
	var (
		m            storage.Message
		role, status string
		created      time.Time
		updated      *time.Time
	)
	err := row.Scan(&m.ConversationID, &m.ID, &role, &m.Text, &status, &m.FinishReason, &m.Error, &m.Model, &m.ReplyTo,
		&m.Usage.InputTokens, &m.Usage.OutputTokens, &created, &updated)
	if err != nil {
		return storage.Message{}, err
	}
	m.Role, m.Status = storage.Role(role), storage.MessageStatus(status)
	m.CreatedAt, m.UpdatedAt = created.UTC(), optTime(updated)
	return m, nil
}

// optTime reads a nullable time; NULL is the zero time.
func optTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
