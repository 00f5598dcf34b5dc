package client

import (
	"context"

	"github.com/chatboxsdk/chatbox/protocol"
)

// Help asks for a person in a conversation of this user.
func (c *Client) Help(ctx context.Context, conversationID string) error {
	_, err := c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeHelp, ConversationID: conversationID})
	return err
}

// Watch attaches an operator's socket to any user's conversation and
// returns its opened frame.
func (c *Client) Watch(ctx context.Context, conversationID string) (protocol.ServerFrame, error) {
	return c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeWatch, ConversationID: conversationID})
}

// Takeover makes this operator the one answering a watched conversation.
func (c *Client) Takeover(ctx context.Context, conversationID string) error {
	_, err := c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeTakeover, ConversationID: conversationID})
	return err
}

// Release hands a conversation this operator holds back to the model.
func (c *Client) Release(ctx context.Context, conversationID string) error {
	_, err := c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeRelease, ConversationID: conversationID})
	return err
}
