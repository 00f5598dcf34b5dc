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
	ID           string
	ReplyTo      string
	Text         string
	FinishReason string
	Usage        *protocol.Usage
	Error        *protocol.ErrorBody
	// Seqs are the sequence numbers of the reply's events, in arrival order.
	Seqs []int64
}

// ReadReply reads frames until the end of a reply in the conversation and
// returns it assembled. If the reply was already partly received (from an
// opened snapshot), pass it as into; otherwise pass nil. Other frames are
// returned in skipped, in order.
func (c *Client) ReadReply(ctx context.Context, conversationID string, into *Reply) (reply Reply, skipped []protocol.ServerFrame, err error) {
	var text strings.Builder
	if into != nil {
		reply = *into
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
		case protocol.TypeReplyDelta:
			if reply.ID == "" {
				reply.ID = f.ReplyID
			}
			text.WriteString(f.Text)
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
	return fmt.Sprintf("reply %s (%s): %q", r.ID, r.FinishReason, r.Text)
}
