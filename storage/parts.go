package storage

import "time"

// PartKind says what a Part holds; the values are those of llm.PartKind.
type PartKind string

// Part kinds.
const (
	PartText       PartKind = "text"
	PartReasoning  PartKind = "reasoning"
	PartToolCall   PartKind = "tool_call"
	PartToolResult PartKind = "tool_result"
	PartFile       PartKind = "file"
)

// Approval is the state of a tool call that needs the user's approval.
type Approval string

// Approval states. A call that needs no approval has an empty Approval.
const (
	ApprovalPending  Approval = "pending"
	ApprovalApproved Approval = "approved"
	ApprovalDenied   Approval = "denied"
	ApprovalExpired  Approval = "expired"
)

// Part is one piece of a stored message, in the order the model produced
// them. Message.Text keeps the concatenated text parts, so listings and
// search read a message the same way with or without parts.
//
// The encrypted wrapper seals Text, Signature, Arguments and FileName of
// every part; the other fields (FileID and MediaType included) stay
// readable for queries.
type Part struct {
	Kind PartKind
	// Text is the text of a text or reasoning part, or the content of a
	// tool result.
	Text string
	// Signature is a reasoning part's provider signature.
	Signature string
	// CallID names the call of a tool_call part, and the call a
	// tool_result part answers. Name is the tool's name in both.
	CallID string
	Name   string
	// Arguments is a tool call's JSON arguments, as the model wrote them.
	Arguments string
	// IsError marks a tool result that reports a failure; ErrorCode is
	// its stable code ("invalid_arguments", "timeout", "denied"...).
	IsError   bool
	ErrorCode string
	// Approval and ApprovalExpiresAt are set on a tool call that needs
	// approval; ApprovedBy names who answered it.
	Approval          Approval
	ApprovalExpiresAt time.Time
	ApprovedBy        string
	// FileID, FileName and MediaType describe a file part.
	FileID    string
	FileName  string
	MediaType string
}
