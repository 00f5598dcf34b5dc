package redis_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/chatboxsdk/chatbox/broker"
	redisbroker "github.com/chatboxsdk/chatbox/broker/redis"
	"github.com/chatboxsdk/chatbox/broker/redis/redistest"
)

// events is a DeliverFunc target a test can wait on.
type events struct {
	mu      sync.Mutex
	got     []broker.Event
	changed chan struct{}
}

func newEvents() *events { return &events{changed: make(chan struct{})} }

func (e *events) deliver(ev broker.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, ev)
	close(e.changed)
	e.changed = make(chan struct{})
}

// wait waits until done holds for what was received.
func (e *events) wait(t *testing.T, done func([]broker.Event) bool) []broker.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		e.mu.Lock()
		got, changed := append([]broker.Event(nil), e.got...), e.changed
		e.mu.Unlock()
		if done(got) {
			return got
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("timed out; received %+v", got)
		}
	}
}

func encodeSeq(seq int64) ([]byte, error) { return []byte(strconv.FormatInt(seq, 10)), nil }

func mustPublish(t testing.TB, b broker.Broker, id string) int64 {
	t.Helper()
	seq, err := b.Publish(context.Background(), id, encodeSeq)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return seq
}

// TestMissedEventsBeyondTheWindowEndTheSubscription: events published while
// the pub/sub connection is down and no longer in the window end the
// subscription with the notice, after every event that could be delivered.
func TestMissedEventsBeyondTheWindowEndTheSubscription(t *testing.T) {
	addr := redistest.Addr(t)
	name := "gap-" + rand.Text()[:10]
	b := newBroker(t, addr, redisbroker.Config{MaxReplayEvents: 3, ReconnectInterval: time.Second, ConnectionName: name})
	base, err := b.LastSeq(t.Context(), "c")
	if err != nil {
		t.Fatal(err)
	}
	e := newEvents()
	sub, err := b.Subscribe(t.Context(), "c", base, e.deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	mustPublish(t, b, "c")
	e.wait(t, func(got []broker.Event) bool { return len(got) == 1 })

	if n := redistest.KillClients(t, addr, name); n != 1 {
		t.Fatalf("killed %d connections", n)
	}
	for range 10 {
		mustPublish(t, b, "c")
	}
	got := e.wait(t, func(got []broker.Event) bool { return got[len(got)-1].Err != nil })
	if !errors.Is(got[len(got)-1].Err, broker.ErrReplayUnavailable) {
		t.Fatalf("ended with %v, want ErrReplayUnavailable", got[len(got)-1].Err)
	}
	for i, ev := range got[:len(got)-1] {
		if ev.Seq != base+1+int64(i) {
			t.Fatalf("delivered %+v before the notice: not contiguous from %d", got, base+1)
		}
	}
}

// TestDroppedConnectionRecoversFromTheWindow: with the window holding what
// was missed, every subscriber, wherever it was, gets every event, in
// order, and no notice.
func TestDroppedConnectionRecoversFromTheWindow(t *testing.T) {
	addr := redistest.Addr(t)
	name := "recover-" + rand.Text()[:10]
	b := newBroker(t, addr, redisbroker.Config{ReconnectInterval: 200 * time.Millisecond, ConnectionName: name})
	base := mustLastSeq(t, b, "c")
	subscribe := func(after int64) *events {
		e := newEvents()
		sub, err := b.Subscribe(t.Context(), "c", after, e.deliver)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Close() })
		return e
	}
	early := subscribe(base)
	mustPublish(t, b, "c")
	mustPublish(t, b, "c")
	late, other := subscribe(base+2), subscribe(base+1)
	if n := redistest.KillClients(t, addr, name); n != 1 {
		t.Fatalf("killed %d connections", n)
	}
	for range 20 {
		mustPublish(t, b, "c")
	}
	for _, c := range []struct {
		e     *events
		after int64
	}{{early, base}, {late, base + 2}, {other, base + 1}} {
		got := c.e.wait(t, func(got []broker.Event) bool {
			return len(got) > 0 && (got[len(got)-1].Err != nil || got[len(got)-1].Seq == base+22)
		})
		for i, ev := range got {
			if ev.Err != nil || ev.Seq != c.after+1+int64(i) || string(ev.Data) != strconv.FormatInt(ev.Seq, 10) {
				t.Fatalf("subscriber after %d received %+v, want events %d..%d", c.after, got, c.after+1, base+22)
			}
		}
	}
}

// TestHostClientIsNotClosed: Close leaves a client passed in Config.Client
// usable.
func TestHostClientIsNotClosed(t *testing.T) {
	addr := redistest.Addr(t)
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	b, err := redisbroker.New(redisbroker.Config{Client: client, KeyPrefix: "chatbox-test:" + rand.Text()[:8] + ":"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(t.Context(), "c", mustLastSeq(t, b, "c"), func(broker.Event) {}); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := client.Do(t.Context(), client.B().Ping().Build()).Error(); err != nil {
		t.Fatalf("host client unusable after the broker closed: %v", err)
	}
	if _, err := b.Publish(t.Context(), "c", encodeSeq); !errors.Is(err, broker.ErrClosed) {
		t.Fatalf("Publish after Close = %v, want ErrClosed", err)
	}
	if _, err := b.Subscribe(t.Context(), "c", 0, func(broker.Event) {}); !errors.Is(err, broker.ErrClosed) {
		t.Fatalf("Subscribe after Close = %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func mustLastSeq(t testing.TB, b broker.Broker, id string) int64 {
	t.Helper()
	last, err := b.LastSeq(context.Background(), id)
	if err != nil {
		t.Fatalf("LastSeq: %v", err)
	}
	return last
}

// TestContextHonoured: a done context is returned by every call.
func TestContextHonoured(t *testing.T) {
	b := newBroker(t, redistest.Addr(t), redisbroker.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Publish(ctx, "c", encodeSeq); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish = %v", err)
	}
	if _, err := b.LastSeq(ctx, "c"); !errors.Is(err, context.Canceled) {
		t.Errorf("LastSeq = %v", err)
	}
	if err := b.Signal(ctx, "c", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Signal = %v", err)
	}
	if _, err := b.Subscribe(ctx, "c", 0, func(broker.Event) {}); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe = %v", err)
	}
}

// TestWindowBoundedInRedis: the window keeps at most MaxReplayEvents events
// and MaxReplayBytes bytes; an event larger than the byte limit is delivered
// but not held.
func TestWindowBoundedInRedis(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv.Addr, redisbroker.Config{MaxReplayEvents: 50, MaxReplayBytes: 1000})
	frame := make([]byte, 100)
	var last int64
	for range 200 {
		var err error
		if last, err = b.Publish(t.Context(), "c", func(int64) ([]byte, error) { return frame, nil }); err != nil {
			t.Fatal(err)
		}
	}
	e := newEvents()
	sub, err := b.Subscribe(t.Context(), "c", last-10, e.deliver)
	if err != nil {
		t.Fatalf("resume within 1000 bytes: %v", err)
	}
	_ = sub.Close()
	if _, err := b.Subscribe(t.Context(), "c", last-11, e.deliver); !errors.Is(err, broker.ErrReplayUnavailable) {
		t.Fatalf("resume beyond 1000 bytes = %v, want ErrReplayUnavailable", err)
	}
	big := make([]byte, 2000)
	last, err = b.Publish(t.Context(), "c", func(int64) ([]byte, error) { return big, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(t.Context(), "c", last-1, e.deliver); !errors.Is(err, broker.ErrReplayUnavailable) {
		t.Fatalf("an event above MaxReplayBytes was held: %v", err)
	}
}

// TestLastSubscriberUnsubscribes: the pub/sub connection leaves a
// conversation's channel when its last local subscriber leaves.
func TestLastSubscriberUnsubscribes(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv.Addr, redisbroker.Config{})
	var subs []broker.Subscription
	for _, id := range []string{"a", "a", "b"} {
		sub, err := b.Subscribe(t.Context(), id, mustLastSeq(t, b, id), func(broker.Event) {})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	if n := redistest.Channels(t, srv.Addr); n != 2 {
		t.Fatalf("%d channels subscribed for two conversations", n)
	}
	for _, sub := range subs {
		_ = sub.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for redistest.Channels(t, srv.Addr) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("channels still subscribed 5s after the last subscriber left")
		}
		time.Sleep(10 * time.Millisecond) // UNSUBSCRIBE is confirmed to the broker, not to the test
	}
	// Subscribing again after the channel was left, and quickly leaving
	// and joining again, still delivers.
	for range 20 {
		e := newEvents()
		sub, err := b.Subscribe(t.Context(), "a", mustLastSeq(t, b, "a"), e.deliver)
		if err != nil {
			t.Fatal(err)
		}
		seq := mustPublish(t, b, "a")
		e.wait(t, func(got []broker.Event) bool { return len(got) == 1 && got[0].Seq == seq })
		_ = sub.Close()
	}
}

// TestRedisDownIsAnErrorNotAHang: with Redis stopped every call fails
// within its bounds, and the broker works again once Redis is back.
func TestRedisDownIsAnErrorNotAHang(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv.Addr, redisbroker.Config{SubscribeTimeout: 300 * time.Millisecond, ReconnectInterval: 50 * time.Millisecond})
	mustLastSeq(t, b, "c")
	srv.Stop()

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := b.Publish(ctx, "c", encodeSeq); err == nil {
		t.Error("Publish succeeded with Redis stopped")
	}
	if _, err := b.LastSeq(ctx, "c"); err == nil {
		t.Error("LastSeq succeeded with Redis stopped")
	}
	if _, err := b.Subscribe(ctx, "c", 0, func(broker.Event) {}); err == nil {
		t.Error("Subscribe succeeded with Redis stopped")
	}
	if ctx.Err() != nil {
		t.Fatal("calls with Redis stopped took the whole 5s context")
	}

	srv.Restart(t)
	var last int64
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if last, err = b.LastSeq(t.Context(), "c"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("LastSeq still failing 10s after Redis came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // reconnection has no event to wait for
	}
	e := newEvents()
	var sub broker.Subscription
	for {
		var err error
		if sub, err = b.Subscribe(t.Context(), "c", last, e.deliver); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Subscribe still failing 10s after Redis came back: %v", err)
		}
	}
	defer sub.Close()
	var seq int64
	for {
		// The first calls after a restart may still meet a connection
		// the restart broke.
		var err error
		if seq, err = b.Publish(t.Context(), "c", encodeSeq); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Publish still failing 10s after Redis came back: %v", err)
		}
	}
	e.wait(t, func(got []broker.Event) bool { return len(got) > 0 && got[len(got)-1].Seq == seq })
}
