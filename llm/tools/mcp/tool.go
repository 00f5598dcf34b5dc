package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/tools"
)

// toolName maps a server's tool name to the name offered to the model:
// the prefix, then the name with each byte a provider refuses (MCP allows
// '.') replaced by '_'.
func (c *Client) toolName(remote string) (string, error) {
	b := []byte(c.cfg.prefix + remote)
	for i, ch := range b {
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '_' || ch == '-') {
			b[i] = '_'
		}
	}
	name := string(b)
	if err := tools.ValidateName(name); err != nil {
		return "", err
	}
	return name, nil
}

func (c *Client) newTool(st *mcpsdk.Tool) (*tool, error) {
	name, err := c.toolName(st.Name)
	if err != nil {
		return nil, err
	}
	schema, err := json.Marshal(st.InputSchema)
	if err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	if s.Type != "object" {
		return nil, fmt.Errorf("input schema has type %q, want \"object\"", s.Type)
	}
	resolved, err := s.Resolve(nil)
	if err != nil {
		// The server validates its arguments anyway: offer the tool and
		// leave validation to it.
		c.cfg.logger.Warn("mcp: input schema does not resolve; arguments are left to the server to check", "tool", st.Name, "error", err)
		resolved = nil
	}
	desc := st.Description
	if desc == "" {
		desc = st.Title
	}
	approval := c.cfg.approveNames[st.Name] || (c.cfg.approveFunc != nil && c.cfg.approveFunc(st))
	return &tool{
		client:   c,
		remote:   st.Name,
		def:      llm.ToolDef{Name: name, Description: desc, InputSchema: schema},
		approval: approval,
		resolved: resolved,
	}, nil
}

// tool is one tool of the server. It is immutable.
type tool struct {
	client   *Client
	remote   string // the server's name
	def      llm.ToolDef
	approval bool
	resolved *jsonschema.Resolved // nil: the server checks the arguments
}

func (t *tool) Def() llm.ToolDef {
	d := t.def
	d.InputSchema = slices.Clone(t.def.InputSchema)
	return d
}

func (t *tool) NeedsApproval() bool { return t.approval }

func (t *tool) Timeout() time.Duration { return t.client.cfg.callTimeout }

func (t *tool) ValidateArguments(args map[string]any) error {
	if t.resolved == nil {
		return nil
	}
	return t.resolved.Validate(args)
}

// Call calls the tool on the server. A result the server marks as an error
// returns an error with the server's text; a protocol error from the
// server returns a *tools.Error with the server's message; a failure to
// reach the server returns a *tools.Error whose message for the model says
// only that (the cause, which may name hosts, stays in the log).
func (t *tool) Call(ctx context.Context, arguments json.RawMessage) (string, error) {
	if len(arguments) == 0 {
		arguments = json.RawMessage("{}")
	}
	res, err := t.client.conn.CallTool(ctx, &mcpsdk.CallToolParams{Name: t.remote, Arguments: arguments})
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("mcp: call %q: %w", t.remote, errors.Join(err, ctx.Err()))
		}
		var refused *jsonrpc.Error
		if errors.As(err, &refused) {
			// The server answered with a protocol error (an unknown tool,
			// arguments it refuses): its message is meant for the caller.
			return "", &tools.Error{
				Message: "the tool's server refused the call: " + refused.Message,
				Err:     fmt.Errorf("mcp: call %q: %w", t.remote, err),
			}
		}
		return "", &tools.Error{
			Message: "the tool's server failed to answer",
			Err:     fmt.Errorf("mcp: call %q: %w", t.remote, err),
		}
	}
	if res.NeedsInput() {
		return "", &tools.Error{
			Message: "the tool's server asked for input this client cannot give",
			Err:     fmt.Errorf("mcp: call %q: the server asked for input", t.remote),
		}
	}
	text := capText(resultText(res), t.client.cfg.maxResultBytes)
	if res.IsError {
		if text == "" {
			text = "the tool failed"
		}
		return "", errors.New(text)
	}
	return text, nil
}

// resultText joins the text contents of res, describing other contents
// briefly; with no content it falls back to the structured content.
func resultText(res *mcpsdk.CallToolResult) string {
	var parts []string
	for _, ct := range res.Content {
		switch v := ct.(type) {
		case *mcpsdk.TextContent:
			parts = append(parts, v.Text)
		case *mcpsdk.ImageContent:
			parts = append(parts, describe("image", v.MIMEType, ""))
		case *mcpsdk.AudioContent:
			parts = append(parts, describe("audio", v.MIMEType, ""))
		case *mcpsdk.ResourceLink:
			parts = append(parts, describe("resource link", v.MIMEType, v.URI))
		case *mcpsdk.EmbeddedResource:
			switch {
			case v.Resource == nil:
				parts = append(parts, "[resource]")
			case v.Resource.Text != "":
				parts = append(parts, v.Resource.Text)
			default:
				parts = append(parts, describe("resource", v.Resource.MIMEType, v.Resource.URI))
			}
		default:
			parts = append(parts, fmt.Sprintf("[%T]", ct))
		}
	}
	if len(parts) == 0 && res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			return string(b)
		}
	}
	return strings.Join(parts, "\n")
}

func describe(kind, mime, uri string) string {
	s := "[" + kind
	if mime != "" {
		s += " " + mime
	}
	if uri != "" {
		s += " " + uri
	}
	return s + "]"
}

// capText cuts s to at most n bytes on a rune boundary, marking the cut.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…[truncated]"
	cut := max(n-len(mark), 0)
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + mark
}
