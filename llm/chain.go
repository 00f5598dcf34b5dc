package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// ErrStreamClosed is returned (wrapped) by Recv of the streams of WithRetry
// and Fallback after Close abandoned them before their end.
var ErrStreamClosed = errors.New("stream closed")

// planFunc decides what follows a failed attempt: which provider to try
// next and after what wait. attempts is how many attempts were made; err
// is the last one's failure. ok false ends the stream with err.
type planFunc func(ctx context.Context, attempts int, err error) (next Provider, wait time.Duration, ok bool)

// retryable reports whether err is a retryable *Error and not the
// caller's own cancellation.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var e *Error
	return errors.As(err, &e) && e.Retryable()
}

// startChain makes attempts with first and then the providers plan names
// until one starts, and returns a stream that keeps restarting the same
// way as long as no delta has been returned.
//
// A chain made with observe (Fallback's) counts its attempts as provider
// indexes and reports each failure before the first delta to observe.
func startChain(ctx context.Context, req Request, first Provider, plan planFunc, observe ...func(int, error)) (Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	c := &chain{ctx: ctx, cancel: cancel, req: req, plan: plan, closed: make(chan struct{})}
	if len(observe) > 0 {
		c.observed, c.observe = true, observe[0]
	}
	s, err := c.attempt(first)
	if err != nil {
		cancel()
		return nil, err
	}
	c.cur = s
	return c, nil
}

// chain is a stream that is restarted on retryable failures until its
// first delta. Recv is called from one goroutine at a time; Close may be
// called from any goroutine at any time.
type chain struct {
	ctx      context.Context // the caller's, cancelled by Close and at the end
	cancel   context.CancelFunc
	req      Request
	plan     planFunc
	attempts int

	delivered bool // a delta (of text, reasoning or a call) was returned; used only by the Recv goroutine

	// observed: attempts are provider indexes (Fallback); observe, if set,
	// is told of each failure before the first delta.
	observed bool
	observe  func(index int, err error)

	mu        sync.Mutex
	cur       Stream // the current attempt's stream
	err       error  // terminal result
	closed    chan struct{}
	closeOnce sync.Once
}

// attempt makes attempts, starting with p, until one starts, the plan
// gives up, ctx ends or the chain is closed.
func (c *chain) attempt(p Provider) (Stream, error) {
	for {
		c.mu.Lock()
		c.attempts++
		c.mu.Unlock()
		s, err := p.Stream(c.ctx, c.req)
		if err == nil {
			return s, nil
		}
		if p, err = c.next(err); err != nil {
			return nil, err
		}
	}
}

// next asks the plan what follows the failure err and waits as it says.
// It returns the provider to try next, or the error to end with.
func (c *chain) next(err error) (Provider, error) {
	if c.observe != nil {
		c.observe(c.index(), err)
	}
	if !retryable(c.ctx, err) {
		return nil, err
	}
	p, wait, ok := c.plan(c.ctx, c.attempts, err)
	if !ok {
		return nil, err
	}
	t := time.NewTimer(max(wait, 0))
	defer t.Stop()
	select {
	case <-t.C:
		if c.isClosed() {
			return nil, c.closedErr()
		}
		return p, nil
	case <-c.ctx.Done():
		if c.isClosed() {
			return nil, c.closedErr()
		}
		return nil, fmt.Errorf("llm: waiting to try again: %w (after %w)", c.ctx.Err(), err)
	case <-c.closed:
		return nil, c.closedErr()
	}
}

// index is the current attempt's provider index in a Fallback chain.
func (c *chain) index() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts - 1
}

func (c *chain) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *chain) Recv() (Event, error) {
	for {
		c.mu.Lock()
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return Event{}, err
		}
		s := c.cur
		c.mu.Unlock()

		ev, err := s.Recv()
		if err == nil {
			switch ev.Kind {
			case EventDelta, EventReasoning, EventToolCallStart, EventToolCallDelta, EventToolCall:
				c.delivered = true // the caller has shown it: no other model may start over
			case EventFinish:
				if err := c.end(io.EOF); err != io.EOF {
					return Event{}, err // closed meanwhile
				}
			}
			return ev, nil
		}
		if c.delivered || err == io.EOF {
			return Event{}, c.end(err)
		}
		s.Close() // release the failed attempt before any wait
		p, err := c.next(err)
		if err != nil {
			return Event{}, c.end(err)
		}
		ns, err := c.attempt(p)
		if err != nil {
			return Event{}, c.end(err)
		}
		c.mu.Lock()
		if c.err != nil { // closed meanwhile
			c.mu.Unlock()
			ns.Close()
			continue
		}
		c.cur = ns
		c.mu.Unlock()
	}
}

// end records err as the terminal result unless one is set, and returns
// the terminal result.
func (c *chain) end(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		c.cancel() // nothing more is read

	}
	return c.err
}

func (c *chain) closedErr() error { return fmt.Errorf("llm: %w", ErrStreamClosed) }

// Close closes the current attempt's stream and ends any wait for the next
// attempt. It returns the current stream's Close error.
func (c *chain) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	defer c.cancel()
	c.mu.Lock()
	if c.err == nil {
		c.err = c.closedErr()
	}
	s := c.cur
	c.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.Close()
}
