package client

import (
	"context"

	"github.com/chatboxsdk/chatbox/protocol"
)

// Approve answers the approval request of tool call callID of reply
// replyID (an approval.request event, or a call awaiting approval in an
// opened frame; see PendingApprovals): approved true lets the call run,
// false refuses it. It returns once the server took the answer; the call's
// tool.call and tool.result events follow. A refusal is a *ServerError:
// not_found (no such call), conflict (already answered, by this socket or
// another, or expired), forbidden (neither the conversation's owner nor the
// operator holding it).
func (c *Client) Approve(ctx context.Context, conversationID, replyID, callID string, approved bool) error {
	_, err := c.Request(ctx, protocol.ClientFrame{
		Type: protocol.TypeApprove, ConversationID: conversationID,
		ReplyID: replyID, CallID: callID, Approved: &approved,
	})
	return err
}

// messageAwaitingApproval is the status of a stored reply paused until a
// call of its parts is answered.
const messageAwaitingApproval = "awaiting_approval"

// ApprovalRequest is a tool call waiting for an answer.
type ApprovalRequest struct {
	ConversationID string
	ReplyID        string
	Call           protocol.ToolCall
}

// PendingApprovals returns the approval requests a frame carries: the
// call of an approval.request event, or the calls awaiting approval in an
// opened or history frame (a reply paused for approval is stored with
// status awaiting_approval; opened.reply may hold some too).
func PendingApprovals(f protocol.ServerFrame) []ApprovalRequest {
	var out []ApprovalRequest
	add := func(replyID string, parts []protocol.Part) {
		for _, p := range parts {
			if p.Type == protocol.PartTool && p.Call != nil && p.Call.Status == protocol.ToolAwaitingApproval {
				out = append(out, ApprovalRequest{ConversationID: f.ConversationID, ReplyID: replyID, Call: *p.Call})
			}
		}
	}
	if f.Type == protocol.TypeApprovalRequest && f.Call != nil {
		out = append(out, ApprovalRequest{ConversationID: f.ConversationID, ReplyID: f.ReplyID, Call: *f.Call})
	}
	for _, m := range f.Messages {
		if m.Status == messageAwaitingApproval {
			add(m.ID, m.Parts)
		}
	}
	if f.Reply != nil {
		add(f.Reply.ReplyID, f.Reply.Parts)
	}
	return out
}

// ReplyFromSnapshot returns the reply still streaming in an opened frame
// (its reply field) as a Reply to pass to ReadReply, which continues it.
func ReplyFromSnapshot(s *protocol.ReplySnapshot) *Reply {
	if s == nil {
		return nil
	}
	r := &Reply{ID: s.ReplyID, ReplyTo: s.ReplyTo, Text: s.Text, Parts: cloneParts(s.Parts)}
	r.Reasoning = r.partText(protocol.PartReasoning)
	return r
}

// ReplyFromMessage returns a stored reply that has not ended (an opened
// frame's message with status streaming or awaiting_approval) as a Reply
// to pass to ReadReply, which continues it. Awaiting is set to its first
// call waiting for approval.
func ReplyFromMessage(m protocol.Message) *Reply {
	r := &Reply{ID: m.ID, ReplyTo: m.ReplyTo, Text: m.Text, Parts: cloneParts(m.Parts)}
	r.Reasoning = r.partText(protocol.PartReasoning)
	for _, p := range r.Parts {
		if p.Call != nil && p.Call.Status == protocol.ToolAwaitingApproval {
			c := *p.Call
			r.Awaiting = &c
			break
		}
	}
	return r
}

// Call returns the reply's tool call of that id, or nil.
func (r *Reply) Call(id string) *protocol.ToolCall {
	for _, p := range r.Parts {
		if p.Call != nil && p.Call.ID == id {
			return p.Call
		}
	}
	return nil
}

// partText returns the text of the reply's parts of one type, joined.
func (r *Reply) partText(typ string) string {
	s := ""
	for _, p := range r.Parts {
		if p.Type == typ {
			s += p.Text
		}
	}
	return s
}

// addPart appends text to the last part when it is of the same type, or
// starts a new part.
func (r *Reply) addPart(typ, text string) {
	if n := len(r.Parts); n > 0 && r.Parts[n-1].Type == typ {
		r.Parts[n-1].Text += text
		return
	}
	r.Parts = append(r.Parts, protocol.Part{Type: typ, Text: text})
}

// call returns the reply's call of that id, adding it as a tool part when
// new. A reply that held only text (so far) gets its text as a first part.
func (r *Reply) call(id, textSoFar string) *protocol.ToolCall {
	if c := r.Call(id); c != nil {
		return c
	}
	if len(r.Parts) == 0 && textSoFar != "" {
		r.Parts = append(r.Parts, protocol.Part{Type: protocol.PartText, Text: textSoFar})
	}
	c := &protocol.ToolCall{ID: id}
	r.Parts = append(r.Parts, protocol.Part{Type: protocol.PartTool, Call: c})
	return c
}

// applyCall brings a call up to date with the call of a tool event.
func applyCall(c *protocol.ToolCall, from *protocol.ToolCall, result bool) {
	if from.Name != "" {
		c.Name = from.Name
	}
	if from.Arguments != "" {
		c.Arguments = from.Arguments
	}
	if from.Status != "" {
		c.Status = from.Status
	}
	if result {
		c.Result, c.ErrorCode = from.Result, from.ErrorCode
	}
	if from.ExpiresAt != nil {
		t := *from.ExpiresAt
		c.ExpiresAt = &t
	}
}

// cloneParts copies parts and their calls, so that a Reply never shares
// a call with the one it continues.
func cloneParts(parts []protocol.Part) []protocol.Part {
	if len(parts) == 0 {
		return nil
	}
	out := make([]protocol.Part, len(parts))
	for i, p := range parts {
		out[i] = p
		if p.Call != nil {
			c := *p.Call
			if c.ExpiresAt != nil {
				t := *c.ExpiresAt
				c.ExpiresAt = &t
			}
			out[i].Call = &c
		}
	}
	return out
}
