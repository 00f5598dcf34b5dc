package protocol

import "time"

// ClientFrame is any frame a client sends. Which fields are meaningful
// depends on Type; Decode validates them. Unknown fields are ignored so that
// newer clients can talk to older servers.
type ClientFrame struct {
	Type string `json:"type"`
	// ID is an optional request id (at most MaxIDBytes). The response and
	// any error caused by the request echo it.
	ID string `json:"id,omitempty"`

	Token          string            `json:"token,omitempty"`           // hello
	ConversationID string            `json:"conversation_id,omitempty"` // open (empty: new), every conversation frame
	MessageID      string            `json:"message_id,omitempty"`      // send
	Text           string            `json:"text,omitempty"`            // send
	Attachments    []string          `json:"attachments,omitempty"`     // send: ids of uploaded files
	Title          string            `json:"title,omitempty"`           // open (new conversation)
	Model          string            `json:"model,omitempty"`           // open (new conversation)
	Metadata       map[string]string `json:"metadata,omitempty"`        // open (new conversation)
	AfterSeq       *int64            `json:"after_seq,omitempty"`       // resume
	Active         *bool             `json:"active,omitempty"`          // typing
	Cursor         string            `json:"cursor,omitempty"`          // history, list
	Limit          int               `json:"limit,omitempty"`           // open, history, list
	Force          bool              `json:"force,omitempty"`           // takeover from an operator who left
	ReplyID        string            `json:"reply_id,omitempty"`        // approve
	CallID         string            `json:"call_id,omitempty"`         // approve
	Approved       *bool             `json:"approved,omitempty"`        // approve
}

// ServerFrame is any frame the server sends. Which fields are set depends on
// Type; PROTOCOL.md lists them per type.
type ServerFrame struct {
	Type           string `json:"type"`
	ID             string `json:"id,omitempty"` // echoes the request id
	ConversationID string `json:"conversation_id,omitempty"`
	// Seq is the conversation sequence number of an event (message,
	// reply.start, reply.delta, reply.end, conversation.ended).
	Seq int64 `json:"seq,omitempty"`

	// ready
	Protocol     int     `json:"protocol,omitempty"`
	User         *User   `json:"user,omitempty"`
	Models       []Model `json:"models,omitempty"`
	DefaultModel string  `json:"default_model,omitempty"`
	Limits       *Limits `json:"limits,omitempty"`

	// opened, history, conversations
	Conversation  *Conversation  `json:"conversation,omitempty"`
	Conversations []Conversation `json:"conversations,omitempty"`
	Messages      []Message      `json:"messages,omitempty"`
	Cursor        string         `json:"cursor,omitempty"` // continues the listing; empty when no more
	// LastSeq: opened — events after it follow; resumed — the replay ended
	// there.
	LastSeq int64 `json:"last_seq,omitempty"`
	// Reply is the reply still streaming when a conversation is opened: its
	// text so far, up to LastSeq.
	Reply *ReplySnapshot `json:"reply,omitempty"`

	// ack
	MessageID string `json:"message_id,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`

	// message
	Message *Message `json:"message,omitempty"`

	// reply.start, reply.delta, reply.end
	ReplyID      string `json:"reply_id,omitempty"`
	ReplyTo      string `json:"reply_to,omitempty"`
	Model        string `json:"model,omitempty"`
	Text         string `json:"text,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
	Usage        *Usage `json:"usage,omitempty"`

	// tool.call, tool.delta, tool.result, approval.request
	Call *ToolCall `json:"call,omitempty"`

	// typing
	Role   string `json:"role,omitempty"`
	Active *bool  `json:"active,omitempty"`

	// mode (event)
	Mode     string    `json:"mode,omitempty"`
	Operator *Operator `json:"operator,omitempty"`

	// error; reply.end with finish_reason "error" also carries Error.
	Error *ErrorBody `json:"error,omitempty"`
}

// User describes the authenticated identity in ready.
type User struct {
	ID    string   `json:"id"`
	Name  string   `json:"name,omitempty"`
	Roles []string `json:"roles,omitempty"`
}

// Model is one model a client may choose.
type Model struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Limits tells the client the server's input limits.
type Limits struct {
	MaxFrameBytes int `json:"max_frame_bytes"`
	MaxTextBytes  int `json:"max_text_bytes"`
	// The attachment limits, when the server keeps files: bytes per file,
	// files per message, and the media types accepted.
	MaxFileBytes int64    `json:"max_file_bytes,omitempty"`
	MaxFiles     int      `json:"max_files,omitempty"`
	FileTypes    []string `json:"file_types,omitempty"`
}

// Conversation is a conversation's summary.
type Conversation struct {
	ID        string            `json:"id"`
	Title     string            `json:"title,omitempty"`
	Model     string            `json:"model,omitempty"`
	Status    string            `json:"status"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	// Mode is who answers: ModeAI, ModeWaiting or ModeOperator.
	Mode string `json:"mode"`
	// Operator names the operator answering, in ModeOperator.
	Operator *Operator `json:"operator,omitempty"`
	// UserID is the owner; sent to operators only.
	UserID string `json:"user_id,omitempty"`
}

// Operator names the operator of a mode event: the display name only, as
// the same event reaches the user.
type Operator struct {
	Name string `json:"name,omitempty"`
}

// Message is a stored message.
type Message struct {
	ID           string    `json:"id"`
	Role         string    `json:"role"`
	Text         string    `json:"text"`
	Status       string    `json:"status,omitempty"` // "streaming" while a reply is generated
	FinishReason string    `json:"finish_reason,omitempty"`
	Error        string    `json:"error,omitempty"`
	ReplyTo      string    `json:"reply_to,omitempty"`
	Model        string    `json:"model,omitempty"`
	Usage        *Usage    `json:"usage,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	// Parts is set on replies that hold more than text (reasoning, tool
	// calls), in order; Text still holds the reply's whole text.
	Parts []Part `json:"parts,omitempty"`
}

// Part is one piece of a message: text, reasoning, a tool call with its
// status and result, or an attached file.
type Part struct {
	Type string    `json:"type"`
	Text string    `json:"text,omitempty"`
	Call *ToolCall `json:"call,omitempty"`
	File *File     `json:"file,omitempty"`
}

// File is a file attached to a message; its bytes are fetched with an
// authenticated GET of the Server's /files/{conversation_id}/{id}.
type File struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	MediaType string `json:"media_type"`
}

// ToolCall is a tool call of a reply, as clients see it.
type ToolCall struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Arguments is the JSON text of the arguments the model wrote.
	Arguments string `json:"arguments,omitempty"`
	Status    string `json:"status,omitempty"`
	// Result is the tool's result text (done), or a short description of
	// the failure (error, denied, expired); ErrorCode is its stable code.
	Result    string `json:"result,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
	// ExpiresAt is when an approval request lapses (denied).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// ReplySnapshot is an in-progress reply at the moment a conversation was
// opened.
type ReplySnapshot struct {
	ReplyID string `json:"reply_id"`
	ReplyTo string `json:"reply_to,omitempty"`
	Model   string `json:"model,omitempty"`
	Text    string `json:"text"`
	// Parts is the reply's reasoning and tool calls so far, with its text,
	// when it has more than text.
	Parts []Part `json:"parts,omitempty"`
}

// Usage is token usage of a reply.
type Usage struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

// ErrorBody is the client-facing error shape.
type ErrorBody struct {
	Code         Code   `json:"code"`
	Message      string `json:"message"`
	Retryable    bool   `json:"retryable"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
	// Field names the offending request field, when one is to blame.
	Field string `json:"field,omitempty"`
	// Ref identifies the failure in the server log (internal errors).
	Ref string `json:"ref,omitempty"`
}

// Body converts an *Error into its client-facing shape.
func (e *Error) Body() *ErrorBody {
	b := &ErrorBody{Code: e.Code, Message: e.Message, Retryable: e.Code.Retryable(), Field: e.Field, Ref: e.Ref}
	if e.RetryAfter > 0 {
		b.RetryAfterMS = e.RetryAfter.Milliseconds()
		if b.RetryAfterMS == 0 {
			b.RetryAfterMS = 1
		}
	}
	return b
}
