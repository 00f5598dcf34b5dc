package engine

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOutboxOverflowRequestsSlowConsumerClose(t *testing.T) {
	o := newOutbox(10, 100, nil)
	if !o.push([]byte("12345")) || !o.push([]byte("67890")) {
		t.Fatal("pushes within budget refused")
	}
	if o.push([]byte("x")) {
		t.Fatal("push over budget accepted")
	}
	w := o.take()
	if w.code != protocol.CloseSlowConsumer || len(w.frames) != 0 {
		t.Fatalf("after overflow: %d frames, code %d", len(w.frames), w.code)
	}
	if o.push([]byte("late")) {
		t.Fatal("push accepted after the close was requested")
	}
}

func TestOutboxReplayDoesNotCountAgainstTheBudget(t *testing.T) {
	o := newOutbox(10, 100, nil)
	for range 5 {
		if !o.pushExtra([]byte("0123456789")) {
			t.Fatal("replay refused")
		}
	}
	if !o.push([]byte("live")) {
		t.Fatal("live frame refused after a large replay")
	}
	w := o.take()
	if len(w.frames) != 6 || w.code != 0 {
		t.Fatalf("took %d frames, code %d", len(w.frames), w.code)
	}
}

func TestOutboxTakeHandsOverFramesInOrderAndFirstCloseWins(t *testing.T) {
	o := newOutbox(100, 100, nil)
	o.push([]byte("a"))
	o.push([]byte("b"))
	o.close(protocol.CloseGoingAway, "bye")
	o.close(protocol.CloseNormal, "")
	w := o.take()
	if len(w.frames) != 2 || string(w.frames[0]) != "a" || string(w.frames[1]) != "b" {
		t.Fatalf("frames %q", w.frames)
	}
	if w.code != protocol.CloseGoingAway || w.reason != "bye" {
		t.Fatalf("close %d %q", w.code, w.reason)
	}
}

func TestOutboxStartsAWriterOnlyWhenThereIsWork(t *testing.T) {
	started := make(chan struct{}, 10)
	var o *outbox
	o = newOutbox(100, 100, func() {
		started <- struct{}{}
		for !o.take().idle {
		}
	})
	o.wait()
	if len(started) != 0 {
		t.Fatal("a writer started with nothing to do")
	}
	o.push([]byte("a"))
	o.wait()
	o.push([]byte("b"))
	o.wait()
	if len(started) != 2 {
		t.Fatalf("%d writers started for two separate pushes, want 2", len(started))
	}
	o.finish()
	o.push([]byte("c"))
	o.requestPing()
	o.close(protocol.CloseNormal, "")
	o.wait()
	if len(started) != 2 {
		t.Fatal("a writer started after the connection was finished")
	}
}

func TestOutboxExtraBudgetIsBoundedToo(t *testing.T) {
	o := newOutbox(10, 50, nil)
	for range 5 {
		if !o.pushExtra([]byte("0123456789")) {
			t.Fatal("extra frame within the extra budget refused")
		}
	}
	if o.pushExtra([]byte("x")) {
		t.Fatal("extra budget overflow accepted")
	}
	if w := o.take(); w.code != protocol.CloseSlowConsumer {
		t.Fatalf("code %d after extra overflow", w.code)
	}
}
