package chatbox_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/broker"
	memorybroker "github.com/chatboxsdk/chatbox/broker/memory"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
)

// panickyBroker panics on the first call of the method it is told to.
type panickyBroker struct {
	*memorybroker.Broker
	subscribe, acquireLease atomic.Bool
}

func (b *panickyBroker) Subscribe(ctx context.Context, id string, after int64, d broker.DeliverFunc) (broker.Subscription, error) {
	if b.subscribe.CompareAndSwap(true, false) {
		panic("broker bug in Subscribe")
	}
	return b.Broker.Subscribe(ctx, id, after, d)
}

func (b *panickyBroker) AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if strings.HasPrefix(key, "reply:") && b.acquireLease.CompareAndSwap(true, false) {
		panic("broker bug in AcquireLease") // the claim's, after the user's reply place was taken
	}
	return b.Broker.AcquireLease(ctx, key, holder, ttl)
}

func newPanickyBroker(t *testing.T) *panickyBroker {
	t.Helper()
	mb, err := memorybroker.New(memorybroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mb.Close() })
	return &panickyBroker{Broker: mb}
}

func TestABrokerPanicWhileSubscribingLeavesTheConversationUsable(t *testing.T) {
	b := newPanickyBroker(t)
	h := chatboxtest.New(t, chatboxtest.Config{Options: append(generousRates(), chatbox.WithBroker(b))})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if err := c.Leave(ctx, conv); err != nil {
		t.Fatal(err)
	}
	b.subscribe.Store(true)
	if _, err := c.Open(ctx, conv); client.Code(err) != protocol.CodeInternal {
		t.Fatalf("open while the broker panics: %v, want internal", err)
	}
	start := time.Now()
	if _, err := c.Open(ctx, conv); err != nil {
		t.Fatalf("open after the panic: %v", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("the next open waited %v for a subscription the panic abandoned", waited)
	}
	if _, err := c.Send(ctx, conv, "m1", "hello"); err != nil {
		t.Fatal(err)
	}
	if r, _, err := c.ReadReply(ctx, conv, nil); err != nil || r.FinishReason != "stop" {
		t.Fatalf("reply after the panic: %+v, %v", r, err)
	}
}

func TestABrokerPanicWhileClaimingLeavesTheConversationFree(t *testing.T) {
	b := newPanickyBroker(t)
	h := chatboxtest.New(t, chatboxtest.Config{Options: append(generousRates(), chatbox.WithBroker(b), chatbox.WithMaxGenerationsPerUser(1))})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	b.acquireLease.Store(true)
	if _, err := c.Send(ctx, conv, "m1", "hello"); client.Code(err) != protocol.CodeInternal {
		t.Fatalf("send while the broker panics: %v, want internal", err)
	}
	if _, err := c.Send(ctx, conv, "m2", "hello again"); err != nil {
		t.Fatalf("the next send (the claim and the user's only reply place must be free): %v", err)
	}
	if r, _, err := c.ReadReply(ctx, conv, nil); err != nil || r.FinishReason != "stop" {
		t.Fatalf("reply after the panic: %+v, %v", r, err)
	}
}
