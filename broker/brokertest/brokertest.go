// Package brokertest is the conformance suite every [broker.Broker]
// implementation runs: brokertest.Run(t, newBroker).
//
// The suite needs a broker whose replay window holds at least 1,000 events
// of up to 64 bytes each, and that does not forget a conversation used in
// the last minute. RunWith's Options add the cases of a shared backend:
// several instances, a backend that loses everything, a dropped
// connection; every case checks that a subscriber never misses an event
// silently: it gets it or the ending notice (broker.Event.Err).
//
// A broker that implements [broker.Leases] also runs the lease cases:
// acquiring, renewing and releasing, a second holder refused until the
// lease lapses, and lapsed leases taken exactly once by concurrent callers
// (on two instances with Options.Shared), oldest first, never an unexpired
// one. They use TTLs of tens of milliseconds and real time.
package brokertest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/chatboxsdk/chatbox/broker"
)

// Run runs the conformance suite. newBroker is called once per subtest and
// returns a fresh broker; releasing it (with t.Cleanup) is its job.
// Conversation names are unique to each run, so brokers sharing a backend
// between subtests or runs do not see each other's conversations.
//
// Run is RunWith without options: the cases about several instances, a lost
// backend and a dropped connection are skipped.
func Run(t *testing.T, newBroker func(t *testing.T) broker.Broker) {
	RunWith(t, newBroker, Options{})
}

// RunWith runs the conformance suite, and the cases opts enables.
func RunWith(t *testing.T, newBroker func(t *testing.T) broker.Broker, opts Options) {
	tests := []struct {
		name string
		fn   func(*testing.T, broker.Broker, func() string)
	}{
		{"PublishNumbersContiguously", testPublishNumbersContiguously},
		{"EncodeCalledOnceWithAssignedNumber", testEncodeCalledOnce},
		{"EncodeErrorConsumesNoNumber", testEncodeErrorConsumesNoNumber},
		{"LastSeqThenSubscribeGetsNextEvent", testLastSeqThenSubscribe},
		{"ReplayBeforeSubscribeReturnsThenLive", testReplayThenLive},
		{"SubscribeAtLastNumberReplaysNothing", testSubscribeAtLast},
		{"ReplayUnavailableBeforeFirstNumber", testReplayUnavailableBeforeFirst},
		{"ReplayUnavailableForFutureNumber", testReplayUnavailableFuture},
		{"SignalReachesSubscribersWithoutNumber", testSignal},
		{"SignalWithoutSubscribersConsumesNoNumber", testSignalWithoutSubscribers},
		{"SubscriptionCloseStopsDelivery", testSubscriptionClose},
		{"ConversationsAreIndependent", testConversationsIndependent},
		{"ConcurrentPublishersSameOrderForAll", testConcurrentPublishers},
		{"SubscribeDuringPublishNoGapNoDuplicate", testSubscribeDuringPublish},
		{"ConcurrentConversationsKeepTheirOwnNumbers", testConcurrentConversations},
	}
	run := newRunID(t)
	runBackendCases(t, run, newBroker, opts)
	runLeaseCases(t, run, newBroker, opts)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroker(t)
			n := 0
			conversation := func() string {
				n++
				return fmt.Sprintf("brokertest-%s/%s/%d", run, tc.name, n)
			}
			tc.fn(t, b, conversation)
		})
	}
}

func newRunID(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random run id: %v", err)
	}
	return fmt.Sprintf("%x", b)
}

var errEncode = errors.New("brokertest: encode failed on purpose")

func lastSeq(t *testing.T, b broker.Broker, id string) int64 {
	t.Helper()
	last, err := b.LastSeq(t.Context(), id)
	if err != nil {
		t.Fatalf("LastSeq(%q): %v", id, err)
	}
	return last
}

func publish(t testing.TB, ctx context.Context, b broker.Broker, id, tag string) int64 {
	t.Helper()
	seq, err := b.Publish(ctx, id, encoder(tag))
	if err != nil {
		t.Fatalf("Publish(%q): %v", id, err)
	}
	return seq
}

func subscribe(t *testing.T, b broker.Broker, id string, after int64) (*recorder, broker.Subscription) {
	t.Helper()
	r := newRecorder()
	sub, err := b.Subscribe(t.Context(), id, after, r.deliver)
	if err != nil {
		t.Fatalf("Subscribe(%q, after %d): %v", id, after, err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return r, sub
}

func testPublishNumbersContiguously(t *testing.T, b broker.Broker, conversation func() string) {
	id := conversation()
	first := lastSeq(t, b, id)
	if first < 0 {
		t.Fatalf("LastSeq of a new conversation = %d, want >= 0 (0 marks ephemeral events)", first)
	}
	if again := lastSeq(t, b, id); again != first {
		t.Fatalf("LastSeq of an unused conversation changed from %d to %d", first, again)
	}
	for i := int64(1); i <= 20; i++ {
		if seq := publish(t, t.Context(), b, id, "x"); seq != first+i {
			t.Fatalf("publish %d got number %d, want %d", i, seq, first+i)
		}
	}
	if last := lastSeq(t, b, id); last != first+20 {
		t.Fatalf("LastSeq after 20 events = %d, want %d", last, first+20)
	}
}

func testEncodeCalledOnce(t *testing.T, b broker.Broker, conversation func() string) {
	id := conversation()
	for range 5 {
		var calls []int64
		seq, err := b.Publish(t.Context(), id, func(seq int64) ([]byte, error) {
			calls = append(calls, seq)
			return payload(seq, "once"), nil
		})
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if len(calls) != 1 || calls[0] != seq {
			t.Fatalf("Publish returned %d after encode was called with %v, want exactly [%d]", seq, calls, seq)
		}
	}
}

func testEncodeErrorConsumesNoNumber(t *testing.T, b broker.Broker, conversation func() string) {
	id := conversation()
	first := publish(t, t.Context(), b, id, "before")
	r, _ := subscribe(t, b, id, first)
	_, err := b.Publish(t.Context(), id, func(int64) ([]byte, error) { return nil, errEncode })
	if !errors.Is(err, errEncode) {
		t.Fatalf("Publish with a failing encode returned %v, want an error wrapping %v", err, errEncode)
	}
	if last := lastSeq(t, b, id); last != first {
		t.Fatalf("LastSeq after a failed publish = %d, want %d", last, first)
	}
	if seq := publish(t, t.Context(), b, id, "after"); seq != first+1 {
		t.Fatalf("publish after a failed one got %d, want %d", seq, first+1)
	}
	checkRun(t, id, r.waitSeq(t, first+1), first+1, first+1)
}

func testLastSeqThenSubscribe(t *testing.T, b broker.Broker, conversation func() string) {
	id := conversation()
	last := lastSeq(t, b, id)
	r, _ := subscribe(t, b, id, last)
	if got := r.snapshot(); len(got) != 0 {
		t.Fatalf("new conversation replayed %s", describe(got))
	}
	if seq := publish(t, t.Context(), b, id, "first"); seq != last+1 {
		t.Fatalf("first event got %d, want LastSeq+1 = %d", seq, last+1)
	}
	checkRun(t, id, r.waitSeq(t, last+1), last+1, last+1)
}

func testReplayThenLive(t *testing.T, b broker.Broker, conversation func() string) {
	id := conversation()
	base := lastSeq(t, b, id)
	for range 10 {
		publish(t, t.Context(), b, id, "held")
	}
	r, _ := subscribe(t, b, id, base+4)
	checkRun(t, id, r.snapshot(), base+5, base+10) // before Subscribe returned
	publish(t, t.Context(), b, id, "live")
	publish(t, t.Context(), b, id, "live")
	checkRun(t, id, r.waitSeq(t, base+12), base+5, base+12)

	all, _ := subscribe(t, b, id, base)
	checkRun(t, id, all.snapshot(), base+1, base+12)
}

func testSubscribeAtLast(t *testing.T, b broker.Broker, conversation func() string) {
	id := conversation()
	var last int64
	for range 3 {
		last = publish(t, t.Context(), b, id, "held")
	}
	r, _ := subscribe(t, b, id, last)
	if got := r.snapshot(); len(got) != 0 {
		t.Fatalf("subscribing at the last number replayed %s", describe(got))
	}
	publish(t, t.Context(), b, id, "live")
	checkRun(t, id, r.waitSeq(t, last+1), last+1, last+1)
}

// expectUnavailable subscribes expecting ErrReplayUnavailable and checks
// that nothing was delivered.
func expectUnavailable(t *testing.T, b broker.Broker, id string, after int64) {
	t.Helper()
	r := newRecorder()
	sub, err := b.Subscribe(t.Context(), id, after, r.deliver)
	if err == nil {
		_ = sub.Close()
	}
	if !errors.Is(err, broker.ErrReplayUnavailable) {
		t.Fatalf("Subscribe(after %d) returned %v, want ErrReplayUnavailable", after, err)
	}
	if got := r.snapshot(); len(got) != 0 {
		t.Fatalf("Subscribe failed but delivered %s", describe(got))
	}
}

func testReplayUnavailableBeforeFirst(t *testing.T, b broker.Broker, conversation func() string) {
	id := conversation()
	base := lastSeq(t, b, id)
	// A number below the base may belong to an earlier numbering of this
	// conversation: its successors are not known.
	expectUnavailable(t, b, id, base-1)
	for range 3 {
		publish(t, t.Context(), b, id, "held")
	}
	expectUnavailable(t, b, id, base-1)
	expectUnavailable(t, b, id, base-1000)
}

func testReplayUnavailableFuture(t *testing.T, b broker.Broker, conversation func() string) {
	id := conversation()
	last := publish(t, t.Context(), b, id, "held")
	// Resuming from a number never issued could skip events silently.
	expectUnavailable(t, b, id, last+1)
	expectUnavailable(t, b, id, last+1_000_000)
}

func testSignal(t *testing.T, b broker.Broker, conversation func() string) {
	id := conversation()
	base := lastSeq(t, b, id)
	r, _ := subscribe(t, b, id, base)
	if err := b.Signal(t.Context(), id, []byte("typing")); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	got := r.waitLen(t, 1)
	if ev := got[0]; ev.Seq != 0 || string(ev.Data) != "typing" || ev.ConversationID != id {
		t.Fatalf("signal delivered as %+v, want Seq 0, Data \"typing\", conversation %q", ev, id)
	}
	seq := publish(t, t.Context(), b, id, "event")
	if seq != base+1 {
		t.Fatalf("event after a signal got %d, want %d: a signal must not take a number", seq, base+1)
	}
	got = r.waitLen(t, 2)
	checkRun(t, id, got[1:], base+1, base+1)

	replayed, _ := subscribe(t, b, id, base)
	checkRun(t, id, replayed.snapshot(), base+1, base+1) // the signal is not replayed
}

func testSignalWithoutSubscribers(t *testing.T, b broker.Broker, conversation func() string) {
	id := conversation()
	if err := b.Signal(t.Context(), id, []byte("nobody listens")); err != nil {
		t.Fatalf("Signal to an unknown conversation: %v", err)
	}
	last := lastSeq(t, b, id)
	if err := b.Signal(t.Context(), id, []byte("nobody listens")); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	if seq := publish(t, t.Context(), b, id, "event"); seq != last+1 {
		t.Fatalf("event after a signal got %d, want %d", seq, last+1)
	}
}

func testSubscriptionClose(t *testing.T, b broker.Broker, conversation func() string) {
	id := conversation()
	base := lastSeq(t, b, id)
	closed, sub := subscribe(t, b, id, base)
	open, _ := subscribe(t, b, id, base)
	publish(t, t.Context(), b, id, "both")
	closed.waitSeq(t, base+1)
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	publish(t, t.Context(), b, id, "after close")
	// The open subscription received event 2: if the closed one were to
	// get it, it would have had it by now in a broker that delivers in
	// order to both.
	checkRun(t, id, open.waitSeq(t, base+2), base+1, base+2)
	checkRun(t, id, closed.snapshot(), base+1, base+1)
}

func testConversationsIndependent(t *testing.T, b broker.Broker, conversation func() string) {
	a, c := conversation(), conversation()
	baseA, baseC := lastSeq(t, b, a), lastSeq(t, b, c)
	ra, _ := subscribe(t, b, a, baseA)
	rc, _ := subscribe(t, b, c, baseC)
	for range 3 {
		publish(t, t.Context(), b, a, "a")
	}
	if seq := publish(t, t.Context(), b, c, "c"); seq != baseC+1 {
		t.Fatalf("first event of the second conversation got %d, want %d", seq, baseC+1)
	}
	checkRun(t, c, rc.waitSeq(t, baseC+1), baseC+1, baseC+1)
	checkRun(t, a, ra.waitSeq(t, baseA+3), baseA+1, baseA+3)
}
