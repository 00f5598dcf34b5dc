// Package httpstream holds what the HTTP providers of chatbox share: a
// watchdog that bounds the wait for response headers and for each piece
// of a streamed body, an http.RoundTripper that feeds it and caps error
// bodies, a server-sent events reader, and the llm.Stream implementation
// that turns a provider's decoded events into the llm contract.
package httpstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
)

// errReleased is the cause of a stream context cancelled because the
// stream ended.
var errReleased = errors.New("stream released")

// errClosed is the cause of a stream context cancelled by Close.
var errClosed = errors.New("stream closed")

type watchdogKey struct{}

// Watchdog cancels a stream's context when the upstream stays silent too
// long: first HeaderTimeout for the response headers, then IdleTimeout
// for each piece of the body. The cause of the cancellation is an
// *llm.Error of kind llm.KindTimeout. A Watchdog is safe for concurrent
// use.
type Watchdog struct {
	provider string
	header   time.Duration
	idle     time.Duration
	cancel   context.CancelCauseFunc

	mu      sync.Mutex
	timer   *time.Timer
	body    bool // headers arrived: the idle phase
	stopped bool
}

// Start returns a context derived from parent that the returned Watchdog
// cancels when the upstream stays silent too long, and that carries the
// Watchdog for the Transport. A zero or negative duration disables that
// phase's limit. The caller must call Stop when the stream ends.
func Start(parent context.Context, provider string, header, idle time.Duration) (context.Context, *Watchdog) {
	ctx, cancel := context.WithCancelCause(parent)
	w := &Watchdog{provider: provider, header: header, idle: idle, cancel: cancel}
	w.timer = time.AfterFunc(time.Hour, w.fire)
	w.arm(header)
	return context.WithValue(ctx, watchdogKey{}, w), w
}

func from(ctx context.Context) *Watchdog {
	w, _ := ctx.Value(watchdogKey{}).(*Watchdog)
	return w
}

// arm (re)starts the timer for d, or stops it when d <= 0.
func (w *Watchdog) arm(d time.Duration) {
	if d > 0 {
		w.timer.Reset(d)
	} else {
		w.timer.Stop()
	}
}

func (w *Watchdog) fire() {
	w.mu.Lock()
	stopped, body := w.stopped, w.body
	w.mu.Unlock()
	if stopped {
		return
	}
	var err error
	if body {
		err = fmt.Errorf("no data from the upstream stream for %v", w.idle)
	} else {
		err = fmt.Errorf("no response headers within %v", w.header)
	}
	w.cancel(&llm.Error{Kind: llm.KindTimeout, Provider: w.provider, Err: err})
}

// Headers starts the idle phase: response headers arrived.
func (w *Watchdog) Headers() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.body = true
		w.arm(w.idle)
	}
}

// Activity restarts the idle limit: the upstream sent something.
func (w *Watchdog) Activity() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped && w.body {
		w.arm(w.idle)
	}
}

// Stop disarms the watchdog and cancels its context (the stream ended or
// was abandoned). It is safe to call more than once.
func (w *Watchdog) Stop() { w.stop(errReleased) }

func (w *Watchdog) stop(cause error) {
	w.mu.Lock()
	w.stopped = true
	w.timer.Stop()
	w.mu.Unlock()
	w.cancel(cause)
}
