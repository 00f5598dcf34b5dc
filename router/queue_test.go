package router

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOutboxOverflowRequestsSlowConsumerClose(t *testing.T) {
	o := newOutbox(10)
	if !o.push([]byte("12345")) || !o.push([]byte("67890")) {
		t.Fatal("pushes within budget refused")
	}
	if o.push([]byte("x")) {
		t.Fatal("push over budget accepted")
	}
	frames, code, _ := o.take()
	if code != protocol.CloseSlowConsumer || len(frames) != 0 {
		t.Fatalf("after overflow: %d frames, code %d", len(frames), code)
	}
	if o.push([]byte("late")) {
		t.Fatal("push accepted after the close was requested")
	}
}

func TestOutboxReplayDoesNotCountAgainstTheBudget(t *testing.T) {
	o := newOutbox(10)
	for range 5 {
		if !o.pushReplay([]byte("0123456789")) {
			t.Fatal("replay refused")
		}
	}
	if !o.push([]byte("live")) {
		t.Fatal("live frame refused after a large replay")
	}
	frames, code, _ := o.take()
	if len(frames) != 6 || code != 0 {
		t.Fatalf("took %d frames, code %d", len(frames), code)
	}
}

func TestOutboxTakeHandsOverFramesInOrderAndFirstCloseWins(t *testing.T) {
	o := newOutbox(100)
	o.push([]byte("a"))
	o.push([]byte("b"))
	o.close(protocol.CloseGoingAway, "bye")
	o.close(protocol.CloseNormal, "")
	frames, code, reason := o.take()
	if len(frames) != 2 || string(frames[0]) != "a" || string(frames[1]) != "b" {
		t.Fatalf("frames %q", frames)
	}
	if code != protocol.CloseGoingAway || reason != "bye" {
		t.Fatalf("close %d %q", code, reason)
	}
}
