package scripted

import "github.com/chatboxsdk/chatbox/llm"

// ToolResults returns the tool results a request's history ends with: the
// PartToolResult parts of its last message when that message has the
// role llm.RoleTool, else nil. A step (WithSteps) or responder uses it to
// tell "answer from these results" from "a new question".
func ToolResults(req llm.Request) []llm.Part {
	n := len(req.Messages)
	if n == 0 || req.Messages[n-1].Role != llm.RoleTool {
		return nil
	}
	var out []llm.Part
	for _, p := range req.Messages[n-1].Parts {
		if p.Kind == llm.PartToolResult {
			out = append(out, p)
		}
	}
	return out
}

// HasTool reports whether req declares a tool named name.
func HasTool(req llm.Request, name string) bool {
	for _, t := range req.Tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// CallOf returns the call of the latest PartToolCall part in req's
// history whose call id is id, so that a step can tell what a tool result
// answers. It reports false when there is none.
func CallOf(req llm.Request, id string) (llm.ToolCall, bool) {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		for _, p := range req.Messages[i].Parts {
			if p.Kind == llm.PartToolCall && p.Call.ID == id {
				return p.Call, true
			}
		}
	}
	return llm.ToolCall{}, false
}
