package chatbox_test

import (
	"context"
	"sync"
	"testing"

	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/tools/mcp"
	"github.com/chatboxsdk/chatbox/protocol"
)

// The tools of an MCP server reach the model through the Server: listed in
// its request, called, and their results (or the server's failure) given
// back in the next step.
func TestToolsOfAnMCPServerReachTheModel(t *testing.T) {
	ctx := testCtx(t)
	server := mcpsdk.NewServer(&mcpsdk.Implementation{Name: "docs", Version: "1"}, nil)
	type searchIn struct {
		Query string `json:"query" jsonschema:"what to look for"`
	}
	entered := make(chan struct{})
	mcpsdk.AddTool(server, &mcpsdk.Tool{Name: "search", Description: "Searches the docs."},
		func(_ context.Context, _ *mcpsdk.CallToolRequest, in searchIn) (*mcpsdk.CallToolResult, any, error) {
			return &mcpsdk.CallToolResult{Content: []mcpsdk.Content{&mcpsdk.TextContent{Text: "3 pages about " + in.Query}}}, nil, nil
		})
	mcpsdk.AddTool(server, &mcpsdk.Tool{Name: "hang", Description: "Never answers."},
		func(ctx context.Context, _ *mcpsdk.CallToolRequest, _ struct{}) (*mcpsdk.CallToolResult, any, error) {
			close(entered)
			<-ctx.Done()
			return nil, nil, ctx.Err()
		})
	ct, st := mcpsdk.NewInMemoryTransports()
	conn := &capturedConn{Transport: st}
	serving, err := server.Connect(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer serving.Close()
	docs, err := mcp.Connect(ctx, ct, mcp.WithNamePrefix("docs_"))
	if err != nil {
		t.Fatal(err)
	}
	defer docs.Close()

	model := &stepModel{respond: func(step int, req llm.Request) []llm.Event {
		switch step {
		case 1:
			return callTool("s1", "docs_search", `{"query":"refunds"}`)
		case 3:
			return callTool("h1", "docs_hang", `{}`)
		}
		res := lastToolResults(req)
		if len(res) != 1 {
			return answer("no result")
		}
		if res[0].IsError {
			return answer("failed: " + res[0].Text)
		}
		return answer("found " + res[0].Text)
	}}
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model, Options: []chatbox.Option{chatbox.WithToolSource(docs)}})
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "how do refunds work?"); err != nil {
		t.Fatal(err)
	}
	if r, _, err := c.ReadReply(ctx, conv, nil); err != nil || r.Text != "found 3 pages about refunds" {
		t.Fatalf("reply %+v, %v", r, err)
	}
	reqs := model.requests()
	if names := toolNames(reqs[0]); names != "docs_hang docs_search" && names != "docs_search docs_hang" {
		t.Fatalf("the model was offered %q", names)
	}

	// The MCP server goes away while a call runs: the model gets an error.
	if _, err := c.Send(ctx, conv, "m2", "and now?"); err != nil {
		t.Fatal(err)
	}
	<-entered
	_ = conn.close() // the connection breaks under the running call
	res, _ := readUntil(ctx, t, c, protocol.TypeToolResult)
	if res.Call.Status != protocol.ToolError {
		t.Fatalf("tool.result = %+v", res.Call)
	}
	if end, _ := readUntil(ctx, t, c, protocol.TypeReplyEnd); end.FinishReason != "stop" {
		t.Fatalf("reply ended %q", end.FinishReason)
	}
}

func toolNames(req llm.Request) string {
	s := ""
	for i, d := range req.Tools {
		if i > 0 {
			s += " "
		}
		s += d.Name
	}
	return s
}

// capturedConn keeps the server side's connection so a test can break it.
type capturedConn struct {
	mcpsdk.Transport
	mu   sync.Mutex
	conn mcpsdk.Connection
}

func (c *capturedConn) Connect(ctx context.Context) (mcpsdk.Connection, error) {
	conn, err := c.Transport.Connect(ctx)
	c.mu.Lock()
	c.conn = conn
	c.mu.Unlock()
	return conn, err
}

func (c *capturedConn) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn.Close()
}
