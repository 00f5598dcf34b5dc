// Package scripted is a deterministic llm.Provider for tests, demos and
// benchmarks. It streams replies that were scripted in advance
// (WithReplies), computed per step from the request (WithSteps) or per
// request (WithResponder), honours cancellation like a real provider, and
// records what it received so tests can assert on it and synchronise with
// it without sleeping.
//
// A Reply may stream reasoning before its text and call tools after it,
// as models do: a test scripts "step 1: call a tool" and "step 2: answer
// from the tool's result", which the step finds in the request's history
// (ToolResults).
//
// A Provider accepts file parts of every type (llm.FileSupport), as a test
// double should; WithFileTypes narrows them, for tests of what a server
// does with a model that refuses some. It records each file with a copy of
// its bytes, so a caller may reuse its buffers once Stream returned.
//
// A Provider is safe for concurrent use. Its streams run no goroutine of
// their own: every delay and stall happens inside Recv and ends as soon as
// the stream's context is cancelled or the stream is closed. (Counting
// cancellations uses context.AfterFunc, whose function is stopped, or
// awaited, when the stream ends.)
package scripted

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/internal/files"
)

// ErrExhausted is returned (wrapped) by Provider.Stream when every reply
// given to WithReplies has been used and no responder was configured.
var ErrExhausted = errors.New("no scripted reply left")

// ErrClosed is returned (wrapped) by Recv after Close abandoned a stream
// that had not finished.
var ErrClosed = errors.New("stream closed")

// DefaultMaxRecordedRequests is how many requests a Provider keeps for
// Requests unless WithMaxRecordedRequests says otherwise.
const DefaultMaxRecordedRequests = 1024

// Reply scripts one streamed answer. The zero Reply finishes at once with
// llm.FinishStop and no text.
//
// A reply streams, in this order: its Reasoning (then its
// ReasoningSignature), its Deltas, its ToolCalls, and then either Err or
// its Usage and finish.
type Reply struct {
	// Reasoning pieces are streamed first, in order, one EventReasoning
	// each (empty strings are streamed as they are).
	Reasoning []string
	// ReasoningSignature, when set, is sent after the reasoning pieces in
	// one EventReasoning with an empty Text, as Anthropic signs its
	// thinking.
	ReasoningSignature string
	// Deltas are the text pieces, streamed in order, one EventDelta each
	// (empty strings are streamed as they are).
	Deltas []string
	// ToolCalls are the calls the model makes after its text. Each is
	// streamed as an EventToolCallStart, its Arguments in pieces of at
	// most ArgumentPieceBytes as EventToolCallDelta events, then one
	// EventToolCall with the whole call. An empty ID is filled in as
	// "call_<n>", n counting the calls of the Provider from 1; empty
	// Arguments are sent as "{}". The reply then finishes with
	// llm.FinishToolCalls unless Finish says otherwise.
	ToolCalls []llm.ToolCall
	// WholeToolCalls reports each tool call by its EventToolCall alone,
	// without a start or argument pieces, as servers that send a call in
	// one piece do.
	WholeToolCalls bool
	// Delay is waited before each streamed piece (reasoning, delta and
	// argument piece); 0 means none. The wait ends early when the
	// stream's context is cancelled or the stream is closed.
	Delay time.Duration
	// Usage is reported in one EventUsage after the deltas and tool calls
	// and before the finish when it is non-zero.
	Usage llm.Usage
	// Finish is the finish reason; empty means llm.FinishToolCalls when
	// the reply has ToolCalls, else llm.FinishStop.
	Finish llm.FinishReason
	// StallAfter, when > 0, makes the stream block after that many deltas
	// (or after all of them, if there are fewer) until its context is
	// cancelled or it is closed; it never finishes, and its tool calls
	// are never streamed.
	StallAfter int
	// Err, when non-nil, is returned by Recv after the deltas and tool
	// calls instead of a usage and finish event, and again by every later
	// Recv.
	Err error
	// StartErr, when non-nil, is returned by Provider.Stream itself.
	StartErr error
}

// ArgumentPieceBytes is the largest piece of a scripted tool call's
// arguments streamed in one EventToolCallDelta. Pieces never split a
// UTF-8 encoded character.
const ArgumentPieceBytes = 16

// clone returns r with its slices copied.
func (r Reply) clone() Reply {
	r.Reasoning = slices.Clone(r.Reasoning)
	r.Deltas = slices.Clone(r.Deltas)
	r.ToolCalls = slices.Clone(r.ToolCalls)
	return r
}

// Option configures a Provider.
type Option func(*Provider)

// WithReplies appends replies to the script. Each Stream call takes the
// next unused entry of the script; when they are used up, the responder
// (WithResponder) answers, and without one Stream fails with ErrExhausted.
// The replies' slices are copied.
func WithReplies(replies ...Reply) Option {
	return func(p *Provider) {
		for _, r := range replies {
			p.script = append(p.script, entry{reply: r.clone()})
		}
	}
}

// WithSteps appends steps to the script (see WithReplies): the Stream call
// that takes a step gets the reply the step computes from a copy of its
// request, so that a later step can answer from the tool results the
// history holds by then (see ToolResults). A step is called without any
// lock held. A nil step answers with the zero Reply.
func WithSteps(steps ...func(llm.Request) Reply) Option {
	return func(p *Provider) {
		for _, f := range steps {
			if f == nil {
				f = func(llm.Request) Reply { return Reply{} }
			}
			p.script = append(p.script, entry{step: f})
		}
	}
}

// WithResponder computes the reply to every request once the scripted
// replies are used up. It is called without any lock held, possibly from
// several goroutines at once, with a copy of the request. The stream reads
// the slices of the Reply f returns (its deltas, for one) and does not copy
// them, so f may return the same ones every time but must not change them
// afterwards. Default: none. A nil f is ignored.
func WithResponder(f func(llm.Request) Reply) Option {
	return func(p *Provider) {
		if f != nil {
			p.responder = f
		}
	}
}

// WithMaxRecordedRequests bounds how many of the most recent requests
// Requests returns. Default DefaultMaxRecordedRequests; 0 (or less) records
// none. A recorded request keeps a copy of its files' bytes, the whole
// history's: a demo that takes large attachments should record few.
func WithMaxRecordedRequests(n int) Option {
	return func(p *Provider) { p.maxRecorded = max(n, 0) }
}

// WithFileTypes narrows the attachments the Provider accepts
// (llm.FileSupport) to the given media types ("image/png") and patterns
// ("image/*"), compared without case and parameters; an entry that is
// neither matches nothing. Stream refuses a request holding another file
// as a real provider does: with the error of llm.CheckFiles, without
// recording the request or using a reply. Without any type, no file is
// accepted. Default: files of every type are accepted.
func WithFileTypes(types ...string) Option {
	return func(p *Provider) {
		set := files.NewSet(types)
		p.fileTypes = &set
	}
}

// entry is one entry of the script: a reply, or a step computing one.
type entry struct {
	reply Reply
	step  func(llm.Request) Reply
}

// Provider is a scripted llm.Provider. Create it with New.
type Provider struct {
	responder   func(llm.Request) Reply
	maxRecorded int
	fileTypes   *files.Set // nil: every type

	mu        sync.Mutex
	script    []entry
	next      int           // index of the next unused script entry
	calls     int           // tool call ids given out ("call_<n>")
	requests  []llm.Request // ring buffer of at most maxRecorded entries
	head      int           // index of the oldest entry once the ring is full
	started   int
	cancelled int
	changed   chan struct{} // closed and replaced whenever a count changes
}

var (
	_ llm.Provider    = (*Provider)(nil)
	_ llm.FileSupport = (*Provider)(nil)
)

// New returns a Provider configured by opts.
func New(opts ...Option) *Provider {
	p := &Provider{maxRecorded: DefaultMaxRecordedRequests, changed: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(p)
		}
	}
	return p
}

// AcceptsFile reports whether the Provider accepts files of the media
// type: every type, unless WithFileTypes narrowed them. It implements
// llm.FileSupport.
func (p *Provider) AcceptsFile(mediaType string) bool {
	return p.fileTypes == nil || p.fileTypes.Has(files.Base(mediaType))
}

// Stream starts the next scripted reply to req.
//
// If ctx is already done it returns an error wrapping ctx.Err(), and if
// req holds a file the Provider does not accept (see WithFileTypes) the
// error of llm.CheckFiles; either way it neither records the request nor
// uses a reply. Otherwise it records a copy of req (its files' bytes
// included), takes the next reply (see WithReplies), and returns the
// reply's StartErr as it is when set. The stream counts as started (Started, WaitStarted)
// only when Stream returns it. It counts as cancelled (Cancelled,
// WaitCancelled) if ctx is done before it finishes, fails or is closed.
//
// The stream plays the reply as Reply describes; Recv stamps every event's
// At with time.Now(). After the finish event Recv returns io.EOF, and after
// an error the same error, on every later call. Cancelling ctx makes Recv
// return an error wrapping ctx.Err() and context.Cause(ctx) at once, also
// while it waits. Close returns nil; it may be called more than once, at
// any time and from any goroutine, also while Recv waits; Recv on a stream
// closed before its end returns an error wrapping ErrClosed.
func (p *Provider) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	if ctx.Err() != nil {
		return nil, ctxError(ctx)
	}
	if err := llm.CheckFiles(p, req); err != nil {
		return nil, err
	}
	reply, ok := p.take(req)
	if !ok {
		return nil, fmt.Errorf("scripted: %w", ErrExhausted)
	}
	if reply.StartErr != nil {
		return nil, reply.StartErr
	}
	// The calls' ids may be filled in below; the other slices are only read.
	reply.ToolCalls = slices.Clone(reply.ToolCalls)
	p.mu.Lock()
	for i := range reply.ToolCalls {
		if reply.ToolCalls[i].ID == "" {
			p.calls++
			reply.ToolCalls[i].ID = fmt.Sprintf("call_%d", p.calls)
		}
	}
	p.mu.Unlock()
	s := newStream(ctx, reply, p.noteCancelled)
	p.mu.Lock()
	p.started++
	p.broadcastLocked()
	p.mu.Unlock()
	return s, nil
}

// take records a copy of req and returns the reply for it; a step or the
// responder gets a copy of its own.
func (p *Provider) take(req llm.Request) (Reply, bool) {
	var record llm.Request
	if p.maxRecorded > 0 { // set by New only
		record = copyRequest(req)
	}
	p.mu.Lock()
	p.recordLocked(record)
	if p.next < len(p.script) {
		e := p.script[p.next]
		p.script[p.next] = entry{} // release what the script held
		p.next++
		p.mu.Unlock()
		if e.step != nil {
			return e.step(copyRequest(req)), true
		}
		return e.reply, true
	}
	responder := p.responder
	p.mu.Unlock()
	if responder == nil {
		return Reply{}, false
	}
	return responder(copyRequest(req)), true
}

func (p *Provider) recordLocked(req llm.Request) {
	switch {
	case p.maxRecorded == 0:
	case len(p.requests) < p.maxRecorded:
		p.requests = append(p.requests, req)
	default:
		p.requests[p.head] = req
		p.head = (p.head + 1) % len(p.requests)
	}
}

func (p *Provider) noteCancelled() {
	p.mu.Lock()
	p.cancelled++
	p.broadcastLocked()
	p.mu.Unlock()
}

func (p *Provider) broadcastLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Requests returns copies of the requests Stream received, oldest first
// (at most the configured maximum, the most recent ones).
func (p *Provider) Requests() []llm.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]llm.Request, 0, len(p.requests))
	for i := range p.requests {
		out = append(out, copyRequest(p.requests[(p.head+i)%len(p.requests)]))
	}
	return out
}

// Started returns how many streams Stream has returned.
func (p *Provider) Started() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// Cancelled returns how many streams saw their context done before they
// finished, failed or were closed.
func (p *Provider) Cancelled() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cancelled
}

// WaitStarted blocks until at least n streams have started or ctx is done,
// in which case it returns an error wrapping ctx.Err().
func (p *Provider) WaitStarted(ctx context.Context, n int) error {
	return p.wait(ctx, "started", n, func() int { return p.started })
}

// WaitCancelled blocks until at least n streams have been cancelled (see
// Cancelled) or ctx is done, in which case it returns an error wrapping
// ctx.Err().
func (p *Provider) WaitCancelled(ctx context.Context, n int) error {
	return p.wait(ctx, "cancelled", n, func() int { return p.cancelled })
}

func (p *Provider) wait(ctx context.Context, what string, n int, count func() int) error {
	for {
		p.mu.Lock()
		got, changed := count(), p.changed
		p.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("scripted: waiting for %d streams %s (have %d): %w", n, what, got, ctx.Err())
		}
	}
}

// copyRequest copies r deeply enough that neither the copy nor r can
// change the other: messages, their parts and files (bytes included),
// tools and their schemas.
func copyRequest(r llm.Request) llm.Request {
	r.Messages = slices.Clone(r.Messages)
	for i := range r.Messages {
		parts := slices.Clone(r.Messages[i].Parts)
		for j := range parts {
			if f := parts[j].File; f != nil {
				c := *f
				c.Data = slices.Clone(f.Data)
				parts[j].File = &c
			}
		}
		r.Messages[i].Parts = parts
	}
	r.Tools = slices.Clone(r.Tools)
	for i := range r.Tools {
		r.Tools[i].InputSchema = slices.Clone(r.Tools[i].InputSchema)
	}
	if r.Temperature != nil {
		t := *r.Temperature
		r.Temperature = &t
	}
	return r
}

// ctxError wraps ctx's error and, when it differs, its cause, so that
// errors.Is matches both.
func ctxError(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("scripted: stream ended: %w: %w", err, cause)
	}
	return fmt.Errorf("scripted: stream ended: %w", err)
}
