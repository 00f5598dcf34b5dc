package anthropic

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/internal/files"
)

// The request sent to the Messages API: the history as turns of content
// blocks (text, thinking, tool use and results, images and documents) and
// the tools.

// turn is one message of the request body being built: blocks that must
// come first (thinking in an assistant turn, tool results in a user turn)
// and the others, in order.
type turn struct {
	user        bool
	first, rest []sdk.ContentBlockParamUnion
}

// params builds the request body and the per-request options. It fails
// only on a tool definition whose schema is not an object schema.
func (p *Provider) params(req llm.Request) (sdk.MessageNewParams, []option.RequestOption, error) {
	var turns []turn
	for _, m := range req.Messages {
		t := blocks(m)
		if len(t.first)+len(t.rest) == 0 {
			continue
		}
		if n := len(turns); n > 0 && turns[n-1].user == t.user { // one message per role in a row
			turns[n-1].first = append(turns[n-1].first, t.first...)
			turns[n-1].rest = append(turns[n-1].rest, t.rest...)
			continue
		}
		turns = append(turns, t)
	}
	msgs := make([]sdk.MessageParam, 0, len(turns))
	for _, t := range turns {
		content := slices.Concat(t.first, t.rest)
		if t.user {
			msgs = append(msgs, sdk.NewUserMessage(content...))
		} else {
			msgs = append(msgs, sdk.NewAssistantMessage(content...))
		}
	}
	params := sdk.MessageNewParams{Model: sdk.Model(p.cfg.model), Messages: msgs, MaxTokens: int64(p.cfg.maxTokens)}
	for _, def := range req.Tools {
		tool, err := toolParam(def)
		if err != nil {
			return params, nil, &llm.Error{Kind: llm.KindInvalidRequest, Provider: Name, Err: err}
		}
		params.Tools = append(params.Tools, sdk.ToolUnionParam{OfTool: &tool})
	}
	if req.Model != "" {
		params.Model = sdk.Model(req.Model)
	}
	if req.MaxTokens > 0 {
		params.MaxTokens = int64(req.MaxTokens)
	}
	if req.System != "" {
		params.System = []sdk.TextBlockParam{{Text: req.System}}
	}
	if req.User != "" {
		params.Metadata = sdk.MetadataParam{UserID: sdk.String(req.User)}
	}
	var opts []option.RequestOption
	if budget := int64(p.cfg.thinkingBudget); budget > 0 {
		params.Thinking = sdk.ThinkingConfigParamOfEnabled(budget)
		if params.MaxTokens <= budget { // max_tokens counts the thinking too
			params.MaxTokens += budget
		}
	} else if t := cmp.Or(req.Temperature, p.cfg.temperature); t != nil {
		opts = append(opts, option.WithJSONSet("temperature", *t))
	}
	return params, opts, nil
}

// blocks maps one message to the content blocks of a turn. A message
// without parts is one text block. In a message with parts, empty text
// parts are dropped (the API refuses empty text blocks), tool calls become
// tool_use blocks, tool results tool_result blocks, files of a user turn
// image or document blocks (see fileBlock), and reasoning with a
// signature a thinking block placed before the others; reasoning without
// one cannot be sent back and is dropped.
func blocks(m llm.Message) turn {
	t := turn{user: m.Role == llm.RoleUser || m.Role == llm.RoleTool}
	if len(m.Parts) == 0 {
		t.rest = append(t.rest, sdk.NewTextBlock(m.Text))
		return t
	}
	for _, part := range m.Parts {
		switch part.Kind {
		case llm.PartText:
			if part.Text != "" {
				t.rest = append(t.rest, sdk.NewTextBlock(part.Text))
			}
		case llm.PartReasoning:
			if part.Signature != "" && !t.user {
				t.first = append(t.first, sdk.NewThinkingBlock(part.Signature, part.Text))
			}
		case llm.PartToolCall:
			if !t.user {
				t.rest = append(t.rest, sdk.NewToolUseBlock(part.Call.ID, toolInput(part.Call.Arguments), part.Call.Name))
			}
		case llm.PartToolResult:
			if t.user {
				t.first = append(t.first, toolResult(part))
			}
		case llm.PartFile:
			if m.Role == llm.RoleUser && part.File != nil {
				if b, ok := fileBlock(part.File); ok {
					t.rest = append(t.rest, b)
				}
			}
		}
	}
	return t
}

// fileBlock maps a file: an image to an image block with a base64 source,
// a PDF to a document block with a base64 PDF source, a text file to a
// document block with a plain-text source, cut at llm.MaxFileTextBytes
// (its context says so when it was). The documents carry the file's name
// as their title. It reports false for any other type.
func fileBlock(f *llm.File) (sdk.ContentBlockParamUnion, bool) {
	var b sdk.ContentBlockParamUnion
	switch mt := files.Base(f.MediaType); {
	case files.IsImage(mt):
		return sdk.NewImageBlockBase64(mt, base64.StdEncoding.EncodeToString(f.Data)), true
	case mt == files.PDF:
		b = sdk.NewDocumentBlock(sdk.Base64PDFSourceParam{Data: base64.StdEncoding.EncodeToString(f.Data)})
	case files.IsText(mt):
		text, cut := llm.FileText(f)
		b = sdk.NewDocumentBlock(sdk.PlainTextSourceParam{Data: text})
		if cut {
			b.OfDocument.Context = sdk.String(fmt.Sprintf("The file has %d bytes; only its first %d KiB are shown.", len(f.Data), llm.MaxFileTextBytes>>10))
		}
	default:
		return b, false
	}
	if title := docTitle(f.Name); title != "" {
		b.OfDocument.Title = sdk.String(title)
	}
	return b, true
}

// maxTitleRunes bounds a document's title: a file's name is the user's, and
// the API bounds the field.
const maxTitleRunes = 200

// docTitle returns a file's name as a document title: control characters
// as spaces, at most maxTitleRunes characters.
func docTitle(name string) string {
	r := []rune(strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, name)))
	return string(r[:min(len(r), maxTitleRunes)])
}

// toolInput returns a call's arguments as the JSON object the API wants:
// as written when they are one, else an empty object (a model that wrote
// broken arguments got an error result for them).
func toolInput(args string) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(args), &obj) != nil || obj == nil {
		return json.RawMessage("{}")
	}
	return json.RawMessage(args)
}

// toolResult maps a tool result; an empty result has no content block,
// since the API refuses empty text blocks.
func toolResult(part llm.Part) sdk.ContentBlockParamUnion {
	r := sdk.ToolResultBlockParam{ToolUseID: part.Call.ID}
	if part.IsError {
		r.IsError = sdk.Bool(true)
	}
	if part.Text != "" {
		r.Content = []sdk.ToolResultBlockParamContentUnion{{OfText: &sdk.TextBlockParam{Text: part.Text}}}
	}
	return sdk.ContentBlockParamUnion{OfToolResult: &r}
}

// toolParam maps a tool definition. Its schema must be a JSON object of
// type "object" (or without a type); its fields are sent as written. An
// empty schema declares no parameters.
func toolParam(def llm.ToolDef) (sdk.ToolParam, error) {
	tool := sdk.ToolParam{Name: def.Name}
	if def.Description != "" {
		tool.Description = sdk.String(def.Description)
	}
	if len(bytes.TrimSpace(def.InputSchema)) == 0 {
		// The API requires a schema: one of no parameters.
		tool.InputSchema.Properties = map[string]any{}
		return tool, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(def.InputSchema, &fields); err != nil || fields == nil {
		return tool, fmt.Errorf("tool %q: the input schema is not a JSON object", def.Name)
	}
	for k, v := range fields {
		switch k {
		case "type":
			var typ string
			if json.Unmarshal(v, &typ) != nil || typ != "object" {
				return tool, fmt.Errorf("tool %q: the input schema's type is %s, not \"object\"", def.Name, llm.Excerpt(string(v)))
			}
		case "properties":
			tool.InputSchema.Properties = v
		case "required":
			if json.Unmarshal(v, &tool.InputSchema.Required) == nil {
				break
			}
			fallthrough
		default:
			if tool.InputSchema.ExtraFields == nil {
				tool.InputSchema.ExtraFields = map[string]any{}
			}
			tool.InputSchema.ExtraFields[k] = v
		}
	}
	return tool, nil
}
