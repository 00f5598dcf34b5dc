package chatbox_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

type panickyAuth struct{ auth.Authenticator }

func (p panickyAuth) Authenticate(ctx context.Context, token string) (auth.Identity, error) {
	if token == "evil" {
		panic("authenticator bug")
	}
	return p.Authenticator.Authenticate(ctx, token)
}

func TestAPanickingAuthenticatorFailsOnlyThatSocket(t *testing.T) {
	static, _ := auth.NewStaticTokens(map[string]auth.Identity{chatboxtest.Token("alice"): {UserID: "alice"}})
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithAuthenticator(panickyAuth{static})}})
	ctx := testCtx(t)
	if _, err := client.Dial(ctx, h.URL, client.Options{Token: "evil"}); client.Code(err) != protocol.CodeInternal {
		t.Fatalf("evil token: %v", err)
	}
	c := h.Dial(t, "alice")
	if _, err := c.List(ctx, "", 1); err != nil {
		t.Fatalf("the server did not survive: %v", err)
	}
}

// panicOnceStore panics on the first AppendMessage of a user message.
type panicOnceStore struct {
	*memory.Store
	done atomic.Bool
}

func (s *panicOnceStore) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	if m.Role == storage.RoleUser && s.done.CompareAndSwap(false, true) {
		panic("store bug")
	}
	return s.Store.AppendMessage(ctx, m)
}

func TestAStorePanicReleasesTheConversationAndTheReplySlot(t *testing.T) {
	st := &panicOnceStore{Store: memory.New()}
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithStore(st), chatbox.WithMaxGenerationsPerUser(1)}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "first"); client.Code(err) != protocol.CodeInternal {
		t.Fatalf("send during the panic: %v", err)
	}
	// Neither the conversation's claim nor the user's only reply slot leaked.
	if _, err := c.Send(ctx, conv, "m2", "second"); err != nil {
		t.Fatal(err)
	}
	if r, _, err := c.ReadReply(ctx, conv, nil); err != nil || r.Text != "echo: second" {
		t.Fatalf("%v %v", r, err)
	}
}
