package engine

import (
	"sync"

	"github.com/chatboxsdk/chatbox/protocol"
)

// maxQueuedFrames bounds the frames of one socket waiting for the worker;
// past it a frame is refused with rate_limited. A normal client waits for
// its answers and never comes near it.
const maxQueuedFrames = 64

// inbox is a socket's queue of decoded frames and the switch of its worker.
// The read loop pushes and goes back to reading, so a slow store call never
// stalls the reading of pongs; the worker runs the frames one at a time, in
// order. Like the outbox's writer, the worker runs only while there are
// frames, so an idle socket costs no goroutine for it.
type inbox struct {
	mu      sync.Mutex
	frames  []*protocol.ClientFrame
	running bool
	closed  bool
	workers sync.WaitGroup
	run     func()
}

func newInbox(run func()) *inbox { return &inbox{run: run} }

// push queues f and starts the worker if none runs. It reports false when
// the queue is full or closed.
func (in *inbox) push(f *protocol.ClientFrame) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed || len(in.frames) >= maxQueuedFrames {
		return false
	}
	in.frames = append(in.frames, f)
	if !in.running {
		in.running = true
		in.workers.Add(1)
		go func() {
			defer in.workers.Done()
			in.run()
		}()
	}
	return true
}

// next hands the worker the next frame; when there is none it marks the
// worker as gone in the same critical section, so a push a moment later
// starts a new one.
func (in *inbox) next() (*protocol.ClientFrame, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.frames) == 0 || in.closed {
		in.running = false
		return nil, false
	}
	f := in.frames[0]
	in.frames[0] = nil
	in.frames = in.frames[1:]
	if len(in.frames) == 0 {
		in.frames = nil // do not keep a burst's backing array
	}
	return f, true
}

// close drops the frames not yet started and waits for the one running.
func (in *inbox) close() {
	in.mu.Lock()
	in.closed = true
	in.frames = nil
	in.mu.Unlock()
	in.workers.Wait()
}
