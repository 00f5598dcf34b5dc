package engine

import (
	"context"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/protocol"
)

// maxQueuedFrames bounds the frames of one socket waiting for the worker;
// past it a frame is refused with rate_limited. A normal client waits for
// its answers and never comes near it.
const maxQueuedFrames = 64

// workerLinger is how long an idle worker waits for the next frame before
// it exits: a chatting socket keeps one worker (and its grown stack), an
// idle socket has none.
const workerLinger = 2 * time.Second

// inbox is a socket's queue of decoded frames and the switch of its worker.
// The read loop pushes and goes back to reading, so a slow store call never
// stalls the reading of pongs; the worker runs the frames one at a time, in
// order. Like the outbox's writer, the worker runs only while there is work
// (and for workerLinger after it), so an idle socket costs no goroutine for
// it.
type inbox struct {
	mu      sync.Mutex
	frames  []*protocol.ClientFrame
	running bool // a worker goroutine exists
	waiting bool // the worker waits for a frame (wake it)
	closed  bool
	wake    chan struct{} // capacity 1
	timer   *time.Timer   // the worker's linger; used by the worker only
	// ctx and cancel are the running worker's context (see context); only
	// the worker touches them, and the next worker starts after it left.
	ctx     context.Context
	cancel  context.CancelFunc
	workers sync.WaitGroup
	run     func()
}

func newInbox(run func()) *inbox { return &inbox{run: run} }

// push queues f and starts or wakes the worker. It reports false when the
// queue is full or closed.
func (in *inbox) push(f *protocol.ClientFrame) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed || len(in.frames) >= maxQueuedFrames {
		return false
	}
	in.frames = append(in.frames, f)
	switch {
	case in.waiting:
		in.waiting = false
		select {
		case in.wake <- struct{}{}:
		default:
		}
	case !in.running:
		if in.wake == nil {
			// Made with the first worker: a socket that only says hello
			// never needs it.
			in.wake = make(chan struct{}, 1)
		}
		in.running = true
		in.workers.Add(1)
		go func() {
			defer in.workers.Done()
			in.run()
		}()
	}
	return true
}

// next hands the worker the next frame, waiting up to workerLinger for
// one. When none comes it marks the worker as gone in the same critical
// section, so a push a moment later starts a new one.
func (in *inbox) next() (*protocol.ClientFrame, bool) {
	lingered := false
	for {
		in.mu.Lock()
		switch {
		case in.closed:
			in.leaveLocked()
			in.mu.Unlock()
			return nil, false
		case len(in.frames) > 0:
			f := in.frames[0]
			in.frames[0] = nil
			in.frames = in.frames[1:]
			if len(in.frames) == 0 {
				in.frames = nil // do not keep a burst's backing array
			}
			in.waiting = false
			in.mu.Unlock()
			return f, true
		case lingered:
			in.leaveLocked()
			in.mu.Unlock()
			return nil, false
		}
		in.waiting = true
		in.mu.Unlock()
		lingered = in.linger()
	}
}

// leaveLocked marks the worker as gone and ends its context. Call with
// in.mu held, from the worker.
func (in *inbox) leaveLocked() {
	in.running, in.waiting = false, false
	if in.cancel != nil {
		in.cancel()
		in.ctx, in.cancel = nil, nil
	}
}

// context returns the running worker's context, derived from parent when
// the worker first needs one and cancelled when it exits: a context that
// was used keeps a Done channel and a map of children, which a socket gone
// idle should not hold. Call from the worker only.
func (in *inbox) context(parent context.Context) context.Context {
	if in.ctx == nil {
		in.ctx, in.cancel = context.WithCancel(parent)
	}
	return in.ctx
}

// linger waits for a wake-up or for workerLinger; it reports whether the
// time ran out.
func (in *inbox) linger() bool {
	if in.timer == nil {
		in.timer = time.NewTimer(workerLinger)
	} else {
		in.timer.Reset(workerLinger)
	}
	select {
	case <-in.wake:
		in.timer.Stop()
		return false
	case <-in.timer.C:
		return true
	}
}

// close drops the frames not yet started and waits for the one running.
func (in *inbox) close() {
	in.mu.Lock()
	in.closed = true
	in.frames = nil
	if in.waiting {
		select {
		case in.wake <- struct{}{}:
		default:
		}
	}
	in.mu.Unlock()
	in.workers.Wait()
}
