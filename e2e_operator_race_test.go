package chatbox_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	memorybroker "github.com/chatboxsdk/chatbox/broker/memory"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

// gatedStore holds the first GetConversation made after arm, once it has
// read the store, until the test lets it go.
type gatedStore struct {
	storage.Store
	armed   atomic.Bool
	entered chan struct{}
	hold    chan struct{}
}

func (g *gatedStore) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	c, err := g.Store.GetConversation(ctx, id)
	if g.armed.CompareAndSwap(true, false) {
		close(g.entered)
		<-g.hold
	}
	return c, err
}

// TestTakeoverRacingASendStopsItsReply: the user's send has read "ai" from
// the store when the operator takes over; the reply it starts must still
// end with handoff rather than answer.
func TestTakeoverRacingASendStopsItsReply(t *testing.T) {
	gs := &gatedStore{Store: memory.New(), entered: make(chan struct{}), hold: make(chan struct{})}
	p := scripted.New(scripted.WithResponder(chatboxtest.Echo()))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p, Options: append(generousRates(), chatbox.WithStore(gs))})
	ctx := testCtx(t)
	alice := h.Dial(t, "alice")
	conv := openNew(t, alice)
	op := h.Dial(t, "olivia")
	if _, err := op.Watch(ctx, conv); err != nil {
		t.Fatal(err)
	}
	gs.armed.Store(true)
	sent := make(chan error, 1)
	go func() { _, err := alice.Send(ctx, conv, "m1", "hello"); sent <- err }()
	<-gs.entered // the send has read mode ai and is held
	if err := op.Takeover(ctx, conv); err != nil {
		t.Fatal(err)
	}
	close(gs.hold)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	end, _ := waitFrame(t, ctx, alice, "the reply's end", isReplyEnd(conv))
	if end.FinishReason != protocol.FinishHandoff {
		t.Fatalf("the reply started before the takeover ended with %q, want handoff", end.FinishReason)
	}
	// And the next message is stored without a reply.
	if _, err := alice.Send(ctx, conv, "m2", "hello?"); err != nil {
		t.Fatal(err)
	}
	if err := op.Release(ctx, conv); err != nil {
		t.Fatal(err)
	}
	_, between := waitFrame(t, ctx, alice, "operator left", isMode(conv, protocol.ModeAI))
	for _, f := range between {
		if f.Type == protocol.TypeReplyStart {
			t.Fatalf("a reply started while the operator held the conversation: %+v", f)
		}
	}
}

// TestTakeoverThroughAnotherInstanceStopsTheRunningReply: two Servers
// share a store and a broker; the reply streams on one, the operator takes
// over on the other.
func TestTakeoverThroughAnotherInstanceStopsTheRunningReply(t *testing.T) {
	store := memory.New()
	b, err := memorybroker.New(memorybroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	p := scripted.New(scripted.WithResponder(func(req llm.Request) scripted.Reply {
		r := chatboxtest.Echo()(req)
		r.StallAfter = 2 // runs until something stops it
		return r
	}))
	opts := append(generousRates(), chatbox.WithStore(store), chatbox.WithBroker(b))
	first := chatboxtest.New(t, chatboxtest.Config{Provider: p, Options: opts})
	second := chatboxtest.New(t, chatboxtest.Config{Provider: p, Options: opts})
	ctx := testCtx(t)
	alice := first.Dial(t, "alice")
	conv := openNew(t, alice)
	if _, err := alice.Send(ctx, conv, "m1", "tell me a long story"); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, ctx, alice, "the first delta", func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeReplyDelta })
	op := second.Dial(t, "olivia")
	if _, err := op.Watch(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := op.Takeover(ctx, conv); err != nil {
		t.Fatal(err)
	}
	end, _ := waitFrame(t, ctx, alice, "the reply's end", isReplyEnd(conv))
	if end.FinishReason != protocol.FinishHandoff {
		t.Fatalf("reply on the other instance ended with %q, want handoff", end.FinishReason)
	}
}

func TestForcedTakeoverFromAnOperatorWhoLeft(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx := testCtx(t)
	conv := openNew(t, h.Dial(t, "alice"))
	olivia, oscar := h.Dial(t, "olivia"), h.Dial(t, "oscar")
	for _, c := range []*client.Client{olivia, oscar} {
		if _, err := c.Watch(ctx, conv); err != nil {
			t.Fatal(err)
		}
	}
	if err := olivia.Takeover(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := oscar.Takeover(ctx, conv); client.Code(err) != protocol.CodeConflict {
		t.Fatalf("takeover without force: %v, want conflict", err)
	}
	if _, err := oscar.Request(ctx, protocol.ClientFrame{Type: protocol.TypeTakeover, ConversationID: conv, Force: true}); err != nil {
		t.Fatalf("forced takeover: %v", err)
	}
	if _, err := olivia.Send(ctx, conv, "op1", "still here"); client.Code(err) != protocol.CodeConflict {
		t.Fatalf("the former holder's send: %v, want conflict", err)
	}
	stored, err := h.Store.GetConversation(ctx, conv)
	if err != nil || stored.Operator != "oscar" {
		t.Fatalf("stored = %+v, %v; want held by oscar", stored, err)
	}
	audit, err := h.Store.ListAudit(ctx, storage.AuditQuery{ConversationID: conv, Actor: "oscar"})
	if err != nil || len(audit.Entries) != 1 || audit.Entries[0].Detail != "taken from olivia" {
		t.Fatalf("oscar's audit entries = %+v, %v", audit.Entries, err)
	}
}

func TestAnOperatorWhoLosesTheRoleLosesOtherUsersConversations(t *testing.T) {
	authn, err := auth.NewStaticTokens(map[string]auth.Identity{
		"token-alice":        {UserID: "alice"},
		"token-olivia":       {UserID: "olivia", Roles: []string{"operator"}},
		"token-olivia-plain": {UserID: "olivia"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithAuthenticator(authn)}})
	ctx := testCtx(t)
	conv := openNew(t, h.Dial(t, "alice"))
	olivia := h.Dial(t, "olivia")
	own := openNew(t, olivia)
	if _, err := olivia.Watch(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := olivia.Request(ctx, protocol.ClientFrame{Type: protocol.TypeHello, Token: "token-olivia-plain"}); err != nil {
		t.Fatal(err)
	}
	if err := olivia.Typing(ctx, conv, true); client.Code(err) != protocol.CodeNotOpen {
		t.Fatalf("after losing the role, alice's conversation: %v, want not_open", err)
	}
	if err := olivia.Typing(ctx, own, true); err != nil {
		t.Fatalf("after losing the role, her own conversation: %v", err)
	}
	if _, err := olivia.Watch(ctx, conv); client.Code(err) != protocol.CodeForbidden {
		t.Fatalf("watch after losing the role: %v, want forbidden", err)
	}
}

func TestOperatorFramesAreRateLimited(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithAdminRate(ratelimit.Per(1, time.Hour, 2))}})
	ctx := testCtx(t)
	conv := openNew(t, h.Dial(t, "alice"))
	olivia := h.Dial(t, "olivia")
	if _, err := olivia.Watch(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := olivia.Takeover(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := olivia.Release(ctx, conv); client.Code(err) != protocol.CodeRateLimited {
		t.Fatalf("third operator frame within the burst of 2: %v, want rate_limited", err)
	}
	// Another operator has a budget of their own.
	oscar := h.Dial(t, "oscar")
	if _, err := oscar.Watch(ctx, conv); err != nil {
		t.Fatal(err)
	}
}

// TestOneOperatorOnTwoSocketsTakesOverOnce: the same takeover from two
// sockets at once is announced and audited once.
func TestOneOperatorOnTwoSocketsTakesOverOnce(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx := testCtx(t)
	alice := h.Dial(t, "alice")
	conv := openNew(t, alice)
	socks := []*client.Client{h.Dial(t, "olivia"), h.Dial(t, "olivia")}
	for _, c := range socks {
		if _, err := c.Watch(ctx, conv); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, len(socks))
	for _, c := range socks {
		go func() { errs <- c.Takeover(ctx, conv) }()
	}
	for range socks {
		if err := <-errs; err != nil {
			t.Fatalf("takeover: %v (both sockets are the holder's, both get ok)", err)
		}
	}
	if err := socks[0].Release(ctx, conv); err != nil {
		t.Fatal(err)
	}
	_, before := waitFrame(t, ctx, alice, "operator left", isMode(conv, protocol.ModeAI))
	joined := 0
	for _, f := range before {
		if isMode(conv, protocol.ModeOperator)(f) {
			joined++
		}
	}
	if joined != 1 {
		t.Fatalf("the user saw %d 'operator joined' events, want 1", joined)
	}
	audit, err := h.Store.ListAudit(ctx, storage.AuditQuery{ConversationID: conv, Action: storage.AuditTakeover})
	if err != nil || len(audit.Entries) != 1 {
		t.Fatalf("takeover audit entries = %d, %v; want 1", len(audit.Entries), err)
	}
}
