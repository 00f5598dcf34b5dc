package brokertest

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
)

// waitTimeout bounds how long the suite waits for a live event to arrive.
const waitTimeout = 10 * time.Second

// recorder is a DeliverFunc target that keeps what it receives and lets a
// test wait for it.
type recorder struct {
	mu      sync.Mutex
	events  []broker.Event
	changed chan struct{} // closed at the next delivery
}

func newRecorder() *recorder {
	return &recorder{changed: make(chan struct{})}
}

// deliver is the DeliverFunc: it never blocks.
func (r *recorder) deliver(ev broker.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
}

// snapshot returns a copy of the events received so far.
func (r *recorder) snapshot() []broker.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]broker.Event(nil), r.events...)
}

// waitUntil waits until done(events) holds and returns the events, or fails
// the test after waitTimeout.
func (r *recorder) waitUntil(t testing.TB, what string, done func([]broker.Event) bool) []broker.Event {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		events := append([]broker.Event(nil), r.events...)
		changed := r.changed
		r.mu.Unlock()
		if done(events) {
			return events
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("waited %v for %s; received %d events: %s", waitTimeout, what, len(events), describe(events))
			return nil
		}
	}
}

// waitLen waits until at least n events were received.
func (r *recorder) waitLen(t testing.TB, n int) []broker.Event {
	t.Helper()
	return r.waitUntil(t, fmt.Sprintf("%d events", n), func(evs []broker.Event) bool { return len(evs) >= n })
}

// waitEnd waits until the subscription was ended (an event with Err) or an
// event numbered seq (or higher) was received.
func (r *recorder) waitEnd(t testing.TB, seq int64) []broker.Event {
	t.Helper()
	return r.waitUntil(t, fmt.Sprintf("event %d or the ending notice", seq), func(evs []broker.Event) bool {
		return len(evs) > 0 && (evs[len(evs)-1].Err != nil || evs[len(evs)-1].Seq >= seq)
	})
}

// waitSeq waits until an event numbered seq (or higher) was received.
func (r *recorder) waitSeq(t testing.TB, seq int64) []broker.Event {
	t.Helper()
	return r.waitUntil(t, fmt.Sprintf("event %d", seq), func(evs []broker.Event) bool {
		return len(evs) > 0 && evs[len(evs)-1].Seq >= seq
	})
}

// payload is the data the suite publishes for event seq: the number comes
// first so that any event can be checked against its number.
func payload(seq int64, tag string) []byte {
	return []byte("seq=" + strconv.FormatInt(seq, 10) + ";" + tag)
}

// encoder returns an EncodeFunc publishing payload(seq, tag).
func encoder(tag string) broker.EncodeFunc {
	return func(seq int64) ([]byte, error) { return payload(seq, tag), nil }
}

// checkRun fails the test unless events are exactly the events numbered
// from..to of conversation id, in order, each carrying its own payload.
func checkRun(t testing.TB, id string, events []broker.Event, from, to int64) {
	t.Helper()
	if want := to - from + 1; int64(len(events)) != want {
		t.Fatalf("got %d events, want %d (numbers %d..%d): %s", len(events), want, from, to, describe(events))
	}
	for i, ev := range events {
		want := from + int64(i)
		if ev.Seq != want {
			t.Fatalf("event %d has number %d, want %d: %s", i, ev.Seq, want, describe(events))
		}
		if ev.ConversationID != id {
			t.Fatalf("event %d has conversation %q, want %q", ev.Seq, ev.ConversationID, id)
		}
		if prefix := "seq=" + strconv.FormatInt(want, 10) + ";"; !strings.HasPrefix(string(ev.Data), prefix) {
			t.Fatalf("event %d carries %q, which was not encoded with its number", ev.Seq, ev.Data)
		}
	}
}

// describe summarises events for failure messages.
func describe(events []broker.Event) string {
	const show = 8
	var b strings.Builder
	b.WriteString("[")
	for i, ev := range events {
		if len(events) > 2*show && i >= show && i < len(events)-show {
			if i == show {
				fmt.Fprintf(&b, " ...(%d more)", len(events)-2*show)
			}
			continue
		}
		if ev.Err != nil {
			fmt.Fprintf(&b, " end:%v", ev.Err)
			continue
		}
		fmt.Fprintf(&b, " %d:%q", ev.Seq, ev.Data)
	}
	b.WriteString(" ]")
	return b.String()
}
