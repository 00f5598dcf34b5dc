package openai

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"

	oai "github.com/openai/openai-go/v3"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/internal/files"
)

// The request sent to the chat completions API: the history as messages
// (user text, images and files; assistant text and tool calls; tool
// results) and the function tools.

// params builds the request body. It fails only on a tool definition
// whose schema is not a JSON object.
func (p *Provider) params(req llm.Request) (oai.ChatCompletionNewParams, error) {
	msgs := make([]oai.ChatCompletionMessageParamUnion, 0, len(req.Messages)+1)
	if req.System != "" {
		msgs = append(msgs, oai.SystemMessage(req.System))
	}
	for _, m := range req.Messages {
		switch m.Role {
		case llm.RoleUser:
			msgs = append(msgs, userMessage(m))
		case llm.RoleTool:
			msgs = append(msgs, toolMessages(m)...)
		default: // assistant and operator turns
			msgs = append(msgs, assistantMessage(m))
		}
	}
	params := oai.ChatCompletionNewParams{Messages: msgs, Model: p.cfg.model}
	for _, t := range req.Tools {
		def, err := functionDef(t)
		if err != nil {
			return params, &llm.Error{Kind: llm.KindInvalidRequest, Provider: Name, Err: err}
		}
		params.Tools = append(params.Tools, oai.ChatCompletionFunctionTool(def))
	}
	if req.Model != "" {
		params.Model = req.Model
	}
	if n := cmp.Or(req.MaxTokens, p.cfg.maxTokens); n > 0 {
		if p.legacy {
			params.MaxTokens = oai.Int(int64(n))
		} else {
			params.MaxCompletionTokens = oai.Int(int64(n))
		}
	}
	if t := req.Temperature; t != nil {
		params.Temperature = oai.Float(*t)
	} else if p.cfg.temperature != nil {
		params.Temperature = oai.Float(*p.cfg.temperature)
	}
	if req.User != "" {
		params.User = oai.String(req.User)
	}
	if p.cfg.usage {
		params.StreamOptions = oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)}
	}
	return params, nil
}

// userMessage maps a user turn. Without images or PDFs its content is a
// string: its text, its text files inlined. With them it is content parts
// in the turn's order: a text part per text part, an image_url part per
// image, a file part per PDF (both as base64 data URLs) and a text part
// per text file, inlined.
func userMessage(m llm.Message) oai.ChatCompletionMessageParamUnion {
	if !files.HasBinary(m) {
		return oai.UserMessage(files.Text(m))
	}
	parts := make([]oai.ChatCompletionContentPartUnionParam, 0, len(m.Parts))
	for _, part := range m.Parts {
		switch {
		case part.Kind == llm.PartText && part.Text != "":
			parts = append(parts, oai.TextContentPart(part.Text))
		case part.Kind == llm.PartFile && part.File != nil:
			f := part.File
			switch mt := files.Base(f.MediaType); {
			case files.IsImage(mt):
				parts = append(parts, oai.ImageContentPart(oai.ChatCompletionContentPartImageImageURLParam{URL: files.DataURL(mt, f.Data)}))
			case mt == files.PDF:
				parts = append(parts, oai.FileContentPart(oai.ChatCompletionContentPartFileFileParam{
					FileData: oai.String(files.DataURL(mt, f.Data)),
					Filename: oai.String(cmp.Or(f.Name, "document.pdf")), // the API wants a name with the data
				}))
			case files.IsText(mt):
				parts = append(parts, oai.TextContentPart(llm.InlineFile(f)))
			}
		}
	}
	return oai.UserMessage(parts)
}

// assistantMessage maps an assistant or operator turn: its text as the
// content and its tool calls as tool_calls. Reasoning is not sent back:
// the API has no field for it.
func assistantMessage(m llm.Message) oai.ChatCompletionMessageParamUnion {
	text := llm.MessageText(m)
	var calls []oai.ChatCompletionMessageToolCallUnionParam
	for _, part := range m.Parts {
		if part.Kind != llm.PartToolCall {
			continue
		}
		calls = append(calls, oai.ChatCompletionMessageToolCallUnionParam{OfFunction: &oai.ChatCompletionMessageFunctionToolCallParam{
			ID:       part.Call.ID,
			Function: oai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: part.Call.Name, Arguments: part.Call.Arguments},
		}})
	}
	if len(calls) == 0 {
		return oai.AssistantMessage(text)
	}
	a := oai.ChatCompletionAssistantMessageParam{ToolCalls: calls}
	if text != "" {
		a.Content.OfString = oai.String(text)
	}
	return oai.ChatCompletionMessageParamUnion{OfAssistant: &a}
}

// toolMessages maps a tool turn: one "tool" message per result. The API
// has no error flag, so an error result's text is sent after "Error: ".
func toolMessages(m llm.Message) []oai.ChatCompletionMessageParamUnion {
	var out []oai.ChatCompletionMessageParamUnion
	for _, part := range m.Parts {
		if part.Kind != llm.PartToolResult {
			continue
		}
		text := part.Text
		if part.IsError {
			text = "Error: " + text
		}
		out = append(out, oai.ToolMessage(text, part.Call.ID))
	}
	return out
}

// functionDef maps a tool definition; an empty schema declares no
// parameters.
func functionDef(t llm.ToolDef) (oai.FunctionDefinitionParam, error) {
	def := oai.FunctionDefinitionParam{Name: t.Name}
	if t.Description != "" {
		def.Description = oai.String(t.Description)
	}
	if len(bytes.TrimSpace(t.InputSchema)) == 0 {
		return def, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(t.InputSchema, &fields); err != nil || fields == nil {
		return def, fmt.Errorf("tool %q: the input schema is not a JSON object", t.Name)
	}
	// Each field's value is kept as written (the SDK would turn a
	// json.Number into a string).
	def.Parameters = make(oai.FunctionParameters, len(fields))
	for k, v := range fields {
		def.Parameters[k] = v
	}
	return def, nil
}
