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
	TypeEnded      = "conversation.ended"
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
