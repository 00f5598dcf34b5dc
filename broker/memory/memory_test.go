package memory_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/broker/memory"
)

func TestNewReportsEveryNegativeField(t *testing.T) {
	_, err := memory.New(memory.Config{MaxReplayEvents: -1, MaxReplayBytes: -1, IdleTTL: -1, MaxConversations: -1})
	if err == nil {
		t.Fatal("New accepted negative limits")
	}
	for _, field := range []string{"MaxReplayEvents", "MaxReplayBytes", "IdleTTL", "MaxConversations"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not mention %s", err, field)
		}
	}
	if _, err := memory.New(memory.Config{ReplayRetention: -1}); err == nil || !strings.Contains(err.Error(), "ReplayRetention") {
		t.Errorf("New accepted a negative ReplayRetention: %v", err)
	}
	if _, err := memory.New(memory.Config{IdleTTL: -1}); err == nil {
		t.Error("New accepted a negative IdleTTL alone")
	}
}

// subscribeErr subscribes and returns the error and what was delivered.
func subscribeErr(b *memory.Broker, id string, after int64) ([]int64, error) {
	var c counter
	sub, err := b.Subscribe(context.Background(), id, after, c.deliver)
	if err == nil {
		_ = sub.Close()
	}
	return c.got(), err
}

func mustPublish(t testing.TB, b *memory.Broker, id string, encode broker.EncodeFunc) int64 {
	t.Helper()
	seq, err := b.Publish(context.Background(), id, encode)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return seq
}

func mustLastSeq(t testing.TB, b *memory.Broker, id string) int64 {
	t.Helper()
	last, err := b.LastSeq(context.Background(), id)
	if err != nil {
		t.Fatalf("LastSeq: %v", err)
	}
	return last
}

// expectReplay checks what Subscribe(after) does: deliver want, or fail
// with ErrReplayUnavailable if want is nil.
func expectReplay(t *testing.T, b *memory.Broker, id string, after int64, want []int64) {
	t.Helper()
	if err := checkReplay(b, id, after, want); err != nil {
		t.Fatal(err)
	}
}

func checkReplay(b *memory.Broker, id string, after int64, want []int64) error {
	got, err := subscribeErr(b, id, after)
	switch {
	case want == nil && !errors.Is(err, broker.ErrReplayUnavailable):
		return fmt.Errorf("Subscribe(after %d) = %v, want ErrReplayUnavailable", after, err)
	case want == nil && len(got) != 0:
		return fmt.Errorf("Subscribe(after %d) failed but delivered %v", after, got)
	case want != nil && err != nil:
		return fmt.Errorf("Subscribe(after %d): %w", after, err)
	case want != nil && !slices.Equal(got, want):
		return fmt.Errorf("Subscribe(after %d) replayed %v, want %v", after, got, want)
	}
	return nil
}

func TestDefaultWindowHolds2048Events(t *testing.T) {
	b := newBroker(t, memory.Config{})
	base := mustLastSeq(t, b, "c")
	for range 2049 {
		mustPublish(t, b, "c", data)
	}
	expectReplay(t, b, "c", base, nil)
	expectReplay(t, b, "c", base+1, run(base+2, base+2049))
}

func TestDefaultWindowHoldsOneMiB(t *testing.T) {
	b := newBroker(t, memory.Config{})
	base := mustLastSeq(t, b, "c")
	chunk := make([]byte, 64<<10)
	for range 17 {
		mustPublish(t, b, "c", func(int64) ([]byte, error) { return chunk, nil })
	}
	expectReplay(t, b, "c", base, nil)
	expectReplay(t, b, "c", base+1, run(base+2, base+17))
}

func TestWindowEvictsOldestByCount(t *testing.T) {
	b := newBroker(t, memory.Config{MaxReplayEvents: 4})
	base := mustLastSeq(t, b, "c")
	for range 10 {
		mustPublish(t, b, "c", data)
	}
	last := base + 10
	for after := base - 1; after <= last-5; after++ {
		expectReplay(t, b, "c", after, nil)
	}
	for after := last - 4; after <= last; after++ {
		expectReplay(t, b, "c", after, run(after+1, last))
	}
	expectReplay(t, b, "c", last+1, nil)
}

func TestWindowEvictsOldestByBytes(t *testing.T) {
	b := newBroker(t, memory.Config{MaxReplayBytes: 10})
	four := func(int64) ([]byte, error) { return []byte("four"), nil }
	base := mustLastSeq(t, b, "c")
	for range 3 {
		mustPublish(t, b, "c", four)
	}
	expectReplay(t, b, "c", base, nil)
	expectReplay(t, b, "c", base+1, run(base+2, base+3))

	// An event larger than the window is delivered live but not held.
	var live counter
	sub, err := b.Subscribe(context.Background(), "c", base+3, live.deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	big := mustPublish(t, b, "c", func(int64) ([]byte, error) { return make([]byte, 11), nil })
	if !slices.Equal(live.got(), []int64{big}) {
		t.Fatalf("live subscriber got %v, want [%d]", live.got(), big)
	}
	expectReplay(t, b, "c", big-1, nil)
	expectReplay(t, b, "c", big, []int64{})
}

// TestWindowMatchesModel publishes events of random sizes and checks every
// possible resume point against the rule: the window is the longest run of
// newest events within both limits.
func TestWindowMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 30 {
		maxEvents, maxBytes := 1+rng.IntN(40), 1+rng.IntN(400)
		b := newBroker(t, memory.Config{MaxReplayEvents: maxEvents, MaxReplayBytes: maxBytes})
		var sizes []int
		for range 150 {
			size := rng.IntN(60)
			sizes = append(sizes, size)
			last := mustPublish(t, b, "c", func(int64) ([]byte, error) { return make([]byte, size), nil })
			held, bytes := 0, 0
			for i := len(sizes) - 1; i >= 0 && held < maxEvents && bytes+sizes[i] <= maxBytes; i-- {
				held++
				bytes += sizes[i]
			}
			floor := last - int64(held)
			// Check the edges and one point inside.
			for _, after := range []int64{floor - 1, floor, floor + int64(rng.IntN(held+1)), last, last + 1} {
				var want []int64
				if after >= floor && after <= last {
					want = run(after+1, last)
				}
				if err := checkReplay(b, "c", after, want); err != nil {
					t.Fatalf("round %d, limits %d events %d bytes, sizes %v: %v", round, maxEvents, maxBytes, sizes, err)
				}
			}
		}
	}
}

func TestEncodePanicConsumesNoNumber(t *testing.T) {
	b := newBroker(t, memory.Config{})
	last := mustLastSeq(t, b, "c")
	func() {
		defer func() { _ = recover() }()
		_, _ = b.Publish(context.Background(), "c", func(int64) ([]byte, error) { panic("encode bug") })
		t.Fatal("the panic did not propagate")
	}()
	if seq := mustPublish(t, b, "c", data); seq != last+1 {
		t.Fatalf("after a panicking encode the next number is %d, want %d (and the lock must be free)", seq, last+1)
	}
}

func TestDeliverPanicDuringReplayReleasesConversation(t *testing.T) {
	b := newBroker(t, memory.Config{MaxConversations: 1})
	base := mustLastSeq(t, b, "c")
	mustPublish(t, b, "c", data)
	func() {
		defer func() { _ = recover() }()
		_, _ = b.Subscribe(context.Background(), "c", base, func(broker.Event) { panic("deliver bug") })
		t.Fatal("the panic did not propagate")
	}()
	mustPublish(t, b, "c", data) // the lock is free
	mustLastSeq(t, b, "other")   // "c" has no subscriber, so the cap forgets it
	if n := b.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1: the failed subscription still holds its conversation", n)
	}
}

func TestNilFunctionsAreErrors(t *testing.T) {
	b := newBroker(t, memory.Config{})
	if _, err := b.Publish(context.Background(), "c", nil); err == nil {
		t.Error("Publish accepted a nil encode function")
	}
	if _, err := b.Subscribe(context.Background(), "c", 0, nil); err == nil {
		t.Error("Subscribe accepted a nil deliver function")
	}
}

func TestDoneContextIsAnError(t *testing.T) {
	b := newBroker(t, memory.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	if _, err := b.Publish(ctx, "c", func(int64) ([]byte, error) { called = true; return nil, nil }); !errors.Is(err, context.Canceled) || called {
		t.Errorf("Publish = %v (encode called: %v), want context.Canceled without encoding", err, called)
	}
	if err := b.Signal(ctx, "c", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Signal = %v", err)
	}
	if _, err := b.LastSeq(ctx, "c"); !errors.Is(err, context.Canceled) {
		t.Errorf("LastSeq = %v", err)
	}
	if _, err := b.Subscribe(ctx, "c", 0, func(broker.Event) {}); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe = %v", err)
	}
}

func TestSignalDoesNotRememberConversation(t *testing.T) {
	b := newBroker(t, memory.Config{})
	if err := b.Signal(context.Background(), "c", []byte("typing")); err != nil {
		t.Fatal(err)
	}
	if n := b.Len(); n != 0 {
		t.Fatalf("Len = %d after signalling an unknown conversation, want 0", n)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	b := newBroker(t, memory.Config{})
	last := mustLastSeq(t, b, "c")
	var c counter
	sub, err := b.Subscribe(context.Background(), "c", last, c.deliver)
	if err != nil {
		t.Fatal(err)
	}
	mustPublish(t, b, "c", data)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := context.Background()
	if _, err := b.Publish(ctx, "c", data); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("Publish after Close = %v", err)
	}
	if err := b.Signal(ctx, "c", nil); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("Signal after Close = %v", err)
	}
	if _, err := b.LastSeq(ctx, "c"); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("LastSeq after Close = %v", err)
	}
	if _, err := b.Subscribe(ctx, "c", last, c.deliver); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("Subscribe after Close = %v", err)
	}
	if n := b.Len(); n != 0 {
		t.Errorf("Len after Close = %d", n)
	}
	if err := sub.Close(); err != nil {
		t.Errorf("Subscription.Close after broker Close = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if got := c.got(); !slices.Equal(got, []int64{last + 1}) {
		t.Errorf("subscriber got %v, want [%d]", got, last+1)
	}
}

// TestCloseWhilePublishing checks that no deliver call starts after Close
// returned, with publishers and subscribers busy on several conversations.
func TestCloseWhilePublishing(t *testing.T) {
	b := newBroker(t, memory.Config{})
	var closed, late atomic.Bool
	deliver := func(broker.Event) {
		if closed.Load() {
			late.Store(true)
		}
	}
	ids := []string{"a", "b", "c"}
	for _, id := range ids {
		for range 3 {
			if _, err := b.Subscribe(context.Background(), id, mustLastSeq(t, b, id), deliver); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	started := make(chan struct{}, len(ids))
	for _, id := range ids {
		wg.Go(func() {
			for i := 0; ; i++ {
				if i == 10 {
					started <- struct{}{}
				}
				if _, err := b.Publish(context.Background(), id, data); err != nil {
					if !errors.Is(err, broker.ErrClosed) {
						t.Errorf("Publish: %v", err)
					}
					return
				}
			}
		})
	}
	for range ids {
		<-started
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	closed.Store(true)
	wg.Wait()
	if late.Load() {
		t.Fatal("deliver was called after Close returned")
	}
}
