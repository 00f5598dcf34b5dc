package memory_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/broker/memory"
)

const ttl = time.Minute

func TestIdleConversationForgottenAfterTTL(t *testing.T) {
	clock := newFakeClock()
	b := newBroker(t, memory.Config{IdleTTL: ttl, Now: clock.Now})
	base := mustLastSeq(t, b, "a")
	for range 3 {
		mustPublish(t, b, "a", data)
	}
	clock.Advance(ttl - 1)
	mustLastSeq(t, b, "b")
	if n := b.Len(); n != 2 {
		t.Fatalf("Len = %d just before the TTL, want 2", n)
	}
	clock.Advance(1)
	mustLastSeq(t, b, "c") // any call lets the evictor run
	if n := b.Len(); n != 2 {
		t.Fatalf("Len = %d once \"a\" was idle for the TTL, want 2 (b and c)", n)
	}
	// "a" starts again from a higher base: its old numbers are recognised
	// as out of the window.
	expectReplay(t, b, "a", base+3, nil)
	if last := mustLastSeq(t, b, "a"); last <= base+3 {
		t.Fatalf("forgotten conversation resumed at %d, want above its old last number %d", last, base+3)
	}
}

// The clock does not move between the forgetting and the return of the
// conversation here, or even goes back: only the high-water mark of
// forgotten numbers keeps the new numbering above the old one.
func TestForgottenConversationRestartsAboveItsNumbersWithStoppedClock(t *testing.T) {
	clock := newFakeClock()
	b := newBroker(t, memory.Config{MaxConversations: 1, Now: clock.Now})
	var old int64
	for range 100 {
		old = mustPublish(t, b, "a", data)
	}
	mustLastSeq(t, b, "b") // the cap forgets "a"
	if n := b.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1", n)
	}
	if again := mustLastSeq(t, b, "a"); again <= old {
		t.Fatalf("%q restarted at %d, not above its old number %d", "a", again, old)
	}
}

func TestForgottenConversationRestartsAboveItsNumbersWhenClockGoesBack(t *testing.T) {
	clock := newFakeClock()
	b := newBroker(t, memory.Config{IdleTTL: ttl, Now: clock.Now})
	mustLastSeq(t, b, "b")
	var old int64
	for range 100 {
		old = mustPublish(t, b, "a", data)
	}
	clock.Advance(ttl)
	mustLastSeq(t, b, "b") // touches "b", forgets "a", creates nothing
	if n := b.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1", n)
	}
	clock.Advance(-time.Hour)
	if first := mustPublish(t, b, "a", data); first <= old {
		t.Fatalf("after the clock went back, %q restarted at %d, not above its old number %d", "a", first, old)
	}
}

func TestCapForgetsLeastRecentlyUsed(t *testing.T) {
	clock := newFakeClock() // never moves: only the cap forgets
	b := newBroker(t, memory.Config{MaxConversations: 2, Now: clock.Now})
	lastA := mustPublish(t, b, "a", data)
	lastB := mustPublish(t, b, "b", data)
	mustPublish(t, b, "a", data) // a is now more recently used than b
	lastA++
	mustLastSeq(t, b, "c")
	if n := b.Len(); n != 2 {
		t.Fatalf("Len = %d, want the cap, 2", n)
	}
	expectReplay(t, b, "a", lastA-2, run(lastA-1, lastA))
	// The subscribe above made "a" the most recent again; "b" was
	// forgotten and restarts above its old numbers.
	expectReplay(t, b, "b", lastB-1, nil)
	if again := mustLastSeq(t, b, "b"); again <= lastB {
		t.Fatalf("forgotten conversation restarted at %d, want above %d", again, lastB)
	}
}

func TestCapHoldsWith100000Conversations(t *testing.T) {
	const limit = 1000
	b := newBroker(t, memory.Config{MaxConversations: limit})
	for i := range 100_000 {
		mustPublish(t, b, fmt.Sprint("conversation-", i), data)
		if n := b.Len(); n > limit {
			t.Fatalf("Len = %d after %d conversations, above the cap %d", n, i+1, limit)
		}
	}
	// The most recent ones are the ones remembered.
	for i := 100_000 - limit; i < 100_000; i += 99 {
		id := fmt.Sprint("conversation-", i)
		last := mustLastSeq(t, b, id)
		expectReplay(t, b, id, last-1, []int64{last})
	}
}

func TestDefaultCapIs100000(t *testing.T) {
	b := newBroker(t, memory.Config{})
	for i := range 100_001 {
		mustLastSeq(t, b, fmt.Sprint("conversation-", i))
	}
	if n := b.Len(); n != 100_000 {
		t.Fatalf("Len = %d, want the default cap 100000", n)
	}
}

// TestChurnMemoryReturnsToBaseline creates many conversations holding data
// and checks that the heap stays bounded by the cap, not by the history.
func TestChurnMemoryReturnsToBaseline(t *testing.T) {
	const limit, total, size = 1000, 200_000, 1 << 10
	b := newBroker(t, memory.Config{MaxConversations: limit})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for i := range total {
		mustPublish(t, b, fmt.Sprint("conversation-", i), func(int64) ([]byte, error) { return make([]byte, size), nil })
	}
	grown := int64(heap()) - int64(before)
	// limit conversations of ~1 KiB each are expected; the history is ~200 MiB.
	if grown > 16<<20 {
		t.Fatalf("heap grew by %d bytes after churning %d conversations with a cap of %d", grown, total, limit)
	}
}

func TestSubscribedConversationNeverForgotten(t *testing.T) {
	clock := newFakeClock()
	b := newBroker(t, memory.Config{IdleTTL: ttl, MaxConversations: 1, Now: clock.Now})
	base := mustLastSeq(t, b, "a")
	var c counter
	sub, err := b.Subscribe(context.Background(), "a", base, c.deliver)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		clock.Advance(2 * ttl)
		mustLastSeq(t, b, fmt.Sprint("other-", i))
		mustPublish(t, b, "a", data)
	}
	if got := c.got(); !slices.Equal(got, run(base+1, base+10)) {
		t.Fatalf("subscriber got %v, want %v", got, run(base+1, base+10))
	}
	if n := b.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1: the subscribed conversation, the idle ones forgotten by the cap", n)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	mustLastSeq(t, b, "another")
	if n := b.Len(); n != 1 {
		t.Fatalf("Len = %d once the subscriber left, want the cap, 1", n)
	}
	expectReplay(t, b, "a", base+10, nil)
}

func TestIdleTimeStartsWhenLastSubscriberLeaves(t *testing.T) {
	clock := newFakeClock()
	b := newBroker(t, memory.Config{IdleTTL: ttl, Now: clock.Now})
	last := mustPublish(t, b, "a", data)
	sub, err := b.Subscribe(context.Background(), "a", last, func(broker.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * ttl)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(ttl - 1)
	mustLastSeq(t, b, "b")
	expectReplay(t, b, "a", last-1, []int64{last}) // still remembered
	clock.Advance(ttl)
	mustLastSeq(t, b, "c")
	expectReplay(t, b, "a", last, nil)
}

func TestSubscribersKeepConversationsAboveCap(t *testing.T) {
	clock := newFakeClock()
	b := newBroker(t, memory.Config{MaxConversations: 2, Now: clock.Now})
	subs := map[string]broker.Subscription{}
	for _, id := range []string{"a", "b"} {
		sub, err := b.Subscribe(context.Background(), id, mustLastSeq(t, b, id), func(broker.Event) {})
		if err != nil {
			t.Fatal(err)
		}
		subs[id] = sub
	}
	mustLastSeq(t, b, "c")
	mustLastSeq(t, b, "d")
	if n := b.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3: two subscribed conversations and the newest idle one", n)
	}
	if err := subs["a"].Close(); err != nil {
		t.Fatal(err)
	}
	mustLastSeq(t, b, "e")
	if n := b.Len(); n != 2 {
		t.Fatalf("Len = %d once a subscriber left, want the cap, 2", n)
	}
	// b still has its subscriber, so it is one of the two.
	last := mustPublish(t, b, "b", data)
	expectReplay(t, b, "b", last-1, []int64{last})
	_ = subs["b"].Close()
}

func TestFailedSubscribeDoesNotHoldConversation(t *testing.T) {
	clock := newFakeClock()
	b := newBroker(t, memory.Config{MaxConversations: 1, Now: clock.Now})
	sub, err := b.Subscribe(context.Background(), "a", 42, func(broker.Event) {})
	if !errors.Is(err, broker.ErrReplayUnavailable) || sub != nil {
		t.Fatalf("Subscribe with a foreign number = %v, %v; want nil, ErrReplayUnavailable", sub, err)
	}
	mustLastSeq(t, b, "b")
	if n := b.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1: a failed Subscribe must not keep its conversation", n)
	}
}

// TestEvictionUnderPressureNeverReusesNumbers publishes to a few shared
// conversations under a cap that forgets them constantly, with a clock that
// never moves, so only the high-water mark keeps numbers apart.
func TestEvictionUnderPressureNeverReusesNumbers(t *testing.T) {
	clock := newFakeClock()
	b := newBroker(t, memory.Config{MaxConversations: 2, Now: clock.Now})
	ids := []string{"a", "b", "c", "d"}

	// A subscribed conversation is never forgotten: its numbers stay
	// contiguous throughout.
	pinned := mustLastSeq(t, b, "pinned")
	var c counter
	sub, err := b.Subscribe(context.Background(), "pinned", pinned, c.deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	const workers, each = 8, 300
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]map[int64]bool{}
	)
	for _, id := range ids {
		seen[id] = map[int64]bool{}
	}
	for w := range workers {
		wg.Go(func() {
			prev := map[string]int64{}
			for i := range each {
				id := ids[(w+i)%len(ids)]
				if i%10 == 0 {
					id = "pinned"
				}
				seq, err := b.Publish(context.Background(), id, data)
				if err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
				if seq <= prev[id] {
					t.Errorf("%q: number %d after %d from the same publisher", id, seq, prev[id])
				}
				prev[id] = seq
				if id == "pinned" {
					continue
				}
				mu.Lock()
				if seen[id][seq] {
					t.Errorf("%q: number %d assigned twice", id, seq)
				}
				seen[id][seq] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	want := run(pinned+1, pinned+workers*each/10)
	if got := c.got(); !slices.Equal(got, want) {
		t.Fatalf("subscribed conversation got %d events, want exactly %d..%d", len(got), want[0], want[len(want)-1])
	}
	if n := b.Len(); n > 3 {
		t.Fatalf("Len = %d, want at most the cap (2) plus the subscribed conversation", n)
	}
}
