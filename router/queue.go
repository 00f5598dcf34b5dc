package router

import "sync"

// outbox is a socket's bounded outbound queue. Producers (the read loop,
// broker deliveries) never block: a frame that would take the queue past its
// byte budget marks the socket as a slow consumer instead, and the writer
// then closes it with CloseSlowConsumer. Nothing is dropped silently: the
// client learns of the gap from the close code and resumes.
type outbox struct {
	mu       sync.Mutex
	frames   [][]byte
	spare    [][]byte
	bytes    int
	max      int
	closing  int // close code requested; 0 while open
	reason   string
	wake     chan struct{} // capacity 1: "something to do"
	overflow bool
}

func newOutbox(maxBytes int) *outbox {
	return &outbox{max: maxBytes, wake: make(chan struct{}, 1)}
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// push queues one encoded frame. It reports false when the socket is closing
// or the frame overflowed the budget (which starts the close).
func (o *outbox) push(frame []byte) bool { return o.add(frame, true) }

// pushReplay queues a replayed event without checking the budget: a replay
// is bounded by the broker's replay window, and refusing it would make a
// long reply impossible to resume.
func (o *outbox) pushReplay(frame []byte) bool { return o.add(frame, false) }

func (o *outbox) add(frame []byte, capped bool) bool {
	o.mu.Lock()
	if o.closing != 0 {
		o.mu.Unlock()
		return false
	}
	if capped && o.bytes+len(frame) > o.max {
		o.overflow = true
		o.closing = closeSlowConsumer
		o.reason = "client too slow: reconnect and resume"
		o.frames = o.frames[:0]
		o.bytes = 0
		o.mu.Unlock()
		o.signal()
		return false
	}
	o.frames = append(o.frames, frame)
	if capped {
		o.bytes += len(frame) // replayed bytes are bounded by the replay window instead
	}
	o.mu.Unlock()
	o.signal()
	return true
}

// close asks the writer to close the socket with code once it has sent what
// is queued. The first request wins.
func (o *outbox) close(code int, reason string) {
	o.mu.Lock()
	if o.closing == 0 {
		o.closing = code
		o.reason = reason
	}
	o.mu.Unlock()
	o.signal()
}

// take returns every queued frame (the caller owns the slice until the next
// take) and the requested close code, if any.
func (o *outbox) take() (frames [][]byte, code int, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	frames = o.frames
	clear(o.spare) // drop references to frames already written
	o.frames = o.spare[:0]
	o.spare = frames
	o.bytes = 0
	return frames, o.closing, o.reason
}
