package chatbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestChatStreamsAReplyAndStoresIt(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	if c.Ready.User == nil || c.Ready.User.ID != "alice" || c.Ready.Protocol != protocol.Version {
		t.Fatalf("ready = %+v", c.Ready)
	}
	opened, err := c.OpenNew(ctx, client.OpenOptions{Title: "first"})
	if err != nil {
		t.Fatal(err)
	}
	conv := opened.ConversationID
	ack, err := c.Send(ctx, conv, "m1", "hello there")
	if err != nil {
		t.Fatal(err)
	}
	if ack.Type != protocol.TypeAck || ack.Duplicate {
		t.Fatalf("ack = %+v", ack)
	}
	reply, _, err := c.ReadReply(ctx, conv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Text != "echo: hello there" || reply.FinishReason != "stop" {
		t.Fatalf("reply = %v", reply)
	}
	page, err := h.Store.ListMessages(ctx, storageQuery(conv))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 2 || page.Messages[0].Text != "hello there" || page.Messages[1].Text != "echo: hello there" ||
		page.Messages[1].FinishReason != "stop" || page.Messages[1].Status != "complete" {
		t.Fatalf("stored = %+v", page.Messages)
	}
}
