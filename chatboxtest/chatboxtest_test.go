package chatboxtest_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHarnessEchoes(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := h.Dial(t, "bob")
	opened, err := c.OpenNew(ctx, client.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, opened.ConversationID, "m", "ping"); err != nil {
		t.Fatal(err)
	}
	r, _, err := c.ReadReply(ctx, opened.ConversationID, nil)
	if err != nil || r.Text != "echo: ping" {
		t.Fatalf("%v %v", r, err)
	}
}
