package session_test

import (
	"fmt"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/session"
)

// Conversation is live state shared by every socket of one conversation.
type Conversation struct {
	mu      sync.Mutex
	sockets int
	replies session.Stats
}

func ExampleRegistry() {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	reg, err := session.NewRegistry[*Conversation](session.Config{
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
	conv.replies.Observe(1200 * time.Millisecond)
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

func ExampleStats() {
	var s session.Stats // zero value is ready; guard it with its owner's lock
	for _, ms := range []int{120, 340, 95, 2100, 410, 380, 150, 260} {
		s.Observe(time.Duration(ms) * time.Millisecond)
	}
	fmt.Println("count:", s.Count())
	fmt.Println("min, max:", s.Min(), s.Max())
	fmt.Println("mean:", s.Mean())
	fmt.Println("p50 (estimate):", s.Quantile(0.5).Round(time.Millisecond))

	var total session.Stats
	total.Merge(s)
	total.Merge(s)
	fmt.Println("merged count:", total.Count())

	// Output:
	// count: 8
	// min, max: 95ms 2.1s
	// mean: 481.875ms
	// p50 (estimate): 320ms
	// merged count: 16
}
