package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// generation is one assistant reply being produced. It is a job of the
// Engine, not of a socket: its context derives from the Engine's reply
// context and is bounded by GenerationTimeout.
type generation struct {
	ctx      context.Context
	cancel   func(cause error)
	pubCtx   context.Context // publishing; set by run
	replyID  string
	convID   string
	done     chan struct{} // closed once the reply has ended and reply.end went out (markDone)
	doneOnce sync.Once
	// The reply's lease across instances (lease.go); empty without one.
	leaseKey, leaseHolder string

	// Written and read by the reply's goroutine only: when the first text
	// arrived, and whether the metrics saw the reply start and end.
	firstDelta     time.Time
	metricsStarted bool
	metricsEnded   bool

	// record is the reply's parts (reasoning, text, tool calls and
	// results) as the reply's goroutine received them. resumed is the
	// stored reply this generation continues after its approvals were
	// answered; nil for a new reply.
	record  []storage.Part
	resumed *storage.Message
	// userID owns the conversation (tools see it); handoff: the reply was
	// resumed while an operator holds the conversation, so the model is
	// not asked again.
	userID  string
	handoff bool
	// gate, when set, is closed when the reply may begin (a resumed reply
	// waits for its answer's ok to be sent).
	gate chan struct{}
	// budget is the reply's share of its user's budget; nil without one.
	budget *replyBudget
	// slot is the reply's place among its user's running replies, given
	// back with the conversation, before reply.end goes out (and again,
	// harmlessly, when the job ends).
	slot place
	// history is what the reply's first step read (for usage estimates);
	// usage sums its steps so far. The reply's goroutine only.
	history []llm.Message
	usage   llm.Usage
	// For a reply without tools: the bytes of text received, and where in
	// them each reasoning part of the record came (see withText).
	textBytes   int
	reasoningAt []int

	// Guarded by the owning conversation's mu.
	replyTo string
	model   string
	lastSeq int64 // sequence number of the last published event of this reply
	text    strings.Builder
	shown   *shownParts // the parts published so far; nil while only text was
	// pausing: the reply is stored as waiting for approvals and everything
	// before its approval requests is published; an open then lists it
	// from the store rather than as a reply in progress.
	pausing bool
}

func newGeneration(parent context.Context, convID string, timeout time.Duration) *generation {
	ctx, cancelCause := context.WithCancelCause(parent)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	return &generation{
		ctx:     ctx,
		cancel:  func(cause error) { cancelCause(cause); cancelTimeout() },
		replyID: "r_" + rand.Text(),
		convID:  convID,
		done:    make(chan struct{}),
	}
}

// markDone records that the reply is over: it ended, or it never started
// (its claim was given back).
func (g *generation) markDone() { g.doneOnce.Do(func() { close(g.done) }) }

// outcome is how a reply ended.
type outcome struct {
	reason llm.FinishReason
	err    *protocol.Error // set when reason is error
	usage  llm.Usage
	model  string // the model that answered (differs after a fallback)
	// retryable: the provider failure may succeed if tried again.
	retryable bool
	// paused: the reply waits for approvals; it has not ended.
	paused bool
}

// startReply runs g as an Engine job answering userMsg. The caller holds a
// place among userID's running replies; the job gives it back when it ends,
// and startReply does not take it over when it fails.
func (e *Engine) startReply(c *conversation, g *generation, userMsg storage.Message, userID string, slot place) error {
	e.mu.Lock()
	if e.shuttingDown {
		e.mu.Unlock()
		return errShutdown
	}
	e.genWG.Add(1)
	e.mu.Unlock()
	started := false
	release := func() {}
	defer func() { // every path that does not start the job, a panic in host code included
		if !started {
			release()
			e.genWG.Done()
		}
	}()
	_, release, err := e.convs.Acquire(c.id, func() *conversation { return c })
	if err != nil {
		release = func() {}
		return err
	}
	// The reply keeps the feed open, so stop, takeover and end reach it
	// even when every socket has left.
	if err := c.joinFeed(g.ctx); err != nil {
		return err
	}
	started = true
	g.slot = slot
	e.replies.run(func() {
		defer e.genWG.Done()
		defer slot.release()
		defer release()
		defer c.leaveFeed()
		defer g.markDone()
		defer func() {
			if p := recover(); p != nil {
				// A panicking store or broker must not take the host down:
				// the conversation is freed and the reply still ends.
				perr := internalError(e.replyLog(g), fmt.Errorf("panic: %v", p), "generate")
				c.finish(g, false)
				g.cancel(nil)
				e.releaseLease(g)
				e.releaseBudget(g)
				e.endAfterPanic(c, g, perr)
			}
		}()
		e.generate(c, g, userMsg, userID)
	})
	return nil
}

func (e *Engine) generate(c *conversation, g *generation, userMsg storage.Message, userID string) {
	defer g.cancel(nil)
	if g.gate != nil {
		<-g.gate
	}
	// One publishing context for the whole reply (not one per delta: that
	// would cost a timer per token). A stop does not cancel it, so the end
	// of a stopped reply is still published.
	var cancelPub context.CancelFunc
	g.pubCtx, cancelPub = withDeadline(context.WithoutCancel(g.ctx), e.cfg.GenerationTimeout+2*e.cfg.StoreTimeout)
	defer cancelPub()
	stopRenewal := e.trackReplyLease(g)
	defer stopRenewal() // also if host code panics below
	started := e.cfg.Now()
	g.userID = userID

	var reply storage.Message
	c.mu.Lock()
	if g.resumed != nil {
		reply = *g.resumed
	} else {
		createdAt := c.nextTime(started)
		reply = storage.Message{
			ID: g.replyID, ConversationID: c.id, Role: storage.RoleAssistant, Status: storage.MessageStreaming,
			Model: c.model, ReplyTo: userMsg.ID, CreatedAt: createdAt, UpdatedAt: createdAt,
		}
	}
	g.replyTo, g.model = reply.ReplyTo, reply.Model
	c.mu.Unlock()
	e.cfg.Metrics.GenerationStarted(reply.Model)
	g.metricsStarted = true

	out := e.produce(c, g, &reply, userID)
	if out.model != "" {
		reply.Model = out.model
	}
	if !out.paused {
		e.closeOpenCalls(c, g, out)
		e.persistEnd(c, g, &reply, out)
	}
	e.settleUsage(c, g, reply, out, g.history)
	// The conversation and the user's place are free again, here and
	// across instances, before reply.end goes out, so a client that sends
	// as soon as it sees the end is never told busy.
	stopRenewal()
	c.finish(g, out.paused)
	e.releaseLease(g)
	g.slot.release()
	var ttft time.Duration
	if !g.firstDelta.IsZero() {
		ttft = g.firstDelta.Sub(started)
	}
	reason := string(out.reason)
	if out.paused {
		reason = string(storage.MessageAwaitingApproval)
	}
	e.cfg.Metrics.GenerationEnded(reply.Model, reason, e.cfg.Now().Sub(started), ttft, out.usage.InputTokens, out.usage.OutputTokens)
	g.metricsEnded = true
	if out.paused {
		if cause := context.Cause(g.ctx); errors.Is(cause, errStopped) || errors.Is(cause, errEnded) {
			e.stopPausedLate(c, g) // stopped while it paused: the stop found no reply to cancel
			return
		}
		c.tellAwaiting(controlAwaiting, g.replyID)
		e.expireLater(c.id, g.replyID, earliestExpiry(g.record))
		return // approval.request went out: the reply goes on when it is answered
	}
	e.publishReply(g, c, replyEnd(c.id, g.replyID, reply.Model, out))
}

// produce stores the reply's row (or takes up the stored one it resumes),
// loads the history, announces the reply and runs its steps.
func (e *Engine) produce(c *conversation, g *generation, reply *storage.Message, userID string) outcome {
	var err error
	if g.resumed == nil {
		// The reply is stored first, with a context a stop cannot cancel,
		// so that however it ends there is a row to finish.
		pctx, cancel := e.persistCtx(g.ctx)
		_, _, err = e.cfg.Store.AppendMessage(pctx, *reply)
		cancel()
	} else {
		g.record = slices.Clone(reply.Parts)
		c.mu.Lock()
		g.text.WriteString(reply.Text)
		if parts := wireParts(*reply); parts != nil {
			g.shown = &shownParts{parts: parts}
		}
		c.mu.Unlock()
	}
	var history []llm.Message
	switch {
	case g.resumed != nil && g.ctx.Err() != nil:
		// Stopped as it resumed: it records its refusals, then ends.
	case err == nil:
		history, err = e.history(g.ctx, c.id, g.replyID)
	}
	if g.resumed == nil {
		e.publishReply(g, c, &protocol.ServerFrame{Type: protocol.TypeReplyStart, ConversationID: c.id, ReplyID: g.replyID, ReplyTo: reply.ReplyTo, Model: reply.Model})
	}
	switch {
	case err != nil && g.ctx.Err() != nil:
		return e.failure(g, err) // stopped, ended or shut down before the reply began
	case err != nil:
		return outcome{reason: llm.FinishError, err: storeError(e.replyLog(g), err, "start reply")}
	}
	g.history = history
	maxTokens := e.cfg.MaxTokens
	if g.budget != nil {
		maxTokens = int(g.budget.maxTokens)
	}
	pump := e.startPump(g, c)
	defer pump.stop() // also if host code panics below
	out := e.converse(c, g, pump, reply, llm.Request{
		System: e.cfg.SystemPrompt, Messages: history, User: userID, ConversationID: c.id, MaxTokens: maxTokens,
	}, e.models.entry(reply.Model))
	pump.stop() // every event is published before the reply ends
	return out
}

// persistEnd completes the reply's row with its text and finish reason.
func (e *Engine) persistEnd(c *conversation, g *generation, reply *storage.Message, out outcome) {
	c.mu.Lock()
	reply.Text = g.text.String()
	c.mu.Unlock()
	if g.reasoningAt != nil {
		g.record = withText(g.record, g.reasoningAt, reply.Text)
	}
	if hasMoreThanText(g.record) {
		reply.Parts = g.record
	}
	reply.Status = storage.MessageComplete
	reply.FinishReason = string(out.reason)
	reply.Usage = storage.Usage(out.usage)
	reply.UpdatedAt = e.cfg.Now().UTC()
	if out.err != nil {
		reply.Error = string(out.err.Code)
	}
	pctx, cancel := e.persistCtx(g.ctx)
	defer cancel()
	if err := e.cfg.Store.UpdateMessage(pctx, *reply); err != nil {
		e.log.Error("persist reply end", "conversation", c.id, "reply", g.replyID, "err", err)
	}
}

// replyLog is the logger of g's lines, built only when something is logged.
func (e *Engine) replyLog(g *generation) *slog.Logger {
	return e.log.With("conversation", g.convID, "reply", g.replyID)
}

// finish frees the conversation for the next reply; paused says the reply
// waits for approvals.
func (c *conversation) finish(g *generation, paused bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if paused {
		c.awaiting = g.replyID
	}
	if c.gen == g {
		c.gen = nil
		// An open that finds no reply streaming must still not replay
		// this reply's events over its stored, complete text.
		c.lastReplySeq = g.lastSeq
	}
}

func replyEnd(convID, replyID, model string, out outcome) *protocol.ServerFrame {
	end := &protocol.ServerFrame{Type: protocol.TypeReplyEnd, ConversationID: convID, ReplyID: replyID, FinishReason: string(out.reason), Model: model}
	if out.usage != (llm.Usage{}) {
		end.Usage = &protocol.Usage{InputTokens: out.usage.InputTokens, OutputTokens: out.usage.OutputTokens}
	}
	if out.err != nil {
		end.Error = out.err.Body()
		if out.err.Code == protocol.CodeProviderError {
			end.Error.Retryable = out.retryable // an authentication failure will not pass on retry
		}
	}
	return end
}

// publishReply publishes an event of g's reply and records its number.
func (e *Engine) publishReply(g *generation, c *conversation, f *protocol.ServerFrame) {
	seq, err := c.publish(g.pubCtx, f)
	if err != nil {
		e.log.Error("publish reply event", "conversation", c.id, "type", f.Type, "err", err)
		return
	}
	c.mu.Lock()
	g.lastSeq = seq
	c.mu.Unlock()
}

// endAfterPanic makes a best effort to store and announce the end of a reply
// whose job panicked; host code may panic again, so each step is guarded.
func (e *Engine) endAfterPanic(c *conversation, g *generation, perr *protocol.Error) {
	guard := func(step func()) {
		defer func() { _ = recover() }()
		step()
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.StoreTimeout)
	defer cancel()
	c.mu.Lock()
	text, model := g.text.String(), g.model
	c.mu.Unlock()
	if g.metricsStarted && !g.metricsEnded {
		g.metricsEnded = true
		e.cfg.Metrics.GenerationEnded(model, string(llm.FinishError), 0, 0, 0, 0)
	}
	now := e.cfg.Now().UTC()
	guard(func() {
		_ = e.cfg.Store.UpdateMessage(ctx, storage.Message{ID: g.replyID, ConversationID: c.id, Text: text,
			Status: storage.MessageComplete, FinishReason: string(llm.FinishError), Error: string(perr.Code), UpdatedAt: now})
	})
	guard(func() {
		_, _ = c.publish(ctx, &protocol.ServerFrame{Type: protocol.TypeReplyEnd, ConversationID: c.id,
			ReplyID: g.replyID, FinishReason: string(llm.FinishError), Error: perr.Body()})
	})
}
