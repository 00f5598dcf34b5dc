package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// DefaultAsyncQueue is the queue length NewAsync uses when given zero or
// less.
const DefaultAsyncQueue = 64

// errNilNotifier is returned by every Notify of an Async built around nil.
var errNilNotifier = errors.New("notify: NewAsync was given a nil Notifier")

// Async delivers help requests in the background: Notify puts the request in
// a bounded queue and returns at once; one worker goroutine, owned by the
// Async, hands queued requests to the wrapped Notifier in order. Failures
// and panics of the wrapped Notifier are logged, not returned.
//
// An Async is safe for concurrent use. Close stops it; call it once the
// Async is no longer needed so the worker goroutine ends.
type Async struct {
	n      Notifier
	logger *slog.Logger
	q      chan HelpRequest

	ctx    context.Context // cancelled when Close's context ends first
	cancel context.CancelFunc

	mu     sync.RWMutex // guards closed against enqueues racing Close
	closed bool

	stopOnce sync.Once
	stopping chan struct{} // closed by Close: drain, then exit
	done     chan struct{} // closed when the worker has returned
	initErr  error
}

var _ Notifier = (*Async)(nil)

// NewAsync starts an Async around n with room for queue requests (zero or
// less means DefaultAsyncQueue, 64). logger receives delivery failures; nil
// discards them. A nil n yields an Async whose Notify always fails and that
// starts no goroutine.
func NewAsync(n Notifier, queue int, logger *slog.Logger) *Async {
	if queue <= 0 {
		queue = DefaultAsyncQueue
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Async{
		n:        n,
		logger:   logger,
		q:        make(chan HelpRequest, queue),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	if n == nil {
		a.initErr = errNilNotifier
		close(a.done)
		return a
	}
	go a.run()
	return a
}

// Notify queues r without blocking and returns nil, or ErrQueueFull when the
// queue has no room, or ErrClosed after Close. ctx is not used for delivery:
// the request outlives the caller's context, bounded by the wrapped
// Notifier's own limits and by Close.
func (a *Async) Notify(_ context.Context, r HelpRequest) error {
	if a.initErr != nil {
		return a.initErr
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return ErrClosed
	}
	select {
	case a.q <- r:
		return nil
	default:
		return fmt.Errorf("%w (%d waiting)", ErrQueueFull, cap(a.q))
	}
}

// Close refuses further requests, lets the worker deliver what is queued
// while ctx allows, and waits for the worker to return. If ctx ends first,
// the delivery in progress is cancelled, the rest of the queue is dropped
// (and counted in the log), and Close returns ctx.Err() once the worker has
// returned; a wrapped Notifier that ignores its context delays that. Close is
// idempotent and safe to call concurrently.
func (a *Async) Close(ctx context.Context) error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.stopOnce.Do(func() { close(a.stopping) })

	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		a.cancel()
		<-a.done
		return ctx.Err()
	}
}

func (a *Async) run() {
	defer close(a.done)
	defer a.cancel()
	for {
		select {
		case r := <-a.q:
			a.deliver(r)
		case <-a.stopping:
			a.drain()
			return
		}
	}
}

// drain delivers what is queued until the queue is empty or Close's context
// ended. No request can be added any more.
func (a *Async) drain() {
	for {
		select {
		case r := <-a.q:
			if a.ctx.Err() != nil {
				dropped := 1 + len(a.q)
				a.logger.Warn("notify: help requests dropped at close", "dropped", dropped)
				return
			}
			a.deliver(r)
		default:
			return
		}
	}
}

// deliver calls the wrapped Notifier, turning a panic into a logged error.
func (a *Async) deliver(r HelpRequest) {
	defer func() {
		if p := recover(); p != nil {
			a.logger.Error("notify: notifier panicked", "conversation_id", r.ConversationID, "panic", fmt.Sprint(p))
		}
	}()
	if err := a.n.Notify(a.ctx, r); err != nil {
		a.logger.Warn("notify: help request not delivered", "conversation_id", r.ConversationID, "err", err)
	}
}
