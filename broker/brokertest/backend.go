package brokertest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
)

// Options enables the suite's cases about the backend behind the brokers.
// Each case runs only when its option is set.
type Options struct {
	// Shared says that the brokers newBroker returns share their backend
	// (several instances on one Redis): numbering, replay and fan-out are
	// common to them.
	Shared bool

	// Restartable returns a constructor of brokers on a backend of their
	// own, and a function that makes that backend lose everything it held,
	// as a restart without persistence does, and be reachable again when it
	// returns. Brokers made before the restart are used after it.
	Restartable func(t *testing.T) (newBroker func(t *testing.T) broker.Broker, restart func(t *testing.T))

	// DropConnection cuts the connection over which b receives its
	// subscriptions' events; b must restore it by itself.
	DropConnection func(t *testing.T, b broker.Broker)
}

// recoverTimeout bounds how long the suite retries a call that fails while a
// broker reconnects to a backend that was restarted.
const recoverTimeout = 10 * time.Second

func runBackendCases(t *testing.T, run string, newBroker func(*testing.T) broker.Broker, opts Options) {
	cases := []struct {
		name string
		on   bool
		fn   func(t *testing.T, conversation string)
	}{
		{"SharedInstancesShareNumbering", opts.Shared, func(t *testing.T, id string) {
			testSharedNumbering(t, newBroker(t), newBroker(t), id)
		}},
		{"ConcurrentPublishersOnTwoInstances", opts.Shared, func(t *testing.T, id string) {
			testSharedConcurrent(t, newBroker(t), newBroker(t), id)
		}},
		{"ResumeThroughTheOtherInstance", opts.Shared, func(t *testing.T, id string) {
			testResumeOtherInstance(t, newBroker(t), newBroker(t), id)
		}},
		{"BackendLostThenResumeIsUnavailable", opts.Restartable != nil, func(t *testing.T, id string) {
			nb, restart := opts.Restartable(t)
			testBackendLost(t, nb, restart, id)
		}},
		{"DroppedConnectionNoSilentGap", opts.DropConnection != nil, func(t *testing.T, id string) {
			testDroppedConnection(t, newBroker(t), opts.DropConnection, id)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.on {
				t.Skip("not enabled by the broker's Options")
			}
			tc.fn(t, fmt.Sprintf("brokertest-%s/%s", run, tc.name))
		})
	}
}

func testSharedNumbering(t *testing.T, a, b broker.Broker, id string) {
	base := lastSeq(t, a, id)
	if other := lastSeq(t, b, id); other != base {
		t.Fatalf("LastSeq = %d on one instance, %d on the other", base, other)
	}
	ra, _ := subscribe(t, a, id, base)
	rb, _ := subscribe(t, b, id, base)
	for i := int64(1); i <= 10; i++ {
		on := a
		if i%2 == 0 {
			on = b
		}
		if seq := publish(t, t.Context(), on, id, fmt.Sprint("from ", i%2)); seq != base+i {
			t.Fatalf("publish %d, alternating instances, got %d, want %d", i, seq, base+i)
		}
	}
	checkSame(t, id, ra.waitSeq(t, base+10), rb.waitSeq(t, base+10), base+1, base+10)
	if last := lastSeq(t, b, id); last != base+10 {
		t.Fatalf("LastSeq on the other instance = %d, want %d", last, base+10)
	}
}

func testSharedConcurrent(t *testing.T, a, b broker.Broker, id string) {
	const each = 50
	base := lastSeq(t, a, id)
	ra, _ := subscribe(t, a, id, base)
	rb, _ := subscribe(t, b, id, base)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seqs = map[int64]bool{}
	)
	for i, on := range []broker.Broker{a, b, a, b} {
		wg.Go(func() {
			for range each {
				seq, err := on.Publish(t.Context(), id, encoder(fmt.Sprint("publisher ", i)))
				if err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
				mu.Lock()
				if seqs[seq] {
					t.Errorf("number %d returned twice", seq)
				}
				seqs[seq] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	last := base + 4*each
	for n := base + 1; n <= last; n++ {
		if !seqs[n] {
			t.Fatalf("number %d was not returned to any publisher", n)
		}
	}
	checkSame(t, id, ra.waitSeq(t, last), rb.waitSeq(t, last), base+1, last)
}

// checkSame checks that two subscribers saw the events from..to with the
// same bytes.
func checkSame(t *testing.T, id string, x, y []broker.Event, from, to int64) {
	t.Helper()
	checkRun(t, id, x, from, to)
	checkRun(t, id, y, from, to)
	for i := range x {
		if !bytes.Equal(x[i].Data, y[i].Data) {
			t.Fatalf("event %d is %q on one instance and %q on the other", x[i].Seq, x[i].Data, y[i].Data)
		}
	}
}

func testResumeOtherInstance(t *testing.T, a, b broker.Broker, id string) {
	base := lastSeq(t, a, id)
	for range 10 {
		publish(t, t.Context(), a, id, "held")
	}
	r, _ := subscribe(t, b, id, base+4)
	checkRun(t, id, r.snapshot(), base+5, base+10)
	publish(t, t.Context(), a, id, "live")
	checkRun(t, id, r.waitSeq(t, base+11), base+5, base+11)
	expectUnavailable(t, b, id, base+12)
}

// eventually retries f until it succeeds or recoverTimeout passes.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(recoverTimeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still failing after %v: %v", what, recoverTimeout, err)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(20 * time.Millisecond): // a reconnection has no event to wait for
		}
	}
}

func testBackendLost(t *testing.T, newBroker func(*testing.T) broker.Broker, restart func(*testing.T), id string) {
	b := newBroker(t)
	base := lastSeq(t, b, id)
	var last int64
	for range 3 {
		last = publish(t, t.Context(), b, id, "before")
	}
	live, _ := subscribe(t, b, id, last)

	restart(t)

	// The broker reconnects; its first calls may fail meanwhile.
	eventually(t, "LastSeq after the restart", func() error {
		_, err := b.LastSeq(t.Context(), id)
		return err
	})
	var after int64
	eventually(t, "Publish after the restart", func() error {
		var err error
		after, err = b.Publish(t.Context(), id, encoder("after"))
		return err
	})
	if after <= last {
		t.Fatalf("first number after the backend lost the conversation is %d, not above the %d issued before: reused", after, last)
	}
	for _, resume := range []int64{base, base + 1, last} {
		expectUnavailable(t, b, id, resume)
	}
	other := newBroker(t)
	expectUnavailable(t, other, id, last)

	// The live subscriber gets no event after `last` without its
	// predecessors: it is told the replay is unavailable.
	got := live.waitEnd(t, after)
	for i, ev := range got {
		if ev.Err != nil {
			if !errors.Is(ev.Err, broker.ErrReplayUnavailable) || i != len(got)-1 {
				t.Fatalf("subscription ended with %v at position %d of %s", ev.Err, i, describe(got))
			}
			return
		}
		if ev.Seq > last+int64(i)+1 {
			t.Fatalf("subscriber received %s: a gap after %d without the ending notice", describe(got), last)
		}
	}
	t.Fatalf("subscriber received %s across a lost backend, without the ending notice", describe(got))
}

func testDroppedConnection(t *testing.T, b broker.Broker, drop func(*testing.T, broker.Broker), id string) {
	base := lastSeq(t, b, id)
	r, _ := subscribe(t, b, id, base)
	publish(t, t.Context(), b, id, "before")
	r.waitSeq(t, base+1)

	drop(t, b)
	for range 5 {
		eventually(t, "Publish after the drop", func() error {
			_, err := b.Publish(t.Context(), id, encoder("after"))
			return err
		})
	}
	last := lastSeq(t, b, id)
	got := r.waitEnd(t, last)
	if end := got[len(got)-1]; end.Err != nil {
		if !errors.Is(end.Err, broker.ErrReplayUnavailable) {
			t.Fatalf("subscription ended with %v, want ErrReplayUnavailable", end.Err)
		}
		got = got[:len(got)-1]
		checkRun(t, id, got, base+1, base+int64(len(got)))
		return
	}
	checkRun(t, id, got, base+1, last)
}
