package memory_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/broker/memory"
)

func TestWindowReleasedAfterRetentionNumberingKept(t *testing.T) {
	clock := newFakeClock()
	b := newBroker(t, memory.Config{Now: clock.Now, ReplayRetention: time.Minute, IdleTTL: time.Hour})
	var last int64
	for range 5 {
		last = mustPublish(t, b, "a", data)
	}
	clock.Advance(time.Minute)
	mustLastSeq(t, b, "other") // any call releases expired windows
	expectReplay(t, b, "a", last-2, nil)
	expectReplay(t, b, "a", last, []int64{})
	if seq := mustPublish(t, b, "a", data); seq != last+1 {
		t.Fatalf("after its window was released the conversation numbered %d, want %d", seq, last+1)
	}
	expectReplay(t, b, "a", last, []int64{last + 1})
}

func TestResumeWithinRetentionReplays(t *testing.T) {
	clock := newFakeClock()
	b := newBroker(t, memory.Config{Now: clock.Now, ReplayRetention: time.Minute})
	base := mustLastSeq(t, b, "a")
	var c counter
	sub, err := b.Subscribe(t.Context(), "a", base, c.deliver)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		mustPublish(t, b, "a", data)
	}
	clock.Advance(10 * time.Minute) // a live subscriber keeps the window however long
	mustLastSeq(t, b, "other")
	_ = sub.Close() // the client disconnects...
	clock.Advance(59 * time.Second)
	mustLastSeq(t, b, "other")
	expectReplay(t, b, "a", base+1, run(base+2, base+3)) // ...and resumes within the retention
}

// TestRetainedWindowsFollowLiveStreams: after many short conversations only
// those within the retention still hold events.
func TestRetainedWindowsFollowLiveStreams(t *testing.T) {
	clock := newFakeClock()
	b := newBroker(t, memory.Config{Now: clock.Now, ReplayRetention: time.Second, IdleTTL: time.Hour})
	const conversations = 5000
	for i := range conversations {
		id := fmt.Sprint("c", i)
		mustPublish(t, b, id, data)
		clock.Advance(10 * time.Millisecond) // 100 per second: 100 within the retention
	}
	held := 0
	for i := range conversations {
		id := fmt.Sprint("c", i)
		last := mustLastSeq(t, b, id)
		if checkReplay(b, id, last-1, []int64{last}) == nil {
			held++
		}
	}
	// The clock stands still during the check, so what is held is what
	// the creation left: the ~100 conversations used within the last
	// second, plus at most the few a call had not yet examined.
	if held > 150 {
		t.Fatalf("%d of %d conversations still hold their window, want about the 100 used within the retention", held, conversations)
	}
}
