package chatbox_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/broker"
	memorybroker "github.com/chatboxsdk/chatbox/broker/memory"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

// severableBroker is one instance's view of a shared broker; sever cuts the
// instance off, as a crash or a lost network would: nothing it publishes,
// renews or takes reaches the others any more.
type severableBroker struct {
	*memorybroker.Broker
	severed atomic.Bool
}

var errSevered = errors.New("instance cut off")

func (b *severableBroker) Publish(ctx context.Context, id string, enc broker.EncodeFunc) (int64, error) {
	if b.severed.Load() {
		return 0, errSevered
	}
	return b.Broker.Publish(ctx, id, enc)
}

func (b *severableBroker) Signal(ctx context.Context, id string, data []byte) error {
	if b.severed.Load() {
		return errSevered
	}
	return b.Broker.Signal(ctx, id, data)
}

func (b *severableBroker) RenewLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if b.severed.Load() {
		return false, errSevered
	}
	return b.Broker.RenewLease(ctx, key, holder, ttl)
}

func (b *severableBroker) TakeLapsedLeases(ctx context.Context, n int) ([]broker.Lease, error) {
	if b.severed.Load() {
		return nil, errSevered
	}
	return b.Broker.TakeLapsedLeases(ctx, n)
}

// twoInstances starts two Servers sharing a store and a broker; the first
// one's view of the broker can be severed. Replies stall after two deltas.
func twoInstances(t *testing.T, leaseTTL time.Duration, extra ...chatbox.Option) (a, b *chatboxtest.Harness, severA func(), store *memory.Store) {
	t.Helper()
	store = memory.New()
	shared, err := memorybroker.New(memorybroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shared.Close() })
	p := scripted.New(scripted.WithResponder(func(req llm.Request) scripted.Reply {
		r := chatboxtest.Echo()(req)
		r.StallAfter = 2
		return r
	}))
	viewA := &severableBroker{Broker: shared}
	common := append(generousRates(), chatbox.WithStore(store), chatbox.WithReplyLeaseTTL(leaseTTL))
	common = append(common, extra...)
	a = chatboxtest.New(t, chatboxtest.Config{Provider: p, Options: append(common, chatbox.WithBroker(viewA))})
	b = chatboxtest.New(t, chatboxtest.Config{Provider: p, Options: append(common, chatbox.WithBroker(shared))})
	return a, b, func() { viewA.severed.Store(true) }, store
}

func TestAReplyWhoseInstanceDiedIsEndedInterruptedByAnother(t *testing.T) {
	a, b, severA, store := twoInstances(t, 150*time.Millisecond)
	ctx := testCtx(t)
	onA, onB := a.Dial(t, "alice"), b.Dial(t, "alice")
	conv := openNew(t, onA)
	if _, err := onB.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := onA.Send(ctx, conv, "m1", "tell me a long story"); err != nil {
		t.Fatal(err)
	}
	var streamed strings.Builder
	waitFrame(t, ctx, onB, "the second delta", func(f protocol.ServerFrame) bool {
		if f.Type == protocol.TypeReplyDelta {
			streamed.WriteString(f.Text)
		}
		return len(strings.Fields(streamed.String())) >= 2 // "echo:" and " tell"
	})
	severA() // the instance running the reply stops renewing its lease

	end, _ := waitFrame(t, ctx, onB, "the reply's end", isReplyEnd(conv))
	if end.FinishReason != string(llm.FinishInterrupted) {
		t.Fatalf("the dead instance's reply ended with %q, want interrupted", end.FinishReason)
	}
	page, err := store.ListMessages(ctx, storage.MessageQuery{ConversationID: conv, Limit: 10, Order: storage.Ascending})
	if err != nil || len(page.Messages) != 2 {
		t.Fatalf("stored %+v, %v; want the message and its reply", page.Messages, err)
	}
	reply := page.Messages[1]
	if reply.Status != storage.MessageComplete || reply.FinishReason != string(llm.FinishInterrupted) || reply.Text != streamed.String() {
		t.Fatalf("stored reply %q %s/%s; want %q interrupted", reply.Text, reply.Status, reply.FinishReason, streamed.String())
	}
}

func TestOneReplyPerConversationAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t, time.Minute)
	ctx := testCtx(t)
	onA, onB := a.Dial(t, "alice"), b.Dial(t, "alice")
	conv := openNew(t, onA)
	if _, err := onB.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := onA.Send(ctx, conv, "m1", "tell me a long story"); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, ctx, onB, "the first delta", func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeReplyDelta })
	if _, err := onB.Send(ctx, conv, "m2", "and another"); client.Code(err) != protocol.CodeBusy {
		t.Fatalf("a second message through the other instance while the reply runs: %v, want busy", err)
	}
	if err := onB.Stop(ctx, conv); err != nil {
		t.Fatal(err)
	}
	end, _ := waitFrame(t, ctx, onA, "the reply's end", isReplyEnd(conv))
	if end.FinishReason != string(llm.FinishAbort) {
		t.Fatalf("stopped through the other instance: %q, want abort", end.FinishReason)
	}
	if _, err := onB.Send(ctx, conv, "m2", "and another"); err != nil {
		t.Fatalf("after the reply ended, the other instance accepts a message: %v", err)
	}
}

func TestPerUserCapsHoldAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t, time.Minute, chatbox.WithMaxSocketsPerUser(2), chatbox.WithMaxGenerationsPerUser(1))
	ctx := testCtx(t)
	onA, onB := a.Dial(t, "alice"), b.Dial(t, "alice")
	if _, err := client.Dial(ctx, a.URL, client.Options{Token: chatboxtest.Token("alice")}); client.Code(err) != protocol.CodeLimitReached {
		t.Fatalf("a third socket of a user capped at 2 (one on each instance): %v, want limit_reached", err)
	}
	first, second := openNew(t, onA), openNew(t, onB)
	if _, err := onA.Send(ctx, first, "m1", "tell me a long story"); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, ctx, onA, "the first delta", func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeReplyDelta })
	if _, err := onB.Send(ctx, second, "m2", "and one more"); client.Code(err) != protocol.CodeBusy {
		t.Fatalf("a second running reply of a user capped at 1, through the other instance: %v, want busy", err)
	}
	if err := onA.Stop(ctx, first); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, ctx, onA, "the reply's end", isReplyEnd(first))
	if _, err := onB.Send(ctx, second, "m2", "and one more"); err != nil {
		t.Fatalf("once the first reply ended, the other instance starts one: %v", err)
	}
	_ = onB.Close()
	eventually(t, "a place freed by a closed socket is taken again", func() error {
		c, err := client.Dial(ctx, b.URL, client.Options{Token: chatboxtest.Token("alice")})
		if err == nil {
			_ = c.Close()
		}
		return err
	})
}

// eventually polls cond until it succeeds or the test's context ends: for
// server-side effects a client has no event to wait for.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	ctx := testCtx(t)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, err)
		case <-tick.C:
		}
	}
}

func TestAFailedPublishClosesTheSocketsForAResume(t *testing.T) {
	a, _, severA, _ := twoInstances(t, time.Minute)
	ctx := testCtx(t)
	c := a.Dial(t, "alice")
	conv := openNew(t, c)
	severA() // the broker stops taking this instance's events
	if _, err := c.Send(ctx, conv, "m1", "hello"); err != nil {
		t.Fatalf("the message is stored and acknowledged: %v", err)
	}
	for {
		_, err := c.Next(ctx)
		if err == nil {
			continue
		}
		if code := client.CloseCode(err); code != protocol.CloseSlowConsumer {
			t.Fatalf("socket ended with %d (%v), want %d: reconnect and resume", code, err, protocol.CloseSlowConsumer)
		}
		return
	}
}
