package llm

import "encoding/json"

// PartKind says what a Part holds.
type PartKind string

// Part kinds. A message's parts are ordered as the model produced them.
const (
	// PartText is text shown to the user.
	PartText PartKind = "text"
	// PartReasoning is the model's reasoning, streamed apart from the
	// answer. Providers send it back only when their API accepts it (with
	// its Signature); others drop it from the history.
	PartReasoning PartKind = "reasoning"
	// PartToolCall is a call the model asked for: Call holds its id, name
	// and arguments.
	PartToolCall PartKind = "tool_call"
	// PartToolResult answers the call whose id is Call.ID: Text holds the
	// result, IsError says it reports a failure.
	PartToolResult PartKind = "tool_result"
	// PartFile is a file given to the model: File holds it.
	PartFile PartKind = "file"
)

// ToolCall is one call of a tool by the model.
type ToolCall struct {
	// ID is the provider's id of the call; a result answers it by id.
	ID string
	// Name is the tool's name, as declared in Request.Tools.
	Name string
	// Arguments is the JSON object the model produced, as text. It may be
	// invalid JSON: the model wrote it.
	Arguments string
}

// Part is one piece of a message.
type Part struct {
	Kind PartKind
	// Text is the text of a text or reasoning part, or the content of a
	// tool result.
	Text string
	// Signature is the provider's opaque signature of a reasoning part
	// (Anthropic's extended thinking), needed to send it back.
	Signature string
	// Call is the call of a tool_call part; a tool_result part sets its ID
	// (and Name) to the call it answers.
	Call ToolCall
	// IsError marks a tool result that reports a failure.
	IsError bool
	// File is the file of a file part.
	File *File
}

// File is a file a user attached, as a provider receives it: the server
// has read and checked it (its MediaType comes from its content).
type File struct {
	Name      string
	MediaType string // image/png, image/jpeg, image/gif, image/webp, application/pdf, text/plain...
	Data      []byte
}

// ToolDef declares a tool the model may call.
type ToolDef struct {
	// Name is unique within a request: letters, digits, '_' and '-', at
	// most 64 bytes (the strictest provider's rule).
	Name        string
	Description string
	// InputSchema is the JSON Schema of the arguments, an object schema.
	InputSchema json.RawMessage
}

// MessageText returns the concatenated text parts of m, or m.Text when it
// has no parts.
func MessageText(m Message) string {
	if len(m.Parts) == 0 {
		return m.Text
	}
	n := 0
	for _, p := range m.Parts {
		if p.Kind == PartText {
			n += len(p.Text)
		}
	}
	b := make([]byte, 0, n)
	for _, p := range m.Parts {
		if p.Kind == PartText {
			b = append(b, p.Text...)
		}
	}
	return string(b)
}
