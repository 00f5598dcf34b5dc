package engine

import (
	"fmt"
	"sync"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/tools"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// toolbox is the tools offered to one reply.
type toolbox struct {
	set  *tools.Set
	defs []llm.ToolDef // nil without tools: the request then declares none
}

// toolDefs declares the tools to the model; nil without tools.
func (b *toolbox) toolDefs() []llm.ToolDef {
	if b == nil {
		return nil
	}
	return b.defs
}

func (b *toolbox) find(name string) tools.Tool {
	if b == nil {
		return nil
	}
	t, _ := b.set.Lookup(name)
	return t
}

// toolbox lists the tools for a reply: the host's, then its sources'
// current ones. A source's tool that cannot be offered is logged and left
// out.
func (e *Engine) toolbox() *toolbox {
	if len(e.cfg.Tools) == 0 && len(e.cfg.ToolSources) == 0 {
		return nil
	}
	set, err := tools.Collect(e.cfg.Tools, e.cfg.ToolSources)
	if err != nil {
		e.log.Warn("some tools are not offered to the model", "err", err)
	}
	return &toolbox{set: set, defs: set.Defs()}
}

// toolOutcome is how a call ended, as the model and the store get it.
type toolOutcome struct {
	text  string
	code  string // "" for success
	cause error  // for the log only
}

// runCalls runs the calls (their ids) at most MaxParallelTools at a time,
// storing and publishing each result as it comes. A stop cancels the
// calls' context; every call still gets a result.
func (e *Engine) runCalls(c *conversation, g *generation, pump *deltaPump, reply *storage.Message, ids []string, box *toolbox) {
	if len(ids) == 0 {
		return
	}
	type done struct {
		id  string
		out toolOutcome
	}
	results := make(chan done, len(ids))
	sem := make(chan struct{}, e.cfg.MaxParallelTools)
	var wg sync.WaitGroup
	for _, id := range ids {
		p := g.record[findCall(g.record, id)]
		pump.addFrame(toolFrame(protocol.TypeToolCall, g, &protocol.ToolCall{ID: p.CallID, Name: p.Name, Arguments: p.Arguments, Status: protocol.ToolRunning}))
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results <- done{id: p.CallID, out: e.callTool(g, box.find(p.Name), p)}
		}()
	}
	for range ids {
		d := <-results
		e.recordResult(c, g, pump, reply, d.id, d.out)
	}
	wg.Wait()
}

// callTool runs one call; host code may panic in any of its steps.
func (e *Engine) callTool(g *generation, t tools.Tool, p storage.Part) (out toolOutcome) {
	defer func() {
		if v := recover(); v != nil {
			out = toolOutcome{code: tools.CodePanic, text: "the tool failed", cause: fmt.Errorf("panic: %v", v)}
		}
	}()
	if t == nil {
		return toolOutcome{code: "unknown_tool", text: "no tool has this name"}
	}
	ctx := tools.WithCaller(g.ctx, tools.Caller{UserID: g.userID, ConversationID: g.convID, ReplyID: g.replyID, CallID: p.CallID})
	res := tools.Invoke(ctx, t, p.Arguments, e.cfg.ToolTimeout)
	e.awaitStray(res.Done)
	if !res.IsError {
		return toolOutcome{text: res.Content}
	}
	return toolOutcome{text: res.Content, code: res.Code, cause: res.Err}
}

// awaitStray keeps count of a tool still running after its call returned
// (it ignored its context), so Shutdown can wait for it within its
// deadline. Once Shutdown waits, a stray is no longer counted.
func (e *Engine) awaitStray(done <-chan struct{}) {
	select {
	case <-done:
		return
	default:
	}
	e.mu.Lock()
	if e.straysClosed {
		e.mu.Unlock()
		return
	}
	e.strayWG.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.strayWG.Done()
		<-done
	}()
}

// recordResult adds a call's result to the reply, stores it at once and
// publishes it.
func (e *Engine) recordResult(c *conversation, g *generation, pump *deltaPump, reply *storage.Message, callID string, out toolOutcome) {
	i := findCall(g.record, callID)
	if i < 0 || hasResult(g.record, callID) {
		return
	}
	name := g.record[i].Name
	g.record = append(g.record, storage.Part{Kind: storage.PartToolResult, CallID: callID, Name: name, Text: out.text, IsError: out.code != "", ErrorCode: out.code})
	if out.code != "" && out.code != protocol.ToolDenied && out.code != protocol.ToolExpired {
		e.replyLog(g).Warn("tool call failed", "tool", name, "call", callID, "code", out.code, "err", out.cause)
	}
	if err := e.storeProgress(g, reply, storage.MessageStreaming); err != nil {
		// The reply's end stores it again; until then a restart would see
		// the call without its result and not run it again.
		e.replyLog(g).Error("store tool result", "call", callID, "err", err)
	}
	last := g.record[len(g.record)-1]
	pump.addFrame(toolFrame(protocol.TypeToolResult, g, &protocol.ToolCall{ID: callID, Name: name, Status: resultStatus(last), Result: out.text, ErrorCode: out.code}))
}

// closeOpenCalls gives every call of an ending reply that has no result
// one, and publishes it: a call cut off, stopped or never answered is
// shown as not run, never as running or waiting for approval.
func (e *Engine) closeOpenCalls(c *conversation, g *generation, out outcome) {
	code, text := "not_run", "the call did not run: the reply ended first"
	if g.ctx.Err() != nil {
		code, text = tools.CodeCancelled, "the call did not run: the reply was stopped"
	}
	for i := range g.record {
		p := &g.record[i]
		if p.Kind != storage.PartToolCall || hasResult(g.record, p.CallID) {
			continue
		}
		if p.Approval == storage.ApprovalPending {
			p.Approval = storage.ApprovalDenied
		}
		g.record = append(g.record, storage.Part{Kind: storage.PartToolResult, CallID: p.CallID, Name: p.Name, Text: text, IsError: true, ErrorCode: code})
		e.publishReply(g, c, toolFrame(protocol.TypeToolResult, g, &protocol.ToolCall{ID: p.CallID, Name: p.Name, Status: protocol.ToolError, Result: text, ErrorCode: code}))
	}
}
