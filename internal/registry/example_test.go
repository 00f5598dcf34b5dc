package registry_test

import (
	"fmt"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/internal/registry"
)

// Conversation is live state shared by every socket of one conversation.
type Conversation struct {
	mu      sync.Mutex
	sockets int
}

func ExampleRegistry() {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	reg, err := registry.NewRegistry[*Conversation](registry.Config{
		IdleTTL:    30 * time.Minute,
		MaxEntries: 10_000,
		Now:        func() time.Time { return now }, // leave unset in production
		OnEvict:    func(key string) { fmt.Println("evicted", key) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// A socket joins conversation c1: the state is created on first use and
	// stays referenced while the socket is open.
	conv, release, err := reg.Acquire("c1", func() *Conversation { return &Conversation{} })
	if err != nil {
		fmt.Println(err)
		return
	}
	conv.mu.Lock()
	conv.sockets++
	conv.mu.Unlock()

	now = now.Add(time.Hour)
	fmt.Println("swept while open:", reg.Sweep())

	release() // the socket closed; the idle clock starts now
	now = now.Add(31 * time.Minute)
	fmt.Println("swept after 31 idle minutes:", reg.Sweep())
	fmt.Println("entries:", reg.Len())

	// Output:
	// swept while open: 0
	// evicted c1
	// swept after 31 idle minutes: 1
	// entries: 0
}
