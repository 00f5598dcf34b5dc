// Package storage defines the Store contract chatbox persists conversations
// through, the domain types it stores and the sentinel errors every backend
// returns.
//
// A Store is written at three moments only: when a user message is accepted
// (before it is acknowledged), when an assistant reply starts and when it
// ends. It is never written per token. Every write is idempotent by id, so a
// caller may retry a write whose outcome it does not know.
//
// Implementations must be safe for concurrent use. The package
// storage/storagetest holds the conformance suite every Store must pass
// (Run), that of UsageStore (RunUsage), which every Store of this module
// also is, and that of BlobStore (RunBlobs), which every Store of this
// module and storage/fsblob are.
package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them with %w; callers test with errors.Is.
var (
	// ErrNotFound: the conversation or message does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict: a write reused an id for a different record (a conversation
	// id owned by another user, a message id already used with other content
	// identity such as another role).
	ErrConflict = errors.New("storage: conflict")
	// ErrInvalid: the record or query is malformed (empty id, bad cursor...).
	ErrInvalid = errors.New("storage: invalid argument")
	// ErrUnavailable: the backend could not be reached after its retry
	// budget. The operation may be retried later.
	ErrUnavailable = errors.New("storage: unavailable")
)

// ConversationStatus is the lifecycle state of a conversation.
type ConversationStatus string

const (
	// StatusActive conversations accept messages.
	StatusActive ConversationStatus = "active"
	// StatusEnded conversations are closed; they can be read but not written.
	StatusEnded ConversationStatus = "ended"
)

// Conversation is one thread between a user and the assistant.
type Conversation struct {
	ID     string
	UserID string // owner; every read through the server is checked against it
	Title  string
	Model  string
	Status ConversationStatus
	// Metadata holds small host-defined key/value pairs.
	Metadata  map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
	EndedAt   time.Time // zero while active

	// Mode says who answers the user; "" is stored for new conversations
	// and read back as ModeAI. Only ChangeMode changes it.
	Mode Mode
	// Operator is the user id of the operator holding the conversation
	// while Mode is ModeOperator, empty otherwise; OperatorName is their
	// display name, as given to ChangeMode.
	Operator     string
	OperatorName string
	// ModeChangedAt is when Mode last changed; zero if it never did.
	ModeChangedAt time.Time
	// Stats are maintained by the store as messages are appended and
	// replies finish; CreateConversation ignores them.
	Stats ConversationStats
}

// Role says who wrote a message.
type Role string

// Message roles.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleOperator  Role = "operator"
	RoleSystem    Role = "system"
)

// MessageStatus is the state of a stored message. User messages are always
// complete; assistant replies are streaming between their start and end.
type MessageStatus string

// Message states.
const (
	MessageComplete  MessageStatus = "complete"
	MessageStreaming MessageStatus = "streaming"
	// MessageAwaitingApproval: the reply is paused until the tool calls
	// of its parts with ApprovalPending are answered or expire.
	MessageAwaitingApproval MessageStatus = "awaiting_approval"
)

// Usage counts the tokens of one reply. CachedInputTokens is the part of
// InputTokens read from a prompt cache, ReasoningTokens the part of
// OutputTokens spent reasoning; zero when the provider did not say.
type Usage struct {
	InputTokens       int64
	OutputTokens      int64
	CachedInputTokens int64
	ReasoningTokens   int64
}

// Message is one turn of a conversation.
//
// Messages are identified by (ConversationID, ID): an id is unique within its
// conversation and is chosen by the writer before the first write attempt,
// which makes AppendMessage idempotent.
type Message struct {
	ID             string
	ConversationID string
	Role           Role
	// Text is the message's text: for a message with Parts, its text parts
	// joined.
	Text string
	// Parts holds the reasoning, tool calls and results of an assistant
	// reply besides its text; empty for a plain text message.
	Parts  []Part
	Status MessageStatus
	// FinishReason is set on assistant replies when they end: "stop",
	// "length", "abort", "error", "timeout", "interrupted"...
	FinishReason string
	// Error is a stable error code when FinishReason is "error".
	Error     string
	Model     string
	ReplyTo   string // id of the user message an assistant reply answers
	Usage     Usage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Order is the direction of a listing.
type Order int

const (
	// Ascending lists oldest first.
	Ascending Order = iota
	// Descending lists newest first.
	Descending
)

// MaxPageSize is the largest page a listing returns; larger limits are
// clamped to it.
const MaxPageSize = 500

// DefaultPageSize is the page size used when a query's Limit is zero.
const DefaultPageSize = 50

// MessageQuery selects a page of one conversation's messages, ordered by
// (CreatedAt, ID) in the given direction.
type MessageQuery struct {
	ConversationID string // required
	Limit          int    // 0 means DefaultPageSize; clamped to MaxPageSize
	Order          Order
	// Cursor continues a previous listing with the same ConversationID and
	// Order; empty starts at the beginning (oldest for Ascending, newest for
	// Descending). Cursors are opaque.
	Cursor string
}

// MessagePage is one page of messages.
type MessagePage struct {
	Messages []Message
	// NextCursor continues the listing; empty when there is nothing more.
	NextCursor string
}

// ConversationQuery selects a page of conversations. Every filter left at
// its zero value matches everything; the filters combine with AND.
//
// Conversations are ordered by Sort, largest (newest) first unless
// Ascending, with ties broken by ID in the same direction, so a listing
// paged with its cursors returns every match exactly once.
type ConversationQuery struct {
	// UserID restricts the listing to one owner; empty lists every user's
	// conversations (operator use only).
	UserID string
	// Status restricts the listing to one status; empty means any.
	Status ConversationStatus
	// Mode restricts the listing to one mode; ModeAI also matches
	// conversations stored with an empty mode. ModeWaiting lists the
	// conversations that asked for a person (needs help).
	Mode Mode
	// Model restricts the listing to conversations opened with this model.
	Model string
	// OperatorAssisted, when set, keeps only conversations whose
	// Stats.OperatorAssisted equals it.
	OperatorAssisted *bool
	// CreatedFrom and CreatedBefore bound CreatedAt to [CreatedFrom,
	// CreatedBefore); a zero bound is open.
	CreatedFrom   time.Time
	CreatedBefore time.Time

	// Sort is the listing key; an unknown Sort, like an invalid Mode,
	// gives ErrInvalid.
	Sort      ConversationSort
	Ascending bool

	Limit int // 0 means DefaultPageSize; clamped to MaxPageSize
	// Cursor continues a previous listing made with the same filters, Sort
	// and Ascending; a cursor from another sort gives ErrInvalid.
	Cursor string
	// WithTotal asks for the number of matches in ConversationPage.Total,
	// at the cost of a count.
	WithTotal bool
}

// ConversationSort is the key conversations are listed by.
type ConversationSort int

const (
	// SortByCreated orders by CreatedAt (start time); the default.
	SortByCreated ConversationSort = iota
	// SortByUpdated orders by UpdatedAt (last activity).
	SortByUpdated
	// SortByMessages orders by Stats.MessageCount.
	SortByMessages
	// SortByTokens orders by Stats.Usage.InputTokens + OutputTokens.
	SortByTokens
)

// ConversationPage is one page of conversations.
type ConversationPage struct {
	Conversations []Conversation
	NextCursor    string
	// Total counts every conversation the query's filters match (not only
	// this page) when the query asked WithTotal; otherwise it is -1.
	Total int64
}

// Store persists conversations and messages. All methods honour ctx
// cancellation and are safe for concurrent use.
type Store interface {
	// CreateConversation stores a new conversation. ID, UserID and CreatedAt
	// are required. Mode, Operator, OperatorName, ModeChangedAt and Stats are ignored: a
	// new conversation starts in ModeAI with zero statistics. Creating a conversation whose id already exists for the
	// same user is a no-op returning nil (a retried create); for another user
	// it returns ErrConflict.
	CreateConversation(ctx context.Context, c Conversation) error

	// GetConversation returns the conversation or ErrNotFound.
	GetConversation(ctx context.Context, id string) (Conversation, error)

	// ListConversations returns a page of conversations.
	ListConversations(ctx context.Context, q ConversationQuery) (ConversationPage, error)

	// EndConversation marks a conversation ended at the given time. Ending
	// an ended conversation is a no-op. Unknown ids give ErrNotFound.
	EndConversation(ctx context.Context, id string, at time.Time) error

	// AppendMessage stores m in its conversation. ID, ConversationID, Role
	// and CreatedAt are required; the conversation must exist (ErrNotFound).
	// A created message moves the conversation's UpdatedAt forward to its
	// CreatedAt.
	// If a message with the same (ConversationID, ID) is already stored, the
	// stored message is returned with created == false and nothing changes:
	// a retried or resent append never creates a second message. An existing
	// message with a different Role gives ErrConflict.
	AppendMessage(ctx context.Context, m Message) (stored Message, created bool, err error)

	// UpdateMessage replaces the mutable fields of a stored message (Text,
	// Parts, Status, FinishReason, Error, Usage, Model, UpdatedAt), empty values
	// included. It is used to finish an assistant reply (Model records the
	// model that answered, which a fallback may change) and is idempotent.
	// Unknown messages give ErrNotFound.
	UpdateMessage(ctx context.Context, m Message) error

	// GetMessage returns one message or ErrNotFound.
	GetMessage(ctx context.Context, conversationID, id string) (Message, error)

	// ListMessages returns a page of a conversation's messages.
	ListMessages(ctx context.Context, q MessageQuery) (MessagePage, error)

	// ChangeMode applies c atomically and reports whether this call changed
	// the mode; see ModeChange.
	ChangeMode(ctx context.Context, c ModeChange) (conv Conversation, changed bool, err error)

	// AppendAudit records an operator action. ID, Action, Actor and At are
	// required (ErrInvalid). Appending an ID already stored is a no-op
	// returning nil.
	AppendAudit(ctx context.Context, e AuditEntry) error

	// ListAudit returns a page of the audit log, newest first by (At, ID).
	ListAudit(ctx context.Context, q AuditQuery) (AuditPage, error)

	// Aggregate computes the figures of a time range; see AggregateQuery.
	Aggregate(ctx context.Context, q AggregateQuery) (Aggregate, error)
}

// ClampLimit applies DefaultPageSize and MaxPageSize to a query limit.
// Backends use it so every Store pages the same way.
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	default:
		return n
	}
}
