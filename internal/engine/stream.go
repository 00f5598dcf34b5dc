package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// errProviderPanic reports a provider that panicked; the reply ends with
// finish reason error instead of taking the process down.
var errProviderPanic = errors.New("provider panicked")

// stream relays the model's events for one step of the reply, recording
// them in g.record, and returns how the step ended with the tool calls the
// model asked for. The model's provider falls back along its chain before
// the first delta (modelSet); out.model names the model that answered.
func (e *Engine) stream(g *generation, pump *deltaPump, req llm.Request, m *modelEntry) (outcome, []llm.ToolCall) {
	observed := len(m.chain) > 1 // the fallback chain records failures before the first delta
	st, err := startStream(g.ctx, m.provider, req)
	if err != nil {
		out := e.failure(g, err)
		if !observed && g.ctx.Err() == nil {
			e.cfg.Metrics.ProviderError(m.model.ID, string(llm.KindOf(err)))
		}
		out.model = m.chain[len(m.chain)-1].ID // every model failed; the last one's failure is reported
		if len(m.chain) == 1 || !out.retryable {
			out.model = m.model.ID
		}
		return out, nil
	}
	defer st.Close()
	var usage llm.Usage
	var calls []llm.ToolCall
	// Without tools (and not resuming a reply that had them) the record
	// holds only reasoning, with where in the text it came: the text is the
	// reply's own (g.text), not copied again per delta.
	plain := len(req.Tools) == 0 && g.resumed == nil
	var run textRun
	defer func() { g.record = run.flush(g.record) }()
	var ids callIDs
	streamed := false
	answering := func() string { return m.chain[llm.Answered(st)].ID }
	for {
		ev, err := recvEvent(st)
		if err != nil {
			eof := errors.Is(err, io.EOF)
			if eof {
				err = &llm.Error{Kind: llm.KindUnavailable, Provider: "stream", Err: errors.New("stream ended without a finish event")}
			}
			out := e.failure(g, err)
			out.usage, out.model = usage, answering()
			if (streamed || eof || !observed) && g.ctx.Err() == nil {
				// Failures before the first delta were counted by the
				// fallback chain's observer; these it does not see.
				e.cfg.Metrics.ProviderError(out.model, string(llm.KindOf(err)))
			}
			return out, calls
		}
		switch ev.Kind {
		case llm.EventDelta:
			if ev.Text == "" {
				continue
			}
			if g.firstDelta.IsZero() {
				g.firstDelta = e.cfg.Now()
			}
			streamed = true
			if plain {
				g.record = run.flush(g.record)
				g.textBytes += len(ev.Text)
			} else {
				g.record = run.add(g.record, storage.PartText, ev.Text, "")
			}
			pump.add(ev.Text)
			if g.overBudget(ev.Text) {
				return outcome{reason: llm.FinishBudget, usage: usage, model: answering()}, nil
			}
		case llm.EventReasoning:
			streamed = true
			if ev.Text == "" && ev.Signature == "" {
				continue
			}
			if plain && (run.kind != storage.PartReasoning || run.sig != "") {
				g.reasoningAt = append(g.reasoningAt, g.textBytes) // a new reasoning part, after this much text
			}
			g.record = run.add(g.record, storage.PartReasoning, ev.Text, ev.Signature)
			if ev.Text != "" {
				pump.addReasoning(ev.Text)
			}
		case llm.EventToolCallStart:
			if plain {
				continue
			}
			streamed = true
			pump.addFrame(toolFrame(protocol.TypeToolCall, g, &protocol.ToolCall{ID: ids.of(g.record, ev.Call.ID), Name: ev.Call.Name, Status: protocol.ToolStarted}))
		case llm.EventToolCallDelta:
			if ev.Text != "" && !plain {
				f := toolFrame(protocol.TypeToolDelta, g, &protocol.ToolCall{ID: ids.of(g.record, ev.Call.ID)})
				f.Text = ev.Text
				pump.addFrame(f)
			}
		case llm.EventToolCall:
			if plain {
				continue // no tool was offered: nothing to run
			}
			streamed = true
			ev.Call.ID = ids.complete(g.record, ev.Call.ID)
			calls = append(calls, ev.Call)
			g.record = append(run.flush(g.record), storage.Part{Kind: storage.PartToolCall, CallID: ev.Call.ID, Name: ev.Call.Name, Arguments: ev.Call.Arguments})
		case llm.EventUsage:
			usage = ev.Usage
		case llm.EventFinish:
			reason := ev.FinishReason
			switch {
			case reason == llm.FinishLength, reason == llm.FinishContentFilter:
				// Cut off: its calls may be half written and are not run.
			case len(calls) > 0:
				reason = llm.FinishToolCalls // some servers say stop although they called tools
			case reason == "", reason == llm.FinishToolCalls:
				reason = llm.FinishStop // nothing to call
			}
			return outcome{reason: reason, usage: usage, model: answering()}, calls
		}
	}
}

// failure turns a stream error into an outcome, telling a cancellation
// (stop, end, shutdown, time limit) from a provider failure.
func (e *Engine) failure(g *generation, err error) outcome {
	if g.ctx.Err() != nil {
		switch cause := context.Cause(g.ctx); {
		case errors.Is(cause, errStopped), errors.Is(cause, errEnded):
			return outcome{reason: llm.FinishAbort}
		case errors.Is(cause, errHandoff):
			return outcome{reason: llm.FinishHandoff}
		case errors.Is(cause, errShutdown), errors.Is(cause, errLeaseLost):
			return outcome{reason: llm.FinishInterrupted}
		case errors.Is(cause, errBudget):
			return outcome{reason: llm.FinishBudget}
		case errors.Is(cause, errPublish):
			return outcome{reason: llm.FinishError, err: protocol.Errorf(protocol.CodeUnavailable, "the reply could not be delivered")}
		case errors.Is(cause, context.DeadlineExceeded):
			return outcome{reason: llm.FinishTimeout, err: protocol.Errorf(protocol.CodeTimeout, "the reply took longer than the server allows")}
		}
		return outcome{reason: llm.FinishAbort}
	}
	kind := llm.KindOf(err)
	e.replyLog(g).Warn("provider failed", "kind", kind, "err", err)
	var le *llm.Error
	retryable := errors.As(err, &le) && le.Retryable()
	perr := protocol.Errorf(protocol.CodeProviderError, "the model failed to answer (%s)", kind)
	return outcome{reason: llm.FinishError, err: perr, retryable: retryable}
}

// withText puts a plain reply's text between its reasoning parts, each
// recorded with the length of text before it (at).
func withText(reasoning []storage.Part, at []int, text string) []storage.Part {
	if len(reasoning) == 0 || len(at) != len(reasoning) {
		return reasoning
	}
	parts := make([]storage.Part, 0, 2*len(reasoning)+1)
	pos := 0
	for i, r := range reasoning {
		if o := min(at[i], len(text)); o > pos {
			parts = append(parts, storage.Part{Kind: storage.PartText, Text: text[pos:o]})
			pos = o
		}
		parts = append(parts, r)
	}
	if pos < len(text) {
		parts = append(parts, storage.Part{Kind: storage.PartText, Text: text[pos:]})
	}
	return parts
}

// textRun gathers the text or reasoning the model streams into one part,
// without copying the text so far on every delta.
type textRun struct {
	kind storage.PartKind
	text strings.Builder
	sig  string
}

// add records a piece of text or reasoning; a reasoning signature closes
// the block it signs. It returns parts with any finished run appended.
func (r *textRun) add(parts []storage.Part, kind storage.PartKind, text, sig string) []storage.Part {
	if r.kind != kind || r.sig != "" {
		parts = r.flush(parts)
		r.kind = kind
	}
	r.text.WriteString(text)
	if sig != "" {
		r.sig = sig
	}
	return parts
}

// flush appends the run to parts (to their last part when it is text of
// the same kind) and starts afresh.
func (r *textRun) flush(parts []storage.Part) []storage.Part {
	if r.text.Len() == 0 && r.sig == "" {
		return parts
	}
	text := r.text.String()
	if n := len(parts); n > 0 && r.kind == storage.PartText && parts[n-1].Kind == storage.PartText {
		parts[n-1].Text += text
	} else {
		parts = append(parts, storage.Part{Kind: r.kind, Text: text, Signature: r.sig})
	}
	r.text.Reset()
	r.sig, r.kind = "", ""
	return parts
}

// callIDs keeps the ids of one step's calls unique in the reply: a
// provider may reuse an id of an earlier step (or of the same step), and a
// call must be told from another by its id everywhere (its result, the
// store, the clients). A reused id is renamed for the whole call.
type callIDs struct {
	renamed map[string]string // the provider's id -> the reply's, for calls begun in this step
}

// of returns the reply's id for a call the provider names id.
func (c *callIDs) of(record []storage.Part, id string) string {
	if v, ok := c.renamed[id]; ok {
		return v
	}
	v := uniqueCallID(record, id, c.renamed)
	if c.renamed == nil {
		c.renamed = map[string]string{}
	}
	c.renamed[id] = v
	return v
}

// complete returns the id of a whole call and forgets it, so a later call
// reusing the provider's id in this step gets an id of its own.
func (c *callIDs) complete(record []storage.Part, id string) string {
	v := c.of(record, id)
	if findCall(record, v) >= 0 { // a second whole call with the id
		v = uniqueCallID(record, id+"_", c.renamed)
	}
	delete(c.renamed, id)
	return v
}

func uniqueCallID(record []storage.Part, id string, taken map[string]string) string {
	inUse := func(v string) bool {
		if findCall(record, v) >= 0 {
			return true
		}
		for _, t := range taken {
			if t == v {
				return true
			}
		}
		return false
	}
	if id == "" {
		id = "call"
	}
	v := id
	for n := 2; inUse(v); n++ {
		v = id + "_" + strconv.Itoa(n)
	}
	return v
}

// toolFrame is an event about one of g's tool calls.
func toolFrame(kind string, g *generation, call *protocol.ToolCall) *protocol.ServerFrame {
	return &protocol.ServerFrame{Type: kind, ConversationID: g.convID, ReplyID: g.replyID, Call: call}
}

// history loads the conversation for the provider, oldest first, capped at
// MaxHistoryMessages.
// The reply being generated (skipID) is left out: its own record follows.
func (e *Engine) history(ctx context.Context, conversationID, skipID string) ([]llm.Message, error) {
	sctx, cancel := withDeadline(ctx, e.cfg.StoreTimeout)
	defer cancel()
	page, err := e.cfg.Store.ListMessages(sctx, storage.MessageQuery{ConversationID: conversationID, Limit: e.cfg.MaxHistoryMessages, Order: storage.Descending})
	if err != nil {
		return nil, err
	}
	msgs := make([]llm.Message, 0, len(page.Messages))
	for _, m := range slices.Backward(page.Messages) {
		if m.ID == skipID || len(m.Parts) == 0 && strings.TrimSpace(m.Text) == "" {
			continue // a reply that failed before its first token
		}
		switch m.Role {
		case storage.RoleUser:
			msgs = append(msgs, e.userTurn(sctx, m))
		case storage.RoleAssistant:
			if len(m.Parts) == 0 {
				msgs = append(msgs, llm.Message{Role: llm.RoleAssistant, Text: m.Text})
			} else {
				msgs = append(msgs, llmTurns(m, llm.RoleAssistant)...)
			}
		case storage.RoleOperator:
			msgs = append(msgs, llm.Message{Role: llm.RoleOperator, Text: m.Text})
		}
	}
	return msgs, nil
}

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
