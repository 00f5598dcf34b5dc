package mongostore

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chatboxsdk/chatbox/storage"
)

// Field names shared by queries and documents.
const (
	fID             = "_id"
	fUserID         = "user_id"
	fStatus         = "status"
	fCreatedAt      = "created_at"
	fUpdatedAt      = "updated_at"
	fEndedAt        = "ended_at"
	fConversationID = "conversation_id"
	fMsgID          = "id"
	fModel          = "model"
	fMode           = "mode"
	fOperator       = "operator"
	fOperatorName   = "operator_name"
	fModeChangedAt  = "mode_changed_at"
	fRole           = "role"
	fResponseMS     = "response_ms"
	fParts          = "parts"
)

// kv is one metadata pair. Metadata is stored as an array of pairs so host
// keys never meet MongoDB's rules for field names ("$", ".", empty).
type kv struct {
	K string `bson:"k"`
	V string `bson:"v"`
}

// convDoc is a conversation document. The statistics are written by
// update operators only; the two that listings sort by, message_count and
// total_tokens, are inserted as zero so every document has them, as is
// the mode (empty: storage.ModeAI).
type convDoc struct {
	ID            string         `bson:"_id"`
	UserID        string         `bson:"user_id"`
	Title         string         `bson:"title,omitempty"`
	Model         string         `bson:"model,omitempty"`
	Status        string         `bson:"status"`
	Metadata      []kv           `bson:"metadata,omitempty"`
	CreatedAt     bson.DateTime  `bson:"created_at"`
	UpdatedAt     *bson.DateTime `bson:"updated_at,omitempty"`
	EndedAt       *bson.DateTime `bson:"ended_at,omitempty"`
	Mode          string         `bson:"mode"`
	Operator      string         `bson:"operator,omitempty"`
	OperatorName  string         `bson:"operator_name,omitempty"`
	ModeChangedAt *bson.DateTime `bson:"mode_changed_at,omitempty"`
	Stats         statsDoc       `bson:",inline"`
}

// msgDoc is a message document. Writer is a random token of the call that
// inserted it, so a retry of that very call recognises its own insert.
type msgDoc struct {
	Key            string         `bson:"_id"`
	ConversationID string         `bson:"conversation_id"`
	ID             string         `bson:"id"`
	Role           string         `bson:"role"`
	Text           string         `bson:"text,omitempty"`
	Status         string         `bson:"status,omitempty"`
	FinishReason   string         `bson:"finish_reason,omitempty"`
	Error          string         `bson:"error,omitempty"`
	Model          string         `bson:"model,omitempty"`
	ReplyTo        string         `bson:"reply_to,omitempty"`
	InputTokens    int64          `bson:"input_tokens,omitempty"`
	OutputTokens   int64          `bson:"output_tokens,omitempty"`
	CachedTokens   int64          `bson:"cached_input_tokens,omitempty"`
	ReasonTokens   int64          `bson:"reasoning_tokens,omitempty"`
	Parts          []partDoc      `bson:"parts,omitempty"`
	CreatedAt      bson.DateTime  `bson:"created_at"`
	UpdatedAt      *bson.DateTime `bson:"updated_at,omitempty"`
	Writer         string         `bson:"w,omitempty"`
	// ResponseMS is set when an update took the message from streaming
	// (or awaiting approval) to complete: its response time in
	// milliseconds, for Aggregate.
	ResponseMS *int64 `bson:"response_ms,omitempty"`
}

// partDoc is one element of a message document's parts array, in the
// message's order. Empty fields are left out, the kind excepted.
type partDoc struct {
	Kind              string         `bson:"kind"`
	Text              string         `bson:"text,omitempty"`
	Signature         string         `bson:"signature,omitempty"`
	CallID            string         `bson:"call_id,omitempty"`
	Name              string         `bson:"name,omitempty"`
	Arguments         string         `bson:"arguments,omitempty"`
	IsError           bool           `bson:"is_error,omitempty"`
	ErrorCode         string         `bson:"error_code,omitempty"`
	Approval          string         `bson:"approval,omitempty"`
	ApprovalExpiresAt *bson.DateTime `bson:"approval_expires_at,omitempty"`
	ApprovedBy        string         `bson:"approved_by,omitempty"`
	FileID            string         `bson:"file_id,omitempty"`
	FileName          string         `bson:"file_name,omitempty"`
	MediaType         string         `bson:"media_type,omitempty"`
}

// toPartDocs returns the documents of parts, nil when there are none.
func toPartDocs(parts []storage.Part) []partDoc {
	if len(parts) == 0 {
		return nil
	}
	docs := make([]partDoc, len(parts))
	for i, p := range parts {
		docs[i] = partDoc{
			Kind: string(p.Kind), Text: p.Text, Signature: p.Signature, CallID: p.CallID, Name: p.Name,
			Arguments: p.Arguments, IsError: p.IsError, ErrorCode: p.ErrorCode, Approval: string(p.Approval),
			ApprovalExpiresAt: optDate(p.ApprovalExpiresAt), ApprovedBy: p.ApprovedBy,
			FileID: p.FileID, FileName: p.FileName, MediaType: p.MediaType,
		}
	}
	return docs
}

// fromPartDocs returns the parts of docs, nil when there are none.
func fromPartDocs(docs []partDoc) []storage.Part {
	if len(docs) == 0 {
		return nil
	}
	parts := make([]storage.Part, len(docs))
	for i, d := range docs {
		parts[i] = storage.Part{
			Kind: storage.PartKind(d.Kind), Text: d.Text, Signature: d.Signature, CallID: d.CallID, Name: d.Name,
			Arguments: d.Arguments, IsError: d.IsError, ErrorCode: d.ErrorCode, Approval: storage.Approval(d.Approval),
			ApprovalExpiresAt: fromOptDate(d.ApprovalExpiresAt), ApprovedBy: d.ApprovedBy,
			FileID: d.FileID, FileName: d.FileName, MediaType: d.MediaType,
		}
	}
	return parts
}

// messageKey is a message's _id: unambiguous for any pair of ids, because
// the conversation id's length comes first.
func messageKey(conversationID, id string) string {
	return strconv.Itoa(len(conversationID)) + ":" + conversationID + "/" + id
}

func date(t time.Time) bson.DateTime { return bson.NewDateTimeFromTime(t) }

// optDate stores a zero time as an absent field.
func optDate(t time.Time) *bson.DateTime {
	if t.IsZero() {
		return nil
	}
	d := date(t)
	return &d
}

func fromDate(d bson.DateTime) time.Time { return d.Time().UTC() }

func fromOptDate(d *bson.DateTime) time.Time {
	if d == nil {
		return time.Time{}
	}
	return fromDate(*d)
}

func toConvDoc(c storage.Conversation) convDoc {
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	d := convDoc{
		ID: c.ID, UserID: c.UserID, Title: c.Title, Model: c.Model, Status: string(c.Status),
		CreatedAt: date(c.CreatedAt), UpdatedAt: optDate(c.UpdatedAt), EndedAt: optDate(c.EndedAt),
	}
	for _, k := range slices.Sorted(maps.Keys(c.Metadata)) {
		d.Metadata = append(d.Metadata, kv{k, c.Metadata[k]})
	}
	return d
}

func (d convDoc) conversation() storage.Conversation {
	c := storage.Conversation{
		ID: d.ID, UserID: d.UserID, Title: d.Title, Model: d.Model, Status: storage.ConversationStatus(d.Status),
		CreatedAt: fromDate(d.CreatedAt), UpdatedAt: fromOptDate(d.UpdatedAt), EndedAt: fromOptDate(d.EndedAt),
		Mode: storage.Mode(d.Mode).Normalize(), Operator: d.Operator, OperatorName: d.OperatorName, ModeChangedAt: fromOptDate(d.ModeChangedAt),
		Stats: d.Stats.stats(),
	}
	if len(d.Metadata) > 0 {
		c.Metadata = make(map[string]string, len(d.Metadata))
		for _, p := range d.Metadata {
			c.Metadata[p.K] = p.V
		}
	}
	return c
}

func toMsgDoc(m storage.Message) msgDoc {
	return msgDoc{
		Key: messageKey(m.ConversationID, m.ID), ConversationID: m.ConversationID, ID: m.ID,
		Role: string(m.Role), Text: m.Text, Status: string(m.Status), FinishReason: m.FinishReason,
		Error: m.Error, Model: m.Model, ReplyTo: m.ReplyTo,
		InputTokens: m.Usage.InputTokens, OutputTokens: m.Usage.OutputTokens,
		CachedTokens: m.Usage.CachedInputTokens, ReasonTokens: m.Usage.ReasoningTokens,
		Parts:     toPartDocs(m.Parts),
		CreatedAt: date(m.CreatedAt), UpdatedAt: optDate(m.UpdatedAt),
	}
}

// usage returns the message's token counts.
func (d msgDoc) usage() storage.Usage {
	return storage.Usage{InputTokens: d.InputTokens, OutputTokens: d.OutputTokens,
		CachedInputTokens: d.CachedTokens, ReasoningTokens: d.ReasonTokens}
}

func (d msgDoc) message() storage.Message {
	return storage.Message{
		ID: d.ID, ConversationID: d.ConversationID, Role: storage.Role(d.Role), Text: d.Text,
		Status: storage.MessageStatus(d.Status), FinishReason: d.FinishReason, Error: d.Error,
		Model: d.Model, ReplyTo: d.ReplyTo, Usage: d.usage(), Parts: fromPartDocs(d.Parts),
		CreatedAt: fromDate(d.CreatedAt), UpdatedAt: fromOptDate(d.UpdatedAt),
	}
}
