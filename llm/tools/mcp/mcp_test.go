package mcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/llm/tools"
	"github.com/chatboxsdk/chatbox/llm/tools/mcp"
)

// serveStdioEnv makes the test binary an MCP server on its standard input
// and output (for ConnectCommand).
const serveStdioEnv = "CHATBOX_MCP_TEST_SERVE_STDIO"

func TestMain(m *testing.M) {
	if os.Getenv(serveStdioEnv) == "1" {
		s := newTestServer()
		if err := s.server.Run(context.Background(), &mcpsdk.StdioTransport{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

type echoIn struct {
	Text  string `json:"text" jsonschema:"what to echo"`
	Times int    `json:"times,omitempty"`
}

type sumOut struct {
	Sum int `json:"sum"`
}

// testServer is an MCP server built with the SDK, with tools that echo,
// fail, return mixed contents and block.
type testServer struct {
	server  *mcpsdk.Server
	calls   atomic.Int32 // calls of echo
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func newTestServer() *testServer {
	ts := &testServer{started: make(chan struct{}, 1), release: make(chan struct{})}
	s := mcpsdk.NewServer(&mcpsdk.Implementation{Name: "test", Version: "1"}, nil)
	mcpsdk.AddTool(s, &mcpsdk.Tool{Name: "echo", Description: "Echoes text."},
		func(_ context.Context, _ *mcpsdk.CallToolRequest, in echoIn) (*mcpsdk.CallToolResult, any, error) {
			ts.calls.Add(1)
			n := max(in.Times, 1)
			return &mcpsdk.CallToolResult{Content: []mcpsdk.Content{&mcpsdk.TextContent{Text: strings.Repeat(in.Text, n)}}}, nil, nil
		})
	mcpsdk.AddTool(s, &mcpsdk.Tool{Name: "sum", Description: "Adds numbers."},
		func(_ context.Context, _ *mcpsdk.CallToolRequest, in struct {
			Numbers []int `json:"numbers"`
		}) (*mcpsdk.CallToolResult, sumOut, error) {
			var out sumOut
			for _, n := range in.Numbers {
				out.Sum += n
			}
			return nil, out, nil
		})
	mcpsdk.AddTool(s, &mcpsdk.Tool{Name: "fail", Description: "Always fails."},
		func(context.Context, *mcpsdk.CallToolRequest, struct{}) (*mcpsdk.CallToolResult, any, error) {
			return nil, nil, errors.New("quota exceeded for this account")
		})
	mcpsdk.AddTool(s, &mcpsdk.Tool{Name: "files.mixed", Description: "Returns mixed contents."},
		func(context.Context, *mcpsdk.CallToolRequest, struct{}) (*mcpsdk.CallToolResult, any, error) {
			return &mcpsdk.CallToolResult{Content: []mcpsdk.Content{
				&mcpsdk.TextContent{Text: "report ready"},
				&mcpsdk.ImageContent{MIMEType: "image/png", Data: []byte{1, 2, 3}},
				&mcpsdk.ResourceLink{URI: "file:///r.pdf", Name: "r", MIMEType: "application/pdf"},
				&mcpsdk.EmbeddedResource{Resource: &mcpsdk.ResourceContents{URI: "file:///n.txt", Text: "embedded note"}},
			}}, nil, nil
		})
	mcpsdk.AddTool(s, &mcpsdk.Tool{Name: "block", Description: "Blocks until released."},
		func(context.Context, *mcpsdk.CallToolRequest, struct{}) (*mcpsdk.CallToolResult, any, error) {
			ts.started <- struct{}{}
			<-ts.release // ignores its context, like a hung server
			return &mcpsdk.CallToolResult{Content: []mcpsdk.Content{&mcpsdk.TextContent{Text: "released"}}}, nil, nil
		})
	ts.server = s
	return ts
}

// unblock releases every blocked call, once.
func (ts *testServer) unblock() { ts.once.Do(func() { close(ts.release) }) }

// killable records the server's connection so a test can drop it
// abruptly, as if the server's process died.
type killable struct {
	mcpsdk.Transport
	mu   sync.Mutex
	conn mcpsdk.Connection
}

func (k *killable) Connect(ctx context.Context) (mcpsdk.Connection, error) {
	c, err := k.Transport.Connect(ctx)
	k.mu.Lock()
	k.conn = c
	k.mu.Unlock()
	return c, err
}

func (k *killable) kill() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.conn.Close()
}

// connectInMemory connects a Client to ts over the SDK's in-memory
// transport; everything is closed at the end of the test.
func connectInMemory(t *testing.T, ts *testServer, opts ...mcp.Option) (*mcp.Client, *killable) {
	t.Helper()
	ct, st := mcpsdk.NewInMemoryTransports()
	k := &killable{Transport: st}
	ctx := context.Background()
	ss, err := ts.server.Connect(ctx, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mcp.Connect(ctx, ct, opts...)
	if err != nil {
		_ = ss.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ts.unblock()
		if err := c.Close(); err != nil {
			t.Logf("client close: %v", err)
		}
		_ = ss.Close()
	})
	return c, k
}

// connectHTTP serves ts with the SDK's streamable HTTP handler on httptest
// and connects a Client to it.
func connectHTTP(t *testing.T, ts *testServer, opts ...mcp.Option) (*mcp.Client, *httptest.Server) {
	t.Helper()
	h := mcpsdk.NewStreamableHTTPHandler(func(*http.Request) *mcpsdk.Server { return ts.server }, nil)
	hs := httptest.NewServer(h)
	c, err := mcp.ConnectHTTP(context.Background(), hs.URL, opts...)
	if err != nil {
		hs.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ts.unblock()
		if err := c.Close(); err != nil {
			t.Logf("client close: %v", err)
		}
		hs.CloseClientConnections()
		hs.Close()
	})
	return c, hs
}

func toolNames(c *mcp.Client) []string {
	var names []string
	for _, t := range c.Tools() {
		names = append(names, t.Def().Name)
	}
	return names
}

func lookup(t *testing.T, c *mcp.Client, name string) tools.Tool {
	t.Helper()
	for _, tl := range c.Tools() {
		if tl.Def().Name == name {
			return tl
		}
	}
	t.Fatalf("no tool %q in %v", name, toolNames(c))
	return nil
}

// eventually polls cond until it holds, failing the test after a bound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

type transport struct {
	name    string
	connect func(t *testing.T, ts *testServer, opts ...mcp.Option) *mcp.Client
}

var transports = []transport{
	{"memory", func(t *testing.T, ts *testServer, opts ...mcp.Option) *mcp.Client {
		c, _ := connectInMemory(t, ts, opts...)
		return c
	}},
	{"http", func(t *testing.T, ts *testServer, opts ...mcp.Option) *mcp.Client {
		c, _ := connectHTTP(t, ts, opts...)
		return c
	}},
}

func TestToolsListedAndCalled(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ts := newTestServer()
			c := tr.connect(t, ts, mcp.WithNamePrefix("t_"), mcp.WithApproval("fail"), mcp.WithCallTimeout(7*time.Second))
			want := []string{"t_block", "t_echo", "t_fail", "t_files_mixed", "t_sum"}
			got := toolNames(c)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("tools = %v, want %v", got, want)
			}

			echo := lookup(t, c, "t_echo")
			def := echo.Def()
			if def.Description != "Echoes text." {
				t.Errorf("description = %q", def.Description)
			}
			var schema struct {
				Type       string                     `json:"type"`
				Required   []string                   `json:"required"`
				Properties map[string]json.RawMessage `json:"properties"`
			}
			if err := json.Unmarshal(def.InputSchema, &schema); err != nil {
				t.Fatal(err)
			}
			if schema.Type != "object" || !slices.Equal(schema.Required, []string{"text"}) || len(schema.Properties) != 2 {
				t.Errorf("schema = %s", def.InputSchema)
			}
			if !strings.Contains(string(schema.Properties["text"]), "what to echo") {
				t.Errorf("text property = %s", schema.Properties["text"])
			}
			if echo.NeedsApproval() || !lookup(t, c, "t_fail").NeedsApproval() {
				t.Error("approval: want only t_fail")
			}
			if echo.Timeout() != 7*time.Second {
				t.Errorf("timeout = %v", echo.Timeout())
			}

			ctx := context.Background()
			if r := tools.Invoke(ctx, echo, `{"text":"ab","times":2}`, 0); r.IsError || r.Content != "abab" {
				t.Errorf("echo: %+v", r)
			}
			if r := tools.Invoke(ctx, lookup(t, c, "t_sum"), `{"numbers":[1,2,3]}`, 0); r.IsError || r.Content != `{"sum":6}` {
				t.Errorf("sum: %+v", r)
			}
			r := tools.Invoke(ctx, lookup(t, c, "t_fail"), `{}`, 0)
			if !r.IsError || r.Code != tools.CodeToolError || !strings.Contains(r.Content, "quota exceeded for this account") {
				t.Errorf("fail: %+v", r)
			}
			r = tools.Invoke(ctx, lookup(t, c, "t_files_mixed"), ``, 0)
			if want := "report ready\n[image image/png]\n[resource link application/pdf file:///r.pdf]\nembedded note"; r.IsError || r.Content != want {
				t.Errorf("mixed: %+v, want content %q", r, want)
			}

			// Invalid arguments never reach the server.
			before := ts.calls.Load()
			r = tools.Invoke(ctx, echo, `{"text":5}`, 0)
			if r.Code != tools.CodeInvalidArguments {
				t.Errorf("invalid: %+v", r)
			}
			if ts.calls.Load() != before {
				t.Error("the server was called with invalid arguments")
			}
		})
	}
}

func TestMaxResultBytes(t *testing.T) {
	ts := newTestServer()
	c := transports[0].connect(t, ts, mcp.WithMaxResultBytes(40))
	r := tools.Invoke(context.Background(), lookup(t, c, "echo"), `{"text":"é","times":100}`, 0)
	if r.IsError || len(r.Content) > 40 || !strings.HasSuffix(r.Content, "…[truncated]") {
		t.Errorf("result %q (%d bytes)", r.Content, len(r.Content))
	}
}

func TestListChanged(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ts := newTestServer()
			c := tr.connect(t, ts)
			mcpsdk.AddTool(ts.server, &mcpsdk.Tool{Name: "late", Description: "Added later."},
				func(context.Context, *mcpsdk.CallToolRequest, struct{}) (*mcpsdk.CallToolResult, any, error) {
					return &mcpsdk.CallToolResult{Content: []mcpsdk.Content{&mcpsdk.TextContent{Text: "late answer"}}}, nil, nil
				})
			eventually(t, "the added tool", func() bool { return slices.Contains(toolNames(c), "late") })
			if r := tools.Invoke(context.Background(), lookup(t, c, "late"), `{}`, 0); r.Content != "late answer" {
				t.Errorf("late: %+v", r)
			}

			ts.server.RemoveTools("fail")
			eventually(t, "the removed tool to go", func() bool { return !slices.Contains(toolNames(c), "fail") })
		})
	}
}

func TestServerGoesAwayInMemory(t *testing.T) {
	ts := newTestServer()
	c, k := connectInMemory(t, ts)
	block := lookup(t, c, "block")
	done := make(chan tools.Result, 1)
	go func() { done <- tools.Invoke(context.Background(), block, `{}`, time.Minute) }()
	<-ts.started
	if err := k.kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if !r.IsError || r.Code != tools.CodeToolError || r.Content != "the tool's server failed to answer" {
			t.Errorf("result %+v", r)
		}
		if r.Err == nil || !strings.Contains(r.Err.Error(), `call "block"`) {
			t.Errorf("cause: %v", r.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call outlived its server")
	}
	ts.unblock()
}

func TestServerGoesAwayHTTP(t *testing.T) {
	ts := newTestServer()
	c, hs := connectHTTP(t, ts)
	block := lookup(t, c, "block")
	done := make(chan tools.Result, 1)
	go func() { done <- tools.Invoke(context.Background(), block, `{}`, time.Minute) }()
	<-ts.started
	hs.CloseClientConnections()
	select {
	case r := <-done:
		if !r.IsError || r.Code != tools.CodeToolError {
			t.Errorf("result %+v", r)
		}
		t.Logf("cause: %v", r.Err)
	case <-time.After(10 * time.Second):
		t.Fatal("the call outlived its server's connection")
	}
	ts.unblock()
}

func TestCallTimeout(t *testing.T) {
	ts := newTestServer()
	c := transports[0].connect(t, ts, mcp.WithCallTimeout(50*time.Millisecond))
	r := tools.Invoke(context.Background(), lookup(t, c, "block"), `{}`, time.Minute)
	if r.Code != tools.CodeTimeout {
		t.Errorf("result %+v", r)
	}
	ts.unblock()
	<-r.Done
}

func TestFilterAndApprovalFunc(t *testing.T) {
	ts := newTestServer()
	c := transports[0].connect(t, ts,
		mcp.WithFilter(func(tl *mcpsdk.Tool) bool { return tl.Name != "block" }),
		mcp.WithApprovalFunc(func(tl *mcpsdk.Tool) bool { return strings.HasPrefix(tl.Name, "files.") }))
	got := toolNames(c)
	slices.Sort(got)
	if want := []string{"echo", "fail", "files_mixed", "sum"}; !slices.Equal(got, want) {
		t.Errorf("tools = %v, want %v", got, want)
	}
	if !lookup(t, c, "files_mixed").NeedsApproval() || lookup(t, c, "echo").NeedsApproval() {
		t.Error("approval func not applied")
	}
}

func TestCallAfterClose(t *testing.T) {
	ts := newTestServer()
	c := transports[0].connect(t, ts)
	echo := lookup(t, c, "echo")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	r := tools.Invoke(context.Background(), echo, `{"text":"x"}`, time.Second)
	if !r.IsError || r.Code != tools.CodeToolError {
		t.Errorf("result %+v", r)
	}
}

func TestOptionsValidated(t *testing.T) {
	ctx := context.Background()
	ct, _ := mcpsdk.NewInMemoryTransports()
	_, err := mcp.Connect(ctx, ct, mcp.WithNamePrefix("bad prefix"), mcp.WithCallTimeout(0), mcp.WithMaxResultBytes(0),
		mcp.WithHTTPClient(nil), mcp.WithApprovalFunc(nil), mcp.WithFilter(nil), mcp.WithLogger(nil), nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"WithNamePrefix", "WithCallTimeout", "WithMaxResultBytes", "WithHTTPClient", "WithApprovalFunc", "WithFilter", "WithLogger", "nil option"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	if _, err := mcp.Connect(ctx, nil); err == nil {
		t.Error("nil transport accepted")
	}
	if _, err := mcp.ConnectHTTP(ctx, ""); err == nil {
		t.Error("empty URL accepted")
	}
	if _, err := mcp.ConnectCommand(ctx, nil); err == nil {
		t.Error("nil command accepted")
	}
}

func TestConnectFails(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := mcp.ConnectHTTP(ctx, hs.URL); err == nil {
		t.Error("connected to a server that is not MCP")
	}
}

func TestCommand(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), serveStdioEnv+"=1")
	c, err := mcp.ConnectCommand(context.Background(), cmd, mcp.WithNamePrefix("cmd_"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	if r := tools.Invoke(context.Background(), lookup(t, c, "cmd_echo"), `{"text":"over stdio"}`, 0); r.IsError || r.Content != "over stdio" {
		t.Errorf("echo: %+v", r)
	}
}

// A draft-07 schema is validated like a 2020-12 one; a schema the
// validator cannot resolve (a bad pattern) still offers the tool, and the
// server checks its arguments.
func TestForeignSchemas(t *testing.T) {
	ts := newTestServer()
	schemas := map[string]string{
		"draft7":  `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"a":{"$ref":"#/definitions/s"}},"definitions":{"s":{"type":"string"}}}`,
		"badregx": `{"type":"object","properties":{"a":{"type":"string","pattern":"("}}}`,
	}
	for name, schema := range schemas {
		ts.server.AddTool(&mcpsdk.Tool{Name: name, Description: "raw schema", InputSchema: json.RawMessage(schema)},
			func(_ context.Context, req *mcpsdk.CallToolRequest) (*mcpsdk.CallToolResult, error) {
				return &mcpsdk.CallToolResult{Content: []mcpsdk.Content{&mcpsdk.TextContent{Text: string(req.Params.Arguments)}}}, nil
			})
	}
	var logs syncBuffer
	c := transports[0].connect(t, ts, mcp.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if got := logs.String(); strings.Count(got, "input schema does not resolve") != 1 || !strings.Contains(got, "tool=badregx") {
		t.Errorf("logs:\n%s", got)
	}
	for name := range schemas {
		if r := tools.Invoke(context.Background(), lookup(t, c, name), `{"a":"x"}`, 0); r.IsError || r.Content != `{"a":"x"}` {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if r := tools.Invoke(context.Background(), lookup(t, c, "draft7"), `{"a":5}`, 0); r.Code != tools.CodeInvalidArguments {
		t.Errorf("draft7 with a number: %+v", r)
	}
	if r := tools.Invoke(context.Background(), lookup(t, c, "badregx"), `{"a":5}`, 0); r.IsError || r.Content != `{"a":5}` {
		t.Errorf("badregx reaches the server: %+v", r)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A tool the server no longer has (the client's list is stale) gives the
// server's refusal to the model.
func TestServerRefusesCall(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ts := newTestServer()
			c := tr.connect(t, ts)
			echo := lookup(t, c, "echo")
			ts.server.RemoveTools("echo")
			r := tools.Invoke(context.Background(), echo, `{"text":"x"}`, 0)
			if r.Code != tools.CodeToolError || !strings.HasPrefix(r.Content, "the tool's server refused the call: ") || !strings.Contains(r.Content, "echo") {
				t.Errorf("result %+v", r)
			}
		})
	}
}
