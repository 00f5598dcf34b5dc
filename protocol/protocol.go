// Package protocol defines chatbox's WebSocket protocol, version 1: the
// frames a client and the server exchange, how they are decoded and
// validated, and the stable error and close codes. PROTOCOL.md beside this
// file documents every frame with an example.
//
// Frames are JSON objects with a "type" field. The client sends one frame per
// WebSocket text message. The server may send several frames in one message,
// separated by a newline ("\n"): JSON encoding never puts a raw newline inside
// a frame, so splitting on newlines is always safe.
package protocol

// Subprotocol is the WebSocket subprotocol name of this version. A client
// must offer it in Sec-WebSocket-Protocol; the server refuses connections
// that do not.
const Subprotocol = "chatbox.v1"

// Version is the protocol version number sent in the ready frame.
const Version = 1

// Client frame types.
const (
	TypeHello   = "hello"
	TypeOpen    = "open"
	TypeHistory = "history"
	TypeList    = "list"
	TypeSend    = "send"
	TypeStop    = "stop"
	TypeResume  = "resume"
	TypeTyping  = "typing"
	TypeEnd     = "end"
	TypeLeave   = "leave"
	// TypeHelp: the user asks for a person.
	TypeHelp = "help"
	// Operator frames: an identity with an operator role watches any
	// conversation, takes it over from the model and hands it back.
	TypeWatch    = "watch"
	TypeTakeover = "takeover"
	TypeRelease  = "release"
	// TypeApprove answers an approval request: the user who owns the
	// conversation, or the operator holding it, approves or denies a
	// tool call.
	TypeApprove = "approve"
)

// Server frame types. Conversation events (message, reply.*,
// conversation.ended) carry a sequence number; responses and signals do not.
const (
	TypeReady         = "ready"
	TypeOpened        = "opened"
	TypeConversations = "conversations"
	TypeHistoryPage   = "history"
	TypeAck           = "ack"
	TypeResumed       = "resumed"
	TypeOK            = "ok"
	TypeError         = "error"

	TypeMessage    = "message"
	TypeReplyStart = "reply.start"
	TypeReplyDelta = "reply.delta"
	TypeReplyEnd   = "reply.end"
	// TypeReplyReasoning carries a piece of the model's reasoning in Text;
	// it is never part of the reply's text.
	TypeReplyReasoning = "reply.reasoning"
	// TypeToolCall reports a tool call of a reply and each change of its
	// status (Call.Status: started, running, awaiting_approval).
	TypeToolCall = "tool.call"
	// TypeToolDelta carries a piece of a call's arguments (Call.ID, Text)
	// while the model writes them.
	TypeToolDelta = "tool.delta"
	// TypeToolResult reports how a call ended (Call.Status: done, error,
	// denied, expired) with its result.
	TypeToolResult = "tool.result"
	// TypeApprovalRequest asks for approval of a call (Call, with
	// ExpiresAt); the reply waits for an approve frame.
	TypeApprovalRequest = "approval.request"
	TypeEnded           = "conversation.ended"
	// TypeModeChanged: the conversation's mode changed (help requested,
	// operator joined, operator left); it carries Mode and Operator.
	TypeModeChanged = "mode"
	// TypeTyping ("typing") is also sent by the server, as a signal.
)

// Conversation modes, as sent in Conversation.Mode and mode events.
const (
	ModeAI       = "ai"       // the model answers
	ModeWaiting  = "waiting"  // the user asked for a person; the model still answers
	ModeOperator = "operator" // an operator answers; the model does not
)

// FinishHandoff ends a reply stopped because an operator took the
// conversation over.
const FinishHandoff = "handoff"

// Tool call statuses, in Call.Status.
const (
	ToolStarted          = "started"           // the model is writing the call
	ToolRunning          = "running"           // the tool runs
	ToolAwaitingApproval = "awaiting_approval" // waiting for an approve frame
	ToolDone             = "done"              // the tool returned a result
	ToolError            = "error"             // the call failed; ErrorCode says why
	ToolDenied           = "denied"            // approval was refused
	ToolExpired          = "expired"           // nobody answered in time
)

// Part types, in Part.Type.
const (
	PartText      = "text"
	PartReasoning = "reasoning"
	PartTool      = "tool" // a tool call with its status and result
	PartFile      = "file"
)

// Field limits that do not depend on configuration.
const (
	MaxIDBytes     = 128 // request, conversation and message ids
	MaxTitleBytes  = 200
	MaxModelBytes  = 100
	MaxMetadataKey = 64 // bytes of one metadata key
	// DefaultMaxMetadataKeys and DefaultMaxMetadataValue apply when
	// DecodeLimits leaves the metadata limits at zero.
	DefaultMaxMetadataKeys  = 16
	DefaultMaxMetadataValue = 512
	MaxTokenBytes           = 8192
	MaxPageLimit            = 200
)
