//go:build !race

// The churn test runs without the race detector (the README's test command
// runs it in a separate pass): under it, 100,000 conversations take minutes.

package chatbox_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/storage"
)

// forgetfulStore forgets a conversation when it ends, so the churn test
// measures the server's live state and not the data a store was asked to
// keep. It supports only what the churn uses.
type forgetfulStore struct {
	storage.Store // nil: other methods are not used
	mu            sync.Mutex
	convs         map[string]storage.Conversation
}

func newForgetfulStore() *forgetfulStore {
	return &forgetfulStore{convs: map[string]storage.Conversation{}}
}

func (s *forgetfulStore) CreateConversation(_ context.Context, c storage.Conversation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.convs[c.ID] = c
	return nil
}

func (s *forgetfulStore) GetConversation(_ context.Context, id string) (storage.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[id]
	if !ok {
		return c, storage.ErrNotFound
	}
	return c, nil
}

func (s *forgetfulStore) EndConversation(_ context.Context, id string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.convs, id)
	return nil
}

func (s *forgetfulStore) ListMessages(context.Context, storage.MessageQuery) (storage.MessagePage, error) {
	return storage.MessagePage{}, nil
}

type clientHandle struct{ c *client.Client }

func clientOpen() client.OpenOptions { return client.OpenOptions{Title: "churn"} }

// drain discards queued events (conversation.ended) so the client's queue
// stays small.
func drain(c *client.Client) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		if _, err := c.Next(ctx); err != nil {
			return
		}
	}
}

// TestChurnKeepsLiveStateBounded opens and ends 100,000 conversations: the
// live state stays under its cap and the heap returns near its baseline
// (the store is excluded: it keeps what it was asked to keep).
func TestChurnKeepsLiveStateBounded(t *testing.T) {
	const total, workers, maxLive = 100_000, 4, 1000
	h := chatboxtest.New(t, chatboxtest.Config{
		Provider: scripted.New(),
		Options:  append(generousRates(), chatbox.WithMaxSessions(maxLive), chatbox.WithStore(newForgetfulStore())),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	clients := make([]*clientHandle, workers)
	for i := range clients {
		clients[i] = &clientHandle{c: h.Dial(t, "alice")}
	}
	heapBefore := heapInUse()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[w].c
			for i := range total / workers {
				opened, err := c.OpenNew(ctx, clientOpen())
				if err == nil {
					err = c.End(ctx, opened.ConversationID)
				}
				if err == nil {
					err = c.Leave(ctx, opened.ConversationID)
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d iteration %d: %w", w, i, err)
					return
				}
				drain(c)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if live := h.Server.LiveConversations(); live > maxLive {
		t.Fatalf("%d live conversations after churn, cap %d", live, maxLive)
	}
	growth := heapInUse() - heapBefore
	t.Logf("heap growth after %d conversations: %d KiB; live entries %d", total, growth>>10, h.Server.LiveConversations())
	if growth > 8<<20 {
		t.Fatalf("heap grew by %d MiB over %d conversations", growth>>20, total)
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}
