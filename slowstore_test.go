package chatbox_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

// stallingStore holds every GetConversation of one conversation until
// release is called; entered is closed when the first such call arrives.
type stallingStore struct {
	storage.Store
	id       string
	entered  chan struct{}
	released chan struct{}
	once     sync.Once
	relOnce  sync.Once
}

func newStallingStore(inner storage.Store) *stallingStore {
	return &stallingStore{Store: inner, entered: make(chan struct{}), released: make(chan struct{})}
}

func (s *stallingStore) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	if id == s.id {
		s.once.Do(func() { close(s.entered) })
		select {
		case <-s.released:
		case <-ctx.Done():
			return storage.Conversation{}, ctx.Err()
		}
	}
	return s.Store.GetConversation(ctx, id)
}

func (s *stallingStore) release() { s.relOnce.Do(func() { close(s.released) }) }

// TestSlowStoreKeepsTheSocketUpAndFramesInOrder: while the store takes
// longer than a ping interval plus a write timeout to answer one frame, the
// socket keeps reading (the client's pongs are read, so the ping does not
// fail and the socket is not dropped), the frames sent meanwhile are
// answered in the order they were sent once the store returns, and another
// user's socket is served all along. The store timeout (10s) is above the
// write timeout (1s): New accepts that.
func TestSlowStoreKeepsTheSocketUpAndFramesInOrder(t *testing.T) {
	const ping = time.Second
	store := newStallingStore(memory.New())
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{
		chatbox.WithStore(store), chatbox.WithPingInterval(ping), chatbox.WithWriteTimeout(time.Second),
		chatbox.WithStoreTimeout(10 * time.Second),
	}})
	ctx := testCtx(t)
	alice, bob := h.Dial(t, "alice"), h.Dial(t, "bob")
	conv := openNew(t, alice)
	if err := alice.Leave(ctx, conv); err != nil {
		t.Fatal(err)
	}
	store.id = conv // set before any call on conv can race with it: the socket is idle
	t.Cleanup(store.release)

	frames := []protocol.ClientFrame{
		{Type: protocol.TypeOpen, ID: "a1", ConversationID: conv},
		{Type: protocol.TypeList, ID: "a2", Limit: 1},
		{Type: protocol.TypeTyping, ID: "a3", ConversationID: conv, Active: new(true)},
		{Type: protocol.TypeList, ID: "a4", Limit: 2},
	}
	if err := alice.SendFrame(ctx, frames[0]); err != nil {
		t.Fatal(err)
	}
	<-store.entered
	for _, f := range frames[1:] {
		if err := alice.SendFrame(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bob.List(ctx, "", 5); err != nil {
		t.Fatalf("another user's socket stalled behind a slow store call: %v", err)
	}
	// Longer than a ping interval plus the write timeout the ping's pong
	// must arrive within: a read loop blocked by the store would lose it.
	time.Sleep(2*ping + time.Second + 500*time.Millisecond)
	store.release()

	want := []string{protocol.TypeOpened, protocol.TypeConversations, protocol.TypeOK, protocol.TypeConversations}
	var got []string
	for len(got) < len(want) {
		f, err := alice.Next(ctx)
		if err != nil {
			t.Fatalf("socket lost while the store was slow: %v (answers so far %v)", err, got)
		}
		if f.ID != "" {
			if f.ID != frames[len(got)].ID {
				t.Fatalf("answer to %s arrived before the answer to %s", f.ID, frames[len(got)].ID)
			}
			got = append(got, f.Type)
		}
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("answers %v, want %v", got, want)
		}
	}
	if _, err := alice.List(ctx, "", 1); err != nil {
		t.Fatalf("socket unusable after the slow call: %v", err)
	}
}
