package router

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// generation is one assistant reply being produced. It is a job of the
// Router, not of a socket: its context derives from the Router's generation
// context and is bounded by GenerationTimeout.
type generation struct {
	ctx     context.Context
	cancel  func(cause error)
	pubCtx  context.Context // publishing; set by generate
	replyID string
	// Written and read by the generation's goroutine only: when the first
	// text arrived, and whether the metrics saw the reply start and end.
	firstDelta     time.Time
	metricsStarted bool
	metricsEnded   bool

	// Guarded by the owning conversation's mu.
	replyTo string
	model   string
	lastSeq int64 // sequence number of the last published event of this reply
	text    strings.Builder
}

func newGeneration(parent context.Context, timeout time.Duration) *generation {
	ctx, cancelCause := context.WithCancelCause(parent)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	return &generation{
		ctx:     ctx,
		cancel:  func(cause error) { cancelCause(cause); cancelTimeout() },
		replyID: "r_" + rand.Text(),
	}
}

// startGeneration runs g as a Router job answering userMsg. The caller holds
// a generation slot of userID (reserveGeneration); the job releases it when
// it ends, and startGeneration does not take it over when it fails.
func (r *Router) startGeneration(st *conversation, g *generation, userMsg storage.Message, userID string) error {
	r.mu.Lock()
	if r.shuttingDown {
		r.mu.Unlock()
		return errShutdown
	}
	r.genWG.Add(1)
	r.mu.Unlock()
	_, release, err := r.sessions.Acquire(st.id, func() *conversation { return st })
	if err != nil {
		r.genWG.Done()
		return err
	}
	go func() {
		defer r.genWG.Done()
		defer r.releaseCount(r.userGens, userID)
		defer release()
		defer func() {
			if p := recover(); p != nil {
				// A panicking store or broker must not take the host down:
				// the conversation is freed and the reply still ends.
				perr := internalError(r.log.With("conversation", st.id, "reply", g.replyID), fmt.Errorf("panic: %v", p), "generate")
				st.mu.Lock()
				if st.gen == g {
					st.gen = nil
				}
				st.mu.Unlock()
				g.cancel(nil)
				r.endAfterPanic(st, g, perr)
			}
		}()
		r.generate(st, g, userMsg, userID)
	}()
	return nil
}

// outcome is how a reply ended.
type outcome struct {
	reason llm.FinishReason
	err    *protocol.Error // set when reason is error
	usage  llm.Usage
	model  string // the model that answered (differs after a fallback)
	// retryable: the provider failure may succeed if tried again.
	retryable bool
	// providerKind classifies a provider failure; empty otherwise.
	providerKind string
}

func (r *Router) generate(st *conversation, g *generation, userMsg storage.Message, userID string) {
	defer g.cancel(nil)
	// One publishing context for the whole reply (not one per delta: that
	// would cost a timer per token). A stop does not cancel it, so the end
	// of a stopped reply is still published.
	var cancelPub context.CancelFunc
	g.pubCtx, cancelPub = context.WithTimeout(context.WithoutCancel(g.ctx), r.cfg.GenerationTimeout+2*r.cfg.StoreTimeout)
	defer cancelPub()
	started := r.cfg.Now()
	log := r.log.With("conversation", st.id, "reply", g.replyID)
	if sub := r.followHandoff(g, st.id, log); sub != nil {
		defer sub.Close()
	}

	st.mu.Lock()
	model := st.model
	createdAt := st.nextTime(started)
	g.replyTo, g.model = userMsg.ID, model
	st.mu.Unlock()
	r.cfg.Metrics.GenerationStarted(model)
	g.metricsStarted = true

	reply := storage.Message{
		ID: g.replyID, ConversationID: st.id, Role: storage.RoleAssistant, Status: storage.MessageStreaming,
		Model: model, ReplyTo: userMsg.ID, CreatedAt: createdAt, UpdatedAt: createdAt,
	}
	var out outcome
	// The reply is stored first, with a context a stop cannot cancel, so
	// that however it ends there is a row to finish.
	pctx, cancel := r.persistCtx(g.ctx)
	_, _, err := r.cfg.Store.AppendMessage(pctx, reply)
	cancel()
	var history []llm.Message
	if err == nil {
		history, err = r.history(g.ctx, st.id)
	}
	r.publishReply(g, st, &protocol.ServerFrame{Type: protocol.TypeReplyStart, ConversationID: st.id, ReplyID: g.replyID, ReplyTo: userMsg.ID, Model: model})
	switch {
	case err != nil && g.ctx.Err() != nil:
		out = r.failure(g, err, log) // stopped, ended or shut down before the reply began
	case err != nil:
		out = outcome{reason: llm.FinishError, err: storeError(log, err, "start reply")}
	default:
		pump := r.startPump(g, st)
		defer pump.stop() // also if host code panics below
		out = r.stream(g, st, pump, llm.Request{
			System: r.cfg.SystemPrompt, Messages: history, User: userID, ConversationID: st.id,
		}, r.models.chain(model), log)
		pump.stop() // every delta is published before the reply ends
	}
	if out.model != "" {
		reply.Model = out.model
	}

	st.mu.Lock()
	reply.Text = g.text.String()
	st.mu.Unlock()
	reply.Status = storage.MessageComplete
	reply.FinishReason = string(out.reason)
	reply.Usage = storage.Usage{InputTokens: out.usage.InputTokens, OutputTokens: out.usage.OutputTokens}
	reply.UpdatedAt = r.cfg.Now().UTC()
	if out.err != nil {
		reply.Error = string(out.err.Code)
	}
	pctx, cancel = r.persistCtx(g.ctx)
	if err := r.cfg.Store.UpdateMessage(pctx, reply); err != nil {
		log.Error("persist reply end", "err", err)
	}
	cancel()

	// The conversation is free again before reply.end goes out, so a client
	// that sends as soon as it sees the end is never told busy.
	st.mu.Lock()
	if st.gen == g {
		st.gen = nil
		// An open that finds no reply streaming must still not replay
		// this reply's deltas over its stored, complete text.
		st.lastReplySeq = g.lastSeq
	}
	st.stats.Observe(r.cfg.Now().Sub(started))
	st.mu.Unlock()
	var ttft time.Duration
	if !g.firstDelta.IsZero() {
		ttft = g.firstDelta.Sub(started)
	}
	r.cfg.Metrics.GenerationEnded(reply.Model, string(out.reason), r.cfg.Now().Sub(started), ttft, out.usage.InputTokens, out.usage.OutputTokens)
	g.metricsEnded = true

	end := &protocol.ServerFrame{Type: protocol.TypeReplyEnd, ConversationID: st.id, ReplyID: g.replyID, FinishReason: string(out.reason), Model: reply.Model}
	if out.usage != (llm.Usage{}) {
		end.Usage = &protocol.Usage{InputTokens: out.usage.InputTokens, OutputTokens: out.usage.OutputTokens}
	}
	if out.err != nil {
		end.Error = out.err.Body()
		if out.err.Code == protocol.CodeProviderError {
			end.Error.Retryable = out.retryable // an authentication failure will not pass on retry
		}
	}
	r.publishReply(g, st, end)
}

// stream relays the provider's events until the reply ends. Before the
// first delta, a retryable failure moves on to the next model of the chain;
// after it, a failure ends the reply with what was streamed.
func (r *Router) stream(g *generation, st *conversation, pump *deltaPump, base llm.Request, chain []*Model, log *slog.Logger) outcome {
	var out outcome
	for i, m := range chain {
		req := base
		req.Model, req.MaxTokens, req.Temperature = m.Upstream, m.MaxTokens, m.Temperature
		if req.MaxTokens == 0 {
			req.MaxTokens = r.cfg.MaxTokens
		}
		var streamed bool
		out, streamed = r.streamOne(g, pump, m.Provider, req, log)
		out.model = m.ID
		if out.providerKind != "" {
			r.cfg.Metrics.ProviderError(m.ID, out.providerKind)
		}
		if streamed || out.reason != llm.FinishError || g.ctx.Err() != nil || !out.retryable || i == len(chain)-1 {
			return out
		}
		log.Warn("model failed before its first delta; trying the next", "model", m.ID, "next", chain[i+1].ID)
	}
	return out
}

// streamOne relays one provider's stream. streamed reports whether any
// delta reached the conversation.
func (r *Router) streamOne(g *generation, pump *deltaPump, p llm.Provider, req llm.Request, log *slog.Logger) (out outcome, streamed bool) {
	stream, err := startStream(g.ctx, p, req)
	if err != nil {
		return r.failure(g, err, log), false
	}
	defer stream.Close()
	var usage llm.Usage
	for {
		ev, err := recvEvent(stream)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = &llm.Error{Kind: llm.KindUnavailable, Provider: "stream", Err: errors.New("stream ended without a finish event")}
			}
			out := r.failure(g, err, log)
			out.usage = usage
			return out, streamed
		}
		switch ev.Kind {
		case llm.EventDelta:
			if ev.Text == "" {
				continue
			}
			if g.firstDelta.IsZero() {
				g.firstDelta = r.cfg.Now()
			}
			streamed = true
			pump.add(ev.Text)
		case llm.EventUsage:
			usage = ev.Usage
		case llm.EventFinish:
			reason := ev.FinishReason
			if reason == "" {
				reason = llm.FinishStop
			}
			return outcome{reason: reason, usage: usage}, streamed
		}
	}
}

// failure turns a stream error into an outcome, telling a cancellation
// (stop, end, shutdown, time limit) from a provider failure.
func (r *Router) failure(g *generation, err error, log *slog.Logger) outcome {
	if g.ctx.Err() != nil {
		switch cause := context.Cause(g.ctx); {
		case errors.Is(cause, errStopped), errors.Is(cause, errEnded):
			return outcome{reason: llm.FinishAbort}
		case errors.Is(cause, errHandoff):
			return outcome{reason: llm.FinishHandoff}
		case errors.Is(cause, errShutdown):
			return outcome{reason: llm.FinishInterrupted}
		case errors.Is(cause, errPublish):
			return outcome{reason: llm.FinishError, err: protocol.Errorf(protocol.CodeUnavailable, "the reply could not be delivered")}
		case errors.Is(cause, context.DeadlineExceeded):
			return outcome{reason: llm.FinishTimeout, err: protocol.Errorf(protocol.CodeTimeout, "the reply took longer than the server allows")}
		}
		return outcome{reason: llm.FinishAbort}
	}
	kind := llm.KindOf(err)
	log.Warn("provider failed", "kind", kind, "err", err)
	var le *llm.Error
	retryable := errors.As(err, &le) && le.Retryable()
	e := protocol.Errorf(protocol.CodeProviderError, "the model failed to answer (%s)", kind)
	return outcome{reason: llm.FinishError, err: e, retryable: retryable, providerKind: string(kind)}
}

func (r *Router) persistCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), r.cfg.StoreTimeout)
}

// publish sends a conversation event through the broker, encoding it once
// with its sequence number.
func (r *Router) publish(ctx context.Context, conversationID string, f *protocol.ServerFrame) (int64, error) {
	return r.cfg.Broker.Publish(ctx, conversationID, func(seq int64) ([]byte, error) {
		f.Seq = seq
		return protocol.Encode(f)
	})
}

// publishReply publishes an event of g's reply and records its number.
func (r *Router) publishReply(g *generation, st *conversation, f *protocol.ServerFrame) {
	seq, err := r.publish(g.pubCtx, st.id, f)
	if err != nil {
		r.log.Error("publish reply event", "conversation", st.id, "type", f.Type, "err", err)
		return
	}
	st.mu.Lock()
	g.lastSeq = seq
	st.mu.Unlock()
}

// publishDelta is the hot path: one encoding shared by every subscriber.
// The text is added to the snapshot after the event is published, so a
// snapshot never holds text newer than its sequence number.
//
// A delta that cannot be published ends the reply with an error rather than
// leaving a hole that live clients would never learn of; the text is kept,
// so the stored reply holds everything that was streamed.
func (r *Router) publishDelta(g *generation, st *conversation, text string, buf *[]byte) {
	seq, err := r.cfg.Broker.Publish(g.pubCtx, st.id, func(seq int64) ([]byte, error) {
		b := protocol.AppendDelta((*buf)[:0], st.id, seq, g.replyID, text)
		return slices.Clone(b), nil
	})
	st.mu.Lock()
	g.text.WriteString(text)
	if err == nil {
		g.lastSeq = seq
	}
	st.mu.Unlock()
	if err != nil {
		r.log.Error("publish delta", "conversation", st.id, "err", err)
		g.cancel(errPublish)
	}
}

// history loads the conversation for the provider, oldest first, capped at
// MaxHistoryMessages.
func (r *Router) history(ctx context.Context, conversationID string) ([]llm.Message, error) {
	sctx, cancel := context.WithTimeout(ctx, r.cfg.StoreTimeout)
	defer cancel()
	page, err := r.cfg.Store.ListMessages(sctx, storage.MessageQuery{ConversationID: conversationID, Limit: r.cfg.MaxHistoryMessages, Order: storage.Descending})
	if err != nil {
		return nil, err
	}
	msgs := make([]llm.Message, 0, len(page.Messages))
	for _, m := range slices.Backward(page.Messages) {
		if strings.TrimSpace(m.Text) == "" {
			continue // a reply that failed before its first token
		}
		switch m.Role {
		case storage.RoleUser:
			msgs = append(msgs, llm.Message{Role: llm.RoleUser, Text: m.Text})
		case storage.RoleAssistant:
			msgs = append(msgs, llm.Message{Role: llm.RoleAssistant, Text: m.Text})
		case storage.RoleOperator:
			msgs = append(msgs, llm.Message{Role: llm.RoleOperator, Text: m.Text})
		}
	}
	return msgs, nil
}

// errPublish ends a reply whose events could not be published.
var errPublish = errors.New("events could not be published")

// errProviderPanic reports a provider that panicked; the reply ends with
// finish reason error instead of taking the process down.
var errProviderPanic = errors.New("provider panicked")

func startStream(ctx context.Context, p llm.Provider, req llm.Request) (st llm.Stream, err error) {
	defer func() {
		if v := recover(); v != nil {
			st, err = nil, fmt.Errorf("%w: %v", errProviderPanic, v)
		}
	}()
	return p.Stream(ctx, req)
}

func recvEvent(st llm.Stream) (ev llm.Event, err error) {
	defer func() {
		if v := recover(); v != nil {
			ev, err = llm.Event{}, fmt.Errorf("%w: %v", errProviderPanic, v)
		}
	}()
	return st.Recv()
}

// reserveGeneration takes one of userID's MaxGenerationsPerUser slots.
func (r *Router) reserveGeneration(userID string) bool {
	return r.acquireCount(r.userGens, userID, r.cfg.MaxGenerationsPerUser)
}

func (r *Router) releaseGeneration(userID string) { r.releaseCount(r.userGens, userID) }

// endAfterPanic makes a best effort to store and announce the end of a reply
// whose job panicked; host code may panic again, so each step is guarded.
func (r *Router) endAfterPanic(st *conversation, g *generation, perr *protocol.Error) {
	guard := func(step func()) {
		defer func() { _ = recover() }()
		step()
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.StoreTimeout)
	defer cancel()
	st.mu.Lock()
	text, model := g.text.String(), g.model
	st.mu.Unlock()
	if g.metricsStarted && !g.metricsEnded {
		g.metricsEnded = true
		r.cfg.Metrics.GenerationEnded(model, string(llm.FinishError), 0, 0, 0, 0)
	}
	now := r.cfg.Now().UTC()
	guard(func() {
		_ = r.cfg.Store.UpdateMessage(ctx, storage.Message{ID: g.replyID, ConversationID: st.id, Text: text,
			Status: storage.MessageComplete, FinishReason: string(llm.FinishError), Error: string(perr.Code), UpdatedAt: now})
	})
	guard(func() {
		_, _ = r.publish(ctx, st.id, &protocol.ServerFrame{Type: protocol.TypeReplyEnd, ConversationID: st.id,
			ReplyID: g.replyID, FinishReason: string(llm.FinishError), Error: perr.Body()})
	})
}
