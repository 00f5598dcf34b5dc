package scripted

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatboxsdk/chatbox/llm"
)

// Tools the demo calls when a request declares them.
const (
	// DemoLookupTool is called when the user asks about an order by its
	// number, with {"order_id":"<number>"}.
	DemoLookupTool = "lookup_order"
	// DemoRefundTool is called when the user asks for a refund of an
	// order, with {"order_id":"<number>"}.
	DemoRefundTool = "refund_order"
)

// demoResultRunes bounds how much of a tool result a Demo answer quotes.
const demoResultRunes = 600

var (
	hashNumber = regexp.MustCompile(`#(\d+)`)
	longNumber = regexp.MustCompile(`\b(\d{3,})\b`)
)

// orderNumber finds the order number in text: a number after '#', else
// the first number of three digits or more.
func orderNumber(text string) string {
	if m := hashNumber.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	if m := longNumber.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// demoToolStep returns the demo's reply when tools are involved: an answer
// from the tool results the history ends with, or a call of a declared
// tool the last user message asks for. It reports false when neither
// applies.
func demoToolStep(req llm.Request, delay time.Duration, inputWords int) (Reply, bool) {
	if results := ToolResults(req); len(results) > 0 {
		return demoAnswer(req, results, delay, inputWords), true
	}
	n := len(req.Messages)
	if n == 0 || req.Messages[n-1].Role != llm.RoleUser {
		return Reply{}, false
	}
	text := llm.MessageText(req.Messages[n-1])
	lower := strings.ToLower(text)
	order := orderNumber(text)
	var tool, why, say string
	switch {
	case HasTool(req, DemoRefundTool) && strings.Contains(lower, "refund"):
		if order == "" {
			return demoReply("Which order should I refund? Tell me its number, like #1234.", nil, delay, inputWords), true
		}
		tool = DemoRefundTool
		why = fmt.Sprintf("The user wants order #%s refunded. The %s tool does that; a person must approve it first.", order, tool)
		say = fmt.Sprintf("I will ask for a refund of order #%s.", order)
	case HasTool(req, DemoLookupTool) && strings.Contains(lower, "order") && order != "":
		tool = DemoLookupTool
		why = fmt.Sprintf("The user asks about order #%s. I can look it up with the %s tool.", order, tool)
		say = fmt.Sprintf("Let me look up order #%s.", order)
	default:
		return Reply{}, false
	}
	args, _ := json.Marshal(map[string]string{"order_id": order})
	r := demoReply(say, []llm.ToolCall{{Name: tool, Arguments: string(args)}}, delay, inputWords)
	r.Reasoning = Words(why)
	r.Usage.OutputTokens += int64(len(r.Reasoning))
	return r, true
}

// demoAnswer answers from the results of the calls of the previous step.
func demoAnswer(req llm.Request, results []llm.Part, delay time.Duration, inputWords int) Reply {
	var b strings.Builder
	for i, res := range results {
		if i > 0 {
			b.WriteString("\n\n")
		}
		call, _ := CallOf(req, res.Call.ID)
		name := call.Name
		if name == "" {
			name = res.Call.Name
		}
		var args struct {
			OrderID string `json:"order_id"`
		}
		_ = json.Unmarshal([]byte(call.Arguments), &args)
		order := "#" + args.OrderID
		switch {
		case res.IsError && name == DemoRefundTool:
			fmt.Fprintf(&b, "I could not refund order %s:\n\n", order)
		case res.IsError && name == DemoLookupTool:
			fmt.Fprintf(&b, "I could not look up order %s:\n\n", order)
		case res.IsError:
			fmt.Fprintf(&b, "The `%s` tool failed:\n\n", name)
		case name == DemoRefundTool:
			fmt.Fprintf(&b, "The refund of order %s went through:\n\n", order)
		case name == DemoLookupTool:
			fmt.Fprintf(&b, "Here is what I found about order %s:\n\n", order)
		default:
			fmt.Fprintf(&b, "The `%s` tool answered:\n\n", name)
		}
		b.WriteString(quoteResult(res.Text))
	}
	b.WriteString("\n\nThe server ran the tool for me and gave me its result.")
	return demoReply(b.String(), nil, delay, inputWords)
}

// quoteResult shows a tool result in Markdown: JSON in a code block,
// anything else as a quote, shortened to demoResultRunes.
func quoteResult(text string) string {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) > demoResultRunes {
		text = string([]rune(text)[:demoResultRunes]) + "…"
	}
	switch {
	case text == "":
		return "> (nothing)"
	case json.Valid([]byte(text)):
		return "```json\n" + text + "\n```"
	}
	return "> " + strings.ReplaceAll(text, "\n", "\n> ")
}

// demoReply streams text word by word, then calls.
func demoReply(text string, calls []llm.ToolCall, delay time.Duration, inputWords int) Reply {
	words := Words(text)
	return Reply{
		Deltas:    words,
		ToolCalls: calls,
		Delay:     delay,
		Usage:     llm.Usage{InputTokens: int64(inputWords), OutputTokens: int64(len(words))},
	}
}
