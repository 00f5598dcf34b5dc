package brokertest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/chatboxsdk/chatbox/broker"
)

func testConcurrentPublishers(t *testing.T, b broker.Broker, conversation func() string) {
	const publishers, each = 4, 100
	id := conversation()
	base := lastSeq(t, b, id)
	recorders := make([]*recorder, 3)
	for i := range recorders {
		recorders[i], _ = subscribe(t, b, id, base)
	}

	var (
		mu      sync.Mutex
		encoded = map[int64][]byte{}
		seqs    []int64
		wg      sync.WaitGroup
	)
	for p := range publishers {
		wg.Go(func() {
			for range each {
				seq, err := b.Publish(t.Context(), id, func(seq int64) ([]byte, error) {
					data := payload(seq, fmt.Sprintf("publisher %d", p))
					mu.Lock()
					defer mu.Unlock()
					if _, dup := encoded[seq]; dup {
						t.Errorf("encode called twice with number %d", seq)
					}
					encoded[seq] = data
					return data, nil
				})
				if err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
				mu.Lock()
				seqs = append(seqs, seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	last := base + publishers*each
	slices.Sort(seqs)
	for i, seq := range seqs {
		if seq != base+1+int64(i) {
			t.Fatalf("numbers returned to concurrent publishers are not exactly %d..%d (at %d found %d)", base+1, last, i, seq)
		}
	}
	first := recorders[0].waitSeq(t, last)
	checkRun(t, id, first, base+1, last)
	for _, ev := range first {
		if !bytes.Equal(ev.Data, encoded[ev.Seq]) {
			t.Fatalf("event %d delivered %q, but %q was encoded for it", ev.Seq, ev.Data, encoded[ev.Seq])
		}
	}
	for i, r := range recorders[1:] {
		got := r.waitSeq(t, last)
		checkRun(t, id, got, base+1, last)
		for j := range got {
			if !bytes.Equal(got[j].Data, first[j].Data) {
				t.Fatalf("subscriber %d got %q as event %d, subscriber 0 got %q", i+1, got[j].Data, got[j].Seq, first[j].Data)
			}
		}
	}
}

func testSubscribeDuringPublish(t *testing.T, b broker.Broker, conversation func() string) {
	const publishers, each = 3, 200
	const subscribers, rounds = 6, 20
	id := conversation()
	base := lastSeq(t, b, id)

	type resumed struct {
		after int64
		r     *recorder
		sub   broker.Subscription
	}
	var (
		mu    sync.Mutex
		subs  []resumed
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	defer func() {
		for _, s := range subs {
			_ = s.sub.Close()
		}
	}()
	for range publishers {
		wg.Go(func() {
			<-start
			for range each {
				if _, err := b.Publish(t.Context(), id, encoder("concurrent")); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		})
	}
	for i := range subscribers {
		wg.Go(func() {
			<-start
			for round := range rounds {
				after := base // a full replay, racing with live events
				if (i+round)%2 == 0 {
					var err error
					if after, err = b.LastSeq(t.Context(), id); err != nil {
						t.Errorf("LastSeq: %v", err)
						return
					}
				}
				r := newRecorder()
				sub, err := b.Subscribe(t.Context(), id, after, r.deliver)
				if err != nil {
					t.Errorf("Subscribe(after %d): %v", after, err)
					return
				}
				mu.Lock()
				subs = append(subs, resumed{after, r, sub})
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}

	last := base + publishers*each
	if got := lastSeq(t, b, id); got != last {
		t.Fatalf("LastSeq = %d after %d events from %d, want %d", got, publishers*each, base, last)
	}
	for _, s := range subs {
		if s.after == last {
			checkRun(t, id, s.r.snapshot(), last+1, last)
			continue
		}
		checkRun(t, id, s.r.waitSeq(t, last), s.after+1, last)
	}
}

func testConcurrentConversations(t *testing.T, b broker.Broker, conversation func() string) {
	const conversations, each = 8, 100
	ids := make([]string, conversations)
	bases := make([]int64, conversations)
	recorders := make([]*recorder, conversations)
	for i := range ids {
		ids[i] = conversation()
		bases[i] = lastSeq(t, b, ids[i])
		recorders[i], _ = subscribe(t, b, ids[i], bases[i])
	}
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			for n := int64(1); n <= each; n++ {
				seq, err := b.Publish(t.Context(), ids[i], encoder(ids[i]))
				if err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
				if seq != bases[i]+n {
					t.Errorf("conversation %d: event %d got number %d, want %d", i, n, seq, bases[i]+n)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, r := range recorders {
		checkRun(t, ids[i], r.waitSeq(t, bases[i]+each), bases[i]+1, bases[i]+each)
	}
}
