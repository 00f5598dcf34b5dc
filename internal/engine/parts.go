package engine

import (
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// A reply with tools is recorded as storage parts, in the order the model
// produced them: [reasoning] [text] call... result... then the next step's
// parts. The same record is the reply's history for its next step, what
// the store keeps, and (through wireParts) what clients are shown.

// hasMoreThanText reports whether parts hold anything but text, so a plain
// reply is stored and shown without parts, as before tools existed.
func hasMoreThanText(parts []storage.Part) bool {
	for _, p := range parts {
		if p.Kind != storage.PartText {
			return true
		}
	}
	return false
}

// findCall returns the index of the call's tool_call part, or -1.
func findCall(parts []storage.Part, callID string) int {
	for i, p := range parts {
		if p.Kind == storage.PartToolCall && p.CallID == callID {
			return i
		}
	}
	return -1
}

// hasResult reports whether the call has its result in parts.
func hasResult(parts []storage.Part, callID string) bool {
	for _, p := range parts {
		if p.Kind == storage.PartToolResult && p.CallID == callID {
			return true
		}
	}
	return false
}

// llmTurns turns a stored assistant message into the turns a provider
// reads: one assistant turn per step, each followed by a tool turn with
// the results of its calls. A call left without a result (the reply was
// interrupted, or a newer message came first) gets an error result, since
// providers refuse a call that is never answered.
func llmTurns(m storage.Message, role llm.Role) []llm.Message {
	if len(m.Parts) == 0 {
		return []llm.Message{{Role: role, Text: m.Text}}
	}
	var turns []llm.Message
	var step []llm.Part
	results := map[string]storage.Part{}
	var calls []storage.Part
	flush := func() {
		if len(step) > 0 {
			turns = append(turns, llm.Message{Role: role, Parts: step})
		}
		if len(calls) > 0 {
			out := make([]llm.Part, 0, len(calls))
			for _, c := range calls {
				r, ok := results[c.CallID]
				if !ok {
					r = storage.Part{Text: "the call did not run", IsError: true}
				}
				out = append(out, llm.Part{Kind: llm.PartToolResult, Text: r.Text, IsError: r.IsError, Call: llm.ToolCall{ID: c.CallID, Name: c.Name}})
			}
			turns = append(turns, llm.Message{Role: llm.RoleTool, Parts: out})
		}
		step, calls, results = nil, nil, map[string]storage.Part{}
	}
	afterResults := false
	for _, p := range m.Parts {
		if p.Kind == storage.PartToolResult {
			results[p.CallID] = p
			afterResults = true
			continue
		}
		if afterResults { // the next step begins
			flush()
			afterResults = false
		}
		switch p.Kind {
		case storage.PartText:
			step = append(step, llm.Part{Kind: llm.PartText, Text: p.Text})
		case storage.PartReasoning:
			step = append(step, llm.Part{Kind: llm.PartReasoning, Text: p.Text, Signature: p.Signature})
		case storage.PartToolCall:
			step = append(step, llm.Part{Kind: llm.PartToolCall, Call: llm.ToolCall{ID: p.CallID, Name: p.Name, Arguments: p.Arguments}})
			calls = append(calls, p)
		}
	}
	flush()
	return turns
}

// wireParts is what clients see of a message's parts: text, reasoning, and
// one tool part per call with its status and result. Nil for a plain
// message.
func wireParts(m storage.Message) []protocol.Part {
	if !hasMoreThanText(m.Parts) {
		return nil
	}
	out := make([]protocol.Part, 0, len(m.Parts))
	byCall := map[string]*protocol.ToolCall{}
	for _, p := range m.Parts {
		switch p.Kind {
		case storage.PartText, storage.PartReasoning:
			kind := protocol.PartText
			if p.Kind == storage.PartReasoning {
				kind = protocol.PartReasoning
			}
			out = append(out, protocol.Part{Type: kind, Text: p.Text})
		case storage.PartToolCall:
			call := &protocol.ToolCall{ID: p.CallID, Name: p.Name, Arguments: p.Arguments, Status: callStatus(m, p)}
			if p.Approval == storage.ApprovalPending {
				at := p.ApprovalExpiresAt
				call.ExpiresAt = &at
			}
			byCall[p.CallID] = call
			out = append(out, protocol.Part{Type: protocol.PartTool, Call: call})
		case storage.PartFile:
			out = append(out, protocol.Part{Type: protocol.PartFile, File: &protocol.File{ID: p.FileID, Name: p.FileName, MediaType: p.MediaType}})
		case storage.PartToolResult:
			call := byCall[p.CallID]
			if call == nil {
				call = &protocol.ToolCall{ID: p.CallID, Name: p.Name}
				out = append(out, protocol.Part{Type: protocol.PartTool, Call: call})
			}
			call.Status, call.Result, call.ErrorCode = resultStatus(p), p.Text, p.ErrorCode
			call.ExpiresAt = nil
		}
	}
	return out
}

// callStatus is the status of a call that has no result (yet).
func callStatus(m storage.Message, p storage.Part) string {
	switch {
	case p.Approval == storage.ApprovalPending:
		return protocol.ToolAwaitingApproval
	case m.Status == storage.MessageComplete:
		return protocol.ToolError // the reply ended before the call did
	default:
		return protocol.ToolRunning
	}
}

func resultStatus(p storage.Part) string {
	switch {
	case !p.IsError:
		return protocol.ToolDone
	case p.ErrorCode == protocol.ToolDenied, p.ErrorCode == protocol.ToolExpired:
		return p.ErrorCode
	default:
		return protocol.ToolError
	}
}

// shownParts is a reply's parts as its published events showed them, for
// the snapshot an open gets while the reply streams. Guarded by the
// conversation's mu.
type shownParts struct {
	parts []protocol.Part
}

func newShownParts(text string) *shownParts {
	s := &shownParts{}
	if text != "" {
		s.parts = append(s.parts, protocol.Part{Type: protocol.PartText, Text: text})
	}
	return s
}

func (s *shownParts) addText(kind, text string) {
	if n := len(s.parts); n > 0 && s.parts[n-1].Type == kind {
		s.parts[n-1].Text += text
		return
	}
	s.parts = append(s.parts, protocol.Part{Type: kind, Text: text})
}

// apply records a published event of the reply.
func (s *shownParts) apply(f *protocol.ServerFrame) {
	switch f.Type {
	case protocol.TypeReplyReasoning:
		s.addText(protocol.PartReasoning, f.Text)
	case protocol.TypeToolDelta:
		if c := s.call(f.Call.ID); c != nil {
			c.Arguments += f.Text
		}
	case protocol.TypeToolCall, protocol.TypeApprovalRequest, protocol.TypeToolResult:
		c := s.call(f.Call.ID)
		if c == nil {
			s.parts = append(s.parts, protocol.Part{Type: protocol.PartTool, Call: &protocol.ToolCall{ID: f.Call.ID}})
			c = s.parts[len(s.parts)-1].Call
		}
		if f.Call.Name != "" {
			c.Name = f.Call.Name
		}
		if f.Call.Arguments != "" {
			c.Arguments = f.Call.Arguments
		}
		c.Status, c.Result, c.ErrorCode, c.ExpiresAt = f.Call.Status, f.Call.Result, f.Call.ErrorCode, f.Call.ExpiresAt
	}
}

func (s *shownParts) call(id string) *protocol.ToolCall {
	for i := range s.parts {
		if c := s.parts[i].Call; c != nil && c.ID == id {
			return c
		}
	}
	return nil
}

// snapshot copies the parts for a frame.
func (s *shownParts) snapshot() []protocol.Part {
	out := make([]protocol.Part, len(s.parts))
	for i, p := range s.parts {
		out[i] = p
		if p.Call != nil {
			c := *p.Call
			out[i].Call = &c
		}
	}
	return out
}
