package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/chatboxsdk/chatbox/protocol"
)

// NewMessageID returns a fresh message id for Send.
func NewMessageID() string { return "m_" + rand.Text() }

// OpenOptions describe a new conversation.
type OpenOptions struct {
	Title    string
	Model    string
	Metadata map[string]string
	Limit    int // history messages to return; 0 means the server default
}

// OpenNew starts a new conversation and opens it on this socket.
func (c *Client) OpenNew(ctx context.Context, o OpenOptions) (protocol.ServerFrame, error) {
	return c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeOpen, Title: o.Title, Model: o.Model, Metadata: o.Metadata, Limit: o.Limit})
}

// Open opens an existing conversation: the opened frame carries its latest
// messages and the reply still streaming, if any; its events follow.
func (c *Client) Open(ctx context.Context, conversationID string) (protocol.ServerFrame, error) {
	return c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeOpen, ConversationID: conversationID})
}

// Resume re-attaches to a conversation after a reconnect: the server first
// replays every event after afterSeq (queued for Next), then the resumed
// frame is returned.
func (c *Client) Resume(ctx context.Context, conversationID string, afterSeq int64) (protocol.ServerFrame, error) {
	return c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeResume, ConversationID: conversationID, AfterSeq: &afterSeq})
}

// Send sends a user message and waits for its acknowledgement (the message
// is stored by then).
func (c *Client) Send(ctx context.Context, conversationID, messageID, text string) (protocol.ServerFrame, error) {
	return c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeSend, ConversationID: conversationID, MessageID: messageID, Text: text})
}

// Stop asks the server to stop the reply being generated.
func (c *Client) Stop(ctx context.Context, conversationID string) error {
	_, err := c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeStop, ConversationID: conversationID})
	return err
}

// End ends a conversation.
func (c *Client) End(ctx context.Context, conversationID string) error {
	_, err := c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeEnd, ConversationID: conversationID})
	return err
}

// Leave detaches this socket from a conversation and forgets its last
// sequence number.
func (c *Client) Leave(ctx context.Context, conversationID string) error {
	_, err := c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeLeave, ConversationID: conversationID})
	delete(c.lastSeq, conversationID)
	return err
}

// Typing tells the conversation's other sockets whether the user is typing.
func (c *Client) Typing(ctx context.Context, conversationID string, active bool) error {
	_, err := c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeTyping, ConversationID: conversationID, Active: &active})
	return err
}

// History returns an older page of messages (cursor from opened or a
// previous history frame).
func (c *Client) History(ctx context.Context, conversationID, cursor string, limit int) (protocol.ServerFrame, error) {
	return c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeHistory, ConversationID: conversationID, Cursor: cursor, Limit: limit})
}

// List returns a page of the user's conversations, newest first.
func (c *Client) List(ctx context.Context, cursor string, limit int) (protocol.ServerFrame, error) {
	return c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeList, Cursor: cursor, Limit: limit})
}

// Reply is an assistant reply assembled from its events.
type Reply struct {
	ID      string
	ReplyTo string
	// Text is the reply's text (reply.delta), never its reasoning or tool
	// output.
	Text         string
	FinishReason string
	Usage        *protocol.Usage
	Error        *protocol.ErrorBody
	// Seqs are the sequence numbers of the reply's events, in arrival order.
	Seqs []int64
	// Reasoning is the reply's reasoning (reply.reasoning) joined.
	Reasoning string
	// Parts are the reply's reasoning, text and tool calls in order, as in
	// protocol.Message.Parts, once it held more than text; nil for a reply
	// that is text only. Call finds a tool call by id.
	Parts []protocol.Part
	// Awaiting is the call waiting for approval when ReadReply returned at
	// its approval.request instead of the reply's end (FinishReason is then
	// ""): answer it with Approve, then call ReadReply again with this
	// reply to read on.
	Awaiting *protocol.ToolCall
}

// ReadReply reads frames until the end of a reply in the conversation and
// returns it assembled, with its reasoning and tool calls. It also returns
// when the reply asks for approval of a tool call (reply.Awaiting is set),
// since the reply waits for an answer then. If the reply was already partly
// received (from an opened snapshot, see ReplyFromSnapshot and
// ReplyFromMessage, or an earlier ReadReply), pass it as into; otherwise
// pass nil. Other frames are returned in skipped, in order.
func (c *Client) ReadReply(ctx context.Context, conversationID string, into *Reply) (reply Reply, skipped []protocol.ServerFrame, err error) {
	var text strings.Builder
	if into != nil {
		reply = *into
		reply.Parts = cloneParts(into.Parts)
		reply.Seqs = append([]int64(nil), into.Seqs...)
		reply.Awaiting = nil
		text.WriteString(into.Text)
	}
	for {
		f, err := c.Next(ctx)
		if err != nil {
			reply.Text = text.String()
			return reply, skipped, err
		}
		if f.ConversationID != conversationID || (reply.ID != "" && f.ReplyID != "" && f.ReplyID != reply.ID) {
			skipped = append(skipped, f)
			continue
		}
		switch f.Type {
		case protocol.TypeReplyStart:
			reply.ID, reply.ReplyTo = f.ReplyID, f.ReplyTo
			text.Reset()
			reply.Reasoning, reply.Parts = "", nil
		case protocol.TypeReplyDelta:
			if reply.ID == "" {
				reply.ID = f.ReplyID
			}
			text.WriteString(f.Text)
			if len(reply.Parts) > 0 && f.Text != "" {
				reply.addPart(protocol.PartText, f.Text)
			}
		case protocol.TypeReplyReasoning:
			if reply.ID == "" {
				reply.ID = f.ReplyID
			}
			if f.Text == "" {
				break
			}
			if len(reply.Parts) == 0 && text.Len() > 0 {
				reply.Parts = append(reply.Parts, protocol.Part{Type: protocol.PartText, Text: text.String()})
			}
			reply.Reasoning += f.Text
			reply.addPart(protocol.PartReasoning, f.Text)
		case protocol.TypeToolCall, protocol.TypeToolDelta, protocol.TypeToolResult, protocol.TypeApprovalRequest:
			if f.Call == nil || f.Call.ID == "" {
				skipped = append(skipped, f)
				continue
			}
			if reply.ID == "" {
				reply.ID = f.ReplyID
			}
			call := reply.call(f.Call.ID, text.String())
			if f.Type == protocol.TypeToolDelta {
				call.Arguments += f.Text
			} else {
				applyCall(call, f.Call, f.Type == protocol.TypeToolResult)
			}
			if f.Type == protocol.TypeApprovalRequest {
				// The reply waits for an answer: hand it to the caller.
				waiting := *call
				reply.Awaiting = &waiting
				reply.Seqs = append(reply.Seqs, f.Seq)
				reply.Text = text.String()
				return reply, skipped, nil
			}
		case protocol.TypeReplyEnd:
			if reply.ID == "" {
				reply.ID = f.ReplyID
			}
			reply.FinishReason, reply.Usage, reply.Error = f.FinishReason, f.Usage, f.Error
			reply.Seqs = append(reply.Seqs, f.Seq)
			reply.Text = text.String()
			return reply, skipped, nil
		default:
			skipped = append(skipped, f)
			continue
		}
		reply.Seqs = append(reply.Seqs, f.Seq)
	}
}

// String summarises a reply for test failures.
func (r Reply) String() string {
	s := fmt.Sprintf("reply %s (%s): %q", r.ID, r.FinishReason, r.Text)
	for _, p := range r.Parts {
		if p.Call != nil {
			s += fmt.Sprintf(" [%s %s: %s]", p.Call.Name, p.Call.ID, p.Call.Status)
		}
	}
	if r.Awaiting != nil {
		s += " awaiting approval of " + r.Awaiting.ID
	}
	return s
}
