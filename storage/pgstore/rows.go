package pgstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/chatboxsdk/chatbox/storage"
)

// convColumns are the columns scanConversation reads, in its order.
const convColumns = `id, user_id, title, model, status, metadata, created_at, updated_at, ended_at,
	mode, operator, operator_name, mode_changed_at,
	message_count, operator_assisted, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens,
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
		messages            int64
		usage               storage.Usage
		assisted            bool
	)
	err := row.Scan(&c.ID, &c.UserID, &c.Title, &c.Model, &status, &metadata, &created, &updated, &ended,
		&mode, &c.Operator, &c.OperatorName, &modeChanged,
		&messages, &assisted, &usage.InputTokens, &usage.OutputTokens, &usage.CachedInputTokens, &usage.ReasoningTokens,
		&responses, &total, &minUS, &maxUS)
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
		Usage:             usage,
		Responses:         responses,
		ResponseTimeTotal: time.Duration(total) * time.Microsecond,
		ResponseTimeMin:   time.Duration(minUS) * time.Microsecond,
		ResponseTimeMax:   time.Duration(maxUS) * time.Microsecond,
	}
	return c, nil
}

// msgColumns are the columns scanMessage reads, in its order.
const msgColumns = `conversation_id, id, role, text, status, finish_reason, error, model, reply_to,
	input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, parts, created_at, updated_at`

func scanMessage(row pgx.Row) (storage.Message, error) {
	var (
		m            storage.Message
		role, status string
		parts        []byte
		created      time.Time
		updated      *time.Time
	)
	err := row.Scan(&m.ConversationID, &m.ID, &role, &m.Text, &status, &m.FinishReason, &m.Error, &m.Model, &m.ReplyTo,
		&m.Usage.InputTokens, &m.Usage.OutputTokens, &m.Usage.CachedInputTokens, &m.Usage.ReasoningTokens,
		&parts, &created, &updated)
	if err != nil {
		return storage.Message{}, err
	}
	if m.Parts, err = decodeParts(parts); err != nil {
		return storage.Message{}, fmt.Errorf("message %q of conversation %q: %w", m.ID, m.ConversationID, err)
	}
	m.Role, m.Status = storage.Role(role), storage.MessageStatus(status)
	m.CreatedAt, m.UpdatedAt = created.UTC(), optTime(updated)
	return m, nil
}

// partJSON is one element of the parts column, a JSON array in the
// message's order. Empty fields are left out, the kind excepted.
type partJSON struct {
	Kind              string    `json:"kind"`
	Text              string    `json:"text,omitempty"`
	Signature         string    `json:"signature,omitempty"`
	CallID            string    `json:"call_id,omitempty"`
	Name              string    `json:"name,omitempty"`
	Arguments         string    `json:"arguments,omitempty"`
	IsError           bool      `json:"is_error,omitempty"`
	ErrorCode         string    `json:"error_code,omitempty"`
	Approval          string    `json:"approval,omitempty"`
	ApprovalExpiresAt time.Time `json:"approval_expires_at,omitzero"`
	ApprovedBy        string    `json:"approved_by,omitempty"`
	FileID            string    `json:"file_id,omitempty"`
	FileName          string    `json:"file_name,omitempty"`
	MediaType         string    `json:"media_type,omitempty"`
}

// encodeParts returns the value of the parts column: nil (NULL) without
// parts, else their JSON array as text. A string PostgreSQL cannot hold
// in jsonb (invalid UTF-8, which JSON encoding would silently replace, or
// a NUL character) is storage.ErrInvalid.
func encodeParts(parts []storage.Part) (any, error) {
	if len(parts) == 0 {
		return nil, nil
	}
	js := make([]partJSON, len(parts))
	for i, p := range parts {
		for _, f := range [...]struct{ name, v string }{{"Kind", string(p.Kind)}, {"Text", p.Text}, {"Signature", p.Signature},
			{"CallID", p.CallID}, {"Name", p.Name}, {"Arguments", p.Arguments}, {"ErrorCode", p.ErrorCode},
			{"Approval", string(p.Approval)}, {"ApprovedBy", p.ApprovedBy}, {"FileID", p.FileID},
			{"FileName", p.FileName}, {"MediaType", p.MediaType}} {
			if !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0) {
				return nil, fmt.Errorf("pgstore: part %d: %s is not valid UTF-8 without NUL characters: %w", i, f.name, storage.ErrInvalid)
			}
		}
		js[i] = partJSON{
			Kind: string(p.Kind), Text: p.Text, Signature: p.Signature, CallID: p.CallID, Name: p.Name,
			Arguments: p.Arguments, IsError: p.IsError, ErrorCode: p.ErrorCode, Approval: string(p.Approval),
			ApprovalExpiresAt: p.ApprovalExpiresAt.UTC(), ApprovedBy: p.ApprovedBy,
			FileID: p.FileID, FileName: p.FileName, MediaType: p.MediaType,
		}
	}
	b, err := json.Marshal(js)
	if err != nil {
		return nil, fmt.Errorf("pgstore: encode parts: %w", err)
	}
	return string(b), nil
}

// decodeParts reads the parts column; NULL or an empty array is no parts.
func decodeParts(b []byte) ([]storage.Part, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var js []partJSON
	if err := json.Unmarshal(b, &js); err != nil {
		return nil, fmt.Errorf("decode parts: %w", err)
	}
	if len(js) == 0 {
		return nil, nil
	}
	parts := make([]storage.Part, len(js))
	for i, p := range js {
		parts[i] = storage.Part{
			Kind: storage.PartKind(p.Kind), Text: p.Text, Signature: p.Signature, CallID: p.CallID, Name: p.Name,
			Arguments: p.Arguments, IsError: p.IsError, ErrorCode: p.ErrorCode, Approval: storage.Approval(p.Approval),
			ApprovalExpiresAt: optTime(&p.ApprovalExpiresAt), ApprovedBy: p.ApprovedBy,
			FileID: p.FileID, FileName: p.FileName, MediaType: p.MediaType,
		}
	}
	return parts, nil
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
