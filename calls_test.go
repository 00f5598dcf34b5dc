package chatbox_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/broker"
	memorybroker "github.com/chatboxsdk/chatbox/broker/memory"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

// callCounts counts calls by name.
type callCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *callCounts) add(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name]++
}

// take returns the counts since the last take and starts again from zero.
func (c *callCounts) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

func formatCounts(n map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n[k]))
	}
	return strings.Join(parts, " ")
}

// countingStore counts every call to the Store it wraps.
type countingStore struct {
	storage.Store
	calls *callCounts
}

func (s countingStore) CreateConversation(ctx context.Context, c storage.Conversation) error {
	s.calls.add("store.CreateConversation")
	return s.Store.CreateConversation(ctx, c)
}

func (s countingStore) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	s.calls.add("store.GetConversation")
	return s.Store.GetConversation(ctx, id)
}

func (s countingStore) ListConversations(ctx context.Context, q storage.ConversationQuery) (storage.ConversationPage, error) {
	s.calls.add("store.ListConversations")
	return s.Store.ListConversations(ctx, q)
}

func (s countingStore) EndConversation(ctx context.Context, id string, at time.Time) error {
	s.calls.add("store.EndConversation")
	return s.Store.EndConversation(ctx, id, at)
}

func (s countingStore) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	s.calls.add("store.AppendMessage")
	return s.Store.AppendMessage(ctx, m)
}

func (s countingStore) UpdateMessage(ctx context.Context, m storage.Message) error {
	s.calls.add("store.UpdateMessage")
	return s.Store.UpdateMessage(ctx, m)
}

func (s countingStore) GetMessage(ctx context.Context, conversationID, id string) (storage.Message, error) {
	s.calls.add("store.GetMessage")
	return s.Store.GetMessage(ctx, conversationID, id)
}

func (s countingStore) ListMessages(ctx context.Context, q storage.MessageQuery) (storage.MessagePage, error) {
	s.calls.add("store.ListMessages")
	return s.Store.ListMessages(ctx, q)
}

func (s countingStore) ChangeMode(ctx context.Context, c storage.ModeChange) (storage.Conversation, bool, error) {
	s.calls.add("store.ChangeMode")
	return s.Store.ChangeMode(ctx, c)
}

func (s countingStore) AppendAudit(ctx context.Context, e storage.AuditEntry) error {
	s.calls.add("store.AppendAudit")
	return s.Store.AppendAudit(ctx, e)
}

// countingBroker counts every call to the Broker it wraps.
type countingBroker struct {
	broker.Broker
	calls *callCounts
}

func (b countingBroker) Publish(ctx context.Context, conversationID string, encode broker.EncodeFunc) (int64, error) {
	b.calls.add("broker.Publish")
	return b.Broker.Publish(ctx, conversationID, encode)
}

func (b countingBroker) Signal(ctx context.Context, conversationID string, data []byte) error {
	b.calls.add("broker.Signal")
	return b.Broker.Signal(ctx, conversationID, data)
}

func (b countingBroker) LastSeq(ctx context.Context, conversationID string) (int64, error) {
	b.calls.add("broker.LastSeq")
	return b.Broker.LastSeq(ctx, conversationID)
}

func (b countingBroker) Subscribe(ctx context.Context, conversationID string, after int64, deliver broker.DeliverFunc) (broker.Subscription, error) {
	b.calls.add("broker.Subscribe")
	return b.Broker.Subscribe(ctx, conversationID, after, deliver)
}

// TestStoreAndBrokerCallsPerMessage counts the Store and Broker calls one
// user message with a scripted reply of N deltas costs, and one operator
// message, once the conversation is open: the mode is read once per user
// message (one GetConversation), the store is written when the message is
// accepted, when the reply starts and when it ends (never per delta), and
// nothing subscribes or asks for the last number again.
func TestStoreAndBrokerCallsPerMessage(t *testing.T) {
	const deltas = 20
	words := make([]string, deltas)
	for i := range words {
		words[i] = fmt.Sprintf("w%d ", i)
	}
	calls := &callCounts{}
	mb, err := memorybroker.New(memorybroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mb.Close() })
	// 1 ms apart, so each delta is published on its own (deltas that
	// arrive together are coalesced).
	p := scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return scripted.Reply{Deltas: words, Delay: time.Millisecond} }))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p, Options: []chatbox.Option{
		chatbox.WithStore(countingStore{Store: memory.New(), calls: calls}),
		chatbox.WithBroker(countingBroker{Broker: mb, calls: calls}),
	}})
	ctx := testCtx(t)
	alice := h.Dial(t, "alice")
	conv := openNew(t, alice)
	for i := range 2 { // the first message warms the conversation up; the second is counted
		calls.take()
		if _, err := alice.Send(ctx, conv, fmt.Sprintf("m%d", i), "hello"); err != nil {
			t.Fatal(err)
		}
		r, _, err := alice.ReadReply(ctx, conv, nil)
		if err != nil || r.FinishReason != "stop" {
			t.Fatalf("reply %+v: %v", r, err)
		}
	}
	user := calls.take()
	t.Logf("one user message with a reply of %d deltas: %s", deltas, formatCounts(user))
	if user["store.GetConversation"] != 1 {
		t.Errorf("GetConversation called %d times for one user message, want 1 (the mode, read once)", user["store.GetConversation"])
	}
	if user["broker.LastSeq"]+user["broker.Subscribe"] != 0 {
		t.Errorf("an open conversation's reply asked the broker again: %s", formatCounts(user))
	}
	if w := user["store.AppendMessage"] + user["store.UpdateMessage"]; w > 3 {
		t.Errorf("%d message writes for one message and its reply, want at most 3 (message, reply start, reply end)", w)
	}
	if pub := user["broker.Publish"]; pub > deltas+3 {
		t.Errorf("%d events published, want at most %d (message, reply.start, deltas, reply.end)", pub, deltas+3)
	}

	olivia := h.Dial(t, "olivia")
	if _, err := olivia.Watch(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := olivia.Takeover(ctx, conv); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, ctx, alice, "the takeover", isMode(conv, "operator"))
	calls.take()
	if _, err := olivia.Send(ctx, conv, "op1", "a person here"); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, ctx, alice, "the operator's message", isMessage(conv, storage.RoleOperator, "a person here"))
	op := calls.take()
	t.Logf("one operator message: %s", formatCounts(op))
	if op["store.AppendMessage"] != 1 || op["broker.Publish"] != 1 {
		t.Errorf("operator message: %s, want one store write and one event", formatCounts(op))
	}
	if op["broker.LastSeq"]+op["broker.Subscribe"] != 0 || op["store.GetConversation"] > 1 {
		t.Errorf("operator message: %s", formatCounts(op))
	}
}
