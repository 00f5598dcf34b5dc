package engine

import (
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// converse runs the reply's steps: the model answers, or asks for tool
// calls that run (approved first when they need it) before the model is
// asked again with their results. It returns how the reply ended, or that
// it paused for approvals.
func (e *Engine) converse(c *conversation, g *generation, pump *deltaPump, reply *storage.Message, req llm.Request, m *modelEntry) outcome {
	box := e.toolbox()
	base := req.Messages
	if box == nil {
		base = withoutTools(base) // providers refuse tool calls in a request that declares no tools
	}
	g.usage = llm.Usage(reply.Usage) // a resumed reply carries its earlier steps' usage
	if g.resumed != nil {
		if out, done := e.afterApproval(c, g, pump, reply, box); done {
			out.usage = g.usage
			return out
		}
	}
	for step := stepsTaken(g.record) + 1; ; step++ {
		req.Messages = base
		if len(g.record) > 0 {
			req.Messages = append(base[:len(base):len(base)], llmTurns(storage.Message{Parts: g.record}, llm.RoleAssistant)...)
		}
		req.Tools = box.toolDefs()
		out, calls := e.stream(g, pump, req, m)
		g.usage = addUsage(g.usage, out.usage)
		out.usage = g.usage
		if out.reason != llm.FinishToolCalls {
			return out
		}
		if step >= e.cfg.MaxToolSteps {
			for _, call := range calls {
				e.recordResult(c, g, pump, reply, call.ID, toolOutcome{code: string(llm.FinishMaxSteps), text: "not run: the reply reached its step limit"})
			}
			out.reason = llm.FinishMaxSteps
			return out
		}
		if stop, paused := e.runStep(c, g, pump, reply, calls, box); stop != nil || paused {
			if stop != nil {
				stop.usage, stop.model = g.usage, out.model
				return *stop
			}
			return outcome{paused: true, usage: g.usage, model: out.model}
		}
		if g.ctx.Err() != nil { // stopped while the tools ran
			o := e.failure(g, g.ctx.Err())
			o.usage, o.model = g.usage, out.model
			return o
		}
	}
}

// runStep stores the step's calls, runs those that need no approval and
// stores their results, then pauses the reply if some call needs an
// approval. stop is set when the reply must end (its calls could not be
// stored, so none may run).
func (e *Engine) runStep(c *conversation, g *generation, pump *deltaPump, reply *storage.Message, calls []llm.ToolCall, box *toolbox) (stop *outcome, paused bool) {
	now := e.cfg.Now().UTC()
	var run, asks, unknown []string
	for _, call := range calls {
		t := box.find(call.Name)
		i := findCall(g.record, call.ID)
		switch {
		case i < 0:
			continue // recorded by stream; cannot happen
		case t == nil:
			unknown = append(unknown, call.ID)
		case t.NeedsApproval():
			g.record[i].Approval = storage.ApprovalPending
			g.record[i].ApprovalExpiresAt = now.Add(e.cfg.ApprovalTTL).Truncate(time.Millisecond)
			asks = append(asks, call.ID)
		default:
			run = append(run, call.ID)
		}
	}
	// Every call is stored before any runs: a call that is stored without
	// its result never runs again on its own.
	if err := e.storeProgress(g, reply, storage.MessageStreaming); err != nil {
		return &outcome{reason: llm.FinishError, err: storeError(e.replyLog(g), err, "store tool calls")}, false
	}
	for _, id := range unknown {
		e.recordResult(c, g, pump, reply, id, toolOutcome{code: "unknown_tool", text: "no tool has this name"})
	}
	e.runCalls(c, g, pump, reply, run, box)
	if len(asks) == 0 || g.ctx.Err() != nil {
		return nil, false
	}
	if err := e.storeProgress(g, reply, storage.MessageAwaitingApproval); err != nil {
		return &outcome{reason: llm.FinishError, err: storeError(e.replyLog(g), err, "store approval requests")}, false
	}
	for _, id := range asks {
		p := g.record[findCall(g.record, id)]
		at := p.ApprovalExpiresAt
		pump.addFrame(toolFrame(protocol.TypeApprovalRequest, g, &protocol.ToolCall{
			ID: p.CallID, Name: p.Name, Arguments: p.Arguments, Status: protocol.ToolAwaitingApproval, ExpiresAt: &at,
		}))
	}
	return nil, true
}

// afterApproval takes up a reply whose approvals were all answered: the
// approved calls run, the others get their refusal as result. done is set
// when the reply ends here: an operator holds the conversation, so the
// model is not asked again.
func (e *Engine) afterApproval(c *conversation, g *generation, pump *deltaPump, reply *storage.Message, box *toolbox) (outcome, bool) {
	var run []string
	for _, p := range g.record {
		if p.Kind != storage.PartToolCall || hasResult(g.record, p.CallID) {
			continue
		}
		switch p.Approval {
		case storage.ApprovalApproved:
			run = append(run, p.CallID)
		case storage.ApprovalDenied:
			e.recordResult(c, g, pump, reply, p.CallID, toolOutcome{code: protocol.ToolDenied, text: "the call was not approved"})
		case storage.ApprovalExpired:
			e.recordResult(c, g, pump, reply, p.CallID, toolOutcome{code: protocol.ToolExpired, text: "nobody answered the approval request in time"})
		default:
			e.recordResult(c, g, pump, reply, p.CallID, toolOutcome{code: "not_run", text: "the call did not run"})
		}
	}
	e.runCalls(c, g, pump, reply, run, box)
	if g.ctx.Err() != nil {
		return e.failure(g, g.ctx.Err()), true
	}
	if g.handoff {
		return outcome{reason: llm.FinishHandoff}, true
	}
	return outcome{}, false
}

// storeProgress writes the reply's parts so far with the given status.
func (e *Engine) storeProgress(g *generation, reply *storage.Message, status storage.MessageStatus) error {
	m := *reply
	m.Parts = g.record
	m.Text = llm.MessageText(llmView(g.record))
	m.Status = status
	m.Usage = storage.Usage(g.usage)
	m.UpdatedAt = e.cfg.Now().UTC()
	pctx, cancel := e.persistCtx(g.ctx)
	defer cancel()
	return e.cfg.Store.UpdateMessage(pctx, m)
}

// llmView reads a record's text parts as an llm message.
func llmView(parts []storage.Part) llm.Message {
	m := llm.Message{Parts: make([]llm.Part, 0, len(parts))}
	for _, p := range parts {
		if p.Kind == storage.PartText {
			m.Parts = append(m.Parts, llm.Part{Kind: llm.PartText, Text: p.Text})
		}
	}
	return m
}

// stepsTaken counts the model steps a record holds: one per group of
// calls answered.
func stepsTaken(parts []storage.Part) int {
	n := 0
	afterCall := false
	for _, p := range parts {
		switch p.Kind {
		case storage.PartToolCall:
			if !afterCall {
				n++
			}
			afterCall = true
		case storage.PartToolResult:
		default:
			afterCall = false
		}
	}
	return n
}

// earliestExpiry is when the first pending approval of a record lapses.
func earliestExpiry(parts []storage.Part) time.Time {
	var at time.Time
	for _, p := range parts {
		if p.Approval == storage.ApprovalPending && (at.IsZero() || p.ApprovalExpiresAt.Before(at)) {
			at = p.ApprovalExpiresAt
		}
	}
	return at
}

func addUsage(a, b llm.Usage) llm.Usage {
	return llm.Usage{
		InputTokens: a.InputTokens + b.InputTokens, OutputTokens: a.OutputTokens + b.OutputTokens,
		CachedInputTokens: a.CachedInputTokens + b.CachedInputTokens, ReasoningTokens: a.ReasoningTokens + b.ReasoningTokens,
	}
}

// withoutTools drops the tool calls and results of a history, keeping its
// text, reasoning and files; a history without them is returned as it is.
func withoutTools(msgs []llm.Message) []llm.Message {
	has := false
	for _, m := range msgs {
		has = has || m.Role == llm.RoleTool || len(m.Parts) > 0
	}
	if !has {
		return msgs
	}
	out := make([]llm.Message, 0, len(msgs))
	for _, m := range msgs {
		if m.Role == llm.RoleTool {
			continue
		}
		if len(m.Parts) > 0 {
			var kept []llm.Part
			for _, p := range m.Parts {
				if p.Kind == llm.PartText || p.Kind == llm.PartReasoning || p.Kind == llm.PartFile {
					kept = append(kept, p)
				}
			}
			if len(kept) == 0 {
				continue
			}
			m.Parts = kept
		}
		out = append(out, m)
	}
	return out
}
