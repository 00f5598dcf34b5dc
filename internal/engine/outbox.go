package engine

import (
	"sync"

	"github.com/chatboxsdk/chatbox/protocol"
)

// outbox is a socket's bounded outbound queue and the switch of its writer.
//
// Producers (the read loop, broker deliveries, timers) never block: a frame
// that would take the queue past its byte budget marks the socket as a slow
// consumer instead, and the writer then closes it with CloseSlowConsumer.
// Nothing is dropped silently: the client learns of the gap from the close
// code and resumes.
//
// A writer goroutine runs only while there is something to do, so an idle
// socket costs no goroutine beyond its reader. Whoever gives the outbox work
// while no writer runs starts one (under the lock, so the WaitGroup count is
// raised before anyone can wait on it).
type outbox struct {
	mu     sync.Mutex
	frames [][]byte
	spare  [][]byte
	bytes  int // live events queued, against max
	max    int
	// extra counts replayed events and responses, which are queued past
	// max (a replay or a page must not be refused for its size) but only
	// up to extraMax, so a client that floods requests without reading is
	// still closed.
	extra    int
	extraMax int
	closing  int // close code requested; 0 while open
	reason   string
	pingDue  bool
	writing  bool // a writer goroutine is running
	finished bool // the writer is gone for good: the connection is closed
	// overflowed: the close was caused by the budget (a slow consumer),
	// not requested (a resume the engine asks for).
	overflowed bool

	writers sync.WaitGroup // every writer goroutine
	run     func()         // the writer's body; started by kickLocked
}

func newOutbox(maxBytes, extraMaxBytes int, run func()) *outbox {
	return &outbox{max: maxBytes, extraMax: extraMaxBytes, run: run}
}

// kickLocked starts a writer if none runs. Call with o.mu held.
func (o *outbox) kickLocked() {
	if o.writing || o.finished || o.run == nil {
		return
	}
	o.writing = true
	o.writers.Add(1)
	go func() {
		defer o.writers.Done()
		o.run()
	}()
}

// push queues one encoded frame. It reports false when the socket is closing
// or the frame overflowed the budget (which starts the close).
func (o *outbox) push(frame []byte) bool { return o.add(frame, true) }

// pushExtra queues a replayed event or a response: they count against the
// extra budget, not the live one, so a long reply can be resumed and a full
// page returned even to a socket whose live queue is busy.
func (o *outbox) pushExtra(frame []byte) bool { return o.add(frame, false) }

func (o *outbox) add(frame []byte, capped bool) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closing != 0 || o.finished {
		return false
	}
	if capped && o.bytes+len(frame) > o.max || !capped && o.extra+len(frame) > o.extraMax {
		o.closing = protocol.CloseSlowConsumer
		o.overflowed = true
		o.reason = "client too slow: reconnect and resume"
		clear(o.frames)
		o.frames = o.frames[:0]
		o.bytes, o.extra = 0, 0
		o.kickLocked()
		return false
	}
	o.frames = append(o.frames, frame)
	if capped {
		o.bytes += len(frame)
	} else {
		o.extra += len(frame)
	}
	o.kickLocked()
	return true
}

// close asks the writer to close the socket with code once it has sent what
// is queued. The first request wins.
func (o *outbox) close(code int, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closing == 0 {
		o.closing = code
		o.reason = reason
	}
	o.kickLocked()
}

// requestPing asks the writer to ping the peer.
func (o *outbox) requestPing() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closing == 0 {
		o.pingDue = true
		o.kickLocked()
	}
}

// work is what the writer is to do next.
type work struct {
	frames [][]byte // owned by the writer until its next take
	ping   bool
	code   int // close with this code after sending frames
	reason string
	idle   bool // nothing to do: the writer must exit
	// overflowed: the close is for a client too slow for its budget.
	overflowed bool
}

// take hands the writer everything queued. When there is nothing to do it
// marks the writer as gone in the same critical section, so a producer
// arriving a moment later starts a new one.
func (o *outbox) take() work {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.frames) == 0 && o.closing == 0 && !o.pingDue {
		o.writing = false
		// The frames just written are not kept until the next write: on a
		// socket that goes quiet (after its ready frame, say) they would be
		// held for as long as it stays open.
		clear(o.spare)
		return work{idle: true}
	}
	w := work{frames: o.frames, ping: o.pingDue, code: o.closing, reason: o.reason, overflowed: o.overflowed}
	clear(o.spare) // drop references to frames already written
	o.frames = o.spare[:0]
	o.spare = w.frames
	o.bytes, o.extra = 0, 0
	o.pingDue = false
	return w
}

// finish records that the connection is closed: no writer starts again.
func (o *outbox) finish() {
	o.mu.Lock()
	o.finished = true
	o.writing = false
	clear(o.frames)
	o.frames = nil
	o.mu.Unlock()
}

// wait blocks until every writer goroutine has returned.
func (o *outbox) wait() { o.writers.Wait() }
