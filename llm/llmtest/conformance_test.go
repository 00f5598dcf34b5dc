package llmtest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
)

// The correct provider the broken ones derive from passes, so each broken
// one fails only because of its defect.
func TestCorrectProviderPasses(t *testing.T) {
	factory := func(t *testing.T, s llmtest.Scenario) llm.Provider { return correct(s) }
	llmtest.Run(t, factory)
	llmtest.RunToolCalls(t, factory)
	llmtest.RunReasoning(t, factory)
	llmtest.RunFiles(t, correctFiles)
}

func TestScenarioString(t *testing.T) {
	for s, want := range map[llmtest.Scenario]string{
		llmtest.Reply: "Reply", llmtest.Stall: "Stall", llmtest.FailBeforeStream: "FailBeforeStream",
		llmtest.FailMidStream: "FailMidStream", llmtest.ToolCallStreamed: "ToolCallStreamed",
		llmtest.TwoToolCalls: "TwoToolCalls", llmtest.ToolCallInOneChunk: "ToolCallInOneChunk",
		llmtest.Reasoning: "Reasoning", 0: "Scenario(0)",
	} {
		if got := s.String(); got != want {
			t.Errorf("Scenario(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestToolRequestIsFreshAndConsistent(t *testing.T) {
	a := llmtest.ToolRequest()
	a.Messages[1].Parts[0].Text = "changed"
	a.Tools[0].InputSchema[0] = '['
	b := llmtest.ToolRequest()
	if b.Messages[1].Parts[0].Text == "changed" || b.Tools[0].InputSchema[0] != '{' {
		t.Fatal("ToolRequest returns shared values")
	}
	for _, tool := range b.Tools {
		if !json.Valid(tool.InputSchema) {
			t.Errorf("tool %q: invalid schema", tool.Name)
		}
	}
	calls := map[string]bool{}
	for _, p := range b.Messages[1].Parts {
		if p.Kind == llm.PartToolCall {
			calls[p.Call.ID] = json.Valid([]byte(p.Call.Arguments))
		}
	}
	last := b.Messages[len(b.Messages)-1]
	if last.Role != llm.RoleTool || len(last.Parts) != len(calls) {
		t.Fatalf("the history ends with %+v, want one result per call", last)
	}
	for _, p := range last.Parts {
		if valid, ok := calls[p.Call.ID]; p.Kind != llm.PartToolResult || !ok || !valid {
			t.Errorf("result %+v answers no call with valid arguments", p)
		}
	}
	for _, args := range []string{llmtest.ToolArguments, llmtest.OtherToolArguments} {
		if !json.Valid([]byte(args)) {
			t.Errorf("invalid arguments %s", args)
		}
	}
}

func TestFileRequestIsFreshAndHoldsRealFiles(t *testing.T) {
	a := llmtest.FileRequest()
	a.Messages[0].Parts[1].File.Data[0] = 'X'
	a.Messages[0].Parts[2].File.Name = "changed"
	b := llmtest.FileRequest()
	parts := b.Messages[0].Parts
	if parts[1].File.Data[0] == 'X' || parts[2].File.Name == "changed" {
		t.Fatal("FileRequest returns shared values")
	}
	if len(parts) != 5 || parts[0].Kind != llm.PartText || parts[0].Text != llmtest.FilePrompt {
		t.Fatalf("parts %+v", parts)
	}
	for _, p := range parts[1:] {
		f := p.File
		if got := http.DetectContentType(f.Data); !strings.HasPrefix(got, strings.Split(f.MediaType, ";")[0]) {
			t.Errorf("%s: %s sniffed as %s", f.Name, f.MediaType, got)
		}
	}
	if txt := parts[4].File; txt.Name != llmtest.TextFileName || string(txt.Data) != llmtest.TextFileContent {
		t.Fatalf("text file %+v", txt)
	}
}
